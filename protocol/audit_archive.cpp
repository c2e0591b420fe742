#include "protocol/audit_archive.h"

#include <algorithm>

#include "protocol/codec.h"

namespace lienthong::protocol {

namespace {
constexpr std::string_view kArchiveDomain = "lienthong/v1/audit-archive";

Bytes archive_body(const AuditArchive& a) {
    Writer w;
    w.array(7).str(a.agency).bin(a.sign_key).u64(a.created_ms).u64(a.before_ms).bin(a.first_prev).array(a.entries.size());
    for (const auto& e : a.entries) w.bin(e);
    w.bin(a.end);
    return w.take();
}

Result<AuditArchive> parse_archive(ByteView body, size_t max_bytes) {
    DecodeLimits dl;
    dl.max_bytes = max_bytes;
    dl.max_array = kMaxArchiveEntries;
    LT_ASSIGN(auto d, Decoded::parse(body, "audit archive", dl));
    auto r = d.root();
    AuditArchive a;
    LT_ASSIGN(a.agency, r.str("agency", kMaxAgencyLength));
    LT_ASSIGN(a.sign_key, r.fixed<32>("sign_key"));
    LT_ASSIGN(a.created_ms, r.u64("created_ms"));
    LT_ASSIGN(a.before_ms, r.u64("before_ms"));
    LT_ASSIGN(a.first_prev, r.fixed<32>("first_prev"));
    LT_ASSIGN(auto entries, r.array("entries", kMaxArchiveEntries));
    while (entries.remaining() > 0) {
        LT_ASSIGN(auto b, entries.bin("entry", 4096));
        a.entries.emplace_back(b.begin(), b.end());
    }
    LT_ASSIGN(auto end, r.bin("end", 512));
    a.end.assign(end.begin(), end.end());
    LT_TRY(r.finish());
    return a;
}
}  // namespace

bool is_audit_archive(ByteView file) {
    return file.size() >= kArchiveMagic.size() && as_chars(file.first(kArchiveMagic.size())) == kArchiveMagic;
}

Bytes write_audit_archive(const AuditArchive& a, const SecretIdentity& id) {
    Bytes out(kArchiveMagic.begin(), kArchiveMagic.end());
    const Bytes body = archive_body(a);
    out.insert(out.end(), body.begin(), body.end());
    const Signature sig = sign_domain(id.sign_secret, kArchiveDomain, out);
    out.insert(out.end(), sig.begin(), sig.end());
    return out;
}

Result<ArchiveCheck> check_audit_archive(ByteView file, const std::vector<SignPublicKey>& expected_keys) {
    if (!is_audit_archive(file) || file.size() < kArchiveMagic.size() + 64)
        return make_error("not an audit archive file (it must begin with '" +
                          std::string(kArchiveMagic.substr(0, kArchiveMagic.size() - 1)) + "')");
    const ByteView signed_part = file.first(file.size() - 64);
    Signature sig{};
    std::copy(file.end() - 64, file.end(), sig.begin());
    ArchiveCheck c;
    LT_ASSIGN(c.a, parse_archive(signed_part.subspan(kArchiveMagic.size()), file.size()));
    const auto& a = c.a;
    if (!expected_keys.empty() && std::find(expected_keys.begin(), expected_keys.end(), a.sign_key) == expected_keys.end())
        return make_error("the archive is signed with key " + to_base64(a.sign_key) + ", not a key given");
    if (!verify_domain(a.sign_key, kArchiveDomain, signed_part, sig))
        return make_error("the archive's signature does not verify: the file was changed after it was written");
    if (a.entries.empty()) return make_error("the archive holds no entries");
    LT_ASSIGN(auto first, decode_audit_entry(a.entries.front()));
    c.first_seq = first.seq;
    c.last_seq = first.seq + a.entries.size() - 1;
    if (c.first_seq == 1 && a.first_prev != Hash32{})
        return make_error("the archive starts at entry 1 but names a link before it");
    if (auto brk = check_audit_chain(a.entries, first.seq, a.first_prev, &c.hashes))
        return make_error("audit entry " + std::to_string(brk->seq) + " " + brk->why);
    c.first_time_ms = first.time_ms;
    for (size_t i = 0; i < a.entries.size(); ++i) {
        auto e = decode_audit_entry(a.entries[i]);  // decoded once already by the chain check
        if (e->time_ms >= a.before_ms)
            return make_error("audit entry " + std::to_string(e->seq) + " is not older than the archive's cut-off");
        c.last_time_ms = e->time_ms;
    }
    LT_ASSIGN(c.end, decode_audit_head(a.end));
    if (c.end.agency != a.agency) return make_error("the archive's end head is of agency '" + c.end.agency + "'");
    if (!verify_audit_head(a.sign_key, c.end)) return make_error("the archive's end head has a bad signature");
    if (c.end.seq != c.last_seq || c.end.head != c.hashes.back())
        return make_error("the archive's end head (entry " + std::to_string(c.end.seq) + ") does not name its last entry (" +
                          std::to_string(c.last_seq) + ")");
    return c;
}

}  // namespace lienthong::protocol
