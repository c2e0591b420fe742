// A backlog for a peer that comes back (issue 4, acceptance 4), with real nodes: 10,000
// documents queue for a recipient that is down; when it returns it gets every one, exactly
// once, while a second peer's traffic keeps flowing (each link has its own window, so the
// backlog cannot starve it), and the sender's memory stays under a stated bound (what is in
// flight is bounded by the window; the backlog stays in LMDB, not in memory).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

namespace {

constexpr size_t kBacklog = 10000;
// The sender's peak resident memory, at most: the core issue's 100 MiB per node. Under ASan
// a node holds up to 256 MiB of freed memory in quarantine besides shadow and redzones
// (measured: 656 MiB; 176 MiB with ASAN_OPTIONS=quarantine_size_mb=32), so the bound there
// only catches a runaway.
#ifdef __SANITIZE_ADDRESS__
constexpr uint64_t kMemoryBoundKib = 1024 * 1024;
#else
constexpr uint64_t kMemoryBoundKib = 100 * 1024;
#endif

uint64_t vm_hwm_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
    return 0;
}

uint64_t inbox_total(TestNode& n) {
    auto r = n.call({{"op", "status"}}, 5000);
    return r.ok() ? (*r)["inbox_total"].get<uint64_t>() : 0;
}

json small_doc(const std::string& to, size_t i) {
    std::string body(1024, 'a' + static_cast<char>(i % 26));
    return {{"op", "send"},
            {"to", json::array({to})},
            {"subject", "văn bản tồn " + std::to_string(i)},
            {"body", json::binary(std::vector<uint8_t>(body.begin(), body.end()))}};
}

}  // namespace

TEST_CASE("a 10000-document backlog drains while another peer keeps flowing", "[e2e]") {
    NodeOptions defaults;  // the shipped retry policy (the harness's default is a fast 100 ms)
    defaults.retry_initial_ms = 500;
    defaults.retry_max_ms = 30000;
    TestNode sender("000.00.00.S01", defaults), returning("000.00.00.B01"), steady("000.00.00.C01");
    sender.add_peer(returning);
    sender.add_peer(steady);
    returning.add_peer(sender);
    steady.add_peer(sender);
    sender.start();
    steady.start();

    // The backlog: four clients submitting at once (their commits share fsyncs).
    std::atomic<size_t> next{0}, failed{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c)
        clients.emplace_back([&] {
            auto client = sender.client();
            for (size_t i = next++; i < kBacklog; i = next++)
                if (auto r = client->call(small_doc(returning.agency(), i)); !r.ok()) ++failed;
        });
    for (auto& t : clients) t.join();
    REQUIRE(failed == 0);
    CHECK(sender.api({{"op", "status"}}).at("outbox_pending").get<uint64_t>() >= kBacklog);

    // The peer returns; while its backlog drains the other peer is sent 100 documents, one at
    // a time, each timed from submission to its verified receipt.
    const auto back = std::chrono::steady_clock::now();
    returning.start();
    // Once the backlog is flowing (the sender reconnects on its own backoff schedule) ...
    REQUIRE(wait_until([&] { return inbox_total(returning) > 0; }, 60s, 20ms));
    const uint64_t backlog_at_start_of_steady = inbox_total(returning);
    std::vector<double> latencies_ms;
    size_t backlog_at_end_of_steady = 0;
    for (size_t i = 0; i < 100; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::string id = sender.api(small_doc(steady.agency(), i)).at("id");
        REQUIRE(wait_until([&] { return has_receipt(sender, id); }, 20s, 2ms));
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    backlog_at_end_of_steady = inbox_total(returning);
    REQUIRE(wait_until([&] { return inbox_total(returning) == kBacklog; }, 180s, 200ms));
    const double drain_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - back).count();
    REQUIRE(wait_until([&] { return sender.api({{"op", "status"}}).at("outbox_pending").get<uint64_t>() == 0; }, 60s, 200ms));

    std::sort(latencies_ms.begin(), latencies_ms.end());
    const uint64_t hwm = vm_hwm_kib(sender.pid());
    WARN("backlog of " << kBacklog << " drained in " << drain_s << " s; the other peer's 100 documents: p50 "
                       << latencies_ms[50] << " ms, max " << latencies_ms.back() << " ms, while the returning peer went from "
                       << backlog_at_start_of_steady << " to " << backlog_at_end_of_steady << "; sender VmHWM "
                       << hwm / 1024 << " MiB");
    CHECK(inbox_ids(steady).size() == 100);
    CHECK(inbox_total(returning) == kBacklog);  // each exactly once: the inbox is keyed by message id
    // Copies sent again because a receipt was slow to come (the inbox holds each once anyway):
    // a small part of the backlog at most.
    const uint64_t duplicates = status_counter(returning.api({{"op", "status"}}), "duplicates");
    WARN("documents the returning peer was sent twice: " << duplicates);
    CHECK(duplicates < kBacklog / 10);
    CHECK(latencies_ms.back() < 5000);  // never starved behind the backlog
    CHECK(backlog_at_start_of_steady < kBacklog / 2);  // the two flows overlapped
    CHECK(hwm < kMemoryBoundKib);
    for (auto* n : {&sender, &returning, &steady}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}
