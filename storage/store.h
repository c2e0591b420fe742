// Store: the node's durable state, as domain operations over one LMDB environment.
//
// Tables (key → value; values are canonical msgpack lists unless said otherwise):
// | table       | key                         | value                                                        |
// |-------------|-----------------------------|--------------------------------------------------------------|
// | meta        | "schema_version"            | u32 big-endian                                               |
// |             | "agency"                    | the agency code this database belongs to (raw text)          |
// |             | "next_seq"                  | u64 big-endian, the last sequence number handed out          |
// |             | "health_probe"              | u64 big-endian, when the node last proved it can commit       |
// | ids         | message id (32)             | n: the message's local number, given in storing order        |
// |             |                             |   (storage/doc_numbers.h; also holds the counter)            |
// | documents   | n (u64 BE)                  | envelope wire bytes, exactly as signed                       |
// | sent        | seq (u64 BE)                | message id (32): documents this node sent, oldest first      |
// | sent_info   | n (u64 BE)                  | [seq, created_ms, content_hash, subject, [recipients], size, urgency, |
// |             |                             |  wrapped content key (secretbox under the local storage key)]  |
// | deliveries  | n (u64 BE) + agency         | [state, queued_ms, receipt_ms, attempts, last_error, seq, urgency, |
// |             |                             |  acked_ms, receipt id (0 or 32 bytes), via, custody_ms]      |
// |             |                             |  (records written before relays have the first nine fields)  |
// | outbox      | agency 0x00 (3-urgency) seq | message id (32): pending deliveries per peer; most urgent    |
// |             |   (u8)       (u64 BE)       |   first (3 hỏa tốc … 0 thường), then oldest first            |
// | receipts    | receipt id (32)             | receipt envelope wire bytes (one receipt covers a batch)    |
// | inbox       | seq (u64 BE)                | message id (32): received documents, oldest first            |
// | inbox_info  | n (u64 BE)                  | [seq, received_ms, sender, content_hash, subject, size, receipt id, |
// |             |                             |  created_ms (the sender's, from the envelope; absent in older records)] |
// | peers       | agency                      | [sign_key, box_key, endpoint, source, added_ms]              |
// | directory   | record id (32)              | kind (u8: 1 node 2 issuer 3 revocation 4 cross-trust) + wire |
// |             |                             |   bytes (protocol/trust.h); only records that verified       |
// | transit     | message id (32) + agency    | [from_hop, origin, received_ms, seq, urgency, state (0 pending,  |
// |             |                             |  1 delivered, 2 refused), receipt id (0 or 32), hops_left, via, |
// |             |                             |  custody_ms]: envelopes this node carries for others as a relay |
// |             |                             |  (the bytes are in documents; records before issue 16 end at |
// |             |                             |  hops_left)                                                   |
// | forward     | agency 0x00 receipt id (32) | empty: receipts to pass back to that previous hop            |
// | transfers   | message id (32)             | [from, total, chunk_size, [chunk hash (32)...], started_ms]:   |
// |             |                             |  a large envelope arriving in chunks (node/transfer.cpp)     |
// | chunks      | message id (32) + index     | the chunk's bytes, checked against its hash                  |
// |             |   (u32 BE)                  |                                                              |
// Keyed by n, not by the id (a hash), a group commit's records go to the last pages of their
// tables. Sequential keys are put with put_last (MDB_APPEND) so those pages fill up.
// An outbox entry exists exactly while its delivery is pending and no relay holds it: it is
// deleted in the same transaction that stores the verified receipt or the relay's custody.
// A relay's outbox holds the envelopes in its transit table the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/identity.h"
#include "storage/doc_numbers.h"
#include "storage/lmdb.h"

namespace lienthong::storage {

using protocol::Hash32;

// 2: documents sealed as content version 2 (the official-document model), catalog tables.
// 3: per-document tables keyed by the local document number (doc_numbers.h), not the id.
constexpr uint32_t kSchemaVersion = 3;

// refused: the recipient (or a relay on the way) said sending it again cannot succeed.
enum class DeliveryState : uint8_t { pending = 0, delivered = 1, refused = 2 };
inline const char* delivery_state_name(DeliveryState s) {
    return s == DeliveryState::pending ? "pending" : s == DeliveryState::delivered ? "delivered" : "refused";
}

struct SentRecord {
    Hash32 id{};
    uint64_t seq = 0;
    uint64_t created_ms = 0;
    Hash32 content_hash{};
    std::string subject;
    std::vector<std::string> recipients;
    uint64_t size = 0;
    uint64_t urgency = 0;  // 0 thường … 3 hỏa tốc: orders the outbox
    Bytes content_key_wrapped;  // protocol::wrap_local of the content key
};

struct DeliveryRecord {
    std::string recipient;
    DeliveryState state = DeliveryState::pending;
    uint64_t queued_ms = 0;
    uint64_t receipt_ms = 0;  // the recipient's time of commit, as signed in its receipt
    uint64_t attempts = 0;
    std::string last_error;
    uint64_t outbox_seq = 0;
    uint64_t urgency = 0;
    uint64_t acked_ms = 0;  // our time when the verified receipt was committed
    std::optional<Hash32> receipt_id;
    std::string via;          // the relay that took custody, or empty
    uint64_t custody_ms = 0;  // our time when it did; 0: not relayed
};

// An envelope this node carries for others (a relay).
struct TransitRecord {
    Hash32 id{};
    std::string to;        // the recipient it is carried to
    std::string from_hop;  // the node it came from, to which the receipt goes back
    std::string origin;    // the envelope's sender
    uint64_t received_ms = 0;
    uint64_t seq = 0;
    uint64_t urgency = 0;
    bool delivered = false;
    bool refused = false;  // the next hop refused it for good: no longer carried
    std::optional<Hash32> receipt_id;
    uint64_t hops_left = 0;  // relays it may still pass through after this node
    std::string via;          // the next relay that took custody of it, or empty
    uint64_t custody_ms = 0;  // our time when it did; 0: not handed to a relay
};

// What one previous hop has left in this relay's custody, undelivered: envelopes and bytes.
struct CustodyUsage {
    uint64_t count = 0;
    uint64_t bytes = 0;
};

struct InboxRecord {
    Hash32 id{};
    uint64_t seq = 0;
    uint64_t received_ms = 0;
    std::string sender;
    Hash32 content_hash{};
    std::string subject;
    uint64_t size = 0;
    Hash32 receipt_id{};  // our signed receipt, re-sent if the sender asks again
    uint64_t created_ms = 0;  // the envelope's creation time (the sender's clock)
};

// A large envelope arriving in chunks: what its sender's signed manifest said.
struct TransferRecord {
    Hash32 id{};
    std::string from;
    uint64_t total = 0;
    uint64_t chunk_size = 0;
    std::vector<Hash32> hashes;
    uint64_t started_ms = 0;
    // The exact size of chunk `index`: chunk_size, less for the last; 0 out of range.
    uint64_t chunk_bytes(uint32_t index) const;
};

// A message by (the sender's creation time, id): the items the two ends of a link reconcile.
struct TimedId {
    uint64_t created_ms = 0;
    Hash32 id{};
};

struct PeerRecord {
    protocol::PublicIdentity identity;
    std::string endpoint;
    std::string source;  // "config" or "admin"
    uint64_t added_ms = 0;
};

struct DirectoryEntry {
    Hash32 id{};
    uint8_t kind = 0;
    Bytes wire;
};

// What Store::verify found (store_verify.cpp). It reports; it repairs nothing.
struct VerifyProblem {
    std::string table;  // where: documents, receipts, ids, sent, inbox, outbox, deliveries
    std::string key;    // the entry (an id in hex, or a number)
    std::string what;   // what is wrong with it
};
struct VerifyReport {
    uint64_t envelopes = 0;           // stored documents and status reports checked
    uint64_t envelopes_signed = 0;    // of those, with a valid signature by a known key of their sender
    uint64_t receipts = 0;
    uint64_t receipts_signed = 0;
    uint64_t index_entries = 0;       // entries of sent, inbox, outbox and deliveries checked
    // Envelopes and receipts whose signer has no key here (neither ours, a peer's, nor a
    // directory record's): their form and id are checked, not their signature.
    std::map<std::string, uint64_t> unverifiable_by_sender;
    uint64_t problem_count = 0;
    std::vector<VerifyProblem> problems;  // the first kMaxProblems of problem_count
    static constexpr size_t kMaxProblems = 1000;
    void add(std::string table, std::string key, std::string what);
};

// The schema version and agency a database says it holds.
struct StoreIdentity {
    uint32_t schema_version = 0;  // 0: none stored
    std::string agency;
};

class Store {
public:
    // Opens or creates the database for `agency`. Refuses a database of another agency, one
    // written by a newer schema, or a non-empty one without a schema version.
    static Result<std::unique_ptr<Store>> open(const EnvOptions& options, const std::string& agency);
    // The database in `dir`, which a running node may be using, for reading only (backup,
    // verify): nothing is created, migrated or checked against an agency. REQUIRES: a
    // database of the current schema (a node migrates an older one when it starts).
    static Result<std::unique_ptr<Store>> open_read_only(const std::string& dir);

    Env& env() { return *m_env; }

    // --- writes (inside Env::write) ---
    // Records a document this node sends: the envelope, its history entry, a pending
    // delivery and an outbox entry for every recipient.
    Status add_sent(WriteTxn& t, SentRecord& rec, ByteView envelope, uint64_t now_ms);
    // Retires the outbox entry of (id, recipient) and stores the verified receipt.
    // Returns false if that delivery was not pending (a duplicate receipt).
    Result<bool> record_receipt(WriteTxn& t, const Hash32& id, const std::string& recipient,
                                uint64_t receipt_ms, uint64_t acked_ms, const Hash32& receipt_id);
    Status put_receipt(WriteTxn& t, const Hash32& receipt_id, ByteView receipt_wire);
    Status note_attempt(WriteTxn& t, const Hash32& id, const std::string& recipient,
                        const std::string& error);
    // The recipient lost what it received (restored from a backup): the delivered (id,
    // recipient) is pending again, back in the outbox at its old place. Returns false when it
    // was not delivered (pending already, refused, or not ours to that recipient).
    Result<bool> redeliver(WriteTxn& t, const Hash32& id, const std::string& recipient);
    // A relay took custody of (id, recipient): the outbox entry goes (the relay carries it
    // on), the delivery stays pending until the receipt. False if not pending or relayed already.
    // For an envelope this node carries as a relay itself, the same for its transit record.
    Result<bool> record_custody(WriteTxn& t, const Hash32& id, const std::string& recipient,
                                const std::string& via, uint64_t now_ms);
    // The recipient, or a relay on the way, refused (id, recipient) for good: the delivery (or
    // the transit, at a relay) ends refused with `reason` and its outbox entry goes. A receipt
    // that comes later still counts. False if it was not pending.
    Result<bool> refuse_delivery(WriteTxn& t, const Hash32& id, const std::string& recipient,
                                 const std::string& reason);
    // Takes custody as a relay: the envelope, an outbox entry for rec.to and the transit
    // record. Fills rec.seq. False (nothing written) when (id, to) is already in transit.
    Result<bool> add_transit(WriteTxn& t, TransitRecord& rec, ByteView envelope);
    // The receipt for a transit came back: its outbox entry goes, and the envelope's bytes
    // when no one else needs them (drop_carried_envelope). False if not pending.
    Result<bool> complete_transit(WriteTxn& t, const Hash32& id, const std::string& to,
                                  const Hash32& receipt_id);
    Status add_forward(WriteTxn& t, const std::string& hop, const Hash32& receipt_id);
    Status put_transfer(WriteTxn& t, const TransferRecord& rec);
    Status put_chunk(WriteTxn& t, const Hash32& id, uint32_t index, ByteView bytes);
    // Deletes the transfer record and every stored chunk of it.
    Status remove_transfer(WriteTxn& t, const Hash32& id);
    Status remove_forward(WriteTxn& t, const std::string& hop, const Hash32& receipt_id);
    // Adds a received document. REQUIRES: !has_inbox(id).
    Status add_inbox(WriteTxn& t, InboxRecord& rec, ByteView envelope);
    Status put_peer(WriteTxn& t, const PeerRecord& p);
    // A write that proves the database takes commits (the node's /health, when idle).
    Status put_health_probe(WriteTxn& t, uint64_t now_ms);
    Status remove_peer(WriteTxn& t, const std::string& agency);
    Status put_directory_record(WriteTxn& t, const Hash32& id, uint8_t kind, ByteView wire);

    // --- reads ---
    std::optional<Bytes> document(const ReadTxn& t, const Hash32& id) const;
    std::optional<InboxRecord> inbox_record(const ReadTxn& t, const Hash32& id) const;
    std::optional<SentRecord> sent_record(const ReadTxn& t, const Hash32& id) const;
    std::vector<DeliveryRecord> deliveries(const ReadTxn& t, const Hash32& id) const;
    std::optional<DeliveryRecord> delivery(const ReadTxn& t, const Hash32& id,
                                           const std::string& recipient) const;
    std::optional<Bytes> receipt(const ReadTxn& t, const Hash32& receipt_id) const;
    // `len` bytes of a stored envelope from `offset` (fewer at its end); nullopt if absent.
    std::optional<Bytes> document_slice(const ReadTxn& t, const Hash32& id, uint64_t offset, uint64_t len) const;
    std::optional<uint64_t> document_size(const ReadTxn& t, const Hash32& id) const;
    // Calls `fn` with the stored envelope's bytes in place (valid only during the call, no
    // copy); false if it is not stored.
    bool with_document(const ReadTxn& t, const Hash32& id, const std::function<void(ByteView)>& fn) const;
    std::vector<TransferRecord> transfers(const ReadTxn& t) const;
    // Indices of the chunks stored for `id`.
    std::vector<uint32_t> chunk_indices(const ReadTxn& t, const Hash32& id) const;
    // The chunks of `rec` concatenated in order, `rec.total` bytes; nullopt unless every chunk is
    // stored with its exact size.
    std::optional<Bytes> assemble_chunks(const ReadTxn& t, const TransferRecord& rec) const;
    std::optional<TransitRecord> transit(const ReadTxn& t, const Hash32& id, const std::string& to) const;
    // Every transit record of message `id` (one per recipient it is carried to).
    std::vector<TransitRecord> transits(const ReadTxn& t, const Hash32& id) const;
    // Receipts waiting to go back to `hop`, at most `max`.
    std::vector<Hash32> forwards(const ReadTxn& t, const std::string& hop, size_t max) const;
    // Documents and reports this node sent to `agency` created at or after `since_ms`, read
    // from sent seq `from_seq` on; at most `max` (nullopt when there are more).
    std::optional<std::vector<TimedId>> sent_to_since(const ReadTxn& t, const std::string& agency, uint64_t from_seq,
                                                      uint64_t since_ms, size_t max) const;
    // Those received from `sender` created at or after `since_ms` (the inbox read newest first
    // down to received_ms < since_ms - skew_ms); at most `max`, looking at no more than
    // `scan_budget` inbox entries (nullopt when there are more, or the budget ran out).
    std::optional<std::vector<TimedId>> received_from_since(const ReadTxn& t, const std::string& sender,
                                                            uint64_t since_ms, uint64_t skew_ms, size_t max,
                                                            size_t scan_budget = SIZE_MAX) const;
    // Recipient-initiated resync after a restore (issue 17, node/resync.cpp). Those received
    // from `sender` at or after `received_since_ms` (our time), newest first; at most `max`,
    // looking at no more than `scan_budget` inbox entries (nullopt when there are more).
    std::optional<std::vector<TimedId>> received_since(const ReadTxn& t, const std::string& sender,
                                                       uint64_t received_since_ms, size_t max, size_t scan_budget) const;
    // What this node sent to `agency` and either delivered at or after `acked_since_ms` (our
    // time) or still has pending, among the documents created at or after `created_since_ms`
    // (the sent table read newest first); at most `max`, looking at no more than `scan_budget`
    // sent entries (nullopt when there are more).
    std::optional<std::vector<TimedId>> delivered_since(const ReadTxn& t, const std::string& agency,
                                                        uint64_t acked_since_ms, uint64_t created_since_ms, size_t max,
                                                        size_t scan_budget) const;
    // The recipients of every transit not yet delivered.
    std::set<std::string> transit_destinations(const ReadTxn& t) const;
    // Per previous hop, the transits still pending (not delivered, not refused).
    std::map<std::string, CustodyUsage> custody_usage(const ReadTxn& t) const;
    // Pending transits received before `before_ms`, at most `max`.
    std::vector<TransitRecord> pending_transits_before(const ReadTxn& t, uint64_t before_ms, size_t max) const;
    // Calls fn(outbox key, message id) for pending entries of `agency` strictly after
    // `after_key` (empty = from the start), in delivery order, while fn returns true.
    void scan_outbox(const ReadTxn& t, const std::string& agency, ByteView after_key,
                     const std::function<bool(ByteView key, const Hash32& id)>& fn) const;
    size_t outbox_depth(const ReadTxn& t, const std::string& agency) const;
    size_t outbox_total(const ReadTxn& t) const;
    // Newest first, at most `limit`.
    std::vector<InboxRecord> list_inbox(const ReadTxn& t, size_t limit) const;
    std::vector<SentRecord> list_sent(const ReadTxn& t, size_t limit) const;
    std::vector<PeerRecord> peers(const ReadTxn& t) const;
    // Ids of stored documents whose bytes start with `prefix`, at most `max`.
    std::vector<Hash32> ids_with_prefix(const ReadTxn& t, ByteView prefix, size_t max) const;
    size_t inbox_count(const ReadTxn& t) const { return t.count(m_inbox); }
    std::optional<PeerRecord> peer(const ReadTxn& t, const std::string& agency) const;
    std::vector<DirectoryEntry> directory_records(const ReadTxn& t) const;

    // The next number of the node's one sequence (sent, inbox and status order).
    Result<uint64_t> next_seq(WriteTxn& t);

    // --- maintenance ---
    StoreIdentity identity(const ReadTxn& t) const;
    // Entries per table (documents, sent, inbox, outbox, receipts, deliveries, peers,
    // directory, transit, chunks), by table name: a backup's manifest.
    std::map<std::string, uint64_t> table_counts(const ReadTxn& t) const;
    // Checks every stored envelope (its form, that it is stored under its id, and its
    // signature by a key of its sender: `own_keys` for this agency, the peers' and directory
    // records' keys for the others), every receipt the same way, and the indexes against the
    // tables they point into (store_verify.cpp).
    VerifyReport verify(const ReadTxn& t, const std::vector<protocol::SignPublicKey>& own_keys) const;

private:
    std::optional<std::vector<TimedId>> scan_received(const ReadTxn& t, const std::string& sender,
                                                      uint64_t stop_received_ms, uint64_t min_created_ms, size_t max,
                                                      size_t scan_budget) const;

    Status check_schema(const std::string& agency);
    Status migrate_from_2();  // store_migrate.cpp
    Result<bool> transit_custody(WriteTxn& t, const Hash32& id, const std::string& to, const std::string& via,
                                 uint64_t now_ms);
    Result<bool> refuse_transit(WriteTxn& t, const Hash32& id, const std::string& to);
    // A relay keeps an envelope's bytes only while it carries them: once every transit of `id`
    // is delivered or refused, and this node neither sent nor received it, they are deleted.
    // The transit records stay (small): a previous hop asking again is answered with custody.
    Status drop_carried_envelope(WriteTxn& t, const Hash32& id);

    std::unique_ptr<Env> m_env;
    MDB_dbi m_meta{}, m_documents{}, m_sent{}, m_sent_info{}, m_deliveries{}, m_outbox{},
        m_receipts{}, m_inbox{}, m_inbox_info{}, m_peers{}, m_directory{}, m_transit{}, m_forward{},
        m_transfers{}, m_chunks{};
    DocNumbers m_numbers;
    // The number of a stored document (nullopt if there is none). `envelope_number` also
    // stores the envelope under a fresh number when it has none.
    std::optional<uint64_t> number_of(const ReadTxn& t, const Hash32& id) const { return m_numbers.find(t, id); }
    Result<uint64_t> store_envelope(WriteTxn& t, const Hash32& id, ByteView envelope);
    std::optional<ByteView> envelope_view(const ReadTxn& t, const Hash32& id) const;
};

}  // namespace lienthong::storage
