#include "node/fork_join.h"

#include <algorithm>

#include "node/quiet_thread.h"

namespace lienthong::node {

ForkJoin::ForkJoin(size_t helpers) {
    for (size_t i = 0; i < helpers; ++i) m_threads.push_back(start_quiet_thread([this] { helper(); }));
}

ForkJoin::~ForkJoin() {
    {
        std::lock_guard lock(m_mu);
        m_stop = true;
    }
    m_wake.notify_all();
    for (auto& t : m_threads) t.join();
}

void ForkJoin::run(size_t n, const std::function<void(size_t)>& f) {
    if (m_threads.empty() || n < 2) {
        for (size_t i = 0; i < n; ++i) f(i);
        return;
    }
    uint64_t generation = 0;
    {
        std::lock_guard lock(m_mu);
        m_job = &f;
        m_n = n;
        m_next = 0;
        m_finished = 0;
        generation = ++m_generation;
    }
    m_wake.notify_all();
    drain(generation);
    std::unique_lock lock(m_mu);
    m_done.wait(lock, [&] { return m_finished == m_n; });
    m_job = nullptr;
}

void ForkJoin::drain(uint64_t generation) {
    for (;;) {
        size_t i = 0;
        const std::function<void(size_t)>* job = nullptr;
        {
            std::lock_guard lock(m_mu);
            if (m_generation != generation || m_next >= m_n) return;
            i = m_next++;
            job = m_job;
        }
        (*job)(i);
        std::lock_guard lock(m_mu);
        if (++m_finished == m_n) m_done.notify_one();
    }
}

void ForkJoin::helper() {
    uint64_t seen = 0;
    for (;;) {
        uint64_t generation = 0;
        {
            std::unique_lock lock(m_mu);
            m_wake.wait(lock, [&] { return m_stop || m_generation != seen; });
            if (m_stop) return;
            seen = generation = m_generation;
        }
        drain(generation);
    }
}

size_t default_helpers(size_t cap) {
    const unsigned cores = std::thread::hardware_concurrency();
    return cores > 1 ? std::min<size_t>(cores - 1, cap) : 0;
}

}  // namespace lienthong::node
