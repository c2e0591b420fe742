// The signed envelope: round trip, content-derived id, and refusal of anything altered.
#include <catch2/catch.hpp>

#include "protocol/envelope.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;
using lienthong::testing::seeded_identity;

namespace {
Envelope sample_envelope() {
    Envelope e;
    e.kind = Kind::document;
    e.from = "000.00.31.H14";
    e.to = {"000.00.00.H41", "000.01.31.H14"};
    e.created_ms = 1764000000000ull;
    e.payload = bytes_of("Công văn Hỏa tốc");
    return e;
}

// Builds the wire form by hand, so tests can produce what sign_envelope never would.
Bytes wire_of(uint64_t version, const Bytes& body, const SignSecretKey& sk, std::string_view domain) {
    const Hash32 id = hash_domain("lienthong/v1/id", body);
    const Signature sig = sign_domain(sk, domain, id);
    return Writer().array(3).u64(version).bin(body).bin(sig).take();
}

Bytes body_of(uint64_t kind, const std::string& from, const std::vector<std::string>& to,
              uint64_t created_ms, const Bytes& payload) {
    Writer w;
    w.array(5).u64(kind).str(from).array(to.size());
    for (const auto& t : to) w.str(t);
    w.u64(created_ms).bin(payload);
    return w.take();
}
}  // namespace

TEST_CASE("an envelope signs, decodes and verifies", "[protocol][envelope]") {
    const auto alice = seeded_identity("000.00.31.H14", 1);
    const auto se = sign_envelope(sample_envelope(), alice.sign_secret);
    CHECK(verify_envelope(se, alice.pub.sign_key));

    auto back = decode_envelope(se.wire);
    REQUIRE(back.ok());
    CHECK(back->env.kind == Kind::document);
    CHECK(back->env.from == "000.00.31.H14");
    CHECK(back->env.to == sample_envelope().to);
    CHECK(back->env.created_ms == 1764000000000ull);
    CHECK(back->env.payload == sample_envelope().payload);
    CHECK(back->id == se.id);
    CHECK(back->signature == se.signature);
    CHECK(back->wire == se.wire);
    CHECK(verify_envelope(*back, alice.pub.sign_key));
    CHECK(short_id(se.id) == to_hex(ByteView(se.id.data(), 8)));
    CHECK(short_id(se.id).size() == 16);
}

TEST_CASE("the wire form matches the documented layout", "[protocol][envelope]") {
    const auto alice = seeded_identity("000.00.31.H14", 1);
    const auto e = sample_envelope();
    const auto se = sign_envelope(e, alice.sign_secret);
    const Bytes body = body_of(1, e.from, e.to, e.created_ms, e.payload);
    CHECK(se.wire == wire_of(1, body, alice.sign_secret, "lienthong/v1/document"));
    CHECK(se.id == hash_domain("lienthong/v1/id", body));
}

TEST_CASE("the message id is derived from the content alone", "[protocol][envelope]") {
    const auto alice = seeded_identity("000.00.31.H14", 1);
    const auto base = sign_envelope(sample_envelope(), alice.sign_secret);
    // Re-sending the same content gives the same id and, with Ed25519, the same bytes.
    const auto again = sign_envelope(sample_envelope(), alice.sign_secret);
    CHECK(again.id == base.id);
    CHECK(again.wire == base.wire);

    auto changed = [&](auto mutate) {
        Envelope e = sample_envelope();
        mutate(e);
        return sign_envelope(e, alice.sign_secret).id;
    };
    CHECK(changed([](Envelope& e) { e.kind = Kind::receipt; }) != base.id);
    CHECK(changed([](Envelope& e) { e.from = "000.00.31.H15"; }) != base.id);
    CHECK(changed([](Envelope& e) { e.to[1] = "000.01.31.H15"; }) != base.id);
    CHECK(changed([](Envelope& e) { e.to.push_back("X"); }) != base.id);
    CHECK(changed([](Envelope& e) { e.to.pop_back(); }) != base.id);
    CHECK(changed([](Envelope& e) { std::swap(e.to[0], e.to[1]); }) != base.id);
    CHECK(changed([](Envelope& e) { e.created_ms += 1; }) != base.id);
    CHECK(changed([](Envelope& e) { e.payload.back() ^= 1; }) != base.id);
    CHECK(changed([](Envelope& e) { e.payload.push_back(0); }) != base.id);
    CHECK(changed([](Envelope& e) { e.payload.clear(); }) != base.id);
}

TEST_CASE("a flipped bit anywhere in the wire is refused by decode or verify", "[protocol][envelope]") {
    const auto alice = seeded_identity("000.00.31.H14", 1);
    const auto se = sign_envelope(sample_envelope(), alice.sign_secret);
    size_t refused_by_decode = 0, refused_by_verify = 0;
    for (size_t byte = 0; byte < se.wire.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            Bytes w = se.wire;
            w[byte] ^= static_cast<uint8_t>(1u << bit);
            auto d = decode_envelope(w);
            if (!d.ok()) {
                ++refused_by_decode;
                continue;
            }
            INFO("byte " << byte << " bit " << bit << " decoded and");
            CHECK_FALSE(verify_envelope(*d, alice.pub.sign_key));
            ++refused_by_verify;
        }
    }
    // Both paths were exercised: framing damage is caught by decode, content damage by verify.
    CHECK(refused_by_decode > 0);
    CHECK(refused_by_verify > 0);
    CHECK(refused_by_decode + refused_by_verify == se.wire.size() * 8);
}

TEST_CASE("a signature by another key does not verify", "[protocol][envelope]") {
    const auto alice = seeded_identity("000.00.31.H14", 1);
    const auto mallory = seeded_identity("000.00.99.H99", 7);
    // Mallory signs an envelope that claims to be from Alice.
    const auto forged = sign_envelope(sample_envelope(), mallory.sign_secret);
    auto d = decode_envelope(forged.wire);
    REQUIRE(d.ok());  // well-formed...
    CHECK_FALSE(verify_envelope(*d, alice.pub.sign_key));  // ...but not Alice's
    CHECK(verify_envelope(*d, mallory.pub.sign_key));

    // A genuine signature moved onto different content does not verify either.
    auto moved = sign_envelope(sample_envelope(), alice.sign_secret);
    Envelope other = sample_envelope();
    other.created_ms += 1;
    auto target = sign_envelope(other, alice.sign_secret);
    target.signature = moved.signature;
    CHECK_FALSE(verify_envelope(target, alice.pub.sign_key));
}

TEST_CASE("a signature over the same id with another kind's domain does not verify",
          "[protocol][envelope]") {
    const auto alice = seeded_identity("000.00.31.H14", 1);
    const auto e = sample_envelope();
    const Bytes body = body_of(1, e.from, e.to, e.created_ms, e.payload);
    auto d = decode_envelope(wire_of(1, body, alice.sign_secret, "lienthong/v1/receipt"));
    REQUIRE(d.ok());
    CHECK_FALSE(verify_envelope(*d, alice.pub.sign_key));
}

TEST_CASE("decode refuses an unknown kind", "[protocol][envelope]") {
    const auto alice = seeded_identity("A", 1);
    for (uint64_t kind : {0ull, 4ull, 255ull, 1ull << 40}) {
        auto d = decode_envelope(
            wire_of(1, body_of(kind, "A", {"B"}, 1, {}), alice.sign_secret, "lienthong/v1/document"));
        REQUIRE_FALSE(d.ok());
        CHECK_THAT(d.error(), Catch::Contains("unknown kind"));
    }
    CHECK(decode_envelope(wire_of(1, body_of(2, "A", {"B"}, 1, {}), alice.sign_secret, "x")).ok());
}

TEST_CASE("decode refuses an unknown version", "[protocol][envelope]") {
    const auto alice = seeded_identity("A", 1);
    const Bytes body = body_of(1, "A", {"B"}, 1, {});
    for (uint64_t v : {0ull, 2ull, 1000ull}) {
        auto d = decode_envelope(wire_of(v, body, alice.sign_secret, "lienthong/v1/document"));
        REQUIRE_FALSE(d.ok());
        CHECK_THAT(d.error(), Catch::Contains("version " + std::to_string(v)));
    }
}

TEST_CASE("decode refuses an empty recipient list", "[protocol][envelope]") {
    const auto alice = seeded_identity("A", 1);
    Envelope e = sample_envelope();
    e.to.clear();
    auto d = decode_envelope(sign_envelope(e, alice.sign_secret).wire);
    REQUIRE_FALSE(d.ok());
    CHECK_THAT(d.error(), Catch::Contains("no recipients"));
}

TEST_CASE("decode refuses bad agency codes and too many recipients", "[protocol][envelope]") {
    const auto alice = seeded_identity("A", 1);
    auto sign = [&](Envelope e) { return decode_envelope(sign_envelope(std::move(e), alice.sign_secret).wire); };
    Envelope e = sample_envelope();
    e.from = "bad sender";
    CHECK_FALSE(sign(e).ok());
    e = sample_envelope();
    e.from = "";
    CHECK_FALSE(sign(e).ok());
    e = sample_envelope();
    e.to.push_back("x/y");
    CHECK_FALSE(sign(e).ok());
    e = sample_envelope();
    e.to.push_back(std::string(65, 'a'));
    CHECK_FALSE(sign(e).ok());

    e = sample_envelope();
    e.to.clear();
    for (size_t i = 0; i < kMaxRecipients; ++i) e.to.push_back("R" + std::to_string(i));
    CHECK(sign(e).ok());
    e.to.push_back("one.too.many");
    CHECK_FALSE(sign(e).ok());
}

TEST_CASE("decode refuses missing, extra and mistyped fields", "[protocol][envelope]") {
    const auto alice = seeded_identity("A", 1);
    const auto good = sign_envelope(sample_envelope(), alice.sign_secret);
    const Bytes body = body_of(1, "A", {"B"}, 1, bytes_of({1}));
    const Hash32 id = hash_domain("lienthong/v1/id", body);
    const Signature sig = sign_domain(alice.sign_secret, "lienthong/v1/document", id);

    // Outer: missing signature, extra element, short signature, body as str.
    CHECK_FALSE(decode_envelope(Writer().array(2).u64(1).bin(body).take()).ok());
    CHECK_FALSE(decode_envelope(Writer().array(4).u64(1).bin(body).bin(sig).u64(0).take()).ok());
    CHECK_FALSE(decode_envelope(Writer().array(3).u64(1).bin(body).bin(ByteView(sig.data(), 63)).take()).ok());
    CHECK_FALSE(decode_envelope(
                    Writer().array(3).u64(1).str(std::string(body.begin(), body.end())).bin(sig).take())
                    .ok());
    // Inner: extra field, missing payload, recipients as a single string.
    const Bytes extra = Writer().array(6).u64(1).str("A").array(1).str("B").u64(1).bin({}).u64(0).take();
    CHECK_FALSE(decode_envelope(Writer().array(3).u64(1).bin(extra).bin(sig).take()).ok());
    const Bytes short_body = Writer().array(4).u64(1).str("A").array(1).str("B").u64(1).take();
    CHECK_FALSE(decode_envelope(Writer().array(3).u64(1).bin(short_body).bin(sig).take()).ok());
    const Bytes flat_to = Writer().array(5).u64(1).str("A").str("B").u64(1).bin({}).take();
    CHECK_FALSE(decode_envelope(Writer().array(3).u64(1).bin(flat_to).bin(sig).take()).ok());
    // A body that is not itself canonical msgpack.
    const Bytes noncanon = bytes_of({0x95, 0x01, 0xa1, 'A', 0x91, 0xa1, 'B', 0xcd, 0x00, 0x01, 0xc4, 0x00});
    CHECK_FALSE(decode_envelope(Writer().array(3).u64(1).bin(noncanon).bin(sig).take()).ok());
    CHECK(decode_envelope(good.wire).ok());
}

TEST_CASE("decode enforces the envelope size limit", "[protocol][envelope]") {
    const auto alice = seeded_identity("A", 1);
    Envelope e = sample_envelope();
    e.payload = Bytes(10000, 0x42);
    const auto se = sign_envelope(e, alice.sign_secret);
    EnvelopeLimits limits;
    limits.max_envelope_bytes = se.wire.size();
    CHECK(decode_envelope(se.wire, limits).ok());
    limits.max_envelope_bytes = se.wire.size() - 1;
    CHECK_FALSE(decode_envelope(se.wire, limits).ok());
}

TEST_CASE("kind names and domains are distinct per kind", "[protocol][envelope]") {
    CHECK(kind_domain(Kind::document) == "lienthong/v1/document");
    CHECK(kind_domain(Kind::receipt) == "lienthong/v1/receipt");
    CHECK(kind_name(Kind::document) == "document");
    CHECK(kind_name(Kind::receipt) == "receipt");
}
