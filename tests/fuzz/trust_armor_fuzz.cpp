// Fuzz target: the armored trust files admins carry and 'directory verify', 'directory
// import' and 'enroll import' read: dearmor_all, read_trust_file, and each record kind's
// from_armor (issuer and node records, enrollment requests, revocations, cross-trust),
// then the verifiers an accepted record meets next, against a small fixed federation.
// Invariants: never crashes; a refusal says why; read_trust_file accepts exactly the text
// dearmor_all accepts, block for block; an accepted record passes check(), is the canonical
// encoding of its block, and re-armors and parses back to the same bytes and id; blocks
// re-armored read back the same.
#include <sodium.h>

#include <cstring>
#include <string>
#include <variant>

#include "fuzz_target.h"
#include "protocol/cross_trust.h"
#include "protocol/trust.h"
#include "protocol/trust_file.h"

using namespace lienthong::protocol;

namespace {
constexpr uint64_t kNow = 1764000000000ull;  // 2025-11-24
constexpr uint64_t kDay = 86400000ull;

// Fixed keys, so the seeds libFuzzer is given verify under the federation below.
AuthoritySecret fixed_authority(AuthorityRole role, const char* name, uint8_t s) {
    AuthoritySecret a;
    a.pub.role = role;
    a.pub.name = name;
    uint8_t seed[32];
    std::memset(seed, s, sizeof seed);
    crypto_sign_seed_keypair(a.pub.key.data(), a.secret.data(), seed);
    return a;
}

SecretIdentity fixed_identity(const char* agency, uint8_t s) {
    SecretIdentity id;
    id.pub.agency = agency;
    uint8_t seed[32];
    std::memset(seed, s, sizeof seed);
    crypto_sign_seed_keypair(id.pub.sign_key.data(), id.sign_secret.data(), seed);
    crypto_box_seed_keypair(id.pub.box_key.data(), id.box_secret.data(), seed);
    return id;
}

template <class R>
R signed_or_abort(lienthong::Result<R> r) {
    if (!r.ok()) std::fprintf(stderr, "seed record refused: %s\n", r.error().c_str());
    LT_FUZZ_CHECK(r.ok());
    return std::move(r).value();
}

struct Federation {
    AuthoritySecret root = fixed_authority(AuthorityRole::root, "hagiang", 1);
    AuthoritySecret district = fixed_authority(AuthorityRole::issuer, "000.00.31.H14", 2);
    AuthoritySecret other_root = fixed_authority(AuthorityRole::root, "caobang", 3);
    SecretIdentity commune = fixed_identity("000.00.31.H14.01.05", 4);
    std::vector<TrustAnchor> roots{TrustAnchor{root.pub, {}}};
    std::vector<IssuerRecord> issuers;

    Federation() { issuers.push_back(issuer()); }

    IssuerRecord issuer() const {
        IssuerRecord r;
        r.agency = district.pub.name;
        r.name = "Sở Thông tin và Truyền thông";
        r.key = district.pub.key;
        r.prefix = "000.00.31.";
        r.max_depth = 1;
        r.valid_from_ms = kNow - 10 * kDay;
        r.valid_until_ms = kNow + 300 * kDay;
        return signed_or_abort(sign_issuer_record(r, root.secret));
    }
    EnrollmentRequest request() const {
        EnrollmentRequest r;
        r.agency = commune.pub.agency;
        r.name = "UBND xã Thanh Thủy";
        r.sign_key = commune.pub.sign_key;
        r.box_key = commune.pub.box_key;
        r.endpoints = {"tcp://xa-thanhthuy.hagiang.gov.vn:7001", "tcp://[fd00::7]:7001"};
        r.parent = "000.00.31.H14";
        r.created_ms = kNow;
        return signed_or_abort(sign_enrollment_request(r, commune.sign_secret));
    }
    NodeRecord node() const {
        return signed_or_abort(sign_node_record(
            node_record_for(request(), 3, kNow - kDay, kNow + 30 * kDay), district.secret));
    }
    Revocation revocation() const {
        Revocation r;
        r.agency = commune.pub.agency;
        r.serial = 2;
        r.revoked_at_ms = kNow - 1000;
        r.reason = "khóa bị lộ";
        return signed_or_abort(sign_revocation(r, district.secret));
    }
    CrossTrust cross_trust(bool withdrawn) const {
        CrossTrust c;
        c.root = other_root.pub;
        c.prefixes = withdrawn ? std::vector<std::string>{}
                               : std::vector<std::string>{"000.00.32.", "000.00.33.H"};
        c.serial = withdrawn ? 2 : 1;
        c.valid_from_ms = kNow - kDay;
        c.valid_until_ms = kNow + 365 * kDay;
        c.withdrawn = withdrawn;
        return signed_or_abort(sign_cross_trust(c, root.secret));
    }
};

const Federation& federation() {
    static const Federation f;
    return f;
}

// What holds for any record the parsers accept, and the verifier it meets next.
template <class R>
void check_record(const R& r, ByteView block_data) {
    LT_FUZZ_CHECK(r.check().ok());
    const Bytes wire = r.encode();
    LT_FUZZ_CHECK(wire == Bytes(block_data.begin(), block_data.end()));  // canonical only
    auto again = R::from_armor(r.armor());
    LT_FUZZ_CHECK(again.ok());
    LT_FUZZ_CHECK(again->encode() == wire);
    LT_FUZZ_CHECK(again->id() == r.id());
    LT_FUZZ_CHECK(again->signature == r.signature);

    const auto& f = federation();
    const TrustView view{f.roots, f.issuers, {}, kNow, kDefaultMaxDepth};
    if constexpr (std::is_same_v<R, NodeRecord>) {
        auto v = verify_node_record(r, view);
        if (!v.ok()) LT_FUZZ_CHECK(!v.error().message.empty());
    } else if constexpr (std::is_same_v<R, IssuerRecord>) {
        auto v = verify_issuer_record(r, view);
        if (!v.ok()) LT_FUZZ_CHECK(!v.error().message.empty());
    } else if constexpr (std::is_same_v<R, Revocation>) {
        auto v = verify_revocation(r, view);
        if (!v.ok()) LT_FUZZ_CHECK(!v.error().message.empty());
    } else if constexpr (std::is_same_v<R, EnrollmentRequest>) {
        auto v = verify_enrollment_request(r);
        if (!v.ok()) LT_FUZZ_CHECK(!v.error().empty());
    } else {
        auto v = verify_cross_trust(r, f.roots, kNow);
        if (!v.ok()) LT_FUZZ_CHECK(!v.error().message.empty());
    }
}

// R::from_armor: exactly one block, of R's label.
template <class R>
void check_from_armor(std::string_view text) {
    auto r = R::from_armor(text);
    if (!r.ok()) {
        LT_FUZZ_CHECK(!r.error().empty());
        return;
    }
    auto data = dearmor(text, R::kLabel);
    LT_FUZZ_CHECK(data.ok());
    check_record(*r, *data);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool sodium_ready = sodium_init() >= 0;
    LT_FUZZ_CHECK(sodium_ready);
    if (size > 256 * 1024) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    check_from_armor<IssuerRecord>(text);
    check_from_armor<NodeRecord>(text);
    check_from_armor<EnrollmentRequest>(text);
    check_from_armor<Revocation>(text);
    check_from_armor<CrossTrust>(text);

    auto blocks = dearmor_all(text);
    auto file = read_trust_file(text);
    LT_FUZZ_CHECK(blocks.ok() == file.ok());
    if (!blocks.ok()) {
        LT_FUZZ_CHECK(!blocks.error().empty());
        LT_FUZZ_CHECK(file.error() == blocks.error());
        return 0;
    }
    LT_FUZZ_CHECK(!blocks->empty());
    LT_FUZZ_CHECK(file->size() == blocks->size());
    std::string rearmored;
    for (size_t i = 0; i < blocks->size(); ++i) {
        const auto& b = (*blocks)[i];
        const auto& fb = (*file)[i];
        LT_FUZZ_CHECK(fb.label == b.label);
        rearmored += armor(b.label, b.data);
        if (fb.record.ok())
            std::visit([&](const auto& r) { check_record(r, b.data); }, *fb.record);
        else
            LT_FUZZ_CHECK(fb.record.error().rfind("malformed: ", 0) == 0 ||
                          fb.record.error().rfind("not a trust record: ", 0) == 0);
    }
    auto again = dearmor_all(rearmored);
    LT_FUZZ_CHECK(again.ok());
    LT_FUZZ_CHECK(again->size() == blocks->size());
    for (size_t i = 0; i < blocks->size(); ++i)
        LT_FUZZ_CHECK((*again)[i].label == (*blocks)[i].label &&
                      (*again)[i].data == (*blocks)[i].data);
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    const auto& f = federation();
    const auto bytes = [](const std::string& s) {
        return std::vector<uint8_t>(s.begin(), s.end());
    };
    const std::string issuer = f.issuers[0].armor(), node = f.node().armor(),
                      request = f.request().armor(), revocation = f.revocation().armor(),
                      grant = f.cross_trust(false).armor(),
                      withdrawal = f.cross_trust(true).armor();
    // The seeds must verify, or mutations never reach the verifiers' accepting paths.
    const TrustView view{f.roots, f.issuers, {}, kNow, kDefaultMaxDepth};
    LT_FUZZ_CHECK(verify_node_record(f.node(), view).ok());
    LT_FUZZ_CHECK(verify_revocation(f.revocation(), view).ok());
    LT_FUZZ_CHECK(verify_cross_trust(f.cross_trust(false), f.roots, kNow).ok());
    std::string crlf;
    for (char c : issuer + "\n" + node)
        crlf += c == '\n' ? std::string(" \r\n") : std::string(1, c);
    return {
        bytes(issuer),
        bytes(node),
        bytes(request),
        bytes(revocation),
        bytes(grant),
        bytes(withdrawal),
        bytes(issuer + node),  // what 'enroll import' reads
        bytes(issuer + "\n\n" + node + revocation + grant + withdrawal + request),  // a directory
        bytes(crlf),
        bytes(armor("LIENTHONG SOMETHING ELSE", Bytes{1, 2, 3})),
    };
}
