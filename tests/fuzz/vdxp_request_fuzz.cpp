// Fuzz target: what the hub API reads from a request before anything else (node/vdxp_sign.h):
// the XroadVnpt-sign-header's JSON, the HMAC check over it, the parameters, and the upload
// against its hash-file. Input: two length bytes, then the sign-header, the hash-header (or
// hash-file) and the body.
// Invariants: never throws or crashes; a refusal is one printable ASCII line; an accepted
// header's own HMAC verifies and one changed byte of the MAC does not; an accepted body is the
// upload or the upload less one CRLF, and its hash is the hash-file given.
#include "fuzz_target.h"

#include <string>

#include "node/vdxp_sign.h"

namespace vdxp = lienthong::node::vdxp;
using lienthong::protocol::ByteView;

namespace {
bool one_ascii_line(const std::string& s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (c < 0x20 || c >= 0x7f) return false;
    return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2 || size > 64 * 1024) return 0;
    const size_t a = std::min<size_t>(data[0] * 64u, size - 2), b = std::min<size_t>(data[1], size - 2 - a);
    const std::string sign(reinterpret_cast<const char*>(data + 2), a);
    const std::string hash(reinterpret_cast<const char*>(data + 2 + a), b);
    const ByteView body(data + 2 + a + b, size - 2 - a - b);

    auto p = vdxp::parse_sign_header(sign);
    if (!p.ok()) {
        LT_FUZZ_CHECK(one_ascii_line(p.error()));
    } else {
        LT_FUZZ_CHECK(p->size() <= vdxp::kMaxParams);
        for (const auto& [k, v] : *p) LT_FUZZ_CHECK(!k.empty());
        (void)vdxp::param(*p, {"docId", "docid"});
        const std::string mac = vdxp::hmac_hex("fuzz-secret", sign);
        LT_FUZZ_CHECK(vdxp::hmac_matches("fuzz-secret", sign, mac));
        std::string bad = mac;
        bad[0] = bad[0] == '0' ? '1' : '0';
        LT_FUZZ_CHECK(!vdxp::hmac_matches("fuzz-secret", sign, bad));
    }
    (void)vdxp::hmac_matches("fuzz-secret", sign, hash);
    auto f = vdxp::file_from_body(body, hash);
    if (!f.ok()) {
        LT_FUZZ_CHECK(one_ascii_line(f.error()));
    } else {
        LT_FUZZ_CHECK(f->size() == body.size() || f->size() + 2 == body.size());
        std::string lower = hash;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        LT_FUZZ_CHECK(vdxp::java_hex_sha256(*f) == lower);
    }
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    std::vector<std::vector<uint8_t>> seeds;
    const auto add = [&](const std::string& sign, const std::string& hash, const std::string& body) {
        std::vector<uint8_t> s{static_cast<uint8_t>((sign.size() + 63) / 64), static_cast<uint8_t>(hash.size())};
        std::string padded = sign + std::string((sign.size() + 63) / 64 * 64 - sign.size(), ' ');
        s.insert(s.end(), padded.begin(), padded.end());
        s.insert(s.end(), hash.begin(), hash.end());
        s.insert(s.end(), body.begin(), body.end());
        seeds.push_back(std::move(s));
    };
    const std::string file = "<edXML><x/></edXML>";
    const std::string h = vdxp::java_hex_sha256(lienthong::protocol::as_bytes(file));
    add(R"({"XroadVnpt-systemid":"000.00.00.T01","XroadVnpt-timestamp":"05122026T085508+0755","XroadVnpt-Content-Type":"application/json"})",
        "9dbc611a6fa2e014f0ff1a5fe4e3b6ebb4cb093c167a7e95386b99cd16013338", "");
    add(R"({"XroadVnpt-docId":"6b13d16ef2981adaa8a80003","XroadVnpt-docid":"x","XroadVnpt-to":"[\"A\",\"B\"]","XroadVnpt-n":5})",
        h, file + "\r\n");
    add(R"({"XroadVnpt-from":"\u0110"})", h, file);
    return seeds;
}
