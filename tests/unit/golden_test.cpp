// Golden vectors: the exact bytes of a v1 envelope, receipt and every frame type.
//
// These files are the wire format. If a change to protocol/ alters them, that change breaks
// every deployed node, so this test fails. To regenerate deliberately (a new wire version):
//   LIENTHONG_REGEN_GOLDEN=1 ./protocol_test "[golden]"
// which writes the files and still FAILS, so nobody regenerates silently in CI; then review
// the diff and commit the files.
#include <catch2/catch.hpp>

#include <sodium.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "protocol/envelope.h"
#include "protocol/frame.h"
#include "protocol/receipt.h"
#include "test_util.h"

#ifndef LIENTHONG_GOLDEN_DIR
#error "LIENTHONG_GOLDEN_DIR must be defined by the build"
#endif

using namespace lienthong;
using namespace lienthong::protocol;

namespace {

SecretIdentity golden_identity(const std::string& agency, uint8_t first) {
    SecretIdentity id;
    id.pub.agency = agency;
    uint8_t seed[32];
    for (int i = 0; i < 32; ++i) seed[i] = static_cast<uint8_t>(first + i);
    crypto_sign_seed_keypair(id.pub.sign_key.data(), id.sign_secret.data(), seed);
    crypto_box_seed_keypair(id.pub.box_key.data(), id.box_secret.data(), seed);
    return id;
}

const SecretIdentity& sender() {
    static const auto id = golden_identity("000.00.31.H14", 0x00);
    return id;
}
const SecretIdentity& recipient() {
    static const auto id = golden_identity("000.00.00.H41", 0x20);
    return id;
}

SignedEnvelope golden_envelope() {
    Envelope e;
    e.kind = Kind::document;
    e.from = sender().pub.agency;
    e.to = {recipient().pub.agency, "000.01.31.H14"};
    e.created_ms = 1764201600000ull;  // 2025-11-27 00:00:00 UTC
    e.payload = Bytes{'C', 0xc3, 0xb4, 'n', 'g', ' ', 'v', 0xc4, 0x83, 'n', 0x00, 0xff};
    return sign_envelope(std::move(e), sender().sign_secret);
}

// Two entries: the golden envelope, and a second document of the same batch.
Receipt golden_receipt_fields() {
    Receipt r;
    ReceiptEntry first, second;
    first.message_id = golden_envelope().id;
    for (int i = 0; i < 32; ++i) {
        first.document_hash[i] = static_cast<uint8_t>(0xd0 ^ i);
        second.message_id[i] = static_cast<uint8_t>(0x40 + i);
        second.document_hash[i] = static_cast<uint8_t>(0xe0 ^ i);
    }
    r.entries = {first, second};
    r.recipient = recipient().pub.agency;
    r.received_ms = 1764201601234ull;
    return r;
}

SignedEnvelope golden_receipt() {
    return make_receipt(golden_receipt_fields(), recipient(), sender().pub.agency);
}

std::vector<Frame> golden_frames() {
    const SignedEnvelope env = golden_envelope();
    const Bytes id(env.id.begin(), env.id.end());
    return {DeliverFrame{env.wire}, AckFrame{golden_receipt().wire},
            RejectFrame{id, "chữ ký không hợp lệ"}, RejectFrame{{}, "malformed"},
            PingFrame{0x0123456789abcdefull}, PongFrame{42}};
}

// The directory frames, with fixed contents (record bytes need not be valid records here).
std::vector<Frame> golden_directory_frames() {
    Hash32 a{}, b{};
    a.fill(0xa1);
    b.fill(0xb2);
    return {DirWantFrame{{a, b}},
            DirRecordsFrame{{{DirRecordKind::node, Bytes(40, 0x01)}, {DirRecordKind::cross_trust, Bytes(3, 0x04)}}},
            DirReconcileFrame{Bytes{0x92, 0x01, 0x91, 0x94, 0x00, 0xc4, 0x00, 0x01, 0xc4, 0x10}}};
}

// The frames relays, reconciliation on reconnect and chunked transfer added (issue 4).
std::vector<Frame> golden_transfer_frames() {
    Hash32 id{}, h0{}, h1{};
    id.fill(0xc3);
    h0.fill(0x10);
    h1.fill(0x11);
    Signature sig{};
    sig.fill(0x5e);
    const OfferFrame offer{id, 65536 + 7, 65536, {h0, h1}, sig};
    return {RelayFrame{"000.00.00.H41", 3, 2, Bytes{0x93, 0x01, 0xc4, 0x00, 0xc4, 0x00}},
            CustodyFrame{id, "000.00.00.H41"},
            CustodyFrame{id, ""},
            SyncFrame{1764201600000ull, Bytes{0x92, 0x01, 0x90}},
            ReceiptWantFrame{{h0, h1}},
            offer,
            ChunkWantFrame{id, {0, 1}},
            ChunkFrame{id, 1, Bytes(7, 0xab)},
            RelayOfferFrame{"000.00.00.H41", 2, 1, offer}};
}

// frames_v1.bin = [ frame:bin... ], one entry per golden frame: the exact bytes of the one
// ZeroMQ part (header, then the envelope for Deliver and Ack).
Bytes golden_frames_file(const std::vector<Frame>& frames) {
    Writer w;
    w.array(frames.size());
    for (const auto& f : frames) w.bin(encode_frame(f));
    return w.take();
}

std::string path_of(const std::string& name) { return std::string(LIENTHONG_GOLDEN_DIR) + "/" + name; }

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void check_golden(const std::string& name, const Bytes& actual) {
    const std::string path = path_of(name);
    const char* regen = std::getenv("LIENTHONG_REGEN_GOLDEN");
    if (regen && std::string(regen) == "1") {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(actual.data()), static_cast<std::streamsize>(actual.size()));
        out.close();
        FAIL("regenerated " << path << " (" << actual.size()
                            << " bytes); unset LIENTHONG_REGEN_GOLDEN, review and commit the file");
    }
    std::ifstream probe(path, std::ios::binary);
    if (!probe)
        FAIL(path << " is missing; run with LIENTHONG_REGEN_GOLDEN=1 once and commit the file");
    const Bytes expected = read_file(path);
    if (expected == actual) {
        SUCCEED(name << " matches byte for byte");
        return;
    }
    size_t at = 0;
    while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) ++at;
    auto window = [&](const Bytes& b) {
        const size_t from = at > 8 ? at - 8 : 0;
        const size_t to = std::min(b.size(), at + 8);
        return to_hex(ByteView(b.data() + from, to > from ? to - from : 0));
    };
    FAIL(name << " differs from the golden file: expected " << expected.size() << " bytes, got "
              << actual.size() << "; first difference at byte " << at << "\n  expected ..."
              << window(expected) << "...\n  actual   ..." << window(actual)
              << "...\nThe v1 wire format must not change; see the comment at the top of this file.");
}

}  // namespace

TEST_CASE("the v1 envelope encodes to the golden bytes", "[protocol][golden]") {
    check_golden("envelope_v1.bin", golden_envelope().wire);
}

TEST_CASE("the v1 receipt encodes to the golden bytes", "[protocol][golden]") {
    check_golden("receipt_v1.bin", golden_receipt().wire);
}

TEST_CASE("every v1 frame type encodes to the golden bytes", "[protocol][golden]") {
    check_golden("frames_v1.bin", golden_frames_file(golden_frames()));
}

TEST_CASE("the directory frames encode to the golden bytes", "[protocol][golden]") {
    check_golden("directory_frames_v1.bin", golden_frames_file(golden_directory_frames()));
}

TEST_CASE("the relay and transfer frames encode to the golden bytes", "[protocol][golden]") {
    check_golden("transfer_frames_v1.bin", golden_frames_file(golden_transfer_frames()));
}

TEST_CASE("the golden envelope and receipt decode and verify", "[protocol][golden]") {
    const Bytes env_wire = read_file(path_of("envelope_v1.bin"));
    auto env = decode_envelope(env_wire);
    REQUIRE(env.ok());
    CHECK(verify_envelope(*env, sender().pub.sign_key));
    CHECK(env->env.from == "000.00.31.H14");
    CHECK(env->env.to == std::vector<std::string>{"000.00.00.H41", "000.01.31.H14"});
    CHECK(env->env.created_ms == 1764201600000ull);
    CHECK(env->id == golden_envelope().id);

    auto rcpt = decode_envelope(read_file(path_of("receipt_v1.bin")));
    REQUIRE(rcpt.ok());
    CHECK(verify_envelope(*rcpt, recipient().pub.sign_key));
    auto r = parse_receipt(*rcpt);
    REQUIRE(r.ok());
    REQUIRE(r->entries.size() == 2);
    CHECK(r->entries[0].message_id == env->id);
    CHECK(r->entries == golden_receipt_fields().entries);
    CHECK(r->recipient == "000.00.00.H41");
    CHECK(r->received_ms == 1764201601234ull);
}

TEST_CASE("the golden frames decode to what was encoded", "[protocol][golden]") {
    const std::pair<std::string, std::vector<Frame>> files[] = {{"frames_v1.bin", golden_frames()},
                                                                {"directory_frames_v1.bin", golden_directory_frames()},
                                                                {"transfer_frames_v1.bin", golden_transfer_frames()}};
    for (const auto& [name, frames] : files) {
        INFO(name);
        const Bytes file = read_file(path_of(name));
        auto d = Decoded::parse(file, name);
        REQUIRE(d.ok());
        auto list = d->root();
        REQUIRE(list.size() == frames.size());
        for (size_t i = 0; i < frames.size(); ++i) {
            INFO("frame " << i);
            auto bytes = list.bin("frame", 1 << 20);
            REQUIRE(bytes.ok());
            const Bytes expected = encode_frame(frames[i]);
            CHECK(Bytes(bytes->begin(), bytes->end()) == expected);
            auto f = decode_frame(*bytes, 1 << 20);
            REQUIRE(f.ok());
            CHECK(f->index() == frames[i].index());
            CHECK(encode_frame(*f) == expected);
        }
    }
}
