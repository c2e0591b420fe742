// AuditLog: the node's append-only, hash-chained record of what it did (issue 18), and the
// signed heads of other nodes' logs it witnesses.
//
// Tables (in the Store's environment):
// | table       | key                          | value                                          |
// |-------------|------------------------------|------------------------------------------------|
// | audit       | seq (u64 BE), from 1         | the entry's canonical bytes (protocol/audit.h) |
// | audit_heads | agency 0x00 seq (u64 BE)     | a signed head of that agency's log (its wire   |
// |             |                              |   bytes): the latest kKeepHeads per agency;    |
// |             |                              |   this node's own under its own agency         |
// |             | 0x00 "sign_key"              | the signing key the node last started with     |
// |             | 0x00 "archived"              | the signed head of the last entry archived     |
// |             |                              |   (audit archive): the chain starts after it   |
// What must stay true: an entry is appended in the same write transaction as the change it
// records (a crash keeps both or neither), entries are never changed or deleted by the node,
// and seq has no gap. The one exception is `audit archive`: the oldest entries, once written to a
// signed archive file, are deleted with the archived point recorded in the same transaction, so
// the chain in the table starts from that point and seq still has no gap after it. The head is read from the table in the transaction itself, so an
// aborted or retried transaction leaves no trace and needs no cache to be undone.
// Thread-safety: as Env (appends inside one Env::write, on the writer's thread).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "protocol/audit.h"
#include "storage/lmdb.h"

namespace lienthong::storage {

using protocol::Hash32;

// What happened; seq and prev are the log's to give.
struct AuditEvent {
    std::string kind;
    uint64_t time_ms = 0;
    std::optional<Hash32> msg;
    std::optional<Hash32> about;
    std::string agency;
    std::string peer;
    std::string user;
    std::string detail;
};

struct AuditHeadPos {
    uint64_t seq = 0;  // 0: empty
    Hash32 hash{};     // zero when empty
};

// What verify() found: the entries checked and, when the chain breaks, where first.
struct AuditChainReport {
    uint64_t entries = 0;
    AuditHeadPos start;  // the archived point the chain starts from (seq 0: from entry 1)
    AuditHeadPos head;
    std::optional<protocol::ChainBreak> first_bad;
};

class AuditLog {
public:
    static constexpr size_t kKeepHeads = 8;

    // Opens (creating unless read-only) the two tables.
    static Result<std::unique_ptr<AuditLog>> open(Env& env);

    // Appends `e` as the next entry. Text longer than the entry allows is cut (and marked).
    Status append(WriteTxn& t, const AuditEvent& e);
    // The last entry; once every entry is archived, the archived point.
    AuditHeadPos head(const ReadTxn& t) const;
    std::optional<Bytes> entry(const ReadTxn& t, uint64_t seq) const;
    // Calls fn(seq, entry bytes) from `from_seq` on, in order, while it returns true.
    void scan(const ReadTxn& t, uint64_t from_seq, const std::function<bool(uint64_t, ByteView)>& fn) const;
    // Recomputes the chain from entry 1, or from the archived point: every key is seq, every
    // entry decodes with that seq and links to the one before it (the first to the point).
    AuditChainReport verify(const ReadTxn& t) const;

    // The signed head of the last archived entry, when entries were archived.
    std::optional<protocol::AuditHead> archived(const ReadTxn& t) const;
    // Deletes every entry up to end.seq and records `end` as the archived point. Refuses when
    // the table does not hold entry end.seq with hash end.head, or no longer starts where the
    // archive did (`first_seq`): the log changed since the archive was written. REQUIRES: the
    // entries are in an archive file already on disk, and `end` is signed by the node's key.
    Status archive(WriteTxn& t, uint64_t first_seq, const protocol::AuditHead& end);
    // The oldest entry the table holds (0: none).
    uint64_t first_seq(const ReadTxn& t) const;

    // Keeps a signed head of `h.agency` (newest kKeepHeads by seq; an older or equal one than
    // all kept is ignored). REQUIRES: the head verified with that agency's key.
    Status put_head(WriteTxn& t, const protocol::AuditHead& h);
    // The heads kept of `agency`, oldest first, as wire bytes.
    std::vector<Bytes> heads_of(const ReadTxn& t, const std::string& agency) const;
    size_t count(const ReadTxn& t) const { return t.count(m_entries); }
    // The signing key the node last started with (key "\0sign_key" of audit_heads, which no
    // agency key can equal): a different one at start is a key rotation to record.
    std::optional<protocol::SignPublicKey> sign_key(const ReadTxn& t) const;
    Status set_sign_key(WriteTxn& t, const protocol::SignPublicKey& key);

private:
    MDB_dbi m_entries{}, m_heads{};
};

}  // namespace lienthong::storage
