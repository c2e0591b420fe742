// The trust verifier: chains up to trusted roots, each reason a record is refused, external
// roots limited to their prefixes, revocation, and "highest valid serial wins".
#include <catch2/catch.hpp>

#include "trust_fixture.h"

using namespace lienthong;
using namespace lienthong::protocol;
using namespace lienthong::testing;
using Catch::Contains;

namespace {

const SecretIdentity kCommune = seeded_identity("000.00.31.H14.01.05", 5);

// Verifies `r` and requires it to fail for `failure`, with `text` in the message.
void refused(const NodeRecord& r, const TrustView& v, TrustFailure failure,
             const std::string& text) {
    auto res = verify_node_record(r, v);
    REQUIRE_FALSE(res.ok());
    INFO(res.error().message);
    CHECK(failure_name(res.error().failure) == failure_name(failure));
    CHECK_THAT(res.error().message, Contains(text));
}

}  // namespace

TEST_CASE("a node record verifies through two delegations up to the root", "[protocol][trust]") {
    Federation f;
    const auto rec = Federation::node(f.group, kCommune);
    auto chain = verify_node_record(rec, f.view());
    REQUIRE(chain.ok());
    CHECK(chain->anchor.root == f.root.pub);
    REQUIRE(chain->issuers.size() == 2);
    CHECK(chain->issuers[0].agency == "000.00.31.H14");
    CHECK(chain->issuers[1].agency == "000.00.31.H14.01");
    CHECK(chain->valid_until_ms == rec.valid_until_ms);
    CHECK(chain->revoked_from_ms == 0);

    // The six-argument form the node calls with records loaded from its directory.
    CHECK(verify_node_record(rec, f.roots, f.issuers, f.revocations, kNow, 2).ok());

    auto by_root = verify_node_record(Federation::node(f.root, kCommune), f.view());
    REQUIRE(by_root.ok());
    CHECK(by_root->issuers.empty());
    auto by_district = verify_node_record(Federation::node(f.district, kCommune), f.view());
    REQUIRE(by_district.ok());
    CHECK(by_district->issuers.size() == 1);
}

TEST_CASE("a tampered or wrongly signed node record is refused as a bad signature",
          "[protocol][trust]") {
    Federation f;
    const auto rec = Federation::node(f.group, kCommune);
    const Bytes wire = rec.encode();

    SECTION("any single changed byte") {
        size_t decoded = 0;
        for (size_t i = 0; i < wire.size(); ++i) {
            Bytes t = wire;
            t[i] ^= 0x01;
            auto d = NodeRecord::decode(t);
            if (!d.ok()) continue;
            ++decoded;
            INFO("byte " << i);
            CHECK_FALSE(verify_node_record(*d, f.view()).ok());
        }
        CHECK(decoded > wire.size() / 2);  // most flips decode: the signature must catch them
    }
    SECTION("a changed byte of the signature") {
        Bytes t = wire;
        t[wire.size() - 1] ^= 0x80;
        auto d = NodeRecord::decode(t);
        REQUIRE(d.ok());
        refused(*d, f.view(), TrustFailure::bad_signature,
                "does not verify under the key of issuer '000.00.31.H14.01'");
    }
    SECTION("a field changed after signing") {
        auto t = rec;
        t.endpoints = {"tcp://attacker.example:7001"};
        refused(t, f.view(), TrustFailure::bad_signature, "altered after signing");
    }
    SECTION("a signature made under another record kind's domain") {
        auto t = rec;
        t.signature = sign_domain(f.group.secret, IssuerRecord::kDomain, t.body());
        refused(t, f.view(), TrustFailure::bad_signature, "does not verify");
        t.signature = sign_domain(f.group.secret, NodeRecord::kDomain, t.body());
        CHECK(verify_node_record(t, f.view()).ok());
    }
    SECTION("an issuer record whose signature is broken breaks the chain") {
        f.issuers[1].signature[0] ^= 1;
        refused(rec, f.view(), TrustFailure::bad_signature, "issuer record of '000.00.31.H14.01'");
    }
}

TEST_CASE("each invalid node record is refused with its reason", "[protocol][trust]") {
    Federation f;
    const auto rec = Federation::node(f.group, kCommune);

    SECTION("unknown issuer") {
        const auto stranger = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.31.H14.01");
        refused(Federation::node(stranger, kCommune), f.view(), TrustFailure::unknown_issuer,
                "neither a trusted root nor the key of a known issuer record");
        f.issuers.pop_back();
        refused(rec, f.view(), TrustFailure::unknown_issuer, "import the issuer record");
    }
    SECTION("expired and not yet valid") {
        refused(rec, f.view(rec.valid_until_ms), TrustFailure::expired,
                "expired at 2025-12-24 16:00:00Z");
        CHECK(verify_node_record(rec, f.view(rec.valid_until_ms - 1)).ok());
        refused(rec, f.view(rec.valid_from_ms - 1), TrustFailure::not_yet_valid,
                "not valid before");
        CHECK(verify_node_record(rec, f.view(rec.valid_from_ms)).ok());
    }
    SECTION("an expired issuer expires what it signed") {
        f.issuers[1] = Federation::delegate(f.district, f.group, "000.00.31.H14.01.", 0, 1,
                                            kNow - 10 * kDay, kNow - kDay + 1);
        const auto early = Federation::node(f.group, kCommune, 1, kNow - 2 * kDay, kNow - kDay);
        refused(early, f.view(), TrustFailure::expired,
                "issuer record of '000.00.31.H14.01' (serial 1): expired");
    }
    SECTION("outside the delegated prefix") {
        refused(Federation::node(f.group, seeded_identity("000.00.31.H14.02.01", 6)), f.view(),
                TrustFailure::outside_prefix,
                "outside issuer '000.00.31.H14.01''s prefix '000.00.31.H14.01.'");
        refused(Federation::node(f.district, seeded_identity("000.00.32.H01", 6)), f.view(),
                TrustFailure::outside_prefix, "prefix '000.00.31.'");
    }
    SECTION("a sub-delegation outside its parent's prefix, or of every agency") {
        f.issuers[1] = Federation::delegate(f.district, f.group, "000.00.32.", 0, 1);
        refused(rec, f.view(), TrustFailure::outside_prefix,
                "is not inside issuer '000.00.31.H14''s prefix");
        f.issuers[1] = Federation::delegate(f.district, f.group, "", 0, 1);
        refused(rec, f.view(), TrustFailure::outside_prefix, "only a root may grant every agency");
    }
    SECTION("validity outside the issuer's") {
        refused(Federation::node(f.group, kCommune, 1, kNow - kDay, kNow + 400 * kDay), f.view(),
                TrustFailure::outside_validity, "is not inside issuer '000.00.31.H14.01''s");
        f.issuers[1] = Federation::delegate(f.district, f.group, "000.00.31.H14.01.", 0, 1,
                                            kNow - 20 * kDay, kNow + 30 * kDay);
        refused(rec, f.view(), TrustFailure::outside_validity,
                "issuer record of '000.00.31.H14.01'");
    }
    SECTION("a chain longer than the configured depth") {
        CHECK(verify_node_record(rec, f.view(kNow, 2)).ok());
        refused(rec, f.view(kNow, 1), TrustFailure::chain_too_long,
                "more than the maximum depth of 1");
        refused(Federation::node(f.district, kCommune), f.view(kNow, 0),
                TrustFailure::chain_too_long, "maximum depth of 0");
        CHECK(verify_node_record(Federation::node(f.root, kCommune), f.view(kNow, 0)).ok());
    }
    SECTION("a delegation deeper than the issuer may grant") {
        const auto sub = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.31.H14.01.09");
        f.issuers.push_back(Federation::delegate(f.group, sub, "000.00.31.H14.01.", 0, 1));
        refused(Federation::node(sub, kCommune), f.view(), TrustFailure::chain_too_long,
                "delegation too deep: issuer '000.00.31.H14.01' may delegate 0 more level(s)");
        // A root-granted depth of 1 allows one level below, granting depth 0, not 1.
        f.issuers[1] = Federation::delegate(f.district, f.group, "000.00.31.H14.01.", 1, 1);
        refused(rec, f.view(), TrustFailure::chain_too_long, "cannot grant 1 further level(s)");
    }
}

TEST_CASE("an external root is trusted only for its prefixes", "[protocol][trust]") {
    Federation f;
    const auto laocai = AuthoritySecret::generate(AuthorityRole::root, "laocai");
    const auto city = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.32.H01");
    f.roots.push_back(TrustAnchor{laocai.pub, {"000.00.32."}});
    f.issuers.push_back(Federation::delegate(laocai, city, "000.00.32.H01.", 0, 1));
    const auto their_commune = seeded_identity("000.00.32.H01.03", 8);

    auto chain = verify_node_record(Federation::node(city, their_commune), f.view());
    REQUIRE(chain.ok());
    CHECK(chain->anchor.root == laocai.pub);
    CHECK(verify_node_record(Federation::node(laocai, their_commune), f.view()).ok());

    // The external root speaking for one of our agencies, directly or through an issuer.
    refused(Federation::node(laocai, kCommune), f.view(), TrustFailure::outside_root_prefixes,
            "root 'laocai' is trusted only for 000.00.32.");
    const auto rogue = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.32.H02");
    f.issuers.push_back(Federation::delegate(laocai, rogue, "000.00.31.", 0, 1));
    refused(Federation::node(rogue, kCommune), f.view(), TrustFailure::outside_root_prefixes,
            "prefix '000.00.31.' is outside what root 'laocai' is trusted for");
    f.issuers.back() = Federation::delegate(laocai, rogue, "", 0, 1);
    refused(Federation::node(rogue, kCommune), f.view(), TrustFailure::outside_root_prefixes,
            "(every agency) is outside");
    // Our own root still speaks for everyone, theirs included.
    CHECK(verify_node_record(Federation::node(f.root, their_commune), f.view()).ok());

    // Removing the anchor ends the trust.
    f.roots.pop_back();
    refused(Federation::node(city, their_commune), f.view(), TrustFailure::unknown_issuer,
            "neither");
}

TEST_CASE("revocations from the record's chain take effect at their time", "[protocol][trust]") {
    Federation f;
    const auto rec = Federation::node(f.group, kCommune, 3);

    SECTION("by the root, the enrolling issuer or an issuer above it") {
        for (const AuthoritySecret* by : {&f.root, &f.group, &f.district}) {
            f.revocations = {Federation::revocation(*by, kCommune.pub.agency, 3, kNow - 5000)};
            refused(rec, f.view(), TrustFailure::revoked, "revoked since 2025-11-24");
            refused(rec, f.view(), TrustFailure::revoked, "stolen laptop");
        }
    }
    SECTION("signed before the revocation time stays valid, and says so") {
        f.revocations = {Federation::revocation(f.root, kCommune.pub.agency, 3, kNow + 1000)};
        auto before = verify_node_record(rec, f.view());
        REQUIRE(before.ok());
        CHECK(before->revoked_from_ms == kNow + 1000);
        refused(rec, f.view(kNow + 1000), TrustFailure::revoked, "revoked since");
    }
    SECTION("serial N revokes N and older, not newer") {
        f.revocations = {Federation::revocation(f.root, kCommune.pub.agency, 3)};
        refused(Federation::node(f.group, kCommune, 2), f.view(), TrustFailure::revoked, "revoked");
        CHECK(verify_node_record(Federation::node(f.group, kCommune, 4), f.view()).ok());
    }
    SECTION("serial 0 revokes everything issued up to the revocation; a later record re-admits") {
        f.revocations = {Federation::revocation(f.root, kCommune.pub.agency, 0, kNow - 1000)};
        refused(Federation::node(f.group, kCommune, 99), f.view(), TrustFailure::revoked,
                "revoked");
        CHECK(verify_node_record(Federation::node(f.group, kCommune, 100, kNow - 999), f.view())
                  .ok());
    }
    SECTION("revocations that do not apply are ignored") {
        const auto other_root = AuthoritySecret::generate(AuthorityRole::root, "laocai");
        const auto sibling = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.31.H14.02");
        f.issuers.push_back(Federation::delegate(f.district, sibling, "000.00.31.H14.02.", 0, 1));
        auto forged = Federation::revocation(f.root, kCommune.pub.agency, 3);
        forged.reason = "changed after signing";
        f.revocations = {
            Federation::revocation(other_root, kCommune.pub.agency, 3),  // not our chain
            Federation::revocation(sibling, kCommune.pub.agency, 3),     // not our chain
            forged,                                                      // bad signature
            Federation::revocation(f.root, "000.00.31.H14.01.06", 3),    // another agency
            Federation::revocation(f.root, kCommune.pub.agency, 2),      // an older serial
            Federation::revocation(f.root, kCommune.pub.agency, 3, kNow, RevokedKind::issuer),
        };
        CHECK(verify_node_record(rec, f.view()).ok());
    }
    SECTION("a revoked issuer takes its records with it") {
        f.revocations = {Federation::revocation(f.district, "000.00.31.H14.01", 1, kNow - 1000,
                                                RevokedKind::issuer)};
        refused(rec, f.view(), TrustFailure::revoked,
                "issuer record of '000.00.31.H14.01' (serial 1): revoked");
        f.revocations = {Federation::revocation(f.group, "000.00.31.H14.01", 1, kNow - 1000,
                                                RevokedKind::issuer)};
        refused(rec, f.view(), TrustFailure::revoked, "revoked");
    }
}

TEST_CASE("issuer records and revocations verify on their own", "[protocol][trust]") {
    Federation f;
    auto group = verify_issuer_record(f.issuers[1], f.view());
    REQUIRE(group.ok());
    REQUIRE(group->issuers.size() == 1);
    CHECK(group->issuers[0].agency == "000.00.31.H14");
    CHECK(verify_issuer_record(f.issuers[0], f.view())->issuers.empty());

    // Several records for one issuer key: the highest serial that verifies is used.
    f.issuers[1] = Federation::delegate(f.district, f.group, "000.00.31.H14.01.", 0, 1,
                                        kNow - 10 * kDay, kNow - kDay);
    const auto rec = Federation::node(f.group, kCommune);
    refused(rec, f.view(), TrustFailure::expired, "expired");
    f.issuers.push_back(Federation::delegate(f.district, f.group, "000.00.31.H14.01.", 0, 2));
    auto chain = verify_node_record(rec, f.view());
    REQUIRE(chain.ok());
    CHECK(chain->issuers.back().serial == 2);

    CHECK(verify_revocation(Federation::revocation(f.root, "any.agency", 0), f.view()).ok());
    CHECK(
        verify_revocation(Federation::revocation(f.group, kCommune.pub.agency, 0), f.view()).ok());
    auto outside =
        verify_revocation(Federation::revocation(f.group, "000.00.31.H14.02.01", 0), f.view());
    REQUIRE_FALSE(outside.ok());
    CHECK(outside.error().failure == TrustFailure::outside_prefix);
    const auto stranger = AuthoritySecret::generate(AuthorityRole::root, "x");
    CHECK(verify_revocation(Federation::revocation(stranger, "a", 0), f.view()).error().failure ==
          TrustFailure::unknown_issuer);
    auto forged = Federation::revocation(f.root, "a", 0);
    forged.serial = 7;
    CHECK(verify_revocation(forged, f.view()).error().failure == TrustFailure::bad_signature);
}

TEST_CASE("the highest valid serial wins", "[protocol][trust]") {
    Federation f;
    const auto other = seeded_identity("000.00.31.H14.01.06", 9);
    auto bad_sig = Federation::node(f.group, kCommune, 50);
    bad_sig.signature[3] ^= 1;
    const std::vector<NodeRecord> candidates = {
        Federation::node(f.group, kCommune, 1),
        Federation::node(f.group, kCommune, 3, kNow - 2 * kDay, kNow - kDay),  // expired
        Federation::node(f.group, kCommune, 2),
        bad_sig,                                                               // invalid
        Federation::node(f.group, other, 9),                                   // other agency
        Federation::node(f.group, kCommune, 4, kNow + kDay, kNow + 2 * kDay),  // not yet valid
    };
    auto pick = select_current_record(kCommune.pub.agency, candidates, f.view());
    REQUIRE(pick.has_value());
    CHECK(*pick == 2);
    CHECK(select_current_record(other.pub.agency, candidates, f.view()) ==
          std::optional<size_t>(4));
    CHECK(select_current_record(kCommune.pub.agency, candidates, f.view(kNow + kDay)) ==
          std::optional<size_t>(5));
    CHECK_FALSE(select_current_record("000.00.31.H14.01.07", candidates, f.view()).has_value());
    f.revocations = {Federation::revocation(f.root, kCommune.pub.agency, 2)};
    CHECK_FALSE(select_current_record(kCommune.pub.agency, candidates, f.view()).has_value());

    // Equal serials: the same winner whatever the order, decided by record id.
    Federation g;
    auto a = Federation::node(g.group, kCommune, 7);
    auto b = Federation::unsigned_node(kCommune, 7);
    b.endpoints = {"tcp://10.9.9.9:7001"};
    b = sign_node_record(b, g.group.secret).value();
    CHECK(supersedes(a, b) != supersedes(b, a));
    const std::vector<NodeRecord> ab = {a, b}, ba = {b, a};
    const auto w1 = select_current_record(kCommune.pub.agency, ab, g.view());
    const auto w2 = select_current_record(kCommune.pub.agency, ba, g.view());
    REQUIRE(w1.has_value());
    REQUIRE(w2.has_value());
    CHECK(ab[*w1].id() == ba[*w2].id());
    CHECK(supersedes(Federation::node(g.group, kCommune, 8), a));
    CHECK_FALSE(supersedes(Federation::node(g.group, kCommune, 6), a));
}

TEST_CASE("an expired key verifies only what it made while valid, and only for a week", "[protocol][trust]") {
    constexpr uint64_t until = 1767225600000ull, day = 86400000;
    // Made before expiry, checked within the grace: still verifies.
    CHECK(expired_key_still_verifies(until - 1, until, until));
    CHECK(expired_key_still_verifies(until - day, until, until + 6 * day));
    CHECK(expired_key_still_verifies(0, until, until + kExpiredKeyGraceMs - 1));
    // Made at or after expiry: never.
    CHECK_FALSE(expired_key_still_verifies(until, until, until));
    CHECK_FALSE(expired_key_still_verifies(until + 1, until, until + 1));
    // The grace is over: never, however old the envelope.
    CHECK_FALSE(expired_key_still_verifies(until - 1, until, until + kExpiredKeyGraceMs));
    CHECK_FALSE(expired_key_still_verifies(0, until, UINT64_MAX - kExpiredKeyGraceMs));
}
