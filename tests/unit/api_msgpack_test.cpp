// json_from_msgpack: the local API's request and answer parser (node/api_msgpack.h).
#include <catch2/catch.hpp>

#include "node/api_msgpack.h"
#include "test_util.h"

using lienthong::node::json_from_msgpack;
using lienthong::testing::bytes_of;
using nlohmann::json;

namespace {
lienthong::Result<json> parse(const std::vector<uint8_t>& b) { return json_from_msgpack(lienthong::protocol::ByteView(b)); }
}  // namespace

TEST_CASE("json_from_msgpack reads what nlohmann writes, binary included", "[api][msgpack]") {
    std::vector<uint8_t> body(3u << 20);
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<uint8_t>(i * 7);
    const json req = {{"op", "send"},
                      {"to", {"000.00.31.H14", "000.00.32.H14"}},
                      {"subject", "Về việc triển khai"},
                      {"urgency", 2},
                      {"offset", -5},
                      {"ratio", 0.5},
                      {"flag", true},
                      {"none", nullptr},
                      {"attachments", {{{"name", "a.pdf"}, {"data", json::binary(body)}}}},
                      {"body", json::binary({1, 2, 3})}};
    auto got = parse(json::to_msgpack(req));
    REQUIRE(got.ok());
    CHECK(*got == req);
    const std::vector<uint8_t>& data = got->at("attachments")[0].at("data").get_binary();
    CHECK(data == body);
}

TEST_CASE("json_from_msgpack refuses bad bytes with a reason", "[api][msgpack]") {
    struct Case {
        const char* what;
        std::vector<uint8_t> bytes;
        const char* reason;
    };
    std::vector<uint8_t> deep(100, 0x91);  // 100 nested one-element arrays
    deep.push_back(0xc0);
    const std::vector<Case> cases = {
        {"empty", {}, "empty"},
        {"truncated map", bytes_of({0x82, 0xa2, 'o', 'p'}), "truncated"},
        {"truncated bin", bytes_of({0xc4, 0x10, 1, 2}), "truncated"},
        {"trailing bytes", bytes_of({0x80, 0x00}), "trailing"},
        {"integer map key", bytes_of({0x81, 0x01, 0x02}), "key is not text"},
        {"text that is not UTF-8", bytes_of({0x81, 0xa2, 'o', 'p', 0xa1, 0x80}), "not valid UTF-8"},
        {"key that is not UTF-8", bytes_of({0x81, 0xa1, 0xff, 0x01}), "key is not valid UTF-8"},
        {"extension", bytes_of({0xd4, 0x01, 0x00}), "ext"},
        {"too deep", deep, "malformed"},
        {"array of four billion", bytes_of({0xdd, 0xff, 0xff, 0xff, 0xff, 0x00}), "malformed"},
        {"reserved byte", bytes_of({0xc1}), "malformed"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto got = parse(c.bytes);
        REQUIRE_FALSE(got.ok());
        CHECK_THAT(got.error(), Catch::Contains(c.reason));
    }
}
