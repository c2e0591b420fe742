// audit archive (issue 18), in two steps so that no entry is ever lost: `prepare` builds and
// signs the archive of the oldest entries before a time and keeps its hash; the admin writes
// the file and fsyncs it; `commit`, naming that hash, deletes those entries and records the
// archived point in one transaction. A process that dies between the two leaves the entries
// in the database (and at worst a file of entries that are still there).
#include <sodium.h>

#include "node/api_util.h"
#include "node/node_impl.h"
#include "protocol/audit_archive.h"

namespace lienthong::node {

namespace {
Hash32 file_hash(ByteView file) {
    Hash32 h{};
    crypto_generichash(h.data(), h.size(), file.data(), file.size(), nullptr, 0);
    return h;
}
}  // namespace

json NodeImpl::api_audit_archive_prepare(const json& req) {
    if (!m_config.audit.enabled) return fail("the audit log is off (audit.enabled: false): nothing to archive");
    if (!req.contains("before_ms")) return fail("field 'before_ms' is required");
    const auto before = uint_field(req, "before_ms", 0, UINT64_MAX);
    if (!before.ok()) return fail(before.error());
    const uint64_t now = m_clock->now_ms();
    if (*before > now)
        return fail("field 'before_ms' is " + std::to_string(*before - now) +
                    " ms in the future: only entries written before now can be archived");
    protocol::AuditArchive a;
    a.agency = m_config.agency;
    a.sign_key = m_identity.pub.sign_key;
    a.created_ms = now;
    a.before_ms = *before;
    uint64_t first_seq = 0, last_seq = 0, oldest = 0;
    Hash32 last_hash{};
    bool more = false;
    std::string error;
    m_store->env().read([&](const storage::ReadTxn& t) {
        if (auto point = m_audit->archived(t)) a.first_prev = point->head;
        m_audit->scan(t, 1, [&](uint64_t seq, ByteView v) {
            if (oldest == 0) oldest = seq;
            auto e = protocol::decode_audit_entry(v);
            if (!e.ok()) {
                error = "audit entry " + std::to_string(seq) + " does not decode (" + e.error() + "): run 'audit verify'";
                return false;
            }
            if (e->time_ms >= *before) return false;
            if (a.entries.size() >= protocol::kMaxArchiveEntries) {
                more = true;
                return false;
            }
            if (first_seq == 0) first_seq = seq;
            a.entries.emplace_back(v.begin(), v.end());
            last_seq = seq;
            last_hash = protocol::audit_entry_hash(v);
            return true;
        });
        return 0;
    });
    if (!error.empty()) return fail(error);
    if (a.entries.empty())
        return fail(oldest == 0 ? "nothing to archive: the audit log holds no entry"
                                : "nothing to archive: the oldest entry the audit log holds (entry " + std::to_string(oldest) +
                                      ") is not older than the time given");
    const auto end = protocol::sign_audit_head(m_identity, last_seq, last_hash, now);
    a.end = protocol::encode_audit_head(end);
    const Bytes file = protocol::write_audit_archive(a, m_identity);
    // What is deleted must be what the file holds, and check as a third party will check it.
    if (auto c = protocol::check_audit_archive(file, {m_identity.pub.sign_key}); !c.ok())
        return fail("the entries to archive do not check (" + c.error() + "): run 'audit verify'");
    const Hash32 hash = file_hash(file);
    m_prepared_archive = PreparedArchive{first_seq, end, hash};
    m_log.info("audit_archive_prepared", {{"first", std::to_string(first_seq)}, {"last", std::to_string(last_seq)},
                                          {"file", protocol::to_hex(hash)}});
    return json{{"ok", true},           {"file", binary(file)},       {"first_seq", first_seq},
                {"last_seq", last_seq}, {"entries", a.entries.size()}, {"more", more},
                {"file_blake2b", protocol::to_hex(hash)}};
}

void NodeImpl::api_audit_archive_commit(const Bytes& rid, const json& req) {
    auto user = request_user(req);
    if (!user.ok()) return api_reply(rid, fail(user.error()));
    auto hash = string_field(req, "file_blake2b", true);
    if (!hash.ok()) return api_reply(rid, fail(hash.error()));
    if (!req.contains("last_seq")) return api_reply(rid, fail("field 'last_seq' is required"));
    auto last = uint_field(req, "last_seq", 0, UINT64_MAX);
    if (!last.ok()) return api_reply(rid, fail(last.error()));
    const auto& p = m_prepared_archive;
    if (!p || p->end.seq != *last || protocol::to_hex(p->file_hash) != *hash)
        return api_reply(rid, fail("no archive up to entry " + std::to_string(*last) +
                                   " with that file hash was prepared (or another replaced it): run 'audit archive' again"));
    const PreparedArchive done = *p;
    m_prepared_archive.reset();
    auto e = audit_event("audit_archived");
    e.user = *user;
    e.detail = "entries=" + std::to_string(done.first_seq) + "-" + std::to_string(done.end.seq) +
               " file_blake2b=" + protocol::to_hex(done.file_hash);
    m_batch.add(
        [this, done, e](storage::WriteTxn& t) -> Status {
            LT_TRY(m_audit->archive(t, done.first_seq, done.end));
            return audit(t, e);
        },
        [this, rid, done](bool ok, const std::string& error) {
            if (!ok) return api_reply(rid, fail("the archived entries were not removed: " + error));
            m_log.info("audit_archived", {{"first", std::to_string(done.first_seq)}, {"last", std::to_string(done.end.seq)},
                                          {"file", protocol::to_hex(done.file_hash)}});
            api_reply(rid, json{{"ok", true}, {"first_seq", done.first_seq}, {"last_seq", done.end.seq}});
        });
}

// backup: the admin took a backup of this running node; the entry names the file's hash.
json NodeImpl::api_audit_backup(const json& req) {
    auto user = request_user(req);
    if (!user.ok()) return fail(user.error());
    auto hash = string_field(req, "file_blake2b", true);
    if (!hash.ok()) return fail(hash.error());
    auto bytes = protocol::from_hex(*hash);
    if (hash->size() != 64 || !bytes.ok()) return fail("field 'file_blake2b' must be 64 hex digits");
    if (!m_config.audit.enabled) return json{{"ok", true}, {"recorded", false}};
    auto e = audit_event("backup");
    e.user = *user;
    e.detail = "file_blake2b=" + *hash;
    audit_later(e);
    return json{{"ok", true}, {"recorded", true}};
}

}  // namespace lienthong::node
