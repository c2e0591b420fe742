#include "storage/audit_log.h"

#include "storage/doc_numbers.h"

namespace lienthong::storage {

namespace {
std::string clip(const std::string& s, size_t max) {
    if (s.size() <= max) return s;
    // Cut at a UTF-8 boundary: the entry's text must stay valid UTF-8.
    size_t n = max - 3;
    while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n) + "...";
}

Bytes head_key(const std::string& agency, uint64_t seq) {
    Bytes k(agency.begin(), agency.end());
    k.push_back(0);
    const Bytes s = be64(seq);
    k.insert(k.end(), s.begin(), s.end());
    return k;
}
}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(Env& env) {
    auto log = std::make_unique<AuditLog>();
    LT_ASSIGN(log->m_entries, env.table("audit"));
    LT_ASSIGN(log->m_heads, env.table("audit_heads"));
    return log;
}

namespace {
// 0x00 "sign_key" and 0x00 "archived": no head key starts with 0x00 (an agency code is never empty).
const Bytes kSignKeyKey = {0, 's', 'i', 'g', 'n', '_', 'k', 'e', 'y'};
const Bytes kArchivedKey = {0, 'a', 'r', 'c', 'h', 'i', 'v', 'e', 'd'};
}  // namespace

AuditHeadPos AuditLog::head(const ReadTxn& t) const {
    AuditHeadPos h;
    if (auto last = t.last(m_entries); last && last->first.size() == 8) {
        h.seq = read_be64(last->first);
        h.hash = protocol::audit_entry_hash(last->second);
    } else if (auto a = archived(t)) {
        h = {a->seq, a->head};
    }
    return h;
}

std::optional<protocol::AuditHead> AuditLog::archived(const ReadTxn& t) const {
    auto v = t.get(m_heads, kArchivedKey);
    if (!v) return std::nullopt;
    auto h = protocol::decode_audit_head(*v);
    if (!h.ok()) return std::nullopt;
    return *h;
}

uint64_t AuditLog::first_seq(const ReadTxn& t) const {
    uint64_t first = 0;
    t.scan(m_entries, {}, [&](ByteView k, ByteView) {
        first = k.size() == 8 ? read_be64(k) : 0;
        return false;
    });
    return first;
}

Status AuditLog::archive(WriteTxn& t, uint64_t first_seq, const protocol::AuditHead& end) {
    const auto last = entry(t, end.seq);
    if (!last || protocol::audit_entry_hash(*last) != end.head)
        return make_error("audit entry " + std::to_string(end.seq) + " is not the one archived: the log changed meanwhile");
    if (this->first_seq(t) != first_seq)
        return make_error("the audit log no longer starts at entry " + std::to_string(first_seq) +
                          ": another archive ran meanwhile");
    for (uint64_t seq = first_seq; seq <= end.seq; ++seq) LT_TRY(t.del(m_entries, be64(seq)));
    return t.put(m_heads, kArchivedKey, protocol::encode_audit_head(end));
}

Status AuditLog::append(WriteTxn& t, const AuditEvent& e) {
    const AuditHeadPos h = head(t);
    protocol::AuditEntry entry;
    entry.seq = h.seq + 1;
    entry.time_ms = e.time_ms;
    entry.kind = clip(e.kind, protocol::kMaxAuditKind);
    entry.msg = e.msg;
    entry.about = e.about;
    entry.agency = clip(e.agency, protocol::kMaxAgencyLength);
    entry.peer = clip(e.peer, protocol::kMaxAgencyLength);
    entry.user = clip(e.user, protocol::kMaxAuditText);
    entry.detail = clip(e.detail, protocol::kMaxAuditText);
    entry.prev = h.hash;
    return t.put_last(m_entries, be64(entry.seq), protocol::encode_audit_entry(entry));
}

std::optional<Bytes> AuditLog::entry(const ReadTxn& t, uint64_t seq) const {
    auto v = t.get(m_entries, be64(seq));
    if (!v) return std::nullopt;
    return Bytes(v->begin(), v->end());
}

void AuditLog::scan(const ReadTxn& t, uint64_t from_seq, const std::function<bool(uint64_t, ByteView)>& fn) const {
    t.scan(m_entries, be64(from_seq), [&](ByteView k, ByteView v) { return fn(k.size() == 8 ? read_be64(k) : 0, v); });
}

AuditChainReport AuditLog::verify(const ReadTxn& t) const {
    AuditChainReport r;
    if (auto a = archived(t)) r.start = {a->seq, a->head};
    Hash32 prev = r.start.hash;
    r.head = r.start;
    t.scan(m_entries, {}, [&](ByteView k, ByteView v) {
        const uint64_t want = r.start.seq + r.entries + 1;
        const auto fail = [&](std::string why) {
            r.first_bad = protocol::ChainBreak{static_cast<size_t>(r.entries), want, std::move(why)};
            return false;
        };
        if (k.size() != 8) return fail("is stored under a key of " + std::to_string(k.size()) + " bytes, not a seq");
        const uint64_t key_seq = read_be64(k);
        if (key_seq != want) return fail("is missing (the next entry stored is " + std::to_string(key_seq) + ")");
        auto e = protocol::decode_audit_entry(v);
        if (!e.ok()) return fail("does not decode: " + e.error());
        if (e->seq != want) return fail("holds seq " + std::to_string(e->seq));
        if (e->prev != prev) {
            if (want == 1) return fail("does not start the chain (its prev is not zero)");
            if (r.entries == 0) return fail("does not link to the archived entry " + std::to_string(r.start.seq));
            r.first_bad = protocol::ChainBreak{static_cast<size_t>(r.entries - 1), want - 1,
                                               "was changed: entry " + std::to_string(want) + " no longer links to it (or entry " +
                                                   std::to_string(want) + "'s link was changed)"};
            return false;
        }
        prev = protocol::audit_entry_hash(v);
        r.head = {want, prev};
        ++r.entries;
        return true;
    });
    return r;
}

Status AuditLog::put_head(WriteTxn& t, const protocol::AuditHead& h) {
    const Bytes prefix = head_key(h.agency, 0);
    const ByteView p(prefix.data(), prefix.size() - 8);
    std::vector<Bytes> kept;
    t.scan_prefix(m_heads, p, [&](ByteView k, ByteView) {
        kept.emplace_back(k.begin(), k.end());
        return true;
    });
    const Bytes key = head_key(h.agency, h.seq);
    // The first head signed for a seq stays: a second one with another hash is the evidence
    // of a rewritten log, and must not replace it.
    if (t.get(m_heads, key)) return ok_status();
    if (kept.size() >= kKeepHeads && key < kept.front()) return ok_status();
    LT_TRY(t.put(m_heads, key, protocol::encode_audit_head(h)));
    kept.push_back(key);
    std::sort(kept.begin(), kept.end());
    for (size_t i = 0; i + kKeepHeads < kept.size(); ++i) LT_TRY(t.del(m_heads, kept[i]));
    return ok_status();
}

std::optional<protocol::SignPublicKey> AuditLog::sign_key(const ReadTxn& t) const {
    auto v = t.get(m_heads, kSignKeyKey);
    if (!v || v->size() != 32) return std::nullopt;
    protocol::SignPublicKey k{};
    std::copy(v->begin(), v->end(), k.begin());
    return k;
}

Status AuditLog::set_sign_key(WriteTxn& t, const protocol::SignPublicKey& key) { return t.put(m_heads, kSignKeyKey, key); }

std::vector<Bytes> AuditLog::heads_of(const ReadTxn& t, const std::string& agency) const {
    const Bytes prefix = head_key(agency, 0);
    std::vector<Bytes> out;
    t.scan_prefix(m_heads, ByteView(prefix.data(), prefix.size() - 8), [&](ByteView, ByteView v) {
        out.emplace_back(v.begin(), v.end());
        return true;
    });
    return out;
}

}  // namespace lienthong::storage
