// Trust between federations (protocol/cross_trust.h): encoding, who may sign, the deciding
// record per external root, withdrawal and lapse, and what the granted anchor lets verify.
#include <catch2/catch.hpp>

#include "protocol/cross_trust.h"
#include "trust_fixture.h"

using namespace lienthong;
using namespace lienthong::protocol;
using namespace lienthong::testing;
using Catch::Contains;

namespace {

CrossTrust grant(const AuthoritySecret& by, const AuthoritySecret& external, std::vector<std::string> prefixes,
                 uint64_t serial, bool withdrawn = false, uint64_t from = kNow - kDay,
                 uint64_t until = kNow + 300 * kDay) {
    CrossTrust r;
    r.root = external.pub;
    r.prefixes = std::move(prefixes);
    r.serial = serial;
    r.valid_from_ms = from;
    r.valid_until_ms = until;
    r.withdrawn = withdrawn;
    auto s = sign_cross_trust(r, by.secret);
    if (!s.ok()) throw std::runtime_error(s.error());
    return s.value();
}

}  // namespace

TEST_CASE("cross-trust record round trip and armor", "[protocol][trust]") {
    Federation f;
    const auto laocai = AuthoritySecret::generate(AuthorityRole::root, "laocai");
    const auto r = grant(f.root, laocai, {"000.00.32.", "000.00.33."}, 7);
    auto back = CrossTrust::decode(r.encode());
    REQUIRE(back.ok());
    CHECK(back->encode() == r.encode());
    CHECK(back->root == laocai.pub);
    CHECK(back->prefixes == r.prefixes);
    CHECK(back->serial == 7);
    CHECK_FALSE(back->withdrawn);
    auto armored = CrossTrust::from_armor(r.armor());
    REQUIRE(armored.ok());
    CHECK(armored->id() == r.id());
    CHECK_THAT(r.armor(), Contains("BEGIN LIENTHONG CROSS TRUST"));
    // Another kind's armor is not a cross-trust record.
    CHECK_FALSE(CrossTrust::from_armor(f.issuers[0].armor()).ok());
}

TEST_CASE("cross-trust record form is checked", "[protocol][trust]") {
    Federation f;
    const auto laocai = AuthoritySecret::generate(AuthorityRole::root, "laocai");
    CrossTrust r;
    r.root = laocai.pub;
    r.valid_from_ms = kNow;
    r.valid_until_ms = kNow + kDay;
    const auto refused = [&](const CrossTrust& c, const std::string& text) {
        auto s = sign_cross_trust(c, f.root.secret);
        REQUIRE_FALSE(s.ok());
        CHECK_THAT(s.error(), Contains(text));
    };
    refused(r, "1 to 16 agency code prefixes");  // a grant for nobody named
    r.prefixes = {""};
    refused(r, "empty prefix would cover every agency");
    r.prefixes = {"000.00.32.", "000.00.32."};
    refused(r, "listed twice");
    r.prefixes = {"bad prefix!"};
    refused(r, "prefix");
    r.prefixes = {"000.00.32."};
    r.serial = 0;
    refused(r, "serial must be at least 1");
    r.serial = 1;
    r.valid_until_ms = r.valid_from_ms;
    refused(r, "valid_until must be after valid_from");
    r.valid_until_ms = kNow + kDay;
    r.root.role = AuthorityRole::issuer;
    refused(r, "must name a federation root");
    // A withdrawal need not repeat the prefixes.
    r.root.role = AuthorityRole::root;
    r.prefixes.clear();
    r.withdrawn = true;
    CHECK(sign_cross_trust(r, f.root.secret).ok());
}

TEST_CASE("cross-trust malformed bytes are refused", "[protocol][trust]") {
    Federation f;
    const auto laocai = AuthoritySecret::generate(AuthorityRole::root, "laocai");
    const Bytes good = grant(f.root, laocai, {"000.00.32."}, 1).encode();
    for (size_t cut = 0; cut < good.size(); cut += 7) {
        Bytes part(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
        CHECK_FALSE(CrossTrust::decode(part).ok());
    }
    // A body of the wrong shape: withdrawn not a bool.
    Writer w;
    w.array(8).str("laocai").bin(laocai.pub.key).array(1).str("000.00.32.").u64(1).u64(1).u64(2).u64(1);
    w.bin(key_id(f.root.pub.key));
    auto res = CrossTrust::decode(wrap_body(w.take(), Signature{}));
    REQUIRE_FALSE(res.ok());
    CHECK_THAT(res.error(), Contains("withdrawn"));
}

TEST_CASE("only a root trusted for everyone may sign cross-trust", "[protocol][trust]") {
    Federation f;
    const auto laocai = AuthoritySecret::generate(AuthorityRole::root, "laocai");
    const auto other = AuthoritySecret::generate(AuthorityRole::root, "caobang");
    const auto ok = grant(f.root, laocai, {"000.00.32."}, 1);
    auto v = verify_cross_trust(ok, f.roots, kNow);
    REQUIRE(v.ok());
    CHECK(v->root == f.root.pub);

    // Signed by a root we do not hold.
    auto unknown = verify_cross_trust(grant(other, laocai, {"000.00.32."}, 1), f.roots, kNow);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().failure == TrustFailure::unknown_issuer);
    CHECK_THAT(unknown.error().message, Contains("only this federation's own root"));
    // Signed by an external root (configured with prefixes): trust is not transitive.
    auto roots = f.roots;
    roots.push_back(TrustAnchor{other.pub, {"000.00.04."}});
    auto transitive = verify_cross_trust(grant(other, laocai, {"000.00.32."}, 1), roots, kNow);
    REQUIRE_FALSE(transitive.ok());
    CHECK(transitive.error().failure == TrustFailure::outside_root_prefixes);
    // Altered after signing.
    auto altered = ok;
    altered.prefixes = {"000."};
    auto bad = verify_cross_trust(altered, f.roots, kNow);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().failure == TrustFailure::bad_signature);
    // A grant outside its validity; a withdrawal whatever its validity.
    auto late = verify_cross_trust(ok, f.roots, kNow + 400 * kDay);
    REQUIRE_FALSE(late.ok());
    CHECK(late.error().failure == TrustFailure::expired);
    CHECK(verify_cross_trust(grant(f.root, laocai, {}, 2, true), f.roots, kNow + 400 * kDay).ok());
}

TEST_CASE("the highest serial decides whether an external root is trusted", "[protocol][trust]") {
    Federation f;
    const auto laocai = AuthoritySecret::generate(AuthorityRole::root, "laocai");
    const auto city = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.32.H01");
    const auto their_commune = seeded_identity("000.00.32.H01.03", 8);
    const auto their_node = Federation::node(laocai, their_commune);
    const auto issuer = Federation::delegate(laocai, city, "000.00.32.H01.", 0, 1);

    std::vector<CrossTrust> records{grant(f.root, laocai, {"000.00.32."}, 1)};
    auto anchors = external_anchors(records, f.roots, kNow);
    REQUIRE(anchors.size() == 1);
    CHECK(anchors[0].root == laocai.pub);
    CHECK(anchors[0].prefixes == std::vector<std::string>{"000.00.32."});

    // With the granted anchor, their records verify for their prefix only.
    auto roots = f.roots;
    roots.insert(roots.end(), anchors.begin(), anchors.end());
    f.issuers.push_back(issuer);
    TrustView view{roots, f.issuers, f.revocations, kNow, kDefaultMaxDepth};
    CHECK(verify_node_record(their_node, view).ok());
    CHECK(verify_node_record(Federation::node(city, their_commune), view).ok());
    auto ours = verify_node_record(Federation::node(laocai, seeded_identity("000.00.31.H14.01.05", 5)), view);
    REQUIRE_FALSE(ours.ok());
    CHECK(ours.error().failure == TrustFailure::outside_root_prefixes);

    // A withdrawal with a higher serial ends it, in any order; a later grant brings it back.
    records.push_back(grant(f.root, laocai, {}, 2, true));
    CHECK(external_anchors(records, f.roots, kNow).empty());
    std::swap(records[0], records[1]);
    CHECK(external_anchors(records, f.roots, kNow).empty());
    CHECK(deciding_cross_trust(records, f.roots) == std::vector<size_t>{0});
    records.push_back(grant(f.root, laocai, {"000.00.32.H01."}, 3));
    anchors = external_anchors(records, f.roots, kNow);
    REQUIRE(anchors.size() == 1);
    CHECK(anchors[0].prefixes == std::vector<std::string>{"000.00.32.H01."});

    // At equal serials a withdrawal wins, in either order.
    {
        std::vector<CrossTrust> tie{grant(f.root, laocai, {"000.00.32."}, 20), grant(f.root, laocai, {}, 20, true)};
        CHECK(external_anchors(tie, f.roots, kNow).empty());
        std::swap(tie[0], tie[1]);
        CHECK(external_anchors(tie, f.roots, kNow).empty());
    }
    // A lapsed grant trusts nothing; records whose signature fails never decide.
    CHECK(external_anchors(records, f.roots, kNow + 400 * kDay).empty());
    auto forged = grant(f.root, laocai, {"000."}, 9);
    forged.serial = 10;  // no longer what was signed
    records.push_back(forged);
    anchors = external_anchors(records, f.roots, kNow);
    REQUIRE(anchors.size() == 1);
    CHECK(anchors[0].prefixes == std::vector<std::string>{"000.00.32.H01."});

    // A grant of a root already configured adds nothing.
    CHECK(external_anchors(std::vector<CrossTrust>{grant(f.root, f.root, {"000."}, 1)}, f.roots, kNow).empty());
}
