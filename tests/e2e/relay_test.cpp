// Store-and-forward relays (issue 4, acceptance 1), with real nodes on 127.0.0.1: a commune
// that cannot reach its province (the province's endpoint, as the commune knows it, answers
// nothing) sends through its district, the default route. Documents arrive once, receipts
// and a status report come back the same way, `show` at the sender gives the path, and the
// district's database holds no plaintext of what it carried. A large document for two
// provinces travels to the district in chunks once, survives the district's crash, and is
// carried on to each province in chunks.
#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <iterator>

#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

namespace {

constexpr auto kMarker = "RELAY-PLAINTEXT-MARKER-7d1f";

std::string read_binary(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A peer entry for `n` whose endpoint is a port nobody listens on: the link never comes up.
PeerEntry unreachable(const TestNode& n) {
    return PeerEntry{n.agency(), "tcp://127.0.0.1:" + std::to_string(free_port()), n.identity_line()};
}

}  // namespace

TEST_CASE("a commune reaches its province through its district", "[e2e]") {
    NodeOptions relayed;
    relayed.extra_yaml = "relay:\n  default_via: \"000.01.00.D01\"\n  fallback_ms: 300\n";
    TestNode commune("000.01.01.C01", relayed), district("000.01.00.D01"), province("000.00.00.P01", relayed);
    commune.add_peer(district);
    commune.add_peer(unreachable(province));
    district.add_peer(commune);
    district.add_peer(province);
    province.add_peer(district);
    province.add_peer(unreachable(commune));
    for (auto* n : {&commune, &district, &province}) n->start();

    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        const std::string body = std::string(kMarker) + " body " + std::to_string(i);
        const std::string attachment = std::string(kMarker) + " attachment " + std::to_string(i);
        const json r = commune.api({{"op", "send"},
                                    {"to", json::array({province.agency()})},
                                    {"subject", std::string(kMarker) + " subject"},
                                    {"body", json::binary(std::vector<uint8_t>(body.begin(), body.end()))},
                                    {"attachments", json::array({{{"name", "scan.txt"},
                                                                  {"mime", "text/plain"},
                                                                  {"data", json::binary(std::vector<uint8_t>(
                                                                               attachment.begin(), attachment.end()))}}})}});
        ids.push_back(r.at("id"));
    }
    REQUIRE(wait_until(
        [&] {
            for (const auto& id : ids)
                if (!in_inbox(province, id) || !has_receipt(commune, id)) return false;
            return true;
        },
        30s, 100ms));
    CHECK(inbox_ids(province).size() == 5);
    CHECK(inbox_ids(district).empty());  // carried, not received

    // The path at the sender; the envelope in transit at the district; the content at the end.
    const json shown = commune.api({{"op", "show"}, {"id", ids[0]}});
    REQUIRE(shown.at("deliveries").size() == 1);
    const json& d = shown.at("deliveries")[0];
    CHECK(d.at("state") == "delivered");
    CHECK(d.at("via") == district.agency());
    CHECK(d.at("path") == json::array({commune.agency(), district.agency(), province.agency()}));
    const json carried = district.api({{"op", "show"}, {"id", ids[0]}});
    REQUIRE(carried.contains("transit"));
    CHECK(carried.at("transit")[0].at("state") == "delivered");
    CHECK(carried.at("transit")[0].at("origin") == commune.agency());
    const json received = province.api({{"op", "show"}, {"id", ids[0]}});
    CHECK(received.at("signatures").at("content_valid") == true);
    CHECK(received.at("sender") == commune.agency());
    CHECK(commune.log_contains("event=relayed peer=" + district.agency()));
    CHECK(district.log_contains("event=custody_taken"));

    // A status report goes back from the province to the commune the same way.
    province.api({{"op", "set_status"}, {"id", ids[0]}, {"code", "03"}, {"description", "tiếp nhận"}});
    REQUIRE(wait_until(
        [&] {
            const json s = commune.api({{"op", "show"}, {"id", ids[0]}});
            for (const auto& e : s.at("timeline"))
                if (e.at("code") == "03") return true;
            return false;
        },
        30s, 100ms));

    // The district carried ciphertext only: no plaintext of the documents in its database.
    for (auto* n : {&commune, &district, &province}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
    const std::string db = read_binary(district.dir() + "/data/data.mdb");
    REQUIRE(db.size() > 0);
    CHECK(db.find(kMarker) == std::string::npos);
    CHECK(read_binary(province.dir() + "/data/data.mdb").find(kMarker) != std::string::npos);
}

TEST_CASE("a large document for two provinces crosses a relay in chunks once", "[e2e][faults]") {
    NodeOptions relayed;
    relayed.extra_yaml = "relay:\n  default_via: \"000.01.00.D01\"\n  fallback_ms: 300\n";
    TestNode commune("000.01.01.C01", relayed), district("000.01.00.D01");
    TestNode north("000.00.00.P01"), south("000.00.00.P02");
    commune.add_peer(district);
    district.add_peer(commune);
    for (auto* p : {&north, &south}) {
        commune.add_peer(unreachable(*p));
        district.add_peer(*p);
        p->add_peer(district);
        p->add_peer(unreachable(commune));
    }
    for (auto* n : {&commune, &district, &north, &south}) n->start();

    std::mt19937_64 rng(7);
    const lienthong::protocol::Bytes scan = random_bytes(rng, 8u << 20);
    const std::string id = send_scan(commune, {north.agency(), south.agency()}, "bản scan gửi hai tỉnh", scan).at("id");

    // Part of it reaches the district; the commune freezes and the district dies.
    REQUIRE(wait_until([&] { const json t = transfer_of(district, id); return !t.is_null() && t["have_chunks"] >= 8; }, 30s, 2ms));
    ::kill(commune.pid(), SIGSTOP);
    const json before = transfer_of(district, id);
    REQUIRE(!before.is_null());
    INFO("chunks " << before["chunks"] << ", stored at the district before its crash " << before["have_chunks"]);
    district.kill();
    district.start();
    ::kill(commune.pid(), SIGCONT);

    REQUIRE(wait_until(
        [&] { return in_inbox(north, id) && in_inbox(south, id) && valid_receipts(commune, id) == 2; },
        90s, 100ms));
    for (auto* p : {&north, &south}) {
        INFO("province " << p->agency());
        const json exported = p->api({{"op", "export"}, {"id", id}});
        REQUIRE(exported.at("attachments").size() == 1);
        CHECK(bin(exported.at("attachments")[0].at("data")) == scan);
        CHECK(p->log_contains("event=transfer_complete peer=" + district.agency()));  // carried on in chunks too
    }
    CHECK(district.log_contains("event=transfer_resumed peer=" + commune.agency()));
    CHECK(district.log_count("event=custody_taken") == 2);
    CHECK(inbox_ids(district).empty());

    // The commune sent the chunks once for both recipients (plus what was in flight at the crash).
    uint64_t chunk_bytes = 0;
    const json peers = commune.api({{"op", "peer_list"}});
    for (const auto& p : peers.at("peers"))
        if (p.at("agency") == district.agency()) chunk_bytes = p.at("chunk_bytes_sent");
    WARN("chunk bytes sent to the relay " << chunk_bytes << " for an attachment of " << scan.size() << " bytes, two recipients");
    CHECK(chunk_bytes > scan.size());
    CHECK(chunk_bytes < scan.size() * 12 / 10);
    const json shown = commune.api({{"op", "show"}, {"id", id}});
    REQUIRE(shown.at("deliveries").size() == 2);
    for (const auto& d : shown.at("deliveries")) {
        CHECK(d.at("state") == "delivered");
        CHECK(d.at("via") == district.agency());
    }
    CHECK(transfer_of(district, id).is_null());  // finished: its chunks are gone
    for (auto* n : {&commune, &district, &north, &south}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}
