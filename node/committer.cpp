#include "node/committer.h"

#include <chrono>

#include <sys/eventfd.h>
#include <unistd.h>

#include "node/quiet_thread.h"

namespace lienthong::node {

Committer::Committer(storage::Env& env) : m_env(env) {
    m_event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    m_thread = start_quiet_thread([this] { run(); });
}

Committer::~Committer() {
    {
        std::lock_guard lock(m_mu);
        m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
    if (m_event_fd >= 0) ::close(m_event_fd);
}

void Committer::submit(Job job) {
    {
        std::lock_guard lock(m_mu);
        m_job = std::move(job);
        m_done.reset();
    }
    m_busy = true;
    m_cv.notify_all();
}

std::optional<Committer::Done> Committer::take() {
    uint64_t n = 0;
    if (::read(m_event_fd, &n, sizeof n) < 0) {
        // nothing signalled yet; the mutex-protected state below is authoritative
    }
    std::lock_guard lock(m_mu);
    if (!m_done) return std::nullopt;
    auto out = std::move(m_done);
    m_done.reset();
    m_busy = false;
    return out;
}

Committer::Done Committer::wait() {
    std::unique_lock lock(m_mu);
    m_cv.wait(lock, [&] { return m_done.has_value(); });
    Done out = std::move(*m_done);
    m_done.reset();
    m_busy = false;
    return out;
}

void Committer::run() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(m_mu);
            m_cv.wait(lock, [&] { return m_stop || m_job.has_value(); });
            if (!m_job) return;  // stopping with nothing left to do
            job = std::move(*m_job);
            m_job.reset();
        }
        Done done{ok_status(), false};
        const auto started = std::chrono::steady_clock::now();
        done.status = m_env.write_once(job, done.map_full);
        done.micros = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
        {
            std::lock_guard lock(m_mu);
            m_done = std::move(done);
        }
        m_cv.notify_all();
        const uint64_t one = 1;
        if (::write(m_event_fd, &one, sizeof one) < 0) {
            // the counter cannot overflow at one write per commit
        }
    }
}

}  // namespace lienthong::node
