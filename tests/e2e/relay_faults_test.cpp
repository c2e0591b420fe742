// What a relay refuses (issue 4): the test process is a trusted peer of a relay node and asks
// it to carry envelopes on. A good one is taken into custody (once, however often it is
// asked); a malformed envelope, one not addressed to the named recipient, one from an unknown
// sender, a forged one, one it has no route for, and a frame with no hops left are each
// refused with the reason, counted, and the relay keeps serving. A relay loop (routes that
// lead an envelope back to its sender) is refused by the sender. A large envelope offered to
// the relay by its manifest is pulled chunk by chunk: a bad manifest signature, an envelope
// over the limit, no route, a chunk that does not match its hash, and chunks that put together
// are not the envelope offered are each refused; a good one is taken into custody, and
// offered again for a second recipient it is not pulled again.
#include <catch2/catch.hpp>
#include <optional>

#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/peer_frames.h"

using namespace lienthong::e2e;
namespace protocol = lienthong::protocol;

namespace {

protocol::CustodyFrame next_custody(FakePeer& f) {
    auto frame = next_frame(f);
    if (!std::holds_alternative<protocol::CustodyFrame>(frame))
        throw std::runtime_error("expected a Custody frame, got frame index " + std::to_string(frame.index()));
    return std::get<protocol::CustodyFrame>(frame);
}

constexpr uint64_t kChunk = 64 * 1024;

// Answers the relay's ChunkWants from `envelope` until it sends something else, which is
// returned (at most 200 frames). `corrupt` is sent wrong the first time it is asked for.
protocol::Frame serve_chunks(FakePeer& fake, const protocol::Hash32& id, const protocol::Bytes& envelope,
                             std::optional<uint32_t> corrupt = std::nullopt) {
    for (int n = 0; n < 200; ++n) {
        auto frame = next_frame(fake);
        if (!std::holds_alternative<protocol::ChunkWantFrame>(frame)) return frame;
        const auto& want = std::get<protocol::ChunkWantFrame>(frame);
        if (want.id != id) throw std::runtime_error("the relay asked for chunks of another transfer");
        for (const auto i : want.indices) {
            const uint64_t off = uint64_t(i) * kChunk;
            if (off >= envelope.size()) throw std::runtime_error("the relay asked for a chunk past the end");
            protocol::Bytes data(envelope.begin() + static_cast<std::ptrdiff_t>(off),
                                 envelope.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(off + kChunk, envelope.size())));
            if (corrupt && *corrupt == i) {
                data[0] ^= 0xff;
                corrupt.reset();
            }
            fake.send_frame(protocol::ChunkFrame{id, i, std::move(data)});
        }
    }
    throw std::runtime_error("the relay kept asking for chunks");
}

}  // namespace

TEST_CASE("a relay takes custody once and refuses what it cannot carry", "[e2e][faults]") {
    TestNode relay("000.00.01.R01"), target("000.00.02.T01");
    FakePeer fake("000.00.09.F01");
    relay.add_peer(target);
    relay.add_peer(fake.as_peer());
    target.add_peer(relay);
    target.add_peer(fake.as_peer());  // the target knows the fake peer's key: it can verify its envelope
    relay.start();
    target.start();
    fake.connect(relay);
    expect_pong(fake, 1);

    // A good envelope: custody, then the target holds it; asked again, custody again, once.
    const auto doc = seal_from(fake, target, 1);
    fake.send_frame(protocol::RelayFrame{target.agency(), 2, 0, doc.envelope.wire});
    auto c = next_custody(fake);
    CHECK(c.id == doc.envelope.id);
    CHECK(c.to == target.agency());
    const std::string id = protocol::to_hex(doc.envelope.id);
    REQUIRE(wait_until([&] { return in_inbox(target, id); }, 15s, 50ms));
    fake.send_frame(protocol::RelayFrame{target.agency(), 2, 0, doc.envelope.wire});
    CHECK(next_custody(fake).id == doc.envelope.id);
    CHECK(inbox_ids(target).size() == 1);

    const auto refused = [&](const protocol::Frame& f, const std::string& kind, const std::string& text) {
        expect_refused(relay, fake, f, kind, text);
    };
    refused(protocol::RelayFrame{target.agency(), 2, 0, protocol::Bytes(64, 0x42)}, "malformed_envelope", "");
    refused(protocol::RelayFrame{"000.00.05.X01", 2, 0, seal_from(fake, target, 2).envelope.wire}, "not_addressed",
            "not addressed to");
    const auto stranger = protocol::SecretIdentity::generate("000.00.07.U01");
    refused(protocol::RelayFrame{target.agency(), 2, 0, seal_as(stranger, {target.identity().pub}, 3).envelope.wire},
            "unknown_sender", "does not know the sender '000.00.07.U01'");
    const auto forger = protocol::SecretIdentity::generate(fake.identity().pub.agency);  // F's name, other keys
    refused(protocol::RelayFrame{target.agency(), 2, 0, seal_as(forger, {target.identity().pub}, 4).envelope.wire},
            "bad_signature", "does not verify");
    const auto nowhere = protocol::SecretIdentity::generate("000.00.08.Z01");
    refused(protocol::RelayFrame{nowhere.pub.agency, 2, 0, seal_as(fake.identity(), {nowhere.pub}, 5).envelope.wire},
            "no_route", "no link and no further route to '000.00.08.Z01'");
    // No hops left: the frame itself is malformed.
    {
        const uint64_t before = rejected_of(status(relay), "malformed_frame");
        protocol::Writer w;
        w.array(4).u64(11).str(target.agency()).u64(0).u64(0);
        auto bytes = w.take();
        const auto& wire = seal_from(fake, target, 6).envelope.wire;
        bytes.insert(bytes.end(), wire.begin(), wire.end());
        fake.send_parts({bytes});
        CHECK_THAT(next_reject(fake).reason, Catch::Contains("hops_left"));
        CHECK(rejected_of(status(relay), "malformed_frame") == before + 1);
    }
    // Still serving.
    expect_pong(fake, 2);
    CHECK(inbox_ids(target).size() == 1);
    for (auto* n : {&relay, &target}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}

TEST_CASE("routes that lead an envelope back to its sender are refused as a loop", "[e2e][faults]") {
    // a → b → c → a for the unreachable recipient z: each routes z to the next.
    const auto via = [](const std::string& next) {
        NodeOptions o;
        o.extra_yaml = "relay:\n  default_via: \"" + next + "\"\n  fallback_ms: 0\n";
        return o;
    };
    TestNode a("000.00.01.A01", via("000.00.02.B01")), b("000.00.02.B01", via("000.00.03.C01")),
        c("000.00.03.C01", via("000.00.01.A01")), z("000.00.09.Z01");
    const auto dead = [](const TestNode& n) {
        return PeerEntry{n.agency(), "tcp://127.0.0.1:" + std::to_string(free_port()), n.identity_line()};
    };
    a.add_peer(b);
    a.add_peer(c);
    a.add_peer(dead(z));
    b.add_peer(a);
    b.add_peer(c);
    b.add_peer(dead(z));
    c.add_peer(a);
    c.add_peer(b);
    c.add_peer(dead(z));
    for (auto* n : {&a, &b, &c}) n->start();
    const std::string id = send_text(a, z.agency(), "round and round").at("id");
    REQUIRE(wait_until([&] { return a.log_contains("kind=relay_loop"); }, 20s, 100ms));
    CHECK(b.log_contains("event=custody_taken"));
    CHECK(c.log_contains("event=document_refused_by_peer peer=000.00.01.A01"));
    // It stays pending at the sender's relay chain; nothing was delivered anywhere.
    const json shown = a.api({{"op", "show"}, {"id", id}});
    CHECK(shown.at("deliveries")[0].at("state") == "pending");
    for (auto* n : {&a, &b, &c}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}

TEST_CASE("a relay pulls a large envelope and checks its manifest and chunks", "[e2e][faults]") {
    TestNode relay("000.00.01.R01"), north("000.00.02.T01"), south("000.00.02.T02");
    FakePeer fake("000.00.09.F01");
    relay.add_peer(fake.as_peer());
    for (auto* t : {&north, &south}) {
        relay.add_peer(*t);
        t->add_peer(relay);
        t->add_peer(fake.as_peer());
    }
    for (auto* n : {&relay, &north, &south}) n->start();
    fake.connect(relay);
    expect_pong(fake, 1);

    const auto doc = seal_as(fake.identity(), {north.identity().pub, south.identity().pub}, 1, 300 * 1024);
    const auto& wire = doc.envelope.wire;
    const auto manifest = protocol::make_manifest(fake.identity().sign_secret, doc.envelope.id, wire, kChunk);
    const auto refused = [&](const protocol::Frame& f, const std::string& kind, const std::string& text) {
        expect_refused(relay, fake, f, kind, text);
    };
    // Signed by someone else; over the relay's envelope limit; for an agency it cannot reach.
    const auto stranger = protocol::SecretIdentity::generate("000.00.07.U01");
    refused(protocol::RelayOfferFrame{north.agency(), 2, 0,
                                      protocol::make_manifest(stranger.sign_secret, doc.envelope.id, wire, kChunk)},
            "bad_signature", "manifest's signature does not verify");
    {
        protocol::OfferFrame huge = manifest;
        huge.total = 65ull << 20;
        huge.hashes.assign(huge.total / kChunk, protocol::Hash32{});
        huge.signature = protocol::sign_domain(fake.identity().sign_secret, "lienthong/v1/manifest", huge.manifest_body());
        refused(protocol::RelayOfferFrame{north.agency(), 2, 0, huge}, "too_large", "exceeds limits.max_envelope_bytes");
    }
    refused(protocol::RelayOfferFrame{"000.00.08.Z01", 2, 0, manifest}, "no_route",
            "no link and no further route to '000.00.08.Z01'");

    // The good one, with one chunk sent wrong the first time: refused and asked for again.
    const uint64_t bad_chunks = rejected_of(status(relay), "bad_chunk");
    fake.send_frame(protocol::RelayOfferFrame{north.agency(), 2, 0, manifest});
    auto answer = serve_chunks(fake, doc.envelope.id, wire, 2u);
    REQUIRE(std::holds_alternative<protocol::CustodyFrame>(answer));
    CHECK(std::get<protocol::CustodyFrame>(answer).to == north.agency());
    CHECK(rejected_of(status(relay), "bad_chunk") == bad_chunks + 1);
    // Offered again, and for the second recipient: custody from the stored bytes, no chunks.
    for (auto* t : {&north, &south}) {
        fake.send_frame(protocol::RelayOfferFrame{t->agency(), 2, 0, manifest});
        auto again = next_frame(fake);
        REQUIRE(std::holds_alternative<protocol::CustodyFrame>(again));
        CHECK(std::get<protocol::CustodyFrame>(again).to == t->agency());
    }
    const std::string id = protocol::to_hex(doc.envelope.id);
    REQUIRE(wait_until([&] { return in_inbox(north, id) && in_inbox(south, id); }, 15s, 50ms));
    CHECK(relay.log_count("event=transfer_started") == 1);

    // Chunks that match their signed hashes but are not the envelope the manifest names.
    {
        std::mt19937_64 rng(3);
        const auto junk = random_bytes(rng, 200 * 1024);
        const auto other = seal_as(fake.identity(), {north.identity().pub}, 2, 200 * 1024);
        const auto lie = protocol::make_manifest(fake.identity().sign_secret, other.envelope.id, junk, kChunk);
        const uint64_t before = rejected_of(status(relay), "malformed_envelope");
        fake.send_frame(protocol::RelayOfferFrame{north.agency(), 2, 0, lie});
        auto end = serve_chunks(fake, other.envelope.id, junk);
        REQUIRE(std::holds_alternative<protocol::RejectFrame>(end));
        CHECK(rejected_of(status(relay), "malformed_envelope") == before + 1);
    }
    expect_pong(fake, 2);
    CHECK(inbox_ids(north).size() == 1);
    for (auto* n : {&relay, &north, &south}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}
