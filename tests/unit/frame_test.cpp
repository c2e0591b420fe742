// Peer-link frames: one ZeroMQ part each, a canonical header followed by the envelope (if any).
// Round trips, the exact layout, and refusal of malformed headers and trailing bytes.
#include <catch2/catch.hpp>

#include "protocol/frame.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;
using lienthong::testing::pattern_bytes;

namespace {
constexpr size_t kLimit = 1u << 20;

Result<Frame> decode(const Bytes& frame, size_t limit = kLimit) { return decode_frame(frame, limit); }

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
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

TEST_CASE("envelope-carrying frames are the header followed directly by the envelope, untouched",
          "[protocol][frame]") {
    const Bytes env = bytes_of({0x93, 0x01, 0x02, 0x03});
    CHECK(encode_frame(DeliverFrame{env}) == bytes_of({0x91, 0x01, 0x93, 0x01, 0x02, 0x03}));
    CHECK(encode_frame(AckFrame{env}) == bytes_of({0x91, 0x02, 0x93, 0x01, 0x02, 0x03}));
    CHECK(encode_frame(PingFrame{5}) == bytes_of({0x92, 0x04, 0x05}));
    CHECK(encode_frame(PongFrame{0x1234}) == bytes_of({0x92, 0x05, 0xcd, 0x12, 0x34}));
    CHECK(encode_frame(RejectFrame{{}, "x"}) == bytes_of({0x93, 0x03, 0xc4, 0x00, 0xa1, 'x'}));
    CHECK(encode_frame(RejectFrame{{}, "x", true}) == bytes_of({0x94, 0x03, 0xc4, 0x00, 0xa1, 'x', 0xc3}));
    auto permanent = decode(bytes_of({0x94, 0x03, 0xc4, 0x00, 0xa1, 'x', 0xc3}));
    REQUIRE(permanent.ok());
    CHECK(std::get<RejectFrame>(*permanent).permanent);
    CHECK_FALSE(std::get<RejectFrame>(decode(encode_frame(RejectFrame{{}, "x"})).value()).permanent);
    // `false` is never written: a second encoding of the same frame is refused.
    CHECK_FALSE(decode(bytes_of({0x94, 0x03, 0xc4, 0x00, 0xa1, 'x', 0xc2})).ok());

    // A large envelope is carried as is: the frame is exactly 2 header bytes longer.
    const Bytes big = pattern_bytes(200000, 3);
    const Bytes frame = encode_frame(DeliverFrame{big});
    REQUIRE(frame.size() == big.size() + 2);
    CHECK(Bytes(frame.begin() + 2, frame.end()) == big);
    auto f = decode(frame);
    REQUIRE(f.ok());
    CHECK(std::get<DeliverFrame>(*f).envelope == big);
}

TEST_CASE("the envelope after a header is opaque: any bytes, even ones that look like msgpack",
          "[protocol][frame]") {
    for (const Bytes& env : {bytes_of({0x00}), bytes_of({0xc1}), bytes_of({0x91}), bytes_of({0x91, 0x01}),
                             bytes_of({0xdd, 0xff, 0xff, 0xff, 0xff}), Bytes(100, 0xff)}) {
        auto f = decode(concat(bytes_of({0x91, 0x01}), env));
        REQUIRE(f.ok());
        CHECK(std::get<DeliverFrame>(*f).envelope == env);
    }
}

TEST_CASE("malformed headers are refused", "[protocol][frame]") {
    const std::vector<Bytes> bad = {
        {},
        bytes_of({0x04}),                    // not a list
        bytes_of({0x90}),                    // no type
        bytes_of({0x92, 0x04}),              // truncated
        bytes_of({0x92, 0x04, 0xcc, 0x05}),  // non-canonical nonce
        bytes_of({0x91, 0xa1, '4'}),         // type as text
        bytes_of({0x91, 0xff}),              // negative type
        bytes_of({0x81, 0x04, 0x05}),        // map
        bytes_of({0x91, 0x04}),              // ping without nonce
        bytes_of({0x93, 0x04, 0x05, 0x06}),  // ping with an extra field
        bytes_of({0x92, 0x04, 0xa1, '5'}),   // nonce as text
        bytes_of({0x92, 0x03, 0xa1, 'x'}),   // reject without message id
        bytes_of({0x91, 0xcc, 0x01, 0x90}),  // deliver with a non-canonical type
        bytes_of({0x92, 0x01, 0x00, 0x90}),  // deliver with an extra field
        bytes_of({0x91, 0x91, 0x01, 0x90}),  // type nested in a list
        bytes_of({0xdc, 0x00, 0x01, 0x01, 0x90}),  // array16 header for one element
        Writer().array(3).u64(3).bin(Bytes(33, 0)).str("x").take(),  // id too long
        Writer().array(3).u64(3).bin({}).str(std::string(1025, 'x')).take(),  // reason too long
        Writer().array(3).u64(3).bin({}).str("\xc0\xaf").take(),  // reason not UTF-8
        Writer().array(9).u64(4).u64(1).u64(1).u64(1).u64(1).u64(1).u64(1).u64(1).u64(1).take(),
        Writer().array(2).u64(4).bin(Bytes(5000, 0)).take(),  // a big bin in a header
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        INFO("case " << i);
        CHECK_FALSE(decode(bad[i]).ok());
    }
}

TEST_CASE("a reject frame's message id is a full id or empty", "[protocol][frame]") {
    auto r = decode(Writer().array(3).u64(3).bin(Bytes(5, 1)).str("x").take());
    CHECK_FALSE(r.ok());
    CHECK_FALSE(decode(Writer().array(3).u64(3).bin(Bytes(31, 1)).str("x").take()).ok());
    CHECK(decode(Writer().array(3).u64(3).bin(Bytes(32, 1)).str("x").take()).ok());
    CHECK(decode(Writer().array(3).u64(3).bin({}).str("").take()).ok());
}

TEST_CASE("a missing envelope, or bytes after a header that takes none, is refused", "[protocol][frame]") {
    auto deliver = decode(bytes_of({0x91, 0x01}));
    REQUIRE_FALSE(deliver.ok());
    CHECK_THAT(deliver.error(), Catch::Contains("missing"));
    CHECK_FALSE(decode(bytes_of({0x91, 0x02})).ok());

    for (const Bytes& header : {encode_frame(PingFrame{1}), encode_frame(PongFrame{1}),
                                encode_frame(RejectFrame{{}, "x"}), encode_frame(RejectFrame{Bytes(32, 3), "x"})}) {
        for (const Bytes& tail : {bytes_of({0x90}), bytes_of({0x00}), Bytes(64, 0xab)}) {
            auto r = decode(concat(header, tail));
            REQUIRE_FALSE(r.ok());
            CHECK_THAT(r.error(), Catch::Contains("unexpected bytes after the header"));
        }
    }
}

TEST_CASE("an unknown frame type is refused", "[protocol][frame]") {
    for (uint64_t t : std::initializer_list<uint64_t>{0, 6, 7, 24, 100, UINT64_MAX}) {
        auto r = decode(Writer().array(1).u64(t).take());
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("unknown type"));
        CHECK_FALSE(decode(concat(Writer().array(1).u64(t).take(), Bytes{1})).ok());
    }
}

TEST_CASE("an envelope above the limit is refused", "[protocol][frame]") {
    const Bytes env(1000, 0x55);
    CHECK(decode(encode_frame(DeliverFrame{env}), 1000).ok());
    auto r = decode(encode_frame(DeliverFrame{env}), 999);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("exceeds the limit"));
    CHECK_FALSE(decode(encode_frame(AckFrame{env}), 999).ok());
    // A frame far above the limit is refused before anything is parsed.
    auto huge = decode(encode_frame(DeliverFrame{Bytes(20000, 0x55)}), 999);
    REQUIRE_FALSE(huge.ok());
    CHECK_THAT(huge.error(), Catch::Contains("exceeds the limit"));
}

TEST_CASE("directory frames round trip", "[protocol][frame][directory]") {
    Hash32 a{}, b{};
    a.fill(0x11);
    b.fill(0x22);
    for (const auto& msg : {Bytes{0x92, 0x01, 0x90}, pattern_bytes(5000, 3)}) {
        auto c = decode(encode_frame(DirReconcileFrame{msg}));
        REQUIRE(c.ok());
        REQUIRE(std::holds_alternative<DirReconcileFrame>(*c));
        CHECK(std::get<DirReconcileFrame>(*c).message == msg);
    }
    for (const auto& ids : {std::vector<Hash32>{}, std::vector<Hash32>{a, b}}) {
        auto w = decode(encode_frame(DirWantFrame{ids}));
        REQUIRE(w.ok());
        REQUIRE(std::holds_alternative<DirWantFrame>(*w));
        CHECK(std::get<DirWantFrame>(*w).ids == ids);
    }
    DirRecordsFrame recs;
    recs.records = {{DirRecordKind::node, pattern_bytes(300, 1)}, {DirRecordKind::revocation, pattern_bytes(90, 2)}};
    auto r = decode(encode_frame(recs));
    REQUIRE(r.ok());
    REQUIRE(std::holds_alternative<DirRecordsFrame>(*r));
    CHECK(std::get<DirRecordsFrame>(*r).records == recs.records);
}

TEST_CASE("malformed directory frames are refused", "[protocol][frame][directory]") {
    // Missing body, a body that is not a list of 32-byte ids, an unknown record kind, a record
    // over the record size limit, trailing bytes after the body.
    CHECK_FALSE(decode(Writer().array(1).u64(8).take()).ok());
    CHECK_FALSE(decode(concat(Writer().array(1).u64(8).take(), Writer().array(1).array(1).bin(Bytes(31, 1)).take())).ok());
    CHECK_FALSE(decode(concat(Writer().array(1).u64(9).take(),
                              Writer().array(1).array(1).array(2).u64(5).bin(Bytes(10, 1)).take()))
                    .ok());
    CHECK_FALSE(decode(concat(Writer().array(1).u64(9).take(),
                              Writer().array(1).array(1).array(2).u64(1).bin(Bytes(5000, 1)).take()))
                    .ok());
    Hash32 a{};
    CHECK_FALSE(decode(concat(encode_frame(DirWantFrame{{a}}), Bytes{0})).ok());
    // A reconcile frame without its message; the retired digest (6) and id-list (7) frames.
    CHECK_FALSE(decode(Writer().array(1).u64(10).take()).ok());
    CHECK_FALSE(decode(Writer().array(3).u64(6).bin(Bytes(32, 0)).u64(1).take()).ok());
    CHECK_FALSE(decode(concat(Writer().array(1).u64(7).take(), Writer().array(1).array(0).take())).ok());
}

TEST_CASE("relay and custody frames round trip and are checked", "[protocol][frame]") {
    const Bytes env = pattern_bytes(700, 9);
    auto r = decode(encode_frame(RelayFrame{"000.00.00.P01", 3, 2, env}));
    REQUIRE(r.ok());
    REQUIRE(std::holds_alternative<RelayFrame>(*r));
    const auto& relay = std::get<RelayFrame>(*r);
    CHECK(relay.to == "000.00.00.P01");
    CHECK(relay.hops_left == 3);
    CHECK(relay.urgency == 2);
    CHECK(relay.envelope == env);
    Hash32 id{};
    id.fill(0x5a);
    for (const std::string to : {"000.00.00.P01", ""}) {
        auto c = decode(encode_frame(CustodyFrame{id, to}));
        REQUIRE(c.ok());
        REQUIRE(std::holds_alternative<CustodyFrame>(*c));
        CHECK(std::get<CustodyFrame>(*c).id == id);
        CHECK(std::get<CustodyFrame>(*c).to == to);
    }
    // Hop limits, urgency, a bad agency code, a missing envelope, a short id.
    CHECK_FALSE(decode(encode_frame(RelayFrame{"000.00.00.P01", 0, 0, env})).ok());
    CHECK_FALSE(decode(encode_frame(RelayFrame{"000.00.00.P01", kMaxRelayHops + 1, 0, env})).ok());
    CHECK_FALSE(decode(encode_frame(RelayFrame{"000.00.00.P01", 1, 4, env})).ok());
    CHECK_FALSE(decode(encode_frame(RelayFrame{"not a code", 1, 0, env})).ok());
    CHECK_FALSE(decode(Writer().array(4).u64(11).str("000.00.00.P01").u64(1).u64(0).take()).ok());
    CHECK_FALSE(decode(Writer().array(3).u64(12).bin(Bytes(31, 1)).str("").take()).ok());
    CHECK_FALSE(decode(Writer().array(3).u64(12).bin(Bytes(32, 1)).str("bad code!").take()).ok());
}

TEST_CASE("delivery sync frames round trip and are checked", "[protocol][frame]") {
    const Bytes msg = pattern_bytes(300, 4);
    auto s = decode(encode_frame(SyncFrame{1764000000123ull, msg}));
    REQUIRE(s.ok());
    REQUIRE(std::holds_alternative<SyncFrame>(*s));
    CHECK(std::get<SyncFrame>(*s).since_ms == 1764000000123ull);
    CHECK(std::get<SyncFrame>(*s).message == msg);
    Hash32 a{}, b{};
    a.fill(1);
    b.fill(2);
    auto w = decode(encode_frame(ReceiptWantFrame{{a, b}}));
    REQUIRE(w.ok());
    REQUIRE(std::holds_alternative<ReceiptWantFrame>(*w));
    CHECK(std::get<ReceiptWantFrame>(*w).ids == std::vector<Hash32>{a, b});
    // A sync step without its message; a since that is not a number; ids that are not 32 bytes.
    CHECK_FALSE(decode(Writer().array(2).u64(13).u64(5).take()).ok());
    CHECK_FALSE(decode(concat(Writer().array(2).u64(13).str("5").take(), msg)).ok());
    CHECK_FALSE(decode(concat(Writer().array(1).u64(14).take(), Writer().array(1).array(1).bin(Bytes(31, 1)).take())).ok());
}

TEST_CASE("recipient-initiated resync frames round trip and are checked", "[protocol][frame]") {
    const Bytes msg = pattern_bytes(200, 5);
    auto s = decode(encode_frame(ResyncFrame{1764000000456ull, msg}));
    REQUIRE(s.ok());
    REQUIRE(std::holds_alternative<ResyncFrame>(*s));
    CHECK(std::get<ResyncFrame>(*s).since_ms == 1764000000456ull);
    CHECK(std::get<ResyncFrame>(*s).message == msg);
    Hash32 a{};
    a.fill(3);
    auto w = decode(encode_frame(RedeliverWantFrame{{a}}));
    REQUIRE(w.ok());
    REQUIRE(std::holds_alternative<RedeliverWantFrame>(*w));
    CHECK(std::get<RedeliverWantFrame>(*w).ids == std::vector<Hash32>{a});
    CHECK_FALSE(decode(Writer().array(2).u64(22).u64(5).take()).ok());
    CHECK_FALSE(decode(concat(Writer().array(2).u64(22).str("5").take(), msg)).ok());
    CHECK_FALSE(decode(Writer().array(1).u64(23).take()).ok());
    CHECK_FALSE(decode(concat(Writer().array(1).u64(23).take(), Writer().array(1).array(1).bin(Bytes(31, 1)).take())).ok());
}

namespace {
OfferFrame sample_offer() {
    OfferFrame o;
    o.id.fill(0x3c);
    o.total = 2 * 65536 + 10;
    o.chunk_size = 65536;
    for (uint8_t i = 0; i < 3; ++i) {
        Hash32 h{};
        h.fill(i);
        o.hashes.push_back(h);
    }
    o.signature.fill(0x77);
    return o;
}

void check_same_offer(const OfferFrame& a, const OfferFrame& b) {
    CHECK(a.id == b.id);
    CHECK(a.total == b.total);
    CHECK(a.chunk_size == b.chunk_size);
    CHECK(a.hashes == b.hashes);
    CHECK(a.signature == b.signature);
}
}  // namespace

TEST_CASE("chunked transfer frames round trip", "[protocol][frame]") {
    const OfferFrame offer = sample_offer();
    auto o = decode(encode_frame(offer));
    REQUIRE(o.ok());
    REQUIRE(std::holds_alternative<OfferFrame>(*o));
    check_same_offer(std::get<OfferFrame>(*o), offer);

    auto ro = decode(encode_frame(RelayOfferFrame{"000.00.00.P01", 4, 3, offer}));
    REQUIRE(ro.ok());
    REQUIRE(std::holds_alternative<RelayOfferFrame>(*ro));
    const auto& relayed = std::get<RelayOfferFrame>(*ro);
    CHECK(relayed.to == "000.00.00.P01");
    CHECK(relayed.hops_left == 4);
    CHECK(relayed.urgency == 3);
    check_same_offer(relayed.offer, offer);

    auto w = decode(encode_frame(ChunkWantFrame{offer.id, {0, 2, 1}}));
    REQUIRE(w.ok());
    REQUIRE(std::holds_alternative<ChunkWantFrame>(*w));
    CHECK(std::get<ChunkWantFrame>(*w).indices == std::vector<uint32_t>{0, 2, 1});

    const Bytes data = pattern_bytes(1000, 3);
    auto c = decode(encode_frame(ChunkFrame{offer.id, 2, data}));
    REQUIRE(c.ok());
    REQUIRE(std::holds_alternative<ChunkFrame>(*c));
    CHECK(std::get<ChunkFrame>(*c).index == 2);
    CHECK(std::get<ChunkFrame>(*c).data == data);
}

TEST_CASE("chunked transfer frames refuse bad manifests and headers", "[protocol][frame]") {
    OfferFrame offer = sample_offer();
    // The hash count must match total / chunk_size; sizes must be positive.
    offer.hashes.pop_back();
    CHECK_FALSE(decode(encode_frame(offer)).ok());
    CHECK_FALSE(decode(encode_frame(RelayOfferFrame{"000.00.00.P01", 1, 0, offer})).ok());
    offer = sample_offer();
    offer.total = 0;
    CHECK_FALSE(decode(encode_frame(offer)).ok());
    offer = sample_offer();
    offer.chunk_size = 0;
    CHECK_FALSE(decode(encode_frame(offer)).ok());
    // A total near 2^64 in tiny chunks: the chunk count must not overflow into a small number.
    offer = sample_offer();
    offer.total = UINT64_MAX;
    offer.chunk_size = 2;
    offer.hashes.clear();
    CHECK_FALSE(decode(encode_frame(offer)).ok());
    offer.chunk_size = 1;
    CHECK_FALSE(decode(encode_frame(offer)).ok());
    // Chunks over the protocol's bound, even with the right hash count.
    offer = sample_offer();
    offer.chunk_size = kMaxChunkSize + 1;
    offer.total = 2 * offer.chunk_size + 10;
    CHECK_FALSE(decode(encode_frame(offer), 8u << 20).ok());
    offer.chunk_size = kMaxChunkSize;
    offer.total = 2 * offer.chunk_size + 10;
    CHECK(decode(encode_frame(offer), 8u << 20).ok());
    // A relayed offer's hop limit, urgency and recipient code are checked as a Relay's are.
    offer = sample_offer();
    CHECK_FALSE(decode(encode_frame(RelayOfferFrame{"000.00.00.P01", 0, 0, offer})).ok());
    CHECK_FALSE(decode(encode_frame(RelayOfferFrame{"000.00.00.P01", kMaxRelayHops + 1, 0, offer})).ok());
    CHECK_FALSE(decode(encode_frame(RelayOfferFrame{"000.00.00.P01", 1, 4, offer})).ok());
    CHECK_FALSE(decode(encode_frame(RelayOfferFrame{"not a code", 1, 0, offer})).ok());
    // A relayed offer without its manifest; a short signature; a chunk index out of range.
    CHECK_FALSE(decode(Writer().array(7).u64(18).str("000.00.00.P01").u64(1).u64(0).bin(offer.id).u64(10).u64(10).take()).ok());
    Bytes short_sig = Writer().array(4).u64(15).bin(offer.id).u64(10).u64(10).take();
    short_sig = concat(short_sig, Writer().array(2).array(1).bin(Bytes(32, 1)).bin(Bytes(63, 1)).take());
    CHECK_FALSE(decode(short_sig).ok());
    CHECK_FALSE(decode(concat(Writer().array(3).u64(17).bin(offer.id).u64(kMaxChunks).take(), Bytes{1})).ok());
    CHECK_FALSE(decode(concat(Writer().array(2).u64(16).bin(offer.id).take(),
                              Writer().array(1).array(1).u64(kMaxChunks).take())).ok());
}

TEST_CASE("audit head frames round-trip and malformed ones are refused", "[protocol][frame][audit]") {
    const auto id = lienthong::testing::seeded_identity("000.00.31.H14", 5);
    Hash32 h{};
    h.fill(3);
    const AuditHead head = sign_audit_head(id, 17, h, 1764000000000ull);
    auto one = decode(encode_frame(AuditHeadFrame{head}));
    REQUIRE(one.ok());
    const auto& got = std::get<AuditHeadFrame>(*one).head;
    CHECK(got.seq == 17);
    CHECK(verify_audit_head(id.pub.sign_key, got));
    auto want = decode(encode_frame(AuditHeadsWantFrame{}));
    REQUIRE(want.ok());
    CHECK(std::holds_alternative<AuditHeadsWantFrame>(*want));
    auto many = decode(encode_frame(AuditHeadsFrame{{head, head}}));
    REQUIRE(many.ok());
    CHECK(std::get<AuditHeadsFrame>(*many).heads.size() == 2);
    // Missing body, a body on the want, too many heads, a head that is not one.
    CHECK_THAT(decode(Writer().array(1).u64(19).take()).error(), Catch::Contains("body is missing"));
    CHECK_THAT(decode(concat(Writer().array(1).u64(20).take(), Bytes{1})).error(), Catch::Contains("unexpected bytes"));
    std::vector<AuditHead> too_many(kMaxAuditHeadsInFrame + 1, head);
    CHECK_FALSE(decode(encode_frame(AuditHeadsFrame{too_many})).ok());
    CHECK_FALSE(decode(concat(Writer().array(1).u64(19).take(), Bytes{0x91, 0x01})).ok());
    AuditHead bad = head;
    bad.agency = "not an agency!";
    CHECK_THAT(decode(encode_frame(AuditHeadFrame{bad})).error(), Catch::Contains("agency"));
}
