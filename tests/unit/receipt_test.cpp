// Receipts: the recipient's signed, batched acknowledgement, and what parse_receipt refuses.
#include <catch2/catch.hpp>

#include "protocol/receipt.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;
using lienthong::testing::seeded_identity;

namespace {
constexpr uint64_t kReceived = 1764000000999ull;

ReceiptEntry entry(uint8_t id, uint8_t hash) {
    ReceiptEntry e;
    e.message_id.fill(id);
    e.document_hash.fill(hash);
    return e;
}

Receipt sample_receipt(size_t n = 3) {
    Receipt r;
    r.recipient = "000.00.00.H41";
    r.received_ms = kReceived;
    for (size_t i = 0; i < n; ++i)
        r.entries.push_back(entry(static_cast<uint8_t>(0xa0 + i), static_cast<uint8_t>(0xb0 + i)));
    return r;
}

SignedEnvelope receipt_envelope(const Bytes& payload, const SecretIdentity& signer,
                                std::vector<std::string> to, Kind kind = Kind::receipt,
                                uint64_t created_ms = kReceived) {
    Envelope e;
    e.kind = kind;
    e.from = signer.pub.agency;
    e.to = std::move(to);
    e.created_ms = created_ms;
    e.payload = payload;
    return sign_envelope(std::move(e), signer.sign_secret);
}

// The documented payload layout, written out here rather than taken from receipt.cpp.
Bytes payload_of(const Receipt& r) {
    Writer w;
    w.array(3).str(r.recipient).u64(r.received_ms).array(r.entries.size());
    for (const auto& e : r.entries) w.array(2).bin(e.message_id).bin(e.document_hash);
    return w.take();
}
}  // namespace

TEST_CASE("a batched receipt round trips through the wire and verifies with the recipient's key",
          "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    const auto alice = seeded_identity("000.00.31.H14", 1);
    const auto sample = sample_receipt();
    const auto se = make_receipt(sample, bob, alice.pub.agency);
    CHECK(se.env.kind == Kind::receipt);
    CHECK(se.env.from == bob.pub.agency);
    CHECK(se.env.to == std::vector<std::string>{alice.pub.agency});
    CHECK(se.env.created_ms == kReceived);
    CHECK(se.env.payload == payload_of(sample));

    auto wire = decode_envelope(se.wire);
    REQUIRE(wire.ok());
    CHECK(verify_envelope(*wire, bob.pub.sign_key));
    CHECK_FALSE(verify_envelope(*wire, alice.pub.sign_key));
    auto r = parse_receipt(*wire);
    REQUIRE(r.ok());
    CHECK(r->recipient == bob.pub.agency);
    CHECK(r->received_ms == kReceived);
    CHECK(r->entries == sample.entries);  // same entries, same order
}

TEST_CASE("a receipt with one entry and with the maximum number of entries round trips",
          "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    for (size_t n : {size_t(1), kMaxReceiptEntries}) {
        INFO(n << " entries");
        Receipt r = sample_receipt(0);
        for (size_t i = 0; i < n; ++i) {
            ReceiptEntry e;
            e.message_id.fill(static_cast<uint8_t>(i));
            e.message_id[0] = static_cast<uint8_t>(i >> 8);
            e.document_hash.fill(static_cast<uint8_t>(~i));
            r.entries.push_back(e);
        }
        auto wire = decode_envelope(make_receipt(r, bob, "A").wire);
        REQUIRE(wire.ok());
        auto parsed = parse_receipt(*wire);
        REQUIRE(parsed.ok());
        CHECK(parsed->entries == r.entries);
    }
}

TEST_CASE("a receipt signature is not valid under the document domain", "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    const auto se = make_receipt(sample_receipt(), bob, "A");
    CHECK(verify_domain(bob.pub.sign_key, "lienthong/v1/receipt", se.id, se.signature));
    CHECK_FALSE(verify_domain(bob.pub.sign_key, "lienthong/v1/document", se.id, se.signature));
}

TEST_CASE("parse_receipt refuses an envelope of another kind", "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    auto r = parse_receipt(receipt_envelope(payload_of(sample_receipt()), bob, {"A"}, Kind::document));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("not a receipt"));
}

TEST_CASE("parse_receipt refuses a recipient field that is not the signer", "[protocol][receipt]") {
    const auto mallory = seeded_identity("000.09.99.H99", 9);
    auto r = parse_receipt(receipt_envelope(payload_of(sample_receipt()), mallory, {"A"}));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("does not match its signer"));
}

TEST_CASE("parse_receipt refuses a receipt addressed to other than one sender", "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    for (const auto& to : {std::vector<std::string>{"A", "B"}, std::vector<std::string>{}}) {
        INFO(to.size() << " addressees");
        auto r = parse_receipt(receipt_envelope(payload_of(sample_receipt()), bob, to));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("exactly one"));
    }
}

TEST_CASE("parse_receipt refuses a time that is not the envelope's", "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    for (uint64_t t : {kReceived - 1, kReceived + 1, uint64_t(0)}) {
        auto r = parse_receipt(receipt_envelope(payload_of(sample_receipt()), bob, {"A"}, Kind::receipt, t));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("time does not match"));
    }
    CHECK(parse_receipt(receipt_envelope(payload_of(sample_receipt()), bob, {"A"})).ok());
}

TEST_CASE("parse_receipt refuses an empty entry list and more than the maximum", "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    auto empty = parse_receipt(receipt_envelope(payload_of(sample_receipt(0)), bob, {"A"}));
    REQUIRE_FALSE(empty.ok());
    CHECK_THAT(empty.error(), Catch::Contains("no documents"));

    CHECK(parse_receipt(receipt_envelope(payload_of(sample_receipt(kMaxReceiptEntries)), bob, {"A"})).ok());
    auto too_many = parse_receipt(receipt_envelope(payload_of(sample_receipt(kMaxReceiptEntries + 1)), bob, {"A"}));
    CHECK_FALSE(too_many.ok());
}

TEST_CASE("parse_receipt refuses a malformed payload", "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    const auto good = entry(0xa1, 0xb2);
    const std::string me = bob.pub.agency;
    const std::vector<Bytes> bad = {
        {},
        bytes_of({0x90}),
        // Missing the entry list; an extra field; fields in the wrong order.
        Writer().array(2).str(me).u64(kReceived).take(),
        Writer().array(4).str(me).u64(kReceived).array(1).array(2).bin(good.message_id).bin(good.document_hash)
            .u64(1).take(),
        Writer().array(3).u64(kReceived).str(me).array(1).array(2).bin(good.message_id).bin(good.document_hash)
            .take(),
        // The old (single-document) layout.
        Writer().array(4).bin(good.message_id).bin(good.document_hash).str(me).u64(kReceived).take(),
        // Recipient as bin; time as text.
        Writer().array(3).bin(as_bytes(me)).u64(kReceived).array(1).array(2).bin(good.message_id)
            .bin(good.document_hash).take(),
        Writer().array(3).str(me).str("1").array(1).array(2).bin(good.message_id).bin(good.document_hash).take(),
        // Entries: 31-byte id, 33-byte hash, one field, three fields, not a list.
        Writer().array(3).str(me).u64(kReceived).array(1).array(2).bin(ByteView(good.message_id.data(), 31))
            .bin(good.document_hash).take(),
        Writer().array(3).str(me).u64(kReceived).array(1).array(2).bin(good.message_id).bin(Bytes(33, 0)).take(),
        Writer().array(3).str(me).u64(kReceived).array(1).array(1).bin(good.message_id).take(),
        Writer().array(3).str(me).u64(kReceived).array(1).array(3).bin(good.message_id).bin(good.document_hash)
            .u64(0).take(),
        Writer().array(3).str(me).u64(kReceived).bin(good.message_id).take(),
        Writer().array(3).str(me).u64(kReceived).array(1).bin(good.message_id).take(),
        // Padded with a huge hash.
        Writer().array(3).str(me).u64(kReceived).array(1).array(2).bin(good.message_id).bin(Bytes(2000, 0)).take(),
        // Non-canonical: uint16 for the value 5.
        bytes_of({0x93, 0xa1, 'X', 0xcd, 0x00, 0x05, 0x90}),
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        INFO("case " << i);
        CHECK_FALSE(parse_receipt(receipt_envelope(bad[i], bob, {"A"})).ok());
    }
    Receipt ok;
    ok.recipient = me;
    ok.received_ms = kReceived;
    ok.entries = {good};
    CHECK(parse_receipt(receipt_envelope(payload_of(ok), bob, {"A"})).ok());
}
