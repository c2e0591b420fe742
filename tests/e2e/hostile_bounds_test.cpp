// A peer with a valid key must not be able to hurt anyone (issue 15): each attack below is
// made by a fake peer that holds a key the node trusts, against a real lienthong-node. After
// each, nothing of the attack is stored and a real peer's document still arrives in seconds.
#include <catch2/catch.hpp>

#include "protocol/document.h"
#include "protocol/frame.h"
#include "protocol/receipt.h"
#include "protocol/reconcile.h"
#include "protocol/status.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/peer_frames.h"

using namespace lienthong::e2e;
namespace protocol = lienthong::protocol;
using protocol::Bytes;

namespace {

constexpr uint64_t kT0 = 1767225600000ull;  // 2026-01-01

// B's document reaches A within 20 s, verified.
void real_document_arrives(TestNode& b, TestNode& a, int n) {
    std::mt19937_64 rng(n);
    const uint64_t before = status(a).at("inbox_total").get<uint64_t>();
    const std::string id = b.api(send_request({a.agency()}, make_doc(n, rng, 1, 1024))).at("id");
    REQUIRE(wait_until([&] { return status(a).at("inbox_total").get<uint64_t>() == before + 1; }, 20s, 20ms));
    CHECK(a.api({{"op", "show"}, {"id", id}}).at("signatures").at("envelope_valid") == true);
}

// Node A, a real peer B, and fake peers X and Y that A trusts and that have connected to it.
struct Attacked {
    TestNode a, b;
    FakePeer x, y;
    Attacked(const std::string& suffix, const std::string& extra_yaml = "", bool listen = false)
        : a("000.00.01." + suffix, options(extra_yaml)), b("000.00.02." + suffix), x("000.00.09." + suffix),
          y("000.00.08." + suffix) {
        if (listen) x.listen();
        a.add_peer(b);
        a.add_peer(x.as_peer());
        a.add_peer(y.as_peer());
        b.add_peer(a);
        a.start();
        b.start();
        x.connect(a);
        y.connect(a);
        expect_pong(x, 1);
        expect_pong(y, 2);
    }
    static NodeOptions options(const std::string& extra_yaml) {
        NodeOptions o;
        o.extra_yaml = extra_yaml;
        return o;
    }
    ~Attacked() {
        CHECK(a.stop() == 0);
        CHECK(a.sanitizer_findings().empty());
    }
};

protocol::SealedDocument seal_content(const protocol::SecretIdentity& from, const TestNode& to,
                                      protocol::DocumentContent c) {
    c.sender = from.pub.agency;
    c.recipients = {to.agency()};
    auto sealed = protocol::seal_document(c, from, {to.identity().pub});
    if (!sealed.ok()) throw std::runtime_error(sealed.error());
    return std::move(sealed).value();
}

protocol::DocumentContent plain_content(int n) {
    protocol::DocumentContent c;
    c.created_ms = kT0 + static_cast<uint64_t>(n);
    c.meta.subject = "Văn bản " + std::to_string(n);
    c.meta.due_ms = kT0 + 86400000;
    c.body = Bytes(64, static_cast<uint8_t>(n));
    return c;
}

protocol::SealedDocument sealed_status(const protocol::SecretIdentity& from, const TestNode& to,
                                       const protocol::Hash32& doc, const std::string& code, uint64_t time_ms) {
    protocol::StatusReport r;
    r.reporter = from.pub.agency;
    r.informed = to.agency();
    r.created_ms = time_ms;
    r.document = doc;
    r.code = code;
    r.time_ms = time_ms;
    r.description = "tiến độ " + code;
    auto sealed = protocol::seal_status(r, from, to.identity().pub);
    if (!sealed.ok()) throw std::runtime_error(sealed.error());
    protocol::SealedDocument out;
    out.envelope = std::move(sealed->envelope);
    return out;
}

void expect_ack(FakePeer& f) {
    const auto frame = next_frame(f);
    if (!std::holds_alternative<protocol::AckFrame>(frame))
        throw std::runtime_error("expected an Ack, got frame index " + std::to_string(frame.index()));
}

protocol::Hash32 to_hash(const std::string& hex) {
    auto b = protocol::from_hex(hex);
    protocol::Hash32 h{};
    if (b.ok() && b->size() == 32) std::copy(b->begin(), b->end(), h.begin());
    return h;
}

}  // namespace

TEST_CASE("a peer cannot revoke, update or replace another agency's document", "[e2e][faults]") {
    Attacked t("H60");
    const auto original = seal_content(t.x.identity(), t.a, plain_content(1));
    t.x.send_frame(protocol::DeliverFrame{original.envelope.wire});
    expect_ack(t.x);
    const std::string doc = protocol::to_hex(original.envelope.id);

    for (auto type : {protocol::BusinessDocType::Revoke, protocol::BusinessDocType::Update,
                      protocol::BusinessDocType::Replace}) {
        auto c = plain_content(2 + static_cast<int>(type));
        c.meta.business.business_doc_type = type;
        c.meta.business.reason = "giả mạo";
        c.meta.acts_on = id_bytes(original.envelope.id);
        const auto forged = seal_content(t.y.identity(), t.a, c);
        t.y.send_frame(protocol::DeliverFrame{forged.envelope.wire});
        const auto r = next_reject(t.y);
        CHECK(r.permanent);
        CHECK_THAT(r.reason, Catch::Contains("an agency may act only on its own documents"));
        CHECK_THAT(r.reason, Catch::Contains(t.x.identity().pub.agency));
        CHECK_FALSE(t.a.call({{"op", "show"}, {"id", protocol::to_hex(forged.envelope.id)}}).ok());
    }
    CHECK(rejected_of(status(t.a), "not_authorized") == 3);
    json s = t.a.api({{"op", "show"}, {"id", doc}});
    CHECK(s.at("revoked") == false);
    CHECK(s.at("lifecycle").empty());
    CHECK(t.a.api({{"op", "report_overdue"}, {"as", "recipient"}}).dump().find(doc) != std::string::npos);

    // The sender's own revoke counts.
    auto c = plain_content(9);
    c.meta.business.business_doc_type = protocol::BusinessDocType::Revoke;
    c.meta.business.reason = "Thu hồi";
    c.meta.acts_on = id_bytes(original.envelope.id);
    t.x.send_frame(protocol::DeliverFrame{seal_content(t.x.identity(), t.a, c).envelope.wire});
    expect_ack(t.x);
    s = t.a.api({{"op", "show"}, {"id", doc}});
    CHECK(s.at("revoked") == true);
    CHECK(s.at("lifecycle").size() == 1);
    real_document_arrives(t.b, t.a, 1);
}

TEST_CASE("one bad document does not fail the group commit of the others", "[e2e][faults]") {
    Attacked t("H61");
    // A DocumentId with a NUL byte cannot be indexed. Sent back to back with good documents,
    // it used to join their group commit and fail it: no receipt for anyone.
    auto bad = plain_content(1);
    bad.meta.document_id = std::string("000.00.09.H61,2026/01/01,1\0x", 28);
    const auto bad_sealed = seal_content(t.x.identity(), t.a, bad);
    const auto good1 = seal_content(t.x.identity(), t.a, plain_content(2));
    const auto good2 = seal_content(t.y.identity(), t.a, plain_content(3));
    t.x.send_frame(protocol::DeliverFrame{good1.envelope.wire});
    t.x.send_frame(protocol::DeliverFrame{bad_sealed.envelope.wire});
    t.y.send_frame(protocol::DeliverFrame{good2.envelope.wire});
    bool acked = false, rejected = false;
    for (int i = 0; i < 2; ++i) {
        const auto frame = next_frame(t.x);
        if (std::holds_alternative<protocol::AckFrame>(frame)) acked = true;
        if (const auto* r = std::get_if<protocol::RejectFrame>(&frame)) {
            rejected = true;
            CHECK(r->message_id == id_bytes(bad_sealed.envelope.id));
            CHECK(r->permanent);
            CHECK_THAT(r->reason, Catch::Contains("NUL"));
        }
    }
    CHECK(acked);
    CHECK(rejected);
    expect_ack(t.y);
    CHECK(status(t.a).at("inbox_total") == 2);
    CHECK(rejected_of(status(t.a), "unindexable") == 1);
    CHECK_FALSE(t.a.log_contains("event=commit_failed"));

    // The same through the local API: one client's bad DocumentId is refused before anything
    // is queued, and another client's send goes on.
    std::mt19937_64 rng(61);
    auto req = send_request({t.b.agency()}, make_doc(1, rng, 0, 10));
    req["document_id"] = std::string("x\0y", 3);
    auto refused = t.a.call(req);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::Contains("NUL"));
    const std::string sent = t.a.api(send_request({t.b.agency()}, make_doc(2, rng, 0, 10))).at("id");
    REQUIRE(wait_until([&] { return t.b.call({{"op", "show"}, {"id", sent}}).ok(); }, 20s));
    real_document_arrives(t.b, t.a, 2);
}

TEST_CASE("a chunk bomb is refused: every chunk is bounded by its manifest", "[e2e][faults]") {
    Attacked t("H62", "limits:\n  max_envelope_bytes: 8388608\n");
    // A manifest of 4 bytes in 1-byte chunks, then 4 MiB where each byte should be.
    const Bytes tiny{1, 2, 3, 4};
    protocol::Hash32 id{};
    id.fill(0x62);
    t.x.send_frame(protocol::make_manifest(t.x.identity().sign_secret, id, tiny, 1));
    auto want = next_frame(t.x);
    REQUIRE(std::holds_alternative<protocol::ChunkWantFrame>(want));
    const Bytes bomb(4u << 20, 0x42);
    for (uint32_t i = 0; i < 4; ++i) t.x.send_frame(protocol::ChunkFrame{id, i, bomb});
    REQUIRE(wait_until([&] { return rejected_of(status(t.a), "bad_chunk") == 4; }, 10s));
    const json tr = t.a.api({{"op", "transfers"}});
    REQUIRE(tr.at("transfers").size() == 1);
    CHECK(tr.at("transfers")[0].at("have_chunks") == 0);
    CHECK(table_entries(t.a, "chunks") == 0);
    CHECK(t.a.log_contains("where the manifest gives 1"));
    // A manifest whose chunks are over the protocol's bound does not decode.
    const auto big = protocol::make_manifest(t.x.identity().sign_secret, id, Bytes(3u << 20, 1), 2u << 20);
    expect_refused(t.a, t.x, big, "malformed_frame", "chunk_size");
    real_document_arrives(t.b, t.a, 3);
}

TEST_CASE("open transfers are bounded per peer and expire when idle, and another peer cannot reset one",
          "[e2e][faults]") {
    Attacked t("H63", "limits:\n  transfers_per_peer: 2\n  transfer_idle_ms: 2000\n");
    std::mt19937_64 rng(63);
    const auto offer = [&](FakePeer& f, int n) {
        const Bytes blob = random_bytes(rng, 150000 + static_cast<size_t>(n));
        return protocol::make_manifest(f.identity().sign_secret, protocol::hash_domain("test", blob), blob, 65536);
    };
    const auto first = offer(t.x, 1), second = offer(t.x, 2), third = offer(t.x, 3);
    t.x.send_frame(first);
    REQUIRE(std::holds_alternative<protocol::ChunkWantFrame>(next_frame(t.x)));
    t.x.send_frame(second);
    REQUIRE(std::holds_alternative<protocol::ChunkWantFrame>(next_frame(t.x)));
    expect_refused(t.a, t.x, third, "transfer_quota", "limits.transfers_per_peer");
    // Y offers another manifest for the id X is transferring: refused, X's transfer kept.
    const auto hijack = protocol::make_manifest(t.y.identity().sign_secret, first.id, random_bytes(rng, 70000), 65536);
    expect_refused(t.a, t.y, hijack, "transfer_busy", t.x.identity().pub.agency);
    json tr = t.a.api({{"op", "transfers"}});
    REQUIRE(tr.at("transfers").size() == 2);
    for (const auto& x : tr.at("transfers")) CHECK(x.at("from") == t.x.identity().pub.agency);
    CHECK(table_entries(t.a, "transfers") == 2);
    // No chunk ever comes: both are dropped with their records after transfer_idle_ms.
    REQUIRE(wait_until([&] { return t.a.api({{"op", "transfers"}}).at("transfers").empty(); }, 10s));
    REQUIRE(wait_until([&] { return table_entries(t.a, "transfers") == 0; }, 5s));
    CHECK(t.a.log_count("event=transfer_dropped") == 2);
    t.x.send_frame(third);  // room again
    CHECK(std::holds_alternative<protocol::ChunkWantFrame>(next_frame(t.x)));
    real_document_arrives(t.b, t.a, 4);
}

TEST_CASE("a receipt naming documents never sent is refused and not stored, with one log line", "[e2e][faults]") {
    Attacked t("H64");
    std::mt19937_64 rng(64);
    protocol::Receipt r{t.x.identity().pub.agency, kT0, {}};
    for (int i = 0; i < 1000; ++i) {
        protocol::Hash32 id{}, h{};
        for (auto& b : id) b = static_cast<uint8_t>(rng());
        r.entries.push_back({id, h});
    }
    const auto receipt = protocol::make_receipt(r, t.x.identity(), t.a.agency());
    const size_t stored_before = table_entries(t.a, "receipts");
    t.x.send_frame(protocol::AckFrame{receipt.wire});
    const auto rej = next_reject(t.x);
    CHECK(rej.permanent);
    CHECK(rej.message_id == id_bytes(receipt.id));
    CHECK_THAT(rej.reason, Catch::Contains("names no document this node sent or carries"));
    CHECK(table_entries(t.a, "receipts") == stored_before);
    CHECK(t.a.log_count("kind=bad_receipt") == 1);
    CHECK(t.a.log_contains("count=1000"));
    real_document_arrives(t.b, t.a, 5);
}

TEST_CASE("a permanent refusal ends retransmission and is shown to the sender", "[e2e][faults]") {
    Attacked t("H65", "", true);
    std::mt19937_64 rng(65);
    const std::string id = t.a.api(send_request({t.x.identity().pub.agency}, make_doc(1, rng, 0, 100))).at("id");
    std::optional<FakePeer::Listened> got;
    REQUIRE(wait_until(
        [&] {
            got = t.x.recv_listened(200ms);
            return got && got->frame.ok() && std::holds_alternative<protocol::DeliverFrame>(*got->frame);
        },
        15s, 1ms));
    t.x.send_listened(got->routing_id, protocol::RejectFrame{id_bytes(to_hash(id)), "never for us", true});
    REQUIRE(wait_until(
        [&] {
            const json s = t.a.api({{"op", "show"}, {"id", id}});
            return s.at("deliveries")[0].at("state") == "refused";
        },
        10s));
    const json s = t.a.api({{"op", "show"}, {"id", id}});
    CHECK_THAT(s.at("deliveries")[0].at("last_error").get<std::string>(), Catch::Contains("never for us"));
    CHECK(status(t.a).at("outbox_pending") == 0);
    // Nothing is sent again, whatever the retransmission timer does (retry.max_ms is 1 s).
    bool again = false;
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < until) {
        auto f = t.x.recv_listened(200ms);
        if (f && f->frame.ok() && std::holds_alternative<protocol::DeliverFrame>(*f->frame)) again = true;
    }
    CHECK_FALSE(again);
    real_document_arrives(t.b, t.a, 6);
}

TEST_CASE("chunks are served only for what was offered on the link, each a few times", "[e2e][faults]") {
    Attacked t("H66", "limits:\n  chunk_threshold_bytes: 65536\n", true);
    std::mt19937_64 rng(66);
    // A document A sent to B: X asks A for its chunks.
    const std::string to_b = t.a.api(send_request({t.b.agency()}, make_doc(1, rng, 1, 200000))).at("id");
    REQUIRE(wait_until([&] { return t.b.call({{"op", "show"}, {"id", to_b}}).ok(); }, 20s));
    REQUIRE(wait_until([&] { (void)t.x.recv_listened(100ms); return !t.x.last_routing_id().empty(); }, 15s, 1ms));
    t.x.send_listened(t.x.last_routing_id(), protocol::ChunkWantFrame{to_hash(to_b), {0, 1}});
    REQUIRE(wait_until([&] { return rejected_of(status(t.a), "unoffered_chunks") == 1; }, 10s));
    // A large document for X itself: offered; each chunk is served at most 4 times.
    const std::string to_x =
        t.a.api(send_request({t.x.identity().pub.agency}, make_doc(2, rng, 1, 300000))).at("id");
    std::optional<FakePeer::Listened> offer;
    REQUIRE(wait_until(
        [&] {
            offer = t.x.recv_listened(200ms);
            return offer && offer->frame.ok() && std::holds_alternative<protocol::OfferFrame>(*offer->frame);
        },
        15s, 1ms));
    CHECK(std::get<protocol::OfferFrame>(*offer->frame).id == to_hash(to_x));
    size_t chunks = 0;
    for (int i = 0; i < 6; ++i) t.x.send_listened(offer->routing_id, protocol::ChunkWantFrame{to_hash(to_x), {0}});
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < until)
        if (auto f = t.x.recv_listened(200ms); f && f->frame.ok() && std::holds_alternative<protocol::ChunkFrame>(*f->frame))
            ++chunks;
    CHECK(chunks == 4);
    CHECK(rejected_of(status(t.a), "chunk_served_too_often") == 2);
    real_document_arrives(t.b, t.a, 7);
}

TEST_CASE("status reports are taken in the order of their signed times, and none reopens a completed document",
          "[e2e][faults]") {
    Attacked t("H67");
    std::mt19937_64 rng(67);
    const std::string x = t.x.identity().pub.agency;
    const std::string d1 = t.a.api(send_request({x}, make_doc(1, rng, 0, 10))).at("id");
    const std::string d2 = t.a.api(send_request({x}, make_doc(2, rng, 0, 10))).at("id");
    const auto latest = [&](const std::string& code) {
        return t.a.api({{"op", "outbox"}, {"status", code}}).dump();
    };
    // d1: completed (06), then a 04 signed later: refused, still 06.
    t.x.send_frame(protocol::DeliverFrame{sealed_status(t.x.identity(), t.a, to_hash(d1), "06", kT0 + 6000).envelope.wire});
    expect_ack(t.x);
    t.x.send_frame(protocol::DeliverFrame{sealed_status(t.x.identity(), t.a, to_hash(d1), "04", kT0 + 7000).envelope.wire});
    const auto r = next_reject(t.x);
    CHECK(r.permanent);
    CHECK_THAT(r.reason, Catch::Contains("does not fit the document's timeline") && Catch::Contains("06"));
    CHECK(rejected_of(status(t.a), "status_refused") == 1);
    CHECK(latest("06").find(d1) != std::string::npos);
    // d2: a relay reorders honest reports, 05 (signed at +5 s) before 04 (+4 s) and 03 (+3 s):
    // all taken, and the document is at 05.
    for (auto [code, at] : {std::pair{"05", 5000}, std::pair{"04", 4000}, std::pair{"03", 3000}}) {
        t.x.send_frame(protocol::DeliverFrame{
            sealed_status(t.x.identity(), t.a, to_hash(d2), code, kT0 + static_cast<uint64_t>(at)).envelope.wire});
        expect_ack(t.x);
    }
    CHECK(latest("05").find(d2) != std::string::npos);
    CHECK(latest("04").find(d2) == std::string::npos);
    real_document_arrives(t.b, t.a, 8);
}

TEST_CASE("a flood of refused frames is counted in full and logged a few times", "[e2e][faults]") {
    Attacked t("H68");
    std::mt19937_64 rng(68);
    for (int i = 0; i < 3000; ++i) {
        Bytes junk = random_bytes(rng, 32);
        junk[0] = 0xc1;  // a byte msgpack never uses: no frame can start with it
        t.x.send_parts({junk});
    }
    REQUIRE(wait_until([&] { return rejected_of(status(t.a), "malformed_frame") == 3000; }, 30s));
    CHECK(t.a.log_count("kind=malformed_frame") <= 4);  // one per 10 s
    real_document_arrives(t.b, t.a, 9);
}

TEST_CASE("a peer's delivery sync is answered from one read of the inbox, not one per frame", "[e2e][faults]") {
    Attacked t("H69");
    const auto sync = [&](uint64_t since) {
        // A first reconciliation message over an empty set: any well-formed one will do.
        protocol::VectorReconcileStorage empty = protocol::VectorReconcileStorage::make({}).value();
        protocol::Reconciler recon(empty, protocol::ReconcileOptions{});
        t.x.send_frame(protocol::SyncFrame{since, recon.initiate()});
    };
    sync(0);
    REQUIRE(std::holds_alternative<protocol::SyncFrame>(next_frame(t.x)));
    sync(0);  // the same reconciliation's set: answered from what was read
    REQUIRE(std::holds_alternative<protocol::SyncFrame>(next_frame(t.x)));
    sync(1);  // another one straight away: not answered
    CHECK_FALSE(t.x.recv_frame(1s).has_value());
    CHECK(rejected_of(status(t.a), "delivery_sync") == 1);
    real_document_arrives(t.b, t.a, 10);
}

TEST_CASE("a relay holds a bounded number of envelopes per previous hop, and stops at a permanent refusal",
          "[e2e][faults]") {
    // A relays for Y to X (a fake peer that listens, so A has a link to it and delivers there).
    Attacked t("H75", "relay:\n  custody_per_peer: 2\n", true);
    const auto to_x = [&](int n) { return seal_as(t.y.identity(), {t.x.identity().pub}, n); };
    const auto relay = [&](const protocol::SealedDocument& d) {
        t.y.send_frame(protocol::RelayFrame{t.x.identity().pub.agency, 2, 0, d.envelope.wire});
    };
    const auto d1 = to_x(1), d2 = to_x(2), d3 = to_x(3);
    relay(d1);
    REQUIRE(std::holds_alternative<protocol::CustodyFrame>(next_frame(t.y)));
    relay(d2);
    REQUIRE(std::holds_alternative<protocol::CustodyFrame>(next_frame(t.y)));
    expect_refused(t.a, t.y, protocol::RelayFrame{t.x.identity().pub.agency, 2, 0, d3.envelope.wire}, "custody_quota",
                   "relay.custody_per_peer");
    CHECK(table_entries(t.a, "transit") == 2);
    // X refuses d1 for good: A stops carrying it, and the room it took is Y's again.
    std::optional<FakePeer::Listened> got;
    REQUIRE(wait_until(
        [&] {
            got = t.x.recv_listened(200ms);
            return got && got->frame.ok() && std::holds_alternative<protocol::DeliverFrame>(*got->frame) &&
                   protocol::decode_envelope(std::get<protocol::DeliverFrame>(*got->frame).envelope, {}).value().id ==
                       d1.envelope.id;
        },
        15s, 1ms));
    t.x.send_listened(got->routing_id, protocol::RejectFrame{id_bytes(d1.envelope.id), "not ours to take", true});
    REQUIRE(wait_until(
        [&] {
            relay(d3);
            auto f = next_frame(t.y);
            return std::holds_alternative<protocol::CustodyFrame>(f);
        },
        10s, 100ms));
    // d1 is never handed to X again (retry.max_ms is 1 s); d2 and d3 are, until X answers.
    bool d1_again = false;
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < until) {
        auto f = t.x.recv_listened(200ms);
        if (f && f->frame.ok() && std::holds_alternative<protocol::DeliverFrame>(*f->frame))
            d1_again |= protocol::decode_envelope(std::get<protocol::DeliverFrame>(*f->frame).envelope, {}).value().id ==
                        d1.envelope.id;
    }
    CHECK_FALSE(d1_again);
    CHECK(t.a.log_contains("event=document_refused_by_peer peer=" + t.x.identity().pub.agency));
    real_document_arrives(t.b, t.a, 11);
}
