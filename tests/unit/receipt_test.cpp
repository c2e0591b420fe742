// Receipts: the recipient's signed acknowledgement, and what parse_receipt refuses.
#include <catch2/catch.hpp>

#include "protocol/receipt.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;
using lienthong::testing::seeded_identity;

namespace {
Receipt sample_receipt() {
    Receipt r;
    r.message_id.fill(0xa1);
    r.document_hash.fill(0xb2);
    r.recipient = "000.00.00.H41";
    r.received_ms = 1764000000999ull;
    return r;
}

SignedEnvelope receipt_envelope(const Bytes& payload, const SecretIdentity& signer,
                                std::vector<std::string> to, Kind kind = Kind::receipt) {
    Envelope e;
    e.kind = kind;
    e.from = signer.pub.agency;
    e.to = std::move(to);
    e.created_ms = 1;
    e.payload = payload;
    return sign_envelope(std::move(e), signer.sign_secret);
}

Bytes payload_of(const Receipt& r) {
    return Writer().array(4).bin(r.message_id).bin(r.document_hash).str(r.recipient).u64(r.received_ms).take();
}
}  // namespace

TEST_CASE("a receipt round trips through the wire and verifies with the recipient's key",
          "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    const auto alice = seeded_identity("000.00.31.H14", 1);
    const auto se = make_receipt(sample_receipt(), bob, alice.pub.agency);
    CHECK(se.env.kind == Kind::receipt);
    CHECK(se.env.from == bob.pub.agency);
    CHECK(se.env.to == std::vector<std::string>{alice.pub.agency});
    CHECK(se.env.created_ms == sample_receipt().received_ms);

    auto wire = decode_envelope(se.wire);
    REQUIRE(wire.ok());
    CHECK(verify_envelope(*wire, bob.pub.sign_key));
    CHECK_FALSE(verify_envelope(*wire, alice.pub.sign_key));
    auto r = parse_receipt(*wire);
    REQUIRE(r.ok());
    CHECK(r->message_id == sample_receipt().message_id);
    CHECK(r->document_hash == sample_receipt().document_hash);
    CHECK(r->recipient == bob.pub.agency);
    CHECK(r->received_ms == sample_receipt().received_ms);
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
    auto r = parse_receipt(receipt_envelope(payload_of(sample_receipt()), bob, {"A", "B"}));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("exactly one"));
}

TEST_CASE("parse_receipt refuses a malformed payload", "[protocol][receipt]") {
    const auto bob = seeded_identity("000.00.00.H41", 2);
    const auto good = sample_receipt();
    const std::vector<Bytes> bad = {
        {},
        bytes_of({0x90}),
        Writer().array(3).bin(good.message_id).bin(good.document_hash).str(bob.pub.agency).take(),
        Writer().array(5).bin(good.message_id).bin(good.document_hash).str(bob.pub.agency).u64(1).u64(2).take(),
        Writer().array(4).bin(ByteView(good.message_id.data(), 31)).bin(good.document_hash)
            .str(bob.pub.agency).u64(1).take(),
        Writer().array(4).bin(good.message_id).bin(good.document_hash).bin(as_bytes(bob.pub.agency)).u64(1).take(),
        Writer().array(4).bin(good.message_id).bin(good.document_hash).str(bob.pub.agency).str("1").take(),
        // Padded past the 1 KiB a receipt can ever need.
        Writer().array(4).bin(good.message_id).bin(Bytes(2000, 0)).str(bob.pub.agency).u64(1).take(),
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        INFO("case " << i);
        CHECK_FALSE(parse_receipt(receipt_envelope(bad[i], bob, {"A"})).ok());
    }
    Receipt ok = good;
    ok.recipient = bob.pub.agency;
    CHECK(parse_receipt(receipt_envelope(payload_of(ok), bob, {"A"})).ok());
}
