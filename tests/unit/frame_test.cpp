// Peer-link frames: round trips and refusal of malformed headers and parts.
#include <catch2/catch.hpp>

#include "protocol/frame.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;

namespace {
constexpr size_t kLimit = 1u << 20;

Result<Frame> decode(const EncodedFrame& e, size_t limit = kLimit) {
    if (e.body) return decode_frame(e.header, ByteView(*e.body), limit);
    return decode_frame(e.header, std::nullopt, limit);
}
Result<Frame> decode_header(const Bytes& header, std::optional<Bytes> body = std::nullopt) {
    if (body) return decode_frame(header, ByteView(*body), kLimit);
    return decode_frame(header, std::nullopt, kLimit);
}
}  // namespace

TEST_CASE("every frame type round trips", "[protocol][frame]") {
    const Bytes env = bytes_of("envelope bytes, opaque to the frame layer");
    {
        auto f = decode(encode_frame(DeliverFrame{env}));
        REQUIRE(f.ok());
        REQUIRE(std::holds_alternative<DeliverFrame>(*f));
        CHECK(std::get<DeliverFrame>(*f).envelope == env);
    }
    {
        auto f = decode(encode_frame(AckFrame{env}));
        REQUIRE(f.ok());
        REQUIRE(std::holds_alternative<AckFrame>(*f));
        CHECK(std::get<AckFrame>(*f).envelope == env);
    }
    for (const Bytes& id : {Bytes(32, 0x7e), Bytes{}}) {
        auto f = decode(encode_frame(RejectFrame{id, "chữ ký không hợp lệ"}));
        REQUIRE(f.ok());
        REQUIRE(std::holds_alternative<RejectFrame>(*f));
        CHECK(std::get<RejectFrame>(*f).message_id == id);
        CHECK(std::get<RejectFrame>(*f).reason == "chữ ký không hợp lệ");
    }
    for (uint64_t nonce : std::initializer_list<uint64_t>{0, 1, 0xdeadbeefcafe, UINT64_MAX}) {
        auto ping = decode(encode_frame(PingFrame{nonce}));
        REQUIRE(ping.ok());
        REQUIRE(std::holds_alternative<PingFrame>(*ping));
        CHECK(std::get<PingFrame>(*ping).nonce == nonce);
        auto pong = decode(encode_frame(PongFrame{nonce}));
        REQUIRE(pong.ok());
        REQUIRE(std::holds_alternative<PongFrame>(*pong));
        CHECK(std::get<PongFrame>(*pong).nonce == nonce);
    }
}

TEST_CASE("envelope-carrying frames put the envelope in a second part, untouched", "[protocol][frame]") {
    const Bytes env = bytes_of({0x93, 0x01, 0x02, 0x03});
    const auto e = encode_frame(DeliverFrame{env});
    CHECK(e.header == bytes_of({0x91, 0x01}));
    REQUIRE(e.body.has_value());
    CHECK(*e.body == env);
    CHECK(encode_frame(AckFrame{env}).header == bytes_of({0x91, 0x02}));
    CHECK_FALSE(encode_frame(PingFrame{5}).body.has_value());
    CHECK(encode_frame(PingFrame{5}).header == bytes_of({0x92, 0x04, 0x05}));
}

TEST_CASE("malformed headers are refused", "[protocol][frame]") {
    const std::vector<Bytes> bad = {
        {},
        bytes_of({0x04}),                  // not a list
        bytes_of({0x90}),                  // no type
        bytes_of({0x92, 0x04}),            // truncated
        bytes_of({0x92, 0x04, 0x05, 0x00}),  // trailing byte
        bytes_of({0x92, 0x04, 0xcc, 0x05}),  // non-canonical nonce
        bytes_of({0x91, 0xa1, '4'}),       // type as text
        bytes_of({0x91, 0xff}),            // negative type
        bytes_of({0x81, 0x04, 0x05}),      // map
        bytes_of({0x91, 0x04}),            // ping without nonce
        bytes_of({0x93, 0x04, 0x05, 0x06}),  // ping with an extra field
        bytes_of({0x92, 0x04, 0xa1, '5'}),   // nonce as text
        bytes_of({0x92, 0x03, 0xa1, 'x'}),   // reject without message id
        Writer().array(3).u64(3).bin(Bytes(33, 0)).str("x").take(),  // id too long
        Writer().array(3).u64(3).bin({}).str(std::string(1025, 'x')).take(),  // reason too long
        Writer().array(3).u64(3).bin({}).str("\xc0\xaf").take(),  // reason not UTF-8
        Writer().array(9).u64(4).u64(1).u64(1).u64(1).u64(1).u64(1).u64(1).u64(1).u64(1).take(),
        Writer().array(2).u64(4).bin(Bytes(5000, 0)).take(),  // header larger than 4 KiB
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        INFO("case " << i);
        CHECK_FALSE(decode_header(bad[i]).ok());
    }
    CHECK_FALSE(decode_header(bytes_of({0x92, 0x01, 0x00}), Bytes{1}).ok());  // deliver + extra field
}

TEST_CASE("a reject frame's message id is a full id or empty", "[protocol][frame]") {
    auto r = decode_header(Writer().array(3).u64(3).bin(Bytes(5, 1)).str("x").take());
    CHECK_FALSE(r.ok());
    CHECK(decode_header(Writer().array(3).u64(3).bin(Bytes(32, 1)).str("x").take()).ok());
    CHECK(decode_header(Writer().array(3).u64(3).bin({}).str("").take()).ok());
}

TEST_CASE("a missing or extra envelope part is refused", "[protocol][frame]") {
    auto deliver = decode_header(bytes_of({0x91, 0x01}));
    REQUIRE_FALSE(deliver.ok());
    CHECK_THAT(deliver.error(), Catch::Contains("missing"));
    CHECK_FALSE(decode_header(bytes_of({0x91, 0x02})).ok());

    for (const Bytes& header : {encode_frame(PingFrame{1}).header, encode_frame(PongFrame{1}).header,
                                encode_frame(RejectFrame{{}, "x"}).header}) {
        auto r = decode_header(header, bytes_of({0x90}));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("unexpected extra part"));
    }
    // An empty second part is still a part.
    CHECK(decode_header(bytes_of({0x91, 0x01}), Bytes{}).ok());
}

TEST_CASE("an unknown frame type is refused", "[protocol][frame]") {
    for (uint64_t t : std::initializer_list<uint64_t>{0, 6, 100, UINT64_MAX}) {
        auto r = decode_header(Writer().array(1).u64(t).take());
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("unknown type"));
        CHECK_FALSE(decode_header(Writer().array(1).u64(t).take(), Bytes{1}).ok());
    }
}

TEST_CASE("an envelope part above the limit is refused", "[protocol][frame]") {
    const Bytes env(1000, 0x55);
    CHECK(decode(encode_frame(DeliverFrame{env}), 1000).ok());
    auto r = decode(encode_frame(DeliverFrame{env}), 999);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("exceeds the limit"));
    CHECK_FALSE(decode(encode_frame(AckFrame{env}), 999).ok());
}
