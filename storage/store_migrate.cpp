// Migration of a schema version 2 database to version 3 (store.h): the documents and their
// per-document records move from message-id keys to document-number keys (doc_numbers.h).
//
// Restartable. Phase 1, one transaction: number every message (sent and inbox in their
// sequence order, then the rest in id order) and re-key the small per-document records
// (sent_info, inbox_info, deliveries, doc_summary, statuses, terms); it records "migration_phase" = 2
// in meta. Phase 2, transactions of at most kBatchBytes: move each envelope in documents from
// its 32-byte id key to its 8-byte number key (the key lengths tell a moved one). The last
// transaction sets the schema version to 3 and deletes the marker. A crash in phase 1 leaves
// version 2 untouched; in phase 2 the next start continues from the marker.
#include "storage/store.h"
#include "storage/store_keys.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace lienthong::storage {

using namespace keys;

namespace {
constexpr std::string_view kPhaseKey = "migration_phase";
constexpr size_t kBatchBytes = 64u << 20;
constexpr size_t kBatchDocuments = 2000;

using NewKey = std::function<Result<std::optional<Bytes>>(ByteView key)>;

// Moves every row of `table` to the key `new_key` gives it (nullopt: the row stays as it is).
// The rows are copied first: the table changes under the moves.
Status rekey(WriteTxn& t, MDB_dbi table, const NewKey& new_key) {
    std::vector<std::pair<Bytes, Bytes>> rows;
    t.scan(table, {}, [&](ByteView k, ByteView v) {
        rows.emplace_back(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
        return true;
    });
    for (const auto& [k, v] : rows) {
        LT_ASSIGN(auto key, new_key(k));
        if (!key) continue;
        LT_TRY(t.del(table, k));
        LT_TRY(t.put(table, *key, v));
    }
    return ok_status();
}
}  // namespace

Status Store::migrate_from_2() {
    LT_ASSIGN(const MDB_dbi summaries, m_env->table("doc_summary"));
    LT_ASSIGN(const MDB_dbi statuses, m_env->table("statuses"));
    LT_ASSIGN(const MDB_dbi terms, m_env->table("terms"));
    const bool phase2 = m_env->read([&](const ReadTxn& t) { return t.get(m_meta, protocol::as_bytes(kPhaseKey)).has_value(); });
    if (!phase2) {
        LT_TRY(m_env->write([&](WriteTxn& t) -> Status {
            // Every message in number order: sent and received by sequence, then the others.
            std::vector<std::pair<uint64_t, Hash32>> by_seq;
            for (MDB_dbi table : {m_sent, m_inbox})
                t.scan(table, {}, [&](ByteView k, ByteView v) {
                    if (v.size() == 32) by_seq.emplace_back(read_be64(k), to_hash(v));
                    return true;
                });
            std::sort(by_seq.begin(), by_seq.end());
            std::vector<Hash32> order;
            for (const auto& [seq, id] : by_seq) order.push_back(id);
            std::set<Hash32> rest;
            for (MDB_dbi table : {m_documents, summaries, statuses})
                t.scan(table, {}, [&](ByteView k, ByteView) {
                    if (k.size() >= 32) rest.insert(to_hash(k.first(32)));
                    return true;
                });
            for (const auto& [seq, id] : by_seq) rest.erase(id);
            order.insert(order.end(), rest.begin(), rest.end());
            for (const auto& id : order) {
                LT_ASSIGN(const uint64_t n, m_numbers.assign(t, id));
                (void)n;
            }

            auto number = [&](const Hash32& id) -> Result<uint64_t> {
                const auto n = m_numbers.find(t, id);
                if (!n) return make_error("migration: message " + protocol::to_hex(id) + " has no number");
                return *n;
            };
            // The first 32 bytes (the id) become the number; doc_summary keeps the id after it.
            struct Rekey {
                MDB_dbi table;
                size_t min_key;
                bool keep_id;
            };
            for (const Rekey& r : {Rekey{m_sent_info, 32, false}, Rekey{m_inbox_info, 32, false},
                                   Rekey{m_deliveries, 33, false}, Rekey{summaries, 32, true},
                                   Rekey{statuses, 42, false}}) {
                LT_TRY(rekey(t, r.table, [&](ByteView k) -> Result<std::optional<Bytes>> {
                    if (k.size() < r.min_key) return std::optional<Bytes>();
                    LT_ASSIGN(const uint64_t n, number(to_hash(k.first(32))));
                    return std::optional<Bytes>(number_key(n, r.keep_id ? k : k.subspan(32)));
                }));
            }
            // terms: folded term 0x00 id (32) becomes folded term 0x00 number id. An entry whose
            // id has no number (indexes nothing) stays as it is.
            LT_TRY(rekey(t, terms, [&](ByteView k) -> Result<std::optional<Bytes>> {
                if (k.size() < 34 || k[k.size() - 33] != 0) return std::optional<Bytes>();
                const Hash32 id = to_hash(k.last(32));
                const auto n = m_numbers.find(t, id);
                if (!n) return std::optional<Bytes>();
                Bytes key(k.begin(), k.end() - 32);
                const Bytes tail = number_key(*n, id);
                key.insert(key.end(), tail.begin(), tail.end());
                return std::optional<Bytes>(std::move(key));
            }));
            return t.put(m_meta, protocol::as_bytes(kPhaseKey), be64(2));
        }));
    }
    // Phase 2: the envelopes, in batches, each scan going on after the last id moved.
    Bytes from;
    for (;;) {
        bool done = false;
        LT_TRY(m_env->write([&](WriteTxn& t) -> Status {
            std::vector<Hash32> batch;
            size_t bytes = 0;
            t.scan(m_documents, from, [&](ByteView k, ByteView v) {
                if (k.size() != 32) return true;
                batch.push_back(to_hash(k));
                bytes += v.size();
                return bytes < kBatchBytes && batch.size() < kBatchDocuments;
            });
            for (const auto& id : batch) {
                auto v = t.get(m_documents, id);
                if (!v) continue;
                const Bytes envelope(v->begin(), v->end());
                LT_ASSIGN(const uint64_t n, m_numbers.assign(t, id));
                LT_TRY(t.del(m_documents, id));
                LT_TRY(t.put_last(m_documents, number_key(n), envelope));
            }
            if (!batch.empty()) {
                from.assign(batch.back().begin(), batch.back().end());
                return ok_status();
            }
            done = true;
            const uint8_t version[4] = {0, 0, 0, 3};
            LT_TRY(t.put(m_meta, protocol::as_bytes("schema_version"), ByteView(version, 4)));
            return t.del(m_meta, protocol::as_bytes(kPhaseKey));
        }));
        if (done) return ok_status();
    }
}

}  // namespace lienthong::storage
