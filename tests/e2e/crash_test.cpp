// Crash safety: a node SIGKILLed in the middle of a stream of documents loses nothing it
// acknowledged and delivers nothing twice, whether it is the sender or the recipient.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

namespace {

constexpr int kThreads = 4;
constexpr int kDocuments = 1000;

uint64_t status_field(TestNode& n, const char* field) { return n.api({{"op", "status"}}).at(field).get<uint64_t>(); }

// Sends kDocuments (split over kThreads API clients) to `to` through `node`'s API, each
// thread stopping at its first failed call. Collects the id of every acknowledged send.
class Senders {
public:
    Senders(TestNode& node, std::string to) {
        for (int t = 0; t < kThreads; ++t)
            m_threads.emplace_back([this, &node, to, t] { run(node, to, t); });
    }
    ~Senders() { join(); }
    void join() {
        for (auto& th : m_threads)
            if (th.joinable()) th.join();
    }
    size_t acked() const { return m_acked_count.load(); }
    std::set<std::string> ids() {
        std::lock_guard lock(m_mu);
        return m_ids;
    }
    size_t failures() const { return m_failures.load(); }
    std::string errors() {
        std::lock_guard lock(m_mu);
        return m_errors;
    }

private:
    void run(TestNode& node, const std::string& to, int t) {
        std::mt19937_64 rng(1000 + t);
        auto c = lienthong::node::ApiClient::connect(node.socket_path(), 5000);
        if (!c.ok()) {
            fail(t, c.error());
            return;
        }
        for (int i = 0; i < kDocuments / kThreads; ++i) {
            auto r = (*c)->call(send_request({to}, make_doc(t * 100000 + i, rng, 1, 2048)));
            if (!r.ok()) {
                fail(t, r.error());
                return;  // the node is gone: this call's fate is unknown, stop here
            }
            std::lock_guard lock(m_mu);
            m_ids.insert((*r).at("id").get<std::string>());
            ++m_acked_count;
        }
    }

    void fail(int t, const std::string& error) {
        ++m_failures;
        std::lock_guard lock(m_mu);
        m_errors += "thread " + std::to_string(t) + " after " + std::to_string(m_acked_count.load()) +
                    " acknowledged: " + error + "\n";
    }

    std::vector<std::thread> m_threads;
    std::string m_errors;
    std::mutex m_mu;
    std::set<std::string> m_ids;
    std::atomic<size_t> m_acked_count{0};
    std::atomic<size_t> m_failures{0};
};

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_CASE("a sender SIGKILLed mid-stream delivers every acknowledged document exactly once after restart",
          "[e2e][faults]") {
    TestNode a("000.00.01.H44"), b("000.00.02.H44");
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();

    std::set<std::string> acked;
    {
        Senders senders(a, b.agency());
        REQUIRE(wait_until([&] { return senders.acked() >= 300; }, 60s, 1ms));
        a.kill();  // mid-stream: the API threads are still sending
        senders.join();
        acked = senders.ids();
        CHECK(senders.failures() == kThreads);  // every thread saw the node die
    }
    INFO("acknowledged sends before the kill: " << acked.size());
    REQUIRE(acked.size() >= 300);
    REQUIRE(acked.size() < static_cast<size_t>(kDocuments));

    a.start();
    REQUIRE(wait_until([&] { return status_field(a, "outbox_pending") == 0; }, 60s, 50ms));

    // What A holds: every acknowledged send, plus at most one per thread whose answer the
    // kill swallowed (committed, but the client never heard back).
    const auto stored = as_set(outbox_ids(a, false));
    for (const auto& id : acked) CHECK(stored.count(id) == 1);
    CHECK(stored.size() >= acked.size());
    CHECK(stored.size() <= acked.size() + kThreads);

    // B: each of them exactly once, nothing else.
    const auto inbox = inbox_ids(b);
    CHECK(inbox.size() == stored.size());
    CHECK(as_set(inbox).size() == inbox.size());
    CHECK(as_set(inbox) == stored);
    CHECK(status_field(b, "inbox_total") == stored.size());

    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
    CHECK(b.sanitizer_findings().empty());
}

TEST_CASE("a recipient SIGKILLed while receiving gets every document exactly once after restart", "[e2e][faults]") {
    TestNode a("000.00.01.H45"), b("000.00.02.H45");
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();

    std::set<std::string> acked;
    {
        Senders senders(a, b.agency());
        // Kill B twice while documents stream in, restarting it each time.
        for (const uint64_t threshold : {150u, 450u}) {
            REQUIRE(wait_until([&] { return !a.running() || status_field(b, "inbox_total") >= threshold; }, 60s, 2ms));
            if (!a.running()) break;
            b.kill();
            std::this_thread::sleep_for(300ms);  // A notices the link is down, keeps queueing
            b.start();
        }
        senders.join();
        acked = senders.ids();
        // The sender must survive its recipient's crashes (see the regression case below).
        INFO("sender log: " << a.log_tail(3));
        REQUIRE(a.running());
        INFO(senders.errors());
        CHECK(senders.failures() == 0);
        CHECK(acked.size() == static_cast<size_t>(kDocuments));
    }
    REQUIRE(acked.size() >= 150);

    REQUIRE(wait_until([&] { return status_field(a, "outbox_pending") == 0; }, 90s, 50ms));
    const auto stored = as_set(outbox_ids(a, false));
    for (const auto& id : acked) CHECK(stored.count(id) == 1);
    CHECK(stored.size() == acked.size());
    const auto inbox = inbox_ids(b);
    CHECK(inbox.size() == stored.size());
    CHECK(as_set(inbox).size() == inbox.size());
    CHECK(as_set(inbox) == stored);
    CHECK(status_field(b, "inbox_total") == stored.size());
    // Every receipt made it back and verifies (a sample keeps the test fast).
    size_t checked = 0;
    for (const auto& id : stored) {
        if (++checked % 10 != 0) continue;
        const json r = a.api({{"op", "receipt"}, {"id", id}});
        REQUIRE(r.at("receipts").size() == 1);
        CHECK(r.at("receipts")[0].at("signature_valid") == true);
        CHECK(r.at("receipts")[0].at("hash_matches") == true);
    }

    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
    CHECK(b.sanitizer_findings().empty());
}

// Regression: the sender used to abort ("Assertion failed: !_more (src/fq.cpp:112)") when
// its recipient was SIGKILLed while receipts streamed back: libzmq 4.3.4 dropped the link
// between the two parts of a frame it was reading. Frames are now one part.
TEST_CASE("a sender keeps running when its recipient is SIGKILLed while receipts stream back",
          "[e2e][faults]") {
    TestNode a("000.00.01.H46"), b("000.00.02.H46");
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();
    {
        Senders senders(a, b.agency());
        for (const uint64_t threshold : {100u, 300u, 500u, 700u}) {
            if (!wait_until([&] { return !a.running() || status_field(b, "inbox_total") >= threshold; }, 60s, 2ms) ||
                !a.running())
                break;
            b.kill();
            INFO("after killing the recipient at " << threshold << " documents; sender log: " << a.log_tail(2));
            CHECK(wait_until([&] { return !a.running(); }, 300ms, 10ms) == false);
            b.start();
            if (!a.running()) break;
        }
        senders.join();
        INFO(senders.errors());
        CHECK(senders.failures() == 0);
    }
    CHECK(a.running());
    CHECK_FALSE(a.log_contains("Assertion failed"));
    if (a.running()) CHECK(wait_until([&] { return status_field(a, "outbox_pending") == 0; }, 90s, 50ms));
}
