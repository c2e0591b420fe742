// Trust records: authority key lines, trust anchors, the four signed records in binary and
// armored form, and every kind of malformed input they refuse (verification: trust_verify_test).
#include <catch2/catch.hpp>

#include "protocol/trust_file.h"
#include "trust_fixture.h"

using namespace lienthong;
using namespace lienthong::protocol;
using namespace lienthong::testing;
using Catch::Contains;
using Catch::StartsWith;

namespace {

EnrollmentRequest sample_request(const SecretIdentity& id) {
    EnrollmentRequest r;
    r.agency = id.pub.agency;
    r.name = "UBND xã Thanh Thủy";
    r.sign_key = id.pub.sign_key;
    r.box_key = id.pub.box_key;
    r.endpoints = {"tcp://xa-thanhthuy.hagiang.gov.vn:7001"};
    r.parent = "000.00.31.H14";
    r.created_ms = kNow;
    auto s = sign_enrollment_request(r, id.sign_secret);
    REQUIRE(s.ok());
    return s.value();
}

// Decodes `wire` as R and re-encodes it: the same bytes must come back.
template <class R>
void check_round_trip(const R& r) {
    const Bytes wire = r.encode();
    auto back = R::decode(wire);
    REQUIRE(back.ok());
    CHECK(back->encode() == wire);
    CHECK(back->signature == r.signature);
    auto armored = R::from_armor(r.armor());
    REQUIRE(armored.ok());
    CHECK(armored->encode() == wire);
    CHECK(armored->id() == r.id());
}

}  // namespace

TEST_CASE("authority key lines round trip and malformed ones are refused", "[protocol][trust]") {
    const auto root = AuthoritySecret::generate(AuthorityRole::root, "hagiang");
    const std::string line = root.pub.to_line();
    CHECK(line.rfind("lienthong-root v1 hagiang ", 0) == 0);
    auto back = AuthorityKey::from_line(line);
    REQUIRE(back.ok());
    CHECK(*back == root.pub);

    const auto issuer = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.31.H14");
    auto ib = AuthorityKey::from_line(issuer.pub.to_line());
    REQUIRE(ib.ok());
    CHECK(ib->role == AuthorityRole::issuer);

    const std::string key = to_base64(root.pub.key);
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"", "must start with"},
        {"lienthong-root v2 hagiang " + key, "must start with"},
        {"lienthong-id v1 hagiang " + key, "must start with"},
        {"lienthong-root v1 hagiang", "incomplete"},
        {"lienthong-root v1 hagiang " + key + " extra", "trailing"},
        {"lienthong-root v1 ha/giang " + key, "federation name"},
        {"lienthong-issuer v1 bad:agency " + key, "not a valid agency code"},
        {"lienthong-root v1 hagiang " + key.substr(1), "32 bytes"},
        {"lienthong-root v1 hagiang " + key + "=", "32 bytes"},
    };
    for (const auto& [text, why] : bad) {
        INFO(text);
        auto r = AuthorityKey::from_line(text);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains(why));
    }
}

TEST_CASE("an authority secret key text round trips and rebuilds its public key",
          "[protocol][trust]") {
    const auto root = AuthoritySecret::generate(AuthorityRole::root, "hagiang");
    auto back = AuthoritySecret::from_text("\r\n" + root.to_text() + "\n# trailing comment\n");
    REQUIRE(back.ok());
    CHECK(back->pub == root.pub);
    CHECK(back->secret == root.secret);

    CHECK_THAT(AuthoritySecret::from_text(root.to_text() + root.to_text()).error(),
               Contains("exactly one key line"));
    CHECK_THAT(AuthoritySecret::from_text(root.pub.to_line()).error(),
               Contains("not a root or issuer"));
    CHECK_FALSE(AuthoritySecret::from_text("lienthong-root-secret v1 hagiang sign:AAAA").ok());
}

TEST_CASE("trust anchor lines carry the prefixes an external root may speak for",
          "[protocol][trust]") {
    const auto root = AuthoritySecret::generate(AuthorityRole::root, "laocai");
    TrustAnchor a{root.pub, {"000.00.32.", "000.00.33.H01"}};
    const std::string line = a.to_line();
    CHECK_THAT(line, Contains(" for:000.00.32.,000.00.33.H01"));
    auto back = TrustAnchor::from_line(line);
    REQUIRE(back.ok());
    CHECK(back->root == root.pub);
    CHECK(back->prefixes == a.prefixes);
    CHECK(back->speaks_for("000.00.32.H10"));
    CHECK(back->speaks_for("000.00.33.H01"));
    CHECK_FALSE(back->speaks_for("000.00.31.H14"));
    CHECK(back->covers_prefix("000.00.32.H"));
    CHECK_FALSE(back->covers_prefix("000.00."));
    CHECK_FALSE(back->covers_prefix(""));

    auto own = TrustAnchor::from_line(root.pub.to_line());
    REQUIRE(own.ok());
    CHECK(own->prefixes.empty());
    CHECK(own->covers_prefix(""));

    CHECK_THAT(TrustAnchor::from_line(root.pub.to_line() + " for:a,,b").error(),
               Contains("empty prefix"));
    CHECK_THAT(TrustAnchor::from_line(root.pub.to_line() + " for:a/b").error(), Contains("prefix"));
    const auto issuer = AuthoritySecret::generate(AuthorityRole::issuer, "H14");
    CHECK_THAT(TrustAnchor::from_line(issuer.pub.to_line()).error(), Contains("not an issuer key"));
}

TEST_CASE("prefixes and record endpoints", "[protocol][trust]") {
    CHECK(prefix_covers("", "anything"));
    CHECK(prefix_covers("000.00.31.", "000.00.31.H14"));
    CHECK_FALSE(prefix_covers("000.00.31.", "000.00.3"));
    CHECK_FALSE(prefix_covers("000.00.31.", "000.00.32.H14"));

    for (const char* ok :
         {"tcp://10.0.0.1:7001", "tcp://node-1.hagiang.gov.vn:1", "tcp://[::1]:65535"})
        CHECK(check_record_endpoint(ok).ok());
    for (const char* bad :
         {"", "udp://10.0.0.1:7001", "tcp://*:7001", "tcp://10.0.0.1", "tcp://:7001",
          "tcp://10.0.0.1:0", "tcp://10.0.0.1:65536", "tcp://10.0.0.1:7x", "tcp://a b:7001",
          "tcp://[zz]:7001", "tcp://-a:7001", "ipc:///tmp/x"}) {
        INFO(bad);
        CHECK_FALSE(check_record_endpoint(bad).ok());
    }
    CHECK_FALSE(check_record_endpoint("tcp://" + std::string(250, 'a') + ":7001").ok());
}

TEST_CASE("every record type round trips in binary and armored form", "[protocol][trust]") {
    Federation f;
    const auto commune = seeded_identity("000.00.31.H14.01.05", 5);
    SECTION("issuer record") {
        check_round_trip(f.issuers[0]);
    }
    SECTION("node record") {
        check_round_trip(Federation::node(f.group, commune));
    }
    SECTION("enrollment request") {
        check_round_trip(sample_request(commune));
    }
    SECTION("revocation") {
        check_round_trip(Federation::revocation(f.district, commune.pub.agency, 0));
    }
    SECTION("fields survive") {
        const auto n = Federation::node(f.group, commune, 7);
        auto back = NodeRecord::decode(n.encode());
        REQUIRE(back.ok());
        CHECK(back->agency == n.agency);
        CHECK(back->name == n.name);
        CHECK(back->endpoints == n.endpoints);
        CHECK(back->serial == 7);
        CHECK(back->issuer == key_id(f.group.pub.key));
        CHECK(back->sign_key == commune.pub.sign_key);
        CHECK(back->box_key == commune.pub.box_key);
    }
}

TEST_CASE("the armored form is 64-character lines between BEGIN and END", "[protocol][trust]") {
    Federation f;
    const std::string text =
        Federation::node(f.group, seeded_identity("000.00.31.H14.01.05", 5)).armor();
    CHECK(text.rfind("-----BEGIN LIENTHONG NODE RECORD-----\n", 0) == 0);
    CHECK_THAT(text, Catch::EndsWith("\n-----END LIENTHONG NODE RECORD-----\n"));
    std::vector<std::string> lines;
    for (size_t p = 0, nl; (nl = text.find('\n', p)) != std::string::npos; p = nl + 1)
        lines.push_back(text.substr(p, nl - p));
    REQUIRE(lines.size() >= 4);
    for (size_t i = 1; i + 2 < lines.size(); ++i) CHECK(lines[i].size() == 64);
    CHECK(lines[lines.size() - 2].size() <= 64);
}

TEST_CASE("armor tolerates surrounding whitespace and CRLF, and refuses everything else",
          "[protocol][trust]") {
    Federation f;
    const auto rec = Federation::node(f.group, seeded_identity("000.00.31.H14.01.05", 5));
    const std::string text = rec.armor();
    std::string crlf;
    for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    for (const std::string& ok :
         {text, "\n\n  \t\n" + text + "\n   \n", crlf, text.substr(0, text.size() - 1)}) {
        auto r = NodeRecord::from_armor(ok);
        REQUIRE(r.ok());
        CHECK(r->encode() == rec.encode());
    }

    const auto first_nl = text.find('\n');
    const auto second_nl = text.find('\n', first_nl + 1);
    const auto end_pos = text.find("-----END");
    const std::string body_line = text.substr(first_nl + 1, second_nl - first_nl - 1);
    const std::string begin_line = "-----BEGIN LIENTHONG NODE RECORD-----";
    const std::string end_line = "-----END LIENTHONG NODE RECORD-----";
    const auto replace = [&](size_t pos, size_t n, const std::string& with) {
        std::string t = text;
        t.replace(pos, n, with);
        return t;
    };
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"", "no armored block"},
        {text.substr(0, end_pos), "truncated"},
        {text.substr(0, text.size() / 2), "truncated"},
        {replace(first_nl + 5, 1, "*"), "not base64url"},
        {replace(first_nl + 5, 1, "="), "not base64url"},
        {replace(first_nl + 1, 1, " "), "not base64url"},
        {replace(second_nl, 0, "\n"), "blank line"},
        {replace(second_nl - 1, 1, ""), "shorter than 64"},
        {replace(second_nl, 0, "A"), "longer than 64"},
        {"note: my record\n" + text, "outside an armored block"},
        {text + "thanks!\n", "outside an armored block"},
        {replace(end_pos, end_line.size(), "-----END LIENTHONG ISSUER RECORD-----"),
         "does not match"},
        {replace(0, begin_line.size(), "-----BEGIN PGP MESSAGE-----"),
         "not a Liên Thông armor label"},
        {text + text, "found 2 blocks"},
        {Federation::revocation(f.root, "x", 0).armor(), "not a 'LIENTHONG NODE RECORD'"},
    };
    for (const auto& [t, why] : bad) {
        INFO(t);
        auto r = NodeRecord::from_armor(t);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains(why));
    }
    // A whole line lost in transit still armors correctly but no longer decodes as a record.
    CHECK_FALSE(NodeRecord::from_armor(replace(first_nl + 1, body_line.size() + 1, "")).ok());
    // Base64 that decodes but whose last character carries bits beyond the data is refused
    // by the decoder; a changed character that still decodes fails at the record level.
    std::string last_changed = text;
    const auto last_char = end_pos - 2;
    last_changed[last_char] = last_changed[last_char] == 'A' ? 'B' : 'A';
    auto changed = NodeRecord::from_armor(last_changed);
    CHECK_FALSE((changed.ok() && changed->encode() == rec.encode()));
}

TEST_CASE("dearmor_all reads a directory of concatenated blocks", "[protocol][trust]") {
    Federation f;
    const std::string text = f.issuers[0].armor() + "\n" + f.issuers[1].armor() +
                             Federation::revocation(f.root, "000.00.31.H14.02", 0).armor();
    auto blocks = dearmor_all(text);
    REQUIRE(blocks.ok());
    REQUIRE(blocks->size() == 3);
    CHECK((*blocks)[0].label == IssuerRecord::kLabel);
    CHECK((*blocks)[2].label == Revocation::kLabel);
    CHECK(IssuerRecord::decode((*blocks)[1].data)->encode() == f.issuers[1].encode());
    CHECK_THAT(dearmor_all(text, 2).error(), Contains("more than 2"));
}

TEST_CASE("a trust file's blocks are each decoded by label, a bad block keeping its reason",
          "[protocol][trust]") {
    Federation f;
    const auto commune = seeded_identity("000.00.31.H14.01.05", 5);
    const NodeRecord node = Federation::node(f.group, commune);
    const std::string text = f.issuers[0].armor() + node.armor() +
                             armor(NodeRecord::kLabel, Bytes{0x93, 0x01}) +
                             armor("LIENTHONG SOMETHING ELSE", Bytes{1, 2, 3}) +
                             sample_request(commune).armor();
    auto blocks = read_trust_file(text);
    REQUIRE(blocks.ok());
    REQUIRE(blocks->size() == 5);
    REQUIRE((*blocks)[0].record.ok());
    CHECK(std::get<IssuerRecord>(*(*blocks)[0].record).encode() == f.issuers[0].encode());
    REQUIRE((*blocks)[1].record.ok());
    CHECK(std::get<NodeRecord>(*(*blocks)[1].record).encode() == node.encode());
    CHECK((*blocks)[2].label == NodeRecord::kLabel);
    REQUIRE_FALSE((*blocks)[2].record.ok());
    CHECK_THAT((*blocks)[2].record.error(), StartsWith("malformed: "));
    REQUIRE_FALSE((*blocks)[3].record.ok());
    CHECK((*blocks)[3].record.error() == "not a trust record: 'LIENTHONG SOMETHING ELSE' block");
    REQUIRE((*blocks)[4].record.ok());
    CHECK(std::holds_alternative<EnrollmentRequest>(*(*blocks)[4].record));
    // Text that is not armor fails as a whole, with dearmor_all's error.
    auto bad = read_trust_file("hello\n" + text);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error(), Contains("line 1"));
}

TEST_CASE("malformed binary records are refused with the field named", "[protocol][trust]") {
    Federation f;
    const auto commune = seeded_identity("000.00.31.H14.01.05", 5);
    const NodeRecord rec = Federation::node(f.group, commune);
    const Bytes wire = rec.encode();

    SECTION("truncated at every length") {
        for (size_t n = 0; n < wire.size(); ++n) {
            INFO(n);
            CHECK_FALSE(NodeRecord::decode(ByteView(wire).first(n)).ok());
        }
    }
    SECTION("trailing byte") {
        Bytes more = wire;
        more.push_back(0);
        CHECK_THAT(NodeRecord::decode(more).error(), Contains("trailing"));
    }
    SECTION("oversize") {
        const Bytes padded = wrap_body(Bytes(kMaxRecordBytes, 0), rec.signature);
        CHECK_THAT(NodeRecord::decode(padded).error(), Contains("exceeds the limit"));
    }
    SECTION("non-canonical outer encoding") {
        msgpack::sbuffer buf;
        msgpack::packer<msgpack::sbuffer> pk(buf);
        pk.pack_array(3);
        pk.pack_fix_uint64(1);  // version 1 in 9 bytes instead of 1
        const Bytes body = rec.body();
        pk.pack_bin(static_cast<uint32_t>(body.size()));
        pk.pack_bin_body(reinterpret_cast<const char*>(body.data()),
                         static_cast<uint32_t>(body.size()));
        pk.pack_bin(64);
        pk.pack_bin_body(reinterpret_cast<const char*>(rec.signature.data()), 64);
        const Bytes bad(reinterpret_cast<const uint8_t*>(buf.data()),
                        reinterpret_cast<const uint8_t*>(buf.data()) + buf.size());
        CHECK_THAT(NodeRecord::decode(bad).error(), Contains("not in canonical encoding"));
    }
    SECTION("non-canonical body, even when correctly signed") {
        msgpack::sbuffer buf;
        msgpack::packer<msgpack::sbuffer> pk(buf);
        Bytes canonical = rec.body();
        // The body is [agency, ...]: re-pack the agency as str8 instead of fixstr.
        pk.pack_array(10);
        buf.write("\xd9", 1);
        const char len = static_cast<char>(rec.agency.size());
        buf.write(&len, 1);
        buf.write(rec.agency.data(), rec.agency.size());
        const size_t skip = 1 + 1 + rec.agency.size();  // array header + fixstr header + text
        buf.write(reinterpret_cast<const char*>(canonical.data()) + skip, canonical.size() - skip);
        const Bytes body(reinterpret_cast<const uint8_t*>(buf.data()),
                         reinterpret_cast<const uint8_t*>(buf.data()) + buf.size());
        const Bytes bad = wrap_body(body, sign_domain(f.group.secret, NodeRecord::kDomain, body));
        CHECK_THAT(NodeRecord::decode(bad).error(), Contains("body: not in canonical encoding"));
    }
    SECTION("unknown version") {
        Writer w;
        w.array(3).u64(2).bin(rec.body()).bin(rec.signature);
        CHECK_THAT(NodeRecord::decode(w.take()).error(), Contains("version 2 is not supported"));
    }
    SECTION("a field of the wrong type or an extra field") {
        Writer body;
        body.array(11).str(rec.agency).str(rec.name).bin(rec.sign_key).bin(rec.box_key).array(0);
        body.str("").u64(1).u64(1).u64(2).bin(rec.issuer).u64(9);
        CHECK_THAT(NodeRecord::decode(wrap_body(body.take(), rec.signature)).error(),
                   Contains("unexpected extra field"));
        Writer body2;
        body2.array(10).str(rec.agency).str(rec.name).bin(rec.sign_key).str("not a key").array(0);
        body2.str("").u64(1).u64(1).u64(2).bin(rec.issuer);
        CHECK_THAT(NodeRecord::decode(wrap_body(body2.take(), rec.signature)).error(),
                   Contains("'box_key' is not binary"));
    }
    SECTION("field rules: serial, validity, endpoints, agency, control characters") {
        const auto refuse = [&](auto change, const char* why) {
            NodeRecord r = Federation::unsigned_node(commune);
            change(r);
            INFO(why);
            auto s = sign_node_record(r, f.group.secret);
            REQUIRE_FALSE(s.ok());
            CHECK_THAT(s.error(), Contains(why));
            // The same record encoded without the signing checks is refused by decode.
            CHECK_THAT(NodeRecord::decode(wrap_body(r.body(), rec.signature)).error(),
                       Contains(why));
        };
        refuse([](NodeRecord& r) { r.serial = 0; }, "serial must be at least 1");
        refuse([](NodeRecord& r) { r.valid_until_ms = r.valid_from_ms; },
               "valid_until must be after");
        refuse([](NodeRecord& r) { r.endpoints.push_back("tcp://*:7001"); }, "invalid host");
        refuse([](NodeRecord& r) { r.endpoints.push_back(r.endpoints[0]); }, "listed twice");
        refuse([](NodeRecord& r) { r.parent = r.agency; }, "its own parent");
        refuse([](NodeRecord& r) { r.name = "UBND\nxã"; }, "control character");
        refuse([](NodeRecord& r) { r.agency = "000 00"; }, "not a valid agency code");
    }
    SECTION("a revocation of an unknown kind") {
        Writer body;
        body.array(6).str("x").u64(3).u64(0).u64(1).str("r").bin(rec.issuer);
        CHECK_THAT(Revocation::decode(wrap_body(body.take(), rec.signature)).error(),
                   Contains("'kind' must be 1"));
    }
}

TEST_CASE("an enrollment request proves possession of its sign key", "[protocol][trust]") {
    const auto commune = seeded_identity("000.00.31.H14.01.05", 5);
    const auto req = sample_request(commune);
    CHECK(verify_enrollment_request(req).ok());

    auto impostor = req;
    impostor.sign_key = seeded_identity("x", 6).pub.sign_key;  // claims another agency's key
    CHECK_THAT(verify_enrollment_request(impostor).error(), Contains("does not verify"));
    auto edited = req;
    edited.endpoints = {"tcp://attacker.example:7001"};
    CHECK_FALSE(verify_enrollment_request(edited).ok());

    EnrollmentRequest r = req;
    CHECK_THAT(sign_enrollment_request(r, seeded_identity("y", 7).sign_secret).error(),
               Contains("not the one of its sign key"));

    const NodeRecord n = node_record_for(req, 3, kNow, kNow + kDay);
    CHECK(n.agency == req.agency);
    CHECK(n.endpoints == req.endpoints);
    CHECK(n.parent == req.parent);
    CHECK(n.box_key == req.box_key);
    CHECK(n.serial == 3);
}
