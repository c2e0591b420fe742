// Internals of the Node shared by its .cpp files (loop, peers, inbound, api). Not a public
// header: only node/*.cpp include it.
#pragma once

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "node/committer.h"
#include "node/fork_join.h"
#include "node/http_service.h"
#include "node/log.h"
#include "node/metrics.h"
#include "node/node.h"
#include "node/service_notify.h"
#include "node/vdxp_http.h"
#include "node/vdxp_systems.h"
#include "protocol/document.h"
#include "protocol/frame.h"
#include "protocol/reconcile.h"
#include "protocol/receipt.h"
#include "protocol/status.h"
#include "protocol/cross_trust.h"
#include "protocol/trust.h"
#include "storage/audit_log.h"
#include "storage/resync_marks.h"
#include "storage/catalog.h"
#include "storage/store.h"
#include "storage/vdxp_tables.h"

namespace lienthong::node {

using protocol::Bytes;
using protocol::ByteView;
using protocol::Hash32;

struct HashLess {
    bool operator()(const Hash32& a, const Hash32& b) const { return a < b; }
};

struct InFlight {
    Bytes outbox_key;
    size_t bytes = 0;
    uint64_t sent_ms = 0;
};

// One outgoing link: our DEALER to the peer's ROUTER, and what is in flight on it.
// A directory reconciliation this node started on a link (directory.cpp), until it settles:
// the snapshot of our set it runs over, and the differences found so far.
struct DirSync {
    DirSync(std::shared_ptr<const protocol::VectorReconcileStorage> s, const protocol::ReconcileOptions& options,
            uint64_t now_ms)
        : set(std::move(s)), recon(*set, options), started_ms(now_ms) {}
    std::shared_ptr<const protocol::VectorReconcileStorage> set;
    protocol::Reconciler recon;
    std::vector<Hash32> have, need;
    uint64_t started_ms = 0;
};

// A reconciliation of what this node sent a peer against what the peer received, run when the
// link comes up with documents pending (delivery_sync.cpp); the outbox waits until it settles.
// The set this node answers a peer's delivery reconciliation from (delivery_sync.cpp), kept for
// the rounds of one reconciliation.
struct SyncAnswerSet {
    uint64_t since_ms = 0;
    uint64_t built_ms = 0;
    std::shared_ptr<const protocol::VectorReconcileStorage> set;  // null: none, or too many to answer
};

struct DeliverySync {
    DeliverySync(std::shared_ptr<const protocol::VectorReconcileStorage> s, const protocol::ReconcileOptions& options,
                 uint64_t since, uint64_t now_ms)
        : set(std::move(s)), recon(*set, options), since_ms(since), started_ms(now_ms) {}
    std::shared_ptr<const protocol::VectorReconcileStorage> set;
    protocol::Reconciler recon;
    std::vector<Hash32> have, need;
    std::vector<Hash32> pending;  // our outbox for the peer when it began
    uint64_t since_ms = 0;
    uint64_t started_ms = 0;
};

// A recipient a relayed envelope is to be carried on to, with the relay header it came with.
struct RelayTarget {
    uint64_t hops_left = 0;
    uint64_t urgency = 0;
};

// A large envelope arriving in chunks (transfer.cpp): the manifest, which chunks are stored,
// which are asked for (index → when), where to ask, and what to do with it when it is whole:
// deliver it here, carry it on as a relay for some recipients, or both. The chunks are stored
// once, by message id, whatever the number of recipients.
struct Transfer {
    storage::TransferRecord rec;
    std::vector<bool> have;
    size_t have_count = 0;    // arrived (stored, or in the batch being committed)
    size_t stored_count = 0;  // committed to LMDB: what a crash keeps
    std::map<uint32_t, uint64_t> requested;
    Bytes rid;  // the sender's connection, from its latest offer or chunk; empty after a restart
    uint64_t bytes_received = 0;  // in this run, for the rate
    uint64_t last_activity_ms = 0;  // the latest offer or chunk (or the start of this run): expiry
    bool assembling = false;
    bool deliver_here = false;                     // offered to us as its recipient
    std::map<std::string, RelayTarget> relay_to;   // offered to us as a relay, by recipient
};

// What goes on the wire for a stored envelope (NodeImpl::outgoing): its bytes, or, when too
// large to send whole on the link (PeerLink::whole_limit), only its manifest.
struct Outgoing {
    uint64_t size = 0;
    Bytes envelope;                            // empty when offered
    std::optional<protocol::OfferFrame> offer;
};

// An envelope handed to a relay and not yet in its custody (relay.cpp): when it was handed
// over or, for a large one, when the relay last asked for chunks of it.
struct RelayInFlight {
    uint64_t heard_ms = 0;
    bool offered = false;  // sent as a RelayOffer: the relay pulls chunks before it answers
    uint64_t bytes = 0;    // the envelope's size, for the goodput its Custody shows
};

// What a verified receipt changed (NodeImpl::apply_receipt).
struct ReceiptOutcome {
    std::vector<Hash32> delivered, known, unknown, mismatched;
    std::vector<Hash32> relayed;         // transits of ours it completed
    std::vector<std::pair<std::string, uint64_t>> released;  // their (previous hop, bytes): custody freed
    std::set<std::string> forward_to;    // previous hops it must go back to
};

struct PeerLink {
    storage::PeerRecord record;
    std::unique_ptr<zmq::socket_t> dealer;
    std::unique_ptr<zmq::socket_t> monitor;
    bool connected = false;
    uint64_t last_contact_ms = 0;
    std::string last_error;
    std::map<Hash32, InFlight, HashLess> inflight;
    size_t inflight_bytes = 0;
    // Documents a verified receipt named, while that receipt is being committed: out of the
    // window (the next ones travel meanwhile), not sent again. Kept across reconnects.
    std::map<Hash32, InFlight, HashLess> retiring;
    Bytes cursor;          // outbox key of the last document handed to the socket
    bool has_more = true;  // the outbox may hold entries after the cursor
    uint64_t backoff_ms = 0;  // how long without a receipt before going back to resend
    // Round-trip estimate from receipts (as TCP's RTO): the backoff never drops below it, so
    // a slow link or a big window is not mistaken for a lost one.
    double srtt_ms = 0;
    double rttvar_ms = 0;
    double goodput_bps = 0;  // bytes/s of receipted documents and relay custody (EWMA); 0 until measured
    // One sample of goodput: `bytes` answered at `now`, the answers before it came at `since`.
    void note_goodput(uint64_t bytes, uint64_t now, uint64_t since);
    uint64_t rto_ms() const;
    // How long in-flight documents may take before we go back: the RTO plus the time the
    // bytes in flight need at the measured goodput (or at a slow-link floor before that).
    uint64_t retransmit_after_ms() const;
    // The largest envelope sent whole on this link rather than offered in chunks (transfer.cpp).
    uint64_t whole_limit(uint64_t chunk_threshold) const;
    uint64_t last_progress_ms = 0;
    uint64_t next_ping_ms = 0;
    uint64_t reconnect_at_ms = 0;  // after a refused handshake zmq gives up: we retry
    uint64_t reconnect_backoff_ms = 0;
    uint64_t ping_nonce = 0;
    // Relays (relay.cpp): when this link last went down (or was made, if never up); the
    // envelopes handed to it as a relay, awaiting its custody, by (id, recipient); when to
    // pass it the receipts waiting in the forward table again.
    uint64_t down_since_ms = 0;
    std::map<std::pair<Hash32, std::string>, RelayInFlight> relay_inflight;
    uint64_t next_forward_ms = 0;
    uint64_t next_gossip_ms = 0;  // when to reconcile our directories again
    std::unique_ptr<DirSync> dir_sync;
    std::unique_ptr<DeliverySync> sync;  // while set, the outbox waits
    std::unique_ptr<DeliverySync> resync;  // a restored node asking what the peer delivered (resync.cpp)
    uint64_t resync_next_ms = 0;           // when to ask again; UINT64_MAX: not needed
    uint32_t resync_timeouts = 0;          // rounds in a row the peer did not answer
    uint64_t chunk_bytes_sent = 0;
    uint64_t relay_progress_ms = 0;  // the last Custody, or the first hand-over since none was waiting
    uint64_t bytes_sent = 0;  // envelope bytes handed to this link: whole, relayed and in chunks
    // Envelopes offered on this link by their manifest (transfer.cpp), with how often each
    // chunk was served since the offer: ChunkWant gets only these, each chunk a few times.
    std::map<Hash32, std::vector<uint8_t>, HashLess> offered;
    uint64_t delivered = 0;
    uint64_t retries = 0;
};

// An arriving envelope, decoded and its signature checked against the key of the link it came
// on (which is the sender's, unless a relay carries it): the work done in parallel.
struct CheckedDelivery {
    Result<protocol::SignedEnvelope> se = make_error("not decoded");
    protocol::SignPublicKey link_key{};
    bool link_signed = false;  // from the link's agency, and signed by link_key
    size_t size = 0;
};

// A verified, decrypted document or status report waiting for the group commit that makes
// it durable. Exactly one of summary / status is set: what the catalog learns from it.
struct InboundDoc {
    storage::InboxRecord rec;  // receipt_id and received_ms are set at commit
    Bytes wire;
    Bytes routing_id;
    std::string peer;  // the link it came on (the sender, or a relay carrying it)
    bool fresh = false;
    std::shared_ptr<storage::DocSummary> summary;
    std::string business_reason;
    std::shared_ptr<storage::StatusEvent> status;
};

// A message as stored here, opened: a document or a status report.
struct StoredMessage {
    protocol::SignedEnvelope envelope;
    std::optional<storage::SentRecord> sent;
    std::optional<storage::InboxRecord> inbox;
    std::vector<storage::DeliveryRecord> deliveries;
    bool key_known = true;
    bool signature_valid = false;
    std::optional<protocol::OpenedDocument> document;
    std::optional<protocol::OpenedStatus> status;
};

// A processing status this node reports about a document (api set_status, edXML import).
struct StatusRequest {
    Hash32 document{};
    std::string code;
    protocol::StaffInfo staff;
    std::string description;
    uint64_t time_ms = 0;  // 0: now
    protocol::Organization from;
    protocol::ResponseFor response_for;
    std::vector<std::string> informed;  // as sender (13): which recipients; empty = all
    Bytes edxml;                        // an imported status: the file as given, carried
};

// The routing id of a self-addressed delivery: ZeroMQ never gives a peer an empty one.
inline const Bytes kSelfRoute{};

using Reply = std::function<void(const nlohmann::json&)>;
// What an import must be (the hub API's messagetype): a document, a status, or either.
enum class ImportKind { any, document, status };
// Extra storage work committed with a submission, given the new message id.
using ExtraWrite = std::function<Status(storage::WriteTxn&, const Hash32&)>;

bool has_filters(const nlohmann::json& req);

// A document that passed every check and is sealed: what queue_prepared commits.
struct PreparedSend {
    std::shared_ptr<storage::SentRecord> rec;
    Bytes wire;
    std::shared_ptr<storage::DocSummary> summary;
    std::string reason;  // of a revoke/update/replace, for the lifecycle record
};

// A sealed message to store as sent, with what the catalog learns from it (`index`).
struct QueuedSend {
    std::shared_ptr<storage::SentRecord> rec;
    Bytes wire;
    ExtraWrite index;
};
// The answer for messages queued together: the error (empty when all were stored) and their
// ids in order.
using SendsDone = std::function<void(const std::string& error, const nlohmann::json& ids)>;

// Work gathered in one loop turn: storage changes, then what to do once they are durable.
// Inbound documents get one receipt per sender per commit (see protocol/receipt.h).
// Every item is checked before it joins a batch. One that still fails inside the transaction is
// taken out and the rest committed again (NodeImpl::isolate_failure), when it is an inbound
// document or a write added with add() (a request of one client); a failure of any other write
// (the node's own bookkeeping) fails the batch.
struct Batch {
    using Write = std::function<Status(storage::WriteTxn&)>;
    using After = std::function<void(bool ok, const std::string& error)>;
    std::vector<Write> writes;
    std::vector<After> after;
    std::map<size_t, size_t> owned;  // index of a write added with add() → index of its after
    std::set<size_t> dropped_writes, dropped_after, dropped_inbound;  // taken out after failing
    // Set by the commit job on the committer thread, read once it has finished: what failed.
    std::optional<size_t> failed_write, failed_inbound;
    size_t isolated = 0;  // items taken out so far
    // A write that belongs to one request, with what to do once it is durable (or has failed).
    void add(Write w, After a) {
        owned[writes.size()] = after.size();
        writes.push_back(std::move(w));
        after.push_back(std::move(a));
    }
    std::vector<InboundDoc> inbound;
    // Receipts to send once durable: (routing id, receipt id), and the receipts' bytes.
    std::set<std::pair<Bytes, Hash32>> acks;
    std::map<Hash32, Bytes, HashLess> receipt_wires;
    size_t documents = 0;
    size_t bytes = 0;
};

// The federation directory as this node holds it (directory.cpp): every stored record that
// verified, and the record in use per agency.
struct DirectoryState {
    std::map<Hash32, protocol::NodeRecord, HashLess> nodes;
    std::vector<protocol::IssuerRecord> issuers;
    std::vector<protocol::Revocation> revocations;
    std::vector<protocol::CrossTrust> cross;    // grants and withdrawals of external roots
    std::vector<size_t> cross_deciding;         // indices into `cross` that decide (cross_trust.h)
    std::vector<protocol::TrustAnchor> anchors;  // the configured roots, then external ones in force
    std::map<Hash32, std::pair<uint8_t, Bytes>, HashLess> wires;  // id → (kind, record bytes)
    std::map<std::string, protocol::NodeRecord> current;           // agency → highest valid serial
    std::set<Hash32, HashLess> gossip;                             // ids offered to peers
    std::shared_ptr<const protocol::VectorReconcileStorage> recon_set;  // `gossip`, keyed by record time
    protocol::ReconcileOptions recon_options;
    std::set<Hash32, HashLess> foreign;  // other federations' cross-trust records: never asked for again
    Hash32 digest{};
    bool links_dirty = false;
    uint64_t next_refresh_ms = 0;
};

struct Counters {
    uint64_t received = 0;
    uint64_t duplicates = 0;
    uint64_t receipts = 0;
    uint64_t sent = 0;
    uint64_t refused_connections = 0;
    uint64_t links_closed = 0;  // incoming connections closed (peer gone, or a message over the transport cap)
    uint64_t commits = 0;
    std::map<std::string, uint64_t> rejected;  // by reason kind
};

// What /metrics shows that the node does not keep anyway (metrics_render.cpp).
struct NodeMetrics {
    struct PeerFlow {
        uint64_t documents_received = 0;
        uint64_t bytes_received = 0;
        uint64_t connects = 0;
    };
    std::map<std::string, PeerFlow> peers;
    // Submission (or hand-over) to verified receipt, seconds.
    Histogram receipt_seconds{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600}};
    Histogram commit_items{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
    Histogram commit_seconds{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}};
    uint64_t commits_failed = 0;
    // Overdue documents, counted every minute (a catalog scan): owed by this agency's
    // recipients to it (as sender), and owed by it (as recipient).
    uint64_t overdue_owed_to_us = 0, overdue_owed_by_us = 0;
    uint64_t next_overdue_ms = 0;
    uint64_t next_render_ms = 0;
    uint64_t next_probe_ms = 0;        // an idle node proves its database takes a commit
    uint64_t last_commit_ok_ms = 0;
};

class DirFd;  // dropbox.cpp

// Drop folders (dropbox.cpp) for a DMS that cannot call the API: edXML files placed in
// <drop_dir>/outgoing/ are submitted and moved to sent/ (or failed/ with <name>.error); every
// received document and status report is written to incoming/<message id>.edxml.
// Tables (LMDB, opened only when drop_dir is set):
// | table       | key                                          | value                          |
// |-------------|----------------------------------------------|--------------------------------|
// | drop_done   | hash_domain("lienthong/drop-file/v1",        | message id (32) of the file's  |
// |             |   file name 0x00 file content) (32)          |   submission                   |
// | drop_export | message id (32) of a received message        | empty                          |
// A drop_done entry is written in the transaction that stores the submission, so a file whose
// key is recorded was sent and only its move to sent/ may be missing (a crash in between).
// A drop_export entry is written in the transaction that stores the received message and
// deleted in a later commit, after incoming/<id>.edxml was renamed into place and the folder
// fsync'd; pending entries are exported again at start (same name: at most one file).
struct DropFolders {
    struct Seen {
        uint64_t size = 0;
        int64_t mtime_ns = 0;
        bool operator==(const Seen&) const = default;
    };
    MDB_dbi done = 0;
    MDB_dbi pending = 0;
    uint64_t next_scan_ms = 0;
    std::map<std::string, Seen> seen;  // outgoing/ as the last scan saw it
    std::set<std::string> inflight;    // files submitted and not yet answered
    std::set<std::string> given_up;    // could not be moved out of outgoing/ (said once): left alone
    std::deque<Hash32> to_export;      // received, committed, file not yet written
    std::vector<Hash32> export_retry;  // export failed: tried again at the next scan
    // Fault injection for tests: the environment variable LIENTHONG_DROP_CRASH_AT names a
    // point (after_commit, after_error_file, after_export) where the node SIGKILLs itself
    // the first time it gets there. Empty in production.
    std::string crash_at;
};

class NodeImpl final : public Node {
public:
    NodeImpl(NodeConfig config, protocol::SecretIdentity identity, std::unique_ptr<Clock> clock);
    ~NodeImpl() override { m_vdxp_http.reset(); }  // its threads use m_ctx, destroyed before it
    Status start();
    Status open_router();
    void reopen_router();
    void set_previous_keys(std::vector<protocol::SecretIdentity> previous);
    Status run() override;

private:
    // loop (node.cpp)
    // Hands the gathered batch to the committer unless one is being committed already.
    void commit_batch();
    bool batch_full() const;
    void submit_committing();  // hands m_committing to the committer thread
    void on_commit_done(Committer::Done done);
    void finish_batch(Batch& batch, const Status& status);
    // Takes the item whose failure failed the commit of `batch` out of it (failing only that
    // item), when it can be told apart; true if the rest should be committed again.
    bool isolate_failure(Batch& batch, const std::string& error);
    Status commit_inbound(storage::WriteTxn& t, Batch& batch);
    void send_acks(Batch& batch);
    void drain_commits();
    void on_timers();
    void on_signal();
    // reload (reload.cpp): re-reads the config file and applies what can change live; the
    // answer names what was applied and what needs a restart. `cause`: SIGHUP or api.
    nlohmann::json reload_config(const std::string& cause, const std::string& user = "");
    uint64_t next_timeout_ms();
    // peers (peers.cpp)
    Status add_link(const storage::PeerRecord& rec);
    void remove_link(const std::string& agency);
    void pump(PeerLink& link);
    // An outbox entry of `urgency` was committed for `agency`: the link's pump reads it next.
    void wake_outbox(const std::string& agency, uint64_t urgency);
    void pump_all();
    // Self-addressed documents (a document system's loop-back test), self_delivery.cpp: taken
    // from the outbox into this node's own inbound path (stored once, receipt signed by this
    // node) with routing id kSelfRoute, whose acks are applied here instead of sent.
    void pump_self();
    void on_self_receipt(const Bytes& wire);
    void on_dealer_readable(PeerLink& link);
    void on_monitor_event(PeerLink& link);
    void on_ack(PeerLink& link, Bytes envelope);
    void on_reject(PeerLink& link, const protocol::RejectFrame& f);
    void on_peer_timers(PeerLink& link, uint64_t now);
    // An empty routing_id sends on a DEALER; otherwise it addresses one ROUTER peer.
    bool send_frame(zmq::socket_t& sock, const protocol::Frame& f, ByteView routing_id = {});
    // inbound (inbound.cpp)
    void on_router_readable();
    void on_deliver(const Bytes& routing_id, const std::string& peer, Bytes envelope);
    CheckedDelivery check_delivery(const std::string& peer, const protocol::SignPublicKey& link_key,
                                   ByteView envelope) const;  // thread-safe
    void on_checked_delivery(const Bytes& routing_id, const std::string& peer, CheckedDelivery c);
    // Why the status event `e`, placed in its document's timeline by its signed time, cannot be
    // taken (protocol::apply_received), or "" when it can.
    std::string status_misfit(const storage::StatusEvent& e);
    // Refuses what a peer sent, telling it why (permanent: sending it again cannot succeed).
    void reject(const Bytes& routing_id, const std::string& peer, const std::string& kind,
                const std::string& reason, const Bytes& message_id, bool permanent = false);
    // A refusal of what a peer sent: counted under `kind` and logged as
    // "<event> peer= [msg=] kind= [extra...] error= [held_back=]", at most once per 10 s per
    // (event, peer, kind): a peer can repeat a refused frame at will.
    void log_refusal(std::string_view event, const std::string& peer, const std::string& kind, const std::string& msg,
                     const std::string& error, std::initializer_list<Logger::Field> extra = {});
    void on_zap_request();
    void on_router_monitor_event();
    // api (api_server.cpp)
    void on_api_readable();
    void handle_api(const Bytes& routing_id, nlohmann::json& req);  // may move large fields out
    void api_reply(const Bytes& routing_id, const nlohmann::json& resp);
    nlohmann::json api_status();
    void api_send(const Bytes& routing_id, nlohmann::json& req);
    void api_send_batch(const Bytes& routing_id, nlohmann::json& req);
    void api_import(const Bytes& routing_id, const nlohmann::json& req);
    void api_set_status(const Bytes& routing_id, const nlohmann::json& req);
    nlohmann::json api_find(const nlohmann::json& req, bool outgoing);
    nlohmann::json api_report_overdue(const nlohmann::json& req);
    nlohmann::json api_report_stats(const nlohmann::json& req);
    // documents (api_documents.cpp)
    Status check_policy(const protocol::DocumentContent& c);
    Status resolve_acts_on(protocol::DocumentContent& c);
    Result<protocol::DocumentContent> content_from_request(nlohmann::json& req);  // moves large fields out
    Result<PreparedSend> prepare_document(protocol::DocumentContent c);  // checks and seals; queues nothing
    void queue_prepared(PreparedSend p, Reply reply, ExtraWrite extra = {});
    QueuedSend to_queued(PreparedSend p, ExtraWrite extra = {});
    void submit_document(protocol::DocumentContent c, Reply reply, ExtraWrite extra = {});
    void submit_status(StatusRequest sr, Reply reply, ExtraWrite extra = {});
    void import_edxml(ByteView xml, const std::vector<std::string>& only_to, Reply reply, ExtraWrite extra = {},
                      ImportKind kind = ImportKind::any);
    // Commits `items` as one request of the batch: all are stored, or none (batch.h: a failure
    // in the transaction fails these alone).
    void queue_sends(std::vector<QueuedSend> items, SendsDone done);
    protocol::ProcessingState processing_state(const storage::ReadTxn& t, const Hash32& doc,
                                               const std::string& recipient);
    Result<StoredMessage> open_stored(const Hash32& id);
    Status index_inbound(storage::WriteTxn& t, const InboundDoc& d);
    bool answer_held(const Bytes& routing_id, const Hash32& id, const std::string& sender);
    bool verify_from(const protocol::SignedEnvelope& se, const std::string& agency, const protocol::SignPublicKey& link_key);
    // chunked transfer (transfer.cpp)
    std::optional<Outgoing> outgoing(const storage::ReadTxn& t, const Hash32& id, uint64_t whole_limit) const;
    void on_chunk_want(PeerLink& link, const protocol::ChunkWantFrame& f);
    void on_offer(const Bytes& rid, const std::string& peer, protocol::OfferFrame f);
    void on_relay_offer(const Bytes& rid, const std::string& peer, protocol::RelayOfferFrame f);
    bool offer_refused(const Bytes& rid, const std::string& peer, const protocol::OfferFrame& f);
    Transfer& open_transfer(const Bytes& rid, const std::string& peer, protocol::OfferFrame f);
    void continue_transfer(Transfer& tr);
    void finish_transfer(const Hash32& id);
    // Forgets the transfer of `id` and deletes its chunks (in the next commit), if there is one.
    void drop_transfer(const Hash32& id, std::string_view why);
    void on_chunk(const Bytes& rid, const std::string& peer, protocol::ChunkFrame f);
    void request_chunks(Transfer& tr);
    void load_transfers();
    void transfer_timers(uint64_t now);
    nlohmann::json api_transfers();
    // reconciliation on reconnect (delivery_sync.cpp)
    void start_delivery_sync(PeerLink& link, uint64_t now);
    void on_sync_answer(PeerLink& link, const protocol::SyncFrame& f);
    void on_sync_request(const Bytes& rid, const std::string& peer, const protocol::SyncFrame& f);
    void on_receipt_want(const Bytes& rid, const std::string& peer, const protocol::ReceiptWantFrame& f);
    // recipient-initiated resync after a restore (resync.cpp)
    void maybe_start_resync(PeerLink& link, uint64_t now);
    void on_resync_answer(PeerLink& link, const protocol::ResyncFrame& f);
    void resync_timers(PeerLink& link, uint64_t now);
    void on_resync_request(const Bytes& rid, const std::string& peer, const protocol::ResyncFrame& f);
    void on_redeliver_want(const Bytes& rid, const std::string& peer, const protocol::RedeliverWantFrame& f);
    // relays (relay.cpp)
    std::string relay_via(const std::string& agency, uint64_t now);
    void pump_relays(PeerLink& via);
    void relay_timers(PeerLink& link, uint64_t now);
    void on_relay(const Bytes& rid, const std::string& peer, protocol::RelayFrame f);
    void carry(const Bytes& rid, const std::string& peer, std::shared_ptr<const protocol::SignedEnvelope> se,
               const std::string& to, const RelayTarget& target);
    std::string relay_route_refusal(const std::string& peer, const std::string& to, uint64_t hops_left);
    // Custody held for previous hops (m_custody): a transit ended frees its share; the periodic
    // check drops what outlived relay.custody_expiry_ms and counts everything again.
    void release_custody(const std::string& hop, uint64_t bytes);
    void custody_timers(uint64_t now);
    void on_custody(PeerLink& link, const protocol::CustodyFrame& f);
    void on_forwarded_receipt(const Bytes& rid, const std::string& peer, Bytes envelope);
    std::optional<protocol::SignPublicKey> sender_key(const std::string& agency) const;
    void log_receipt_misses(const std::string& peer, const Hash32& receipt_id, const ReceiptOutcome& outcome);
    std::shared_ptr<ReceiptOutcome> queue_receipt(const std::string& recipient, protocol::SignedEnvelope se,
                                                  protocol::Receipt r);
    Status apply_receipt(storage::WriteTxn& t, const std::string& recipient, const protocol::Receipt& r,
                         const Hash32& receipt_id, ByteView wire, ReceiptOutcome& out);
    // directory (directory.cpp)
    protocol::TrustView dir_view(uint64_t now) const;
    void dir_recompute();
    Status dir_load();
    nlohmann::json dir_accept(std::vector<std::pair<protocol::DirRecordKind, Bytes>> records, const std::string& from,
                              bool store);
    void dir_apply_links();
    std::map<std::string, PeerLink>::iterator ensure_link(const std::string& agency);
    std::optional<std::string> dir_agency_of_box_key(ByteView key) const;
    std::optional<std::string> dir_agency_of_stored_key(ByteView key) const;
    std::string dir_why_unusable(const std::string& agency) const;
    void dir_update_anchors(uint64_t now);
    void dir_timers(uint64_t now);
    std::vector<std::pair<protocol::DirRecordKind, Bytes>> dir_records_for(const std::vector<Hash32>& ids) const;
    void dir_send_records(zmq::socket_t& sock, const std::vector<Hash32>& ids, ByteView routing_id = {});
    void dir_on_router_frame(const Bytes& rid, const std::string& peer, const protocol::Frame& f);
    void dir_on_dealer_frame(PeerLink& link, const protocol::Frame& f);
    void api_directory_import(const Bytes& rid, const nlohmann::json& req);
    nlohmann::json api_directory_list(const nlohmann::json& req);
    std::optional<protocol::SignPublicKey> known_sign_key(const storage::ReadTxn& t, const std::string& agency);
    nlohmann::json api_inbox(const nlohmann::json& req);
    nlohmann::json api_outbox(const nlohmann::json& req);
    nlohmann::json api_show(const nlohmann::json& req, bool with_content);
    nlohmann::json api_receipt(const nlohmann::json& req);
    void api_peer_add(const Bytes& routing_id, const nlohmann::json& req);
    void api_peer_remove(const Bytes& routing_id, const nlohmann::json& req);
    nlohmann::json api_peer_list();
    Result<Hash32> resolve_id(const std::string& text);

    // drop folders (dropbox.cpp); all no-ops when drop_dir is empty
    Status drop_start();
    void drop_on_timers(uint64_t now);
    bool drop_busy() const { return !m_drop.to_export.empty(); }
    void drop_scan();
    void drop_pick_up(const DirFd& outgoing, const std::string& name);
    void drop_move_sent(const std::string& name, const Hash32& key, const std::string& msg, bool recovered);
    void drop_fail(const std::string& name, const Hash32& key, const std::string& reason);
    // In the commit transaction of a received message (committer thread).
    Status drop_mark_received(storage::WriteTxn& t, const Hash32& id) const;
    void drop_export();
    // /metrics and /health (metrics_render.cpp): the page, rendered on the loop.
    std::string render_metrics(uint64_t now);
    void metrics_timers(uint64_t now);
    void note_commit(const Committer::Done& done, size_t items);
    void drop_crash_point(std::string_view point) const;  // see DropFolders::crash_at

    // audit log (audit.cpp)
    // An event of `kind` now; the caller fills the ids.
    storage::AuditEvent audit_event(std::string kind) const;
    // Appends `e` in the caller's write transaction (no-op when audit.enabled is false).
    Status audit(storage::WriteTxn& t, const storage::AuditEvent& e) const;
    // A batch write of its own for an event that changes nothing else (an admin command).
    void audit_later(storage::AuditEvent e);
    Status audit_start(storage::WriteTxn& t);  // node_started, and key_rotated when the key changed
    // Signs the log's committed head and sends it to every connected peer; returns it.
    protocol::AuditHead publish_audit_head(const std::string& why);
    void audit_timers(uint64_t now);
    void on_audit_head(const Bytes& rid, const std::string& peer, const protocol::AuditHeadFrame& f);
    void on_audit_heads_want(const Bytes& rid, const std::string& peer);
    void on_audit_heads(PeerLink& link, const protocol::AuditHeadsFrame& f);
    void finish_witness_requests(bool expired);
    nlohmann::json api_audit_show(const nlohmann::json& req);
    nlohmann::json api_audit_head(const nlohmann::json& req);
    void api_audit_witnesses(const Bytes& rid, const nlohmann::json& req);
    nlohmann::json api_audit_export(const nlohmann::json& req);
    // audit archive and the backup entry (audit_archive.cpp)
    nlohmann::json api_audit_archive_prepare(const nlohmann::json& req);
    void api_audit_archive_commit(const Bytes& rid, const nlohmann::json& req);
    nlohmann::json api_audit_backup(const nlohmann::json& req);

    // The national hub's API (api_vdxp.cpp, api_vdxp_systems.cpp; HTTP side vdxp_http.cpp).
    void api_vdxp_send(const Bytes& rid, nlohmann::json& req);
    nlohmann::json api_vdxp_list(const nlohmann::json& req);
    nlohmann::json api_vdxp_count(const nlohmann::json& req);
    nlohmann::json api_vdxp_get(const nlohmann::json& req);
    void api_vdxp_ack(const Bytes& rid, const nlohmann::json& req);
    nlohmann::json api_vdxp_sent(const nlohmann::json& req);
    nlohmann::json api_vdxp_agencies();
    void api_vdxp_system(const Bytes& rid, const nlohmann::json& req);
    Result<storage::InboxRecord> vdxp_received(const nlohmann::json& req);
    // Gives the HTTP threads the systems of `config` and those the admin added.
    Status vdxp_load_systems(const NodeConfig& config);
    std::string vdxp_loop_endpoint() const { return "inproc://vdxp-api-" + std::to_string(reinterpret_cast<uintptr_t>(this)); }

    const PeerLink* find_peer_by_box_key(ByteView key) const;

    NodeConfig m_config;
    protocol::SecretIdentity m_identity;
    std::unique_ptr<Clock> m_clock;
    Rng m_rng;
    Logger m_log;
    ServiceNotifier m_service;  // systemd: READY, WATCHDOG, RELOADING, STOPPING
    std::shared_ptr<ServiceBoard> m_board = std::make_shared<ServiceBoard>();  // what HTTP shows
    std::unique_ptr<HttpService> m_http;  // http.listen; stopped before the rest goes
    NodeMetrics m_metrics;
    protocol::EnvelopeLimits m_limits;
    std::unique_ptr<storage::Store> m_store;
    std::unique_ptr<storage::Catalog> m_catalog;
    std::unique_ptr<storage::ResyncMarks> m_resync;  // set by a restore: what to fetch again
    std::unique_ptr<storage::AuditLog> m_audit;  // always open: witnessed heads are kept even when off
    std::unique_ptr<storage::VdxpTables> m_vdxp;
    std::shared_ptr<VdxpRegistry> m_vdxp_systems = std::make_shared<VdxpRegistry>();
    std::unique_ptr<VdxpHttp> m_vdxp_http;  // vdxp.listen; stopped before the rest goes
    // Uploads being committed, by upload key: the answers a resent one waits for too.
    std::map<storage::VdxpUploadKey, std::vector<Reply>> m_vdxp_inflight;
    uint64_t m_next_head_ms = 0;
    // Heads of our own log that peers said they hold (verified with our keys), by peer.
    std::map<std::string, std::vector<protocol::AuditHead>> m_witnessed;
    std::map<std::string, uint64_t> m_head_heard_ms;  // by peer: the last head stored (rate bound)
    // API requests waiting for peers' answers to AuditHeadsWant.
    struct WitnessRequest {
        Bytes rid;
        uint64_t deadline_ms = 0;
        std::set<std::string> waiting;
        std::set<std::string> asked;
    };
    std::vector<WitnessRequest> m_witness_requests;
    // The archive audit_archive_prepare built, which audit_archive_commit must name (by its
    // last entry and file hash) before any entry is deleted.
    struct PreparedArchive {
        uint64_t first_seq = 0;
        protocol::AuditHead end;
        Hash32 file_hash{};
    };
    std::optional<PreparedArchive> m_prepared_archive;
    LogThrottle m_audit_refusals{10000};  // our refusals recorded, per (peer, kind)
    std::unique_ptr<Committer> m_committer;  // destroyed before m_store
    ForkJoin m_verifiers{default_helpers()};  // checks a burst of arriving signatures in parallel
    std::shared_ptr<Batch> m_committing;     // the batch the committer holds

    zmq::context_t m_ctx{1};
    std::unique_ptr<zmq::socket_t> m_zap;
    std::unique_ptr<zmq::socket_t> m_router;
    std::unique_ptr<zmq::socket_t> m_router_monitor;  // transport events of incoming links
    std::unique_ptr<zmq::socket_t> m_api;
    int m_signal_fd = -1;
    int m_lock_fd = -1;  // flock on <data_dir>/node.lock: one node per data directory
    protocol::LocalKey m_local_key{};
    std::vector<protocol::SecretIdentity> m_previous;       // earlier keys, newest first
    std::vector<protocol::LocalKey> m_previous_local_keys;  // their local storage keys
    protocol::SharedKeyCache m_shared_keys;  // one X25519 per peer, not per document (loop thread)
    std::map<std::string, PeerLink> m_links;
    // Receipts already applied, so a receipt re-sent for many duplicates is checked once.
    std::set<Hash32, HashLess> m_applied_receipts;
    bool m_self_has_more = true;                    // the outbox to ourselves may hold entries
    std::set<Hash32, HashLess> m_self_inflight;     // handed to our inbound path, unreceipted
    std::set<Hash32, HashLess> m_self_refused;      // refused by our inbound path: not retried
    // Test-only fault injection (LIENTHONG_TEST_DROP_ACKS=N): the first N acknowledgements this
    // node would send are dropped, as if lost on the wire.
    uint64_t m_drop_acks = 0;
    std::set<std::string> m_transit_unlinked;
    std::map<std::string, storage::CustodyUsage> m_custody;
    std::map<std::string, SyncAnswerSet> m_resync_answers;  // by peer: what we delivered to it (resync.cpp)
    std::map<std::string, SyncAnswerSet> m_sync_answers;  // by peer  // by previous hop: what we carry for it
    uint64_t m_next_custody_check_ms = 0;
    std::map<Hash32, Transfer, HashLess> m_transfers;  // transit recipients with no link: reached by route only
    // Documents received but not yet committed (gathered or in the committer): a re-sent
    // copy is dropped unread; the first copy's receipt answers it.
    std::set<Hash32, HashLess> m_inbound_pending;
    Batch m_batch;
    DropFolders m_drop;
    Counters m_counters;
    DirectoryState m_dir;
    LogThrottle m_refused_connections{60000};  // per CURVE key
    LogThrottle m_refused_records{600000};     // per refusal, records arriving by gossip
    LogThrottle m_refusals{10000};             // per (event, peer, kind): log_refusal
    bool m_reopen_router = false;  // set when a revocation must cut incoming links
    uint64_t m_started_ms = 0;
    uint64_t m_monitor_seq = 0;
    uint64_t m_next_release_ms = 0;  // when to drop the database map's pages from RSS again
    bool m_stop = false;
};

std::string hex_id(const Hash32& id);
// The audit kind of a document sent or received: document_, revoke_, update_ or replace_ + `dir`.
std::string document_event_kind(uint8_t business_type, const char* dir);
// The recipients as one agency (when one) and "to=a,b,..." otherwise.
void audit_recipients(storage::AuditEvent& e, const std::vector<std::string>& to);

// The optional "user" field of an admin request (the OS user lienthong-admin runs as, as the
// client says: the API socket is mode 0600, so only the node's user or root can say it).
Result<std::string> request_user(const nlohmann::json& req);
// The edXML file of a stored message: the very file imported, or one written from its content.
Bytes edxml_of(const StoredMessage& m);

// The keys of `file` that differ from the `running` config and that only a restart applies
// (reload.cpp), in the order of the config skeleton.
std::vector<std::string> restart_needed(const NodeConfig& running, const NodeConfig& file);

}  // namespace lienthong::node
