// Printable forms of bytes and the domain-separated hash.
#include <catch2/catch.hpp>

#include "protocol/bytes.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;

TEST_CASE("hex round trips and refuses odd or non-hex input", "[protocol][bytes]") {
    const Bytes b = bytes_of({0x00, 0x01, 0xab, 0xff});
    CHECK(to_hex(b) == "0001abff");
    CHECK(*from_hex("0001abff") == b);
    CHECK(from_hex("")->empty());
    CHECK_FALSE(from_hex("abc").ok());
    CHECK_FALSE(from_hex("zz").ok());
    CHECK_FALSE(from_hex("00 11").ok());
}

TEST_CASE("base64 is URL-safe without padding and refuses other alphabets", "[protocol][bytes]") {
    const Bytes b = bytes_of({0xfb, 0xff, 0xfe});
    CHECK(to_base64(b) == "-__-");
    CHECK(*from_base64("-__-") == b);
    CHECK(to_base64(bytes_of({0x61})) == "YQ");
    CHECK_FALSE(from_base64("YQ==").ok());  // padding
    CHECK_FALSE(from_base64("+//+").ok());  // standard alphabet
    CHECK_FALSE(from_base64("Y Q").ok());
    for (size_t n = 0; n < 70; ++n) {
        const Bytes in = lienthong::testing::pattern_bytes(n, static_cast<uint8_t>(n));
        CHECK(*from_base64(to_base64(in)) == in);
    }
}

TEST_CASE("fixed_from_base64 requires exactly N bytes and names the value", "[protocol][bytes]") {
    const Bytes k32(32, 7), k31(31, 7);
    CHECK(fixed_from_base64<32>(to_base64(k32), "sign key").ok());
    auto r = fixed_from_base64<32>(to_base64(k31), "sign key");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("sign key") && Catch::Contains("32 bytes"));
}

TEST_CASE("hash_domain separates domains and the domain/data boundary", "[protocol][bytes]") {
    const Bytes data = bytes_of("payload");
    CHECK(hash_domain("a", data) == hash_domain("a", data));
    CHECK(hash_domain("a", data) != hash_domain("b", data));
    // "ab" || 0 || "c" must not equal "a" || 0 || "bc".
    CHECK(hash_domain("ab", as_bytes("c")) != hash_domain("a", as_bytes("bc")));
    CHECK(hash_domain("a", {}) != hash_domain("a", bytes_of({0})));
}
