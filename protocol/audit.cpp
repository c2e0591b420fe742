#include "protocol/audit.h"

#include <algorithm>

#include "protocol/codec.h"

namespace lienthong::protocol {

namespace {
constexpr std::string_view kEntryDomain = "lienthong/v1/audit-entry";
constexpr std::string_view kHeadDomain = "lienthong/v1/audit-head";
constexpr std::string_view kExportDomain = "lienthong/v1/audit-export";
// An export holds a document's entries up to a head: bounded so a check cannot be made to
// read without end (a document's life is far fewer entries; a large gap shows as "too many").
constexpr size_t kMaxExportEntries = 1000000;
constexpr size_t kMaxExportHeads = 1024;

ByteView opt_view(const std::optional<Hash32>& h) { return h ? ByteView(*h) : ByteView(); }

Result<std::optional<Hash32>> read_opt_hash(ArrayReader& r, std::string_view what) {
    LT_ASSIGN(auto b, r.bin(what, 32));
    if (b.empty()) return std::optional<Hash32>();
    if (b.size() != 32) return make_error("audit entry: " + std::string(what) + " must be 0 or 32 bytes");
    Hash32 h{};
    std::copy(b.begin(), b.end(), h.begin());
    return std::optional<Hash32>(h);
}
}  // namespace

Bytes encode_audit_entry(const AuditEntry& e) {
    return Writer()
        .array(10)
        .u64(e.seq)
        .u64(e.time_ms)
        .str(e.kind)
        .bin(opt_view(e.msg))
        .bin(opt_view(e.about))
        .str(e.agency)
        .str(e.peer)
        .str(e.user)
        .str(e.detail)
        .bin(e.prev)
        .take();
}

Result<AuditEntry> decode_audit_entry(ByteView bytes) {
    DecodeLimits dl;
    dl.max_bytes = 4096;
    dl.max_array = 16;
    LT_ASSIGN(auto d, Decoded::parse(bytes, "audit entry", dl));
    auto r = d.root();
    AuditEntry e;
    LT_ASSIGN(e.seq, r.u64("seq"));
    LT_ASSIGN(e.time_ms, r.u64("time_ms"));
    LT_ASSIGN(e.kind, r.str("kind", kMaxAuditKind));
    LT_ASSIGN(e.msg, read_opt_hash(r, "msg"));
    LT_ASSIGN(e.about, read_opt_hash(r, "about"));
    LT_ASSIGN(e.agency, r.str("agency", kMaxAgencyLength));
    LT_ASSIGN(e.peer, r.str("peer", kMaxAgencyLength));
    LT_ASSIGN(e.user, r.str("user", kMaxAuditText));
    LT_ASSIGN(e.detail, r.str("detail", kMaxAuditText));
    LT_ASSIGN(e.prev, r.fixed<32>("prev"));
    LT_TRY(r.finish());
    if (e.seq == 0) return make_error("audit entry: seq must be at least 1");
    if (e.kind.empty()) return make_error("audit entry: kind is empty");
    return e;
}

Hash32 audit_entry_hash(ByteView entry_bytes) { return hash_domain(kEntryDomain, entry_bytes); }

Bytes AuditHead::signed_body() const { return Writer().array(4).str(agency).u64(seq).bin(head).u64(time_ms).take(); }

AuditHead sign_audit_head(const SecretIdentity& id, uint64_t seq, const Hash32& head, uint64_t time_ms) {
    AuditHead h{id.pub.agency, seq, head, time_ms, {}};
    h.signature = sign_domain(id.sign_secret, kHeadDomain, h.signed_body());
    return h;
}

bool verify_audit_head(const SignPublicKey& pk, const AuditHead& h) {
    return verify_domain(pk, kHeadDomain, h.signed_body(), h.signature);
}

Bytes encode_audit_head(const AuditHead& h) {
    return Writer().array(5).str(h.agency).u64(h.seq).bin(h.head).u64(h.time_ms).bin(h.signature).take();
}

Result<AuditHead> decode_audit_head(ByteView bytes) {
    DecodeLimits dl;
    dl.max_bytes = 512;
    dl.max_array = 8;
    LT_ASSIGN(auto d, Decoded::parse(bytes, "audit head", dl));
    auto r = d.root();
    AuditHead h;
    LT_ASSIGN(h.agency, r.str("agency", kMaxAgencyLength));
    LT_TRY(check_agency(h.agency, "audit head agency"));
    LT_ASSIGN(h.seq, r.u64("seq"));
    LT_ASSIGN(h.head, r.fixed<32>("head"));
    LT_ASSIGN(h.time_ms, r.u64("time_ms"));
    LT_ASSIGN(h.signature, r.fixed<64>("signature"));
    LT_TRY(r.finish());
    return h;
}

std::optional<ChainBreak> check_audit_chain(const std::vector<Bytes>& entries, uint64_t first_seq,
                                            const Hash32& first_prev, std::vector<Hash32>* hashes) {
    Hash32 prev = first_prev;
    for (size_t i = 0; i < entries.size(); ++i) {
        const uint64_t want = first_seq + i;
        auto e = decode_audit_entry(entries[i]);
        if (!e.ok()) return ChainBreak{i, want, e.error()};
        if (e->seq != want)
            return ChainBreak{i, want, "holds seq " + std::to_string(e->seq) + " where " + std::to_string(want) + " belongs"};
        if (e->prev != prev) {
            if (i == 0) return ChainBreak{i, want, "does not link to the entry before it"};
            return ChainBreak{i - 1, want - 1,
                              "was changed: entry " + std::to_string(want) + " no longer links to it (or entry " +
                                  std::to_string(want) + "'s link was changed)"};
        }
        prev = audit_entry_hash(entries[i]);
        if (hashes) hashes->push_back(prev);
    }
    return std::nullopt;
}

namespace {
Bytes export_body(const AuditExport& x) {
    Writer w;
    w.array(7).str(x.agency).bin(x.sign_key).bin(x.doc).u64(x.created_ms).array(x.entries.size());
    for (const auto& e : x.entries) w.bin(e);
    w.array(x.heads.size());
    for (const auto& h : x.heads) w.bin(h);
    w.array(x.witnesses.size());
    for (const auto& s : x.witnesses) w.str(s);
    return w.take();
}
}  // namespace

Bytes write_audit_export(const AuditExport& x, const SecretIdentity& id) {
    Bytes out(kExportMagic.begin(), kExportMagic.end());
    const Bytes body = export_body(x);
    out.insert(out.end(), body.begin(), body.end());
    const Signature sig = sign_domain(id.sign_secret, kExportDomain, out);
    out.insert(out.end(), sig.begin(), sig.end());
    return out;
}

Result<ExportCheck> check_audit_export(ByteView file, const std::optional<SignPublicKey>& expected_key) {
    if (file.size() < kExportMagic.size() + 64 || as_chars(file.first(kExportMagic.size())) != kExportMagic)
        return make_error("not an audit export file (it must begin with '" +
                          std::string(kExportMagic.substr(0, kExportMagic.size() - 1)) + "')");
    const ByteView signed_part = file.first(file.size() - 64);
    Signature sig{};
    std::copy(file.end() - 64, file.end(), sig.begin());
    DecodeLimits dl;
    dl.max_bytes = file.size();
    dl.max_array = kMaxExportEntries;
    LT_ASSIGN(auto d, Decoded::parse(signed_part.subspan(kExportMagic.size()), "audit export", dl));
    auto r = d.root();
    ExportCheck c;
    auto& x = c.x;
    LT_ASSIGN(x.agency, r.str("agency", kMaxAgencyLength));
    LT_ASSIGN(x.sign_key, r.fixed<32>("sign_key"));
    LT_ASSIGN(x.doc, r.fixed<32>("doc"));
    LT_ASSIGN(x.created_ms, r.u64("created_ms"));
    LT_ASSIGN(auto entries, r.array("entries", kMaxExportEntries));
    while (entries.remaining() > 0) {
        LT_ASSIGN(auto b, entries.bin("entry", 4096));
        x.entries.emplace_back(b.begin(), b.end());
    }
    LT_ASSIGN(auto heads, r.array("heads", kMaxExportHeads));
    while (heads.remaining() > 0) {
        LT_ASSIGN(auto b, heads.bin("head", 512));
        x.heads.emplace_back(b.begin(), b.end());
    }
    LT_ASSIGN(auto witnesses, r.array("witnesses", kMaxExportHeads));
    while (witnesses.remaining() > 0) {
        LT_ASSIGN(auto s, witnesses.str("witness", kMaxAgencyLength));
        x.witnesses.push_back(std::move(s));
    }
    LT_TRY(r.finish());
    if (expected_key && *expected_key != x.sign_key)
        return make_error("the export is signed with key " + to_base64(x.sign_key) + ", not the key given");
    if (!verify_domain(x.sign_key, kExportDomain, signed_part, sig))
        return make_error("the export's signature does not verify: the file was changed after it was written");
    if (x.witnesses.size() != x.heads.size()) return make_error("the export names " + std::to_string(x.witnesses.size()) +
                                                                " witnesses for " + std::to_string(x.heads.size()) + " heads");
    if (x.entries.empty()) return make_error("the export holds no entries");
    LT_ASSIGN(auto first, decode_audit_entry(x.entries.front()));
    std::vector<Hash32> hashes;
    if (auto brk = check_audit_chain(x.entries, first.seq, first.prev, &hashes))
        return make_error("audit entry " + std::to_string(brk->seq) + " " + brk->why);
    const uint64_t last_seq = first.seq + x.entries.size() - 1;
    for (size_t i = 0; i < x.heads.size(); ++i) {
        LT_ASSIGN(auto h, decode_audit_head(x.heads[i]));
        if (h.agency != x.agency) return make_error("head " + std::to_string(i) + " is of agency '" + h.agency + "'");
        if (!verify_audit_head(x.sign_key, h))
            return make_error("head " + std::to_string(i) + " (seq " + std::to_string(h.seq) + ") has a bad signature");
        if (h.seq < first.seq || h.seq > last_seq)
            return make_error("head " + std::to_string(i) + " (seq " + std::to_string(h.seq) + ") is outside the entries");
        if (hashes[h.seq - first.seq] != h.head)
            return make_error("audit entry " + std::to_string(h.seq) + " does not match the head " + x.witnesses[i] +
                              " holds");
        ++c.heads_ok;
        c.witnessed_seq = std::max(c.witnessed_seq, h.seq);
    }
    if (c.witnessed_seq != last_seq)
        return make_error("no signed head covers the last entry (seq " + std::to_string(last_seq) + ")");
    for (const auto& b : x.entries) {
        auto e = decode_audit_entry(b);
        if ((e->msg && *e->msg == x.doc) || (e->about && *e->about == x.doc)) c.about_doc.push_back(std::move(*e));
    }
    if (c.about_doc.empty()) return make_error("the export holds no entry about its document");
    return c;
}

}  // namespace lienthong::protocol
