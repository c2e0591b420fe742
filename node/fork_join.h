// ForkJoin: a few helper threads that share one loop's independent items with the calling
// thread. The event loop uses it to check the signatures of a burst of arriving documents in
// parallel: an Ed25519 verification is most of what a receiver spends per document.
//
// run(n, f) calls f(i) once for every i < n, on the helpers and on the caller, and returns when
// every call has returned. Items are claimed under a lock, so a helper that wakes late (its
// CPU was busy) finds nothing left and never holds up the caller. f must not touch state the
// other items write.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lienthong::node {

class ForkJoin {
public:
    // helpers: threads besides the caller (0: run() is a plain loop).
    explicit ForkJoin(size_t helpers);
    ~ForkJoin();
    ForkJoin(const ForkJoin&) = delete;
    ForkJoin& operator=(const ForkJoin&) = delete;

    size_t helpers() const { return m_threads.size(); }
    void run(size_t n, const std::function<void(size_t)>& f);

private:
    void helper();
    // Runs items of job `generation` until none is left.
    void drain(uint64_t generation);

    std::vector<std::thread> m_threads;
    std::mutex m_mu;
    std::condition_variable m_wake;  // a new job, or stop
    std::condition_variable m_done;  // the last item of the job returned
    const std::function<void(size_t)>* m_job = nullptr;
    uint64_t m_generation = 0;
    size_t m_n = 0, m_next = 0, m_finished = 0;
    bool m_stop = false;
};

// Helper threads for this machine: one per further core, at most `cap`.
size_t default_helpers(size_t cap = 3);

}  // namespace lienthong::node
