// ForkJoin (node/fork_join.h): every item runs exactly once, on the caller and the helpers,
// and run() returns only after the last one.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "node/fork_join.h"

using lienthong::node::ForkJoin;

TEST_CASE("ForkJoin runs each item exactly once and returns after the last", "[node]") {
    for (size_t helpers : {0, 1, 3}) {
        ForkJoin pool(helpers);
        CHECK(pool.helpers() == helpers);
        for (size_t n : {0, 1, 2, 17, 1000}) {
            std::vector<std::atomic<int>> hits(n);
            pool.run(n, [&](size_t i) { hits[i].fetch_add(1); });
            for (size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
        }
    }
}

TEST_CASE("ForkJoin shares the work with its helpers and waits for a slow item", "[node]") {
    ForkJoin pool(2);
    std::mutex mu;
    std::set<std::thread::id> threads;
    std::atomic<int> done{0};
    // Items that take a while, so the helpers wake up in time to take some.
    pool.run(24, [&](size_t i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(i == 23 ? 50 : 5));
        {
            std::lock_guard lock(mu);
            threads.insert(std::this_thread::get_id());
        }
        done.fetch_add(1);
    });
    CHECK(done.load() == 24);  // the slowest item finished before run() returned
    CHECK(threads.size() > 1);
    CHECK(threads.count(std::this_thread::get_id()) == 1);  // the caller works too
}

TEST_CASE("ForkJoin runs many short jobs back to back without losing or repeating an item", "[node]") {
    ForkJoin pool(3);
    for (int round = 0; round < 2000; ++round) {
        const size_t n = 1 + static_cast<size_t>(round % 40);
        std::vector<int> hits(n, 0);  // each index written by one thread only
        pool.run(n, [&](size_t i) { ++hits[i]; });
        for (size_t i = 0; i < n; ++i) REQUIRE(hits[i] == 1);
    }
}
