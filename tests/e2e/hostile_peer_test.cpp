// Hostile peers: the test process speaks the peer-link protocol itself (FakePeer), with a key
// the node does not know, or with a trusted key but forged, tampered, truncated or garbage
// input. Each is refused, counted and logged, and the node keeps serving its real peer.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "protocol/document.h"
#include "protocol/receipt.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/peer_frames.h"

using namespace lienthong::e2e;
namespace protocol = lienthong::protocol;

namespace {

// B sends one document to A; returns once A holds it.
void real_document_arrives(TestNode& b, TestNode& a, int n) {
    std::mt19937_64 rng(n);
    const uint64_t before = status(a).at("inbox_total").get<uint64_t>();
    const std::string id = b.api(send_request({a.agency()}, make_doc(n, rng, 1, 1024))).at("id");
    REQUIRE(wait_until([&] { return status(a).at("inbox_total").get<uint64_t>() == before + 1; }, 20s, 20ms));
    const json s = a.api({{"op", "show"}, {"id", id}});
    CHECK(s.at("signatures").at("envelope_valid") == true);
    CHECK(s.at("signatures").at("content_valid") == true);
}

// Node A with limits.max_envelope_bytes = 64 KiB, a real peer B and a trusted fake peer F
// connected to A (suffix makes the agency codes unique per test).
struct LimitedNode {
    TestNode a, b;
    FakePeer f;
    std::mt19937_64 rng;
    explicit LimitedNode(const std::string& suffix)
        : a("000.00.01." + suffix, options()), b("000.00.02." + suffix), f("000.00.09." + suffix),
          rng(std::hash<std::string>{}(suffix)) {
        a.add_peer(b);
        a.add_peer(f.as_peer());
        b.add_peer(a);
        a.start();
        b.start();
        f.connect(a);
        expect_pong(f, 1);
    }
    static NodeOptions options() {
        NodeOptions opts;
        opts.extra_yaml = "limits:\n  max_envelope_bytes: 65536\n";
        return opts;
    }
};
}  // namespace

TEST_CASE("a key that is not a configured peer cannot connect while configured peers keep working", "[e2e][faults]") {
    TestNode a("000.00.01.H47"), b("000.00.02.H47");
    FakePeer trusted("000.00.09.H47");
    a.add_peer(b);
    a.add_peer(trusted.as_peer());
    b.add_peer(a);
    a.start();
    b.start();

    FakePeer stranger("000.00.66.H47");
    stranger.connect(a);
    stranger.send_frame(protocol::PingFrame{7});
    CHECK_FALSE(stranger.recv_frame(1500ms).has_value());  // never a reply
    REQUIRE(wait_until([&] { return a.log_contains("event=connection_refused"); }, 5s));
    CHECK(a.log_contains("key=" + protocol::to_base64(stranger.identity().pub.box_key)));
    CHECK(status(a).at("counters").at("refused_connections").get<uint64_t>() >= 1);

    // The trusted fake peer and the real peer B are unaffected.
    trusted.connect(a);
    expect_pong(trusted, 42);
    real_document_arrives(b, a, 1);
    CHECK_FALSE(stranger.recv_frame(200ms).has_value());

    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
}

TEST_CASE("forged or tampered or truncated or garbage input from a trusted peer is rejected and the node keeps serving",
          "[e2e][faults]") {
    TestNode a("000.00.01.H48"), b("000.00.02.H48");
    FakePeer f("000.00.09.H48");
    a.add_peer(b);
    a.add_peer(f.as_peer());
    b.add_peer(a);
    a.start();
    b.start();
    f.connect(a);
    expect_pong(f, 1);  // handshake done, link admitted

    std::mt19937_64 rng(48);
    const json before = status(a);
    REQUIRE(status_counter(before, "rejected") == 0);

    SECTION("each kind of bad input") {
        // 1. Forged: a well-formed document whose envelope is signed by some other key.
        const auto forger = protocol::SecretIdentity::generate(f.identity().pub.agency);
        const auto forged = protocol::sign_envelope(seal_from(f, a, 1).envelope.env, forger.sign_secret);
        f.send_frame(protocol::DeliverFrame{forged.wire});
        auto r = next_reject(f);
        CHECK(r.message_id == id_bytes(forged.id));
        CHECK_THAT(r.reason, Catch::Contains("signature"));
        CHECK(rejected_of(status(a), "bad_signature") == 1);
        CHECK(a.log_contains("event=envelope_rejected peer=" + f.identity().pub.agency + " msg=" +
                             protocol::to_hex(forged.id) + " kind=bad_signature"));

        // 2. Tampered: one ciphertext byte flipped, envelope re-signed with the right key, so
        //    only the AEAD can notice. The payload's last element is the ciphertext.
        auto env = seal_from(f, a, 2).envelope.env;
        env.payload.back() ^= 0x01;
        const auto tampered = protocol::sign_envelope(env, f.identity().sign_secret);
        f.send_frame(protocol::DeliverFrame{tampered.wire});
        r = next_reject(f);
        CHECK(r.message_id == id_bytes(tampered.id));
        CHECK_THAT(r.reason, Catch::Contains("failed authentication"));
        CHECK(rejected_of(status(a), "undecryptable") == 1);
        CHECK(a.log_contains("msg=" + protocol::to_hex(tampered.id) + " kind=undecryptable"));

        // 3. Truncated envelope: a Deliver frame carrying half an envelope.
        const auto whole = seal_from(f, a, 3).envelope.wire;
        f.send_frame(protocol::DeliverFrame{protocol::Bytes(whole.begin(), whole.begin() + whole.size() / 2)});
        r = next_reject(f);
        CHECK(r.message_id.empty());
        CHECK_FALSE(r.reason.empty());
        CHECK(rejected_of(status(a), "malformed_envelope") == 1);

        // 4. Truncated frame header (Deliver's header is [1] = 0x91 0x01), no envelope part.
        f.send_parts({protocol::Bytes{0x91}});
        r = next_reject(f);
        CHECK(r.message_id.empty());
        CHECK(rejected_of(status(a), "malformed_frame") == 1);

        // 5. Random bytes: one part, then two parts.
        f.send_parts({random_bytes(rng, 256)});
        r = next_reject(f);
        CHECK(r.message_id.empty());
        f.send_parts({random_bytes(rng, 64), random_bytes(rng, 4096)});
        r = next_reject(f);
        CHECK(r.message_id.empty());
        CHECK(rejected_of(status(a), "malformed_frame") == 3);

        const json after = status(a);
        CHECK(status_counter(after, "rejected") == 6);
        CHECK(after.at("inbox_total") == 0);  // nothing bad was stored
        // One line per (peer, kind) in 10 s: the second and third malformed frames are held back.
        CHECK(a.log_count("event=envelope_rejected") == 4);
        CHECK_FALSE(a.call({{"op", "show"}, {"id", protocol::to_hex(forged.id)}}).ok());
        CHECK_FALSE(a.call({{"op", "show"}, {"id", protocol::to_hex(tampered.id)}}).ok());
    }

    SECTION("a genuine document from the same peer is receipted, and a replay of it is stored once") {
        f.send_parts({random_bytes(rng, 100)});  // some garbage first
        (void)next_reject(f);
        const auto sealed = seal_from(f, a, 10);
        f.send_frame(protocol::DeliverFrame{sealed.envelope.wire});
        auto frame = next_frame(f);
        REQUIRE(std::holds_alternative<protocol::AckFrame>(frame));
        const auto receipt_wire = std::get<protocol::AckFrame>(frame).envelope;
        auto se = protocol::decode_envelope(receipt_wire);
        REQUIRE(se.ok());
        CHECK(se->env.kind == protocol::Kind::receipt);
        CHECK(protocol::verify_envelope(*se, a.identity().pub.sign_key));
        auto receipt = protocol::parse_receipt(*se);
        REQUIRE(receipt.ok());
        REQUIRE(receipt->entries.size() == 1);
        CHECK(receipt->entries[0].message_id == sealed.envelope.id);
        CHECK(receipt->entries[0].document_hash == sealed.content_hash);
        CHECK(receipt->recipient == a.agency());

        // Replay: same receipt back, still one copy in the inbox.
        f.send_frame(protocol::DeliverFrame{sealed.envelope.wire});
        frame = next_frame(f);
        REQUIRE(std::holds_alternative<protocol::AckFrame>(frame));
        CHECK(std::get<protocol::AckFrame>(frame).envelope == receipt_wire);
        const json st = status(a);
        CHECK(st.at("inbox_total") == 1);
        CHECK(status_counter(st, "duplicates") == 1);
        CHECK(status_counter(st, "received") == 1);
    }

    SECTION("in a burst checked in parallel, each forged document is refused and each genuine one kept") {
        // 48 frames sent back to back: the node reads them as one burst and checks their
        // signatures on several threads. Every third is signed by another key.
        const auto forger = protocol::SecretIdentity::generate(f.identity().pub.agency);
        std::set<protocol::Hash32> genuine, forged;
        std::vector<protocol::Bytes> wires;
        for (int i = 0; i < 48; ++i) {
            auto sealed = seal_from(f, a, 100 + i);
            if (i % 3 == 2) {
                const auto se = protocol::sign_envelope(sealed.envelope.env, forger.sign_secret);
                forged.insert(se.id);
                wires.push_back(se.wire);
            } else {
                genuine.insert(sealed.envelope.id);
                wires.push_back(sealed.envelope.wire);
            }
        }
        for (const auto& w : wires) f.send_frame(protocol::DeliverFrame{w});
        std::set<protocol::Hash32> receipted, refused;
        for (int n = 0; n < 200 && (receipted.size() < genuine.size() || refused.size() < forged.size()); ++n) {
            auto frame = next_frame(f);
            if (auto* r = std::get_if<protocol::RejectFrame>(&frame)) {
                REQUIRE(r->message_id.size() == 32);
                protocol::Hash32 id{};
                std::copy(r->message_id.begin(), r->message_id.end(), id.begin());
                CHECK_THAT(r->reason, Catch::Contains("signature"));
                refused.insert(id);
            } else if (auto* ack = std::get_if<protocol::AckFrame>(&frame)) {
                auto se = protocol::decode_envelope(ack->envelope);
                REQUIRE(se.ok());
                REQUIRE(protocol::verify_envelope(*se, a.identity().pub.sign_key));
                auto receipt = protocol::parse_receipt(*se);
                REQUIRE(receipt.ok());
                for (const auto& e : receipt->entries) receipted.insert(e.message_id);
            }
        }
        CHECK(refused == forged);
        CHECK(receipted == genuine);
        const json st = status(a);
        CHECK(st.at("inbox_total") == genuine.size());
        CHECK(rejected_of(st, "bad_signature") == forged.size());
    }

    // Whatever came before, the node still serves its real peer and the fake one.
    REQUIRE(a.running());
    expect_pong(f, 99);
    real_document_arrives(b, a, 2);
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
}

TEST_CASE("an envelope over limits.max_envelope_bytes is refused and counted and logged", "[e2e][faults]") {
    LimitedNode t("H49");
    auto& [a, b, f, rng] = t;

    // Just over the limit (but within the transport's slack): a Reject names the limit.
    f.send_frame(protocol::DeliverFrame{random_bytes(rng, 65536 + 100)});
    const auto r = next_reject(f);
    CHECK_THAT(r.reason, Catch::Contains("exceeds the limit"));
    CHECK(rejected_of(status(a), "malformed_frame") == 1);
    expect_pong(f, 2);
    real_document_arrives(b, a, 3);
}

// Frames up to 4x limits.max_envelope_bytes are read and refused with a Reject; beyond that the
// transport (ZMQ_MAXMSGSIZE) closes the link without reading the message into memory, and the
// node logs peer_link_closed and counts links_closed.
TEST_CASE("a message far over the size limit is refused and counted and logged", "[e2e][faults]") {
    LimitedNode t("H50");
    auto& [a, b, f, rng] = t;

    f.send_frame(protocol::DeliverFrame{random_bytes(rng, 256 * 1024)});
    const auto answer = f.recv_frame(3s);
    const json st = status(a);
    const std::string log = a.log_text();
    // The node survives and keeps serving either way.
    REQUIRE(a.running());
    expect_pong(f, 2);
    real_document_arrives(b, a, 4);
    INFO("status counters: " << st.at("counters").dump() << "\nlog tail:\n" << a.log_tail(8));
    CHECK(answer.has_value());  // a Reject
    CHECK(status_counter(st, "rejected") >= 1);
    CHECK((log.find("event=envelope_rejected") != std::string::npos || log.find("event=frame_rejected") != std::string::npos ||
           log.find("too large") != std::string::npos));

    // Beyond the transport cap: the link is closed unread, and that is logged and counted.
    f.send_frame(protocol::DeliverFrame{random_bytes(rng, 4 * 65536 + 8192)});
    CHECK(wait_until([&] { return a.log_contains("event=peer_link_closed"); }, 5s));
    CHECK(status(a).at("counters").at("links_closed").get<uint64_t>() >= 1);
    REQUIRE(a.running());
    real_document_arrives(b, a, 5);
}
