// Agency codes, the printable public identity line, and domain-separated signatures.
#include <catch2/catch.hpp>

#include "protocol/identity.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;
using lienthong::testing::seeded_identity;

TEST_CASE("is_valid_agency accepts the ma dinh danh form and refuses anything else",
          "[protocol][identity]") {
    CHECK(is_valid_agency("000.00.31.H14"));
    CHECK(is_valid_agency("a"));
    CHECK(is_valid_agency("A-b_c.9"));
    CHECK(is_valid_agency(std::string(64, 'x')));
    CHECK_FALSE(is_valid_agency(""));
    CHECK_FALSE(is_valid_agency(std::string(65, 'x')));
    CHECK_FALSE(is_valid_agency("a b"));
    CHECK_FALSE(is_valid_agency("a/b"));
    CHECK_FALSE(is_valid_agency("Đắk.Nông"));
    CHECK_FALSE(is_valid_agency(std::string_view("a\0b", 3)));
    CHECK_FALSE(is_valid_agency("a:b"));
    CHECK_FALSE(is_valid_agency("a\n"));
}

TEST_CASE("check_agency names what was checked", "[protocol][identity]") {
    CHECK(check_agency("000.00.31.H14", "sender").ok());
    auto st = check_agency("bad agency", "recipient");
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Catch::Contains("recipient") && Catch::Contains("'bad agency'"));
}

TEST_CASE("a public identity line round trips", "[protocol][identity]") {
    const auto id = seeded_identity("000.00.31.H14", 1).pub;
    const std::string line = id.to_line();
    CHECK(line.rfind("lienthong-id v1 000.00.31.H14 sign:", 0) == 0);
    CHECK(line.find(" box:") != std::string::npos);
    auto back = PublicIdentity::from_line(line);
    REQUIRE(back.ok());
    CHECK(*back == id);
    CHECK_FALSE(seeded_identity("000.00.31.H14", 2).pub == id);
}

TEST_CASE("each malformed identity line is refused", "[protocol][identity]") {
    const auto id = seeded_identity("H14", 1).pub;
    const std::string sign = to_base64(id.sign_key), box = to_base64(id.box_key);
    const std::string short_key = to_base64(Bytes(31, 1));
    const std::vector<std::string> bad = {
        "",
        "lienthong-id",
        "lienthong-id v1",
        "lienthong-id v2 H14 sign:" + sign + " box:" + box,
        "lienthong-key v1 H14 sign:" + sign + " box:" + box,
        "lienthong-id v1 H14 sign:" + sign,
        "lienthong-id v1 H14 sign:" + sign + " box:" + box + " extra",
        "lienthong-id v1 H/14 sign:" + sign + " box:" + box,
        "lienthong-id v1 H14 box:" + box + " sign:" + sign,
        "lienthong-id v1 H14 sig:" + sign + " box:" + box,
        "lienthong-id v1 H14 sign:" + short_key + " box:" + box,
        "lienthong-id v1 H14 sign:" + sign + " box:" + short_key,
        "lienthong-id v1 H14 sign:" + sign + " box:" + box + "AA",
        "lienthong-id v1 H14 sign:" + sign + "= box:" + box,
        "lienthong-id v1 H14 sign: box:" + box,
    };
    for (const auto& line : bad) {
        INFO(line);
        CHECK_FALSE(PublicIdentity::from_line(line).ok());
    }
}

TEST_CASE("generated identities are consistent and a swapped public key is detected",
          "[protocol][identity]") {
    auto id = SecretIdentity::generate("000.00.31.H14");
    CHECK(id.check_consistent().ok());
    CHECK(seeded_identity("x", 3).check_consistent().ok());

    auto wrong_sign = id;
    wrong_sign.pub.sign_key = seeded_identity("x", 9).pub.sign_key;
    auto st = wrong_sign.check_consistent();
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Catch::Contains("signing"));

    auto wrong_box = id;
    wrong_box.pub.box_key = seeded_identity("x", 9).pub.box_key;
    st = wrong_box.check_consistent();
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Catch::Contains("box"));
}

TEST_CASE("verify_domain accepts only the same key, domain and message", "[protocol][identity]") {
    const auto a = seeded_identity("A", 1), b = seeded_identity("B", 2);
    const Bytes msg = bytes_of("Công văn số 12");
    const auto sig = sign_domain(a.sign_secret, "lienthong/v1/document", msg);
    CHECK(verify_domain(a.pub.sign_key, "lienthong/v1/document", msg, sig));
    CHECK_FALSE(verify_domain(a.pub.sign_key, "lienthong/v1/receipt", msg, sig));
    CHECK_FALSE(verify_domain(b.pub.sign_key, "lienthong/v1/document", msg, sig));
    Bytes other = msg;
    other.back() ^= 1;
    CHECK_FALSE(verify_domain(a.pub.sign_key, "lienthong/v1/document", other, sig));
    auto bad_sig = sig;
    bad_sig[10] ^= 0x40;
    CHECK_FALSE(verify_domain(a.pub.sign_key, "lienthong/v1/document", msg, bad_sig));
}

TEST_CASE("the domain separator stops a signature moving across the boundary", "[protocol][identity]") {
    const auto a = seeded_identity("A", 1);
    const auto sig = sign_domain(a.sign_secret, "ab", as_bytes("c"));
    CHECK(verify_domain(a.pub.sign_key, "ab", as_bytes("c"), sig));
    CHECK_FALSE(verify_domain(a.pub.sign_key, "a", as_bytes("bc"), sig));
    CHECK_FALSE(verify_domain(a.pub.sign_key, "abc", {}, sig));
}

TEST_CASE("an identity line with an all-zero or small-order key is refused", "[protocol][identity]") {
    const auto id = seeded_identity("H14", 1).pub;
    const std::string sign = to_base64(id.sign_key), box = to_base64(id.box_key);
    const std::string zero = to_base64(Bytes(32, 0));
    // The Ed25519 identity point (1, 0 ...) and the X25519 point of order 1 (u = 1).
    Bytes one(32, 0);
    one[0] = 1;
    for (const auto& line : {"lienthong-id v1 H14 sign:" + zero + " box:" + box,
                             "lienthong-id v1 H14 sign:" + sign + " box:" + zero,
                             "lienthong-id v1 H14 sign:" + to_base64(one) + " box:" + box,
                             "lienthong-id v1 H14 sign:" + sign + " box:" + to_base64(one)}) {
        INFO(line);
        auto r = PublicIdentity::from_line(line);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("not a valid"));
    }
    CHECK(check_public_keys(id.sign_key, id.box_key).ok());
}
