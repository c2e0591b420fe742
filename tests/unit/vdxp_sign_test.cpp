// The hub API's request signing (node/vdxp_sign.h), checked against the spec's worked example
// and the SDK's quirks: hash-file without zero padding, the CRLF after the upload, parameters
// that are not ASCII.
#include <catch2/catch.hpp>

#include "node/vdxp_sign.h"

using namespace lienthong::node::vdxp;
using lienthong::protocol::as_bytes;
using Catch::Matchers::Contains;

TEST_CASE("the HMAC of the spec's worked example matches the SDK's", "[node]") {
    const std::string sign =
        R"({"XroadVnpt-systemid":"000.00.00.T01","XroadVnpt-timestamp":"05122026T085508+0755","XroadVnpt-Content-Type":"application/json"})";
    CHECK(hmac_hex("test-secret-T01", sign) == "9dbc611a6fa2e014f0ff1a5fe4e3b6ebb4cb093c167a7e95386b99cd16013338");
    CHECK(hmac_matches("test-secret-T01", sign, "9DBC611A6FA2E014F0FF1A5FE4E3B6EBB4CB093C167A7E95386B99CD16013338"));
    CHECK_FALSE(hmac_matches("test-secret-T02", sign, "9dbc611a6fa2e014f0ff1a5fe4e3b6ebb4cb093c167a7e95386b99cd16013338"));
    CHECK_FALSE(hmac_matches("test-secret-T01", sign + " ", "9dbc611a6fa2e014f0ff1a5fe4e3b6ebb4cb093c167a7e95386b99cd16013338"));
    CHECK_FALSE(hmac_matches("test-secret-T01", sign, "9dbc611a"));
    CHECK_FALSE(hmac_matches("test-secret-T01", sign, ""));
    auto p = parse_sign_header(sign);
    REQUIRE(p.ok());
    CHECK(param(*p, {"systemid"}) == "000.00.00.T01");
    CHECK(param(*p, {"content-type"}) == "application/json");  // any case, when no exact key
}

TEST_CASE("parameters keep both spellings and each call picks its own", "[node]") {
    auto p = parse_sign_header(R"({"XroadVnpt-docId":"aaa","XroadVnpt-docid":"bbb","XroadVnpt-n":7})");
    REQUIRE(p.ok());
    CHECK(param(*p, {"docId", "docid"}) == "aaa");
    CHECK(param(*p, {"docid", "docId"}) == "bbb");
    CHECK(param(*p, {"n"}) == "7");
    CHECK(param(*p, {"missing"}).empty());
}

TEST_CASE("a sign-header that cannot be verified or read is refused with a one-line reason", "[node]") {
    CHECK_THAT(parse_sign_header("").error(), Contains("missing"));
    CHECK_THAT(parse_sign_header("{\"XroadVnpt-from\":\"\x10\"}").error(), Contains("must be ASCII"));
    CHECK_THAT(parse_sign_header("{\"XroadVnpt-d\":\"\xC4\x90\"}").error(), Contains("0xc4 at offset 16"));
    CHECK_THAT(parse_sign_header("{\"XroadVnpt-a\":").error(), Contains("not JSON"));
    CHECK_THAT(parse_sign_header("[1,2]").error(), Contains("JSON object"));
    CHECK_THAT(parse_sign_header(R"({"systemid":"x"})").error(), Contains("does not start with XroadVnpt-"));
    CHECK_THAT(parse_sign_header(R"({"XroadVnpt-":"x"})").error(), Contains("empty parameter name"));
    CHECK_THAT(parse_sign_header(R"({"XroadVnpt-a":{"b":1}})").error(), Contains("must be text"));
    CHECK_THAT(parse_sign_header(std::string(kMaxSignHeaderBytes + 1, ' ')).error(), Contains("over"));
    std::string many = "{";
    for (size_t i = 0; i <= kMaxParams; ++i) many += (i ? "," : "") + std::string("\"XroadVnpt-k") + std::to_string(i) + "\":\"v\"";
    CHECK_THAT(parse_sign_header(many + "}").error(), Contains("parameters, over"));
}

TEST_CASE("hash-file is the SDK's unpadded hex and says whether the CRLF is the file's", "[node]") {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
    CHECK(java_hex_sha256(as_bytes("abc")) == "ba7816bf8f1cfea414140de5dae2223b0361a396177a9cb410ff61f2015ad");
    const std::string file = "<edXML/>";
    auto f = file_from_body(as_bytes(file + "\r\n"), java_hex_sha256(as_bytes(file)));
    REQUIRE(f.ok());
    CHECK(f->size() == file.size());
    // A file that itself ends in CRLF keeps it when the hash says so.
    f = file_from_body(as_bytes(file + "\r\n"), java_hex_sha256(as_bytes(file + "\r\n")));
    REQUIRE(f.ok());
    CHECK(f->size() == file.size() + 2);
    CHECK_THAT(file_from_body(as_bytes(file + "\r\n"), "abc").error(), Contains("does not match hash-file"));
    CHECK_THAT(file_from_body(as_bytes(file), "").error(), Contains("hash-file is missing"));
}
