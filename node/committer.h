// Committer: runs write transactions on its own thread, one at a time, so the event loop keeps
// receiving, verifying and sealing the next batch while the current one is being fsync'd
// (pipelined group commit).
//
// Thread-safety: submit(), busy() and take() are called from the loop thread only. The job
// runs on the committer thread and must touch nothing the loop thread mutates. The loop
// learns of completion by polling notify_fd() (an eventfd).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "storage/lmdb.h"

namespace lienthong::node {

class Committer {
public:
    using Job = std::function<Status(storage::WriteTxn&)>;
    struct Done {
        Status status;
        bool map_full = false;
        uint64_t micros = 0;  // the transaction with its fsync
    };

    explicit Committer(storage::Env& env);
    ~Committer();
    Committer(const Committer&) = delete;
    Committer& operator=(const Committer&) = delete;

    int notify_fd() const { return m_event_fd; }
    bool busy() const { return m_busy; }
    // REQUIRES: !busy()
    void submit(Job job);
    // The result of the submitted job once it finished (and clears busy()); nullopt before.
    std::optional<Done> take();
    // Blocks until the submitted job finished. REQUIRES: busy()
    Done wait();

private:
    void run();

    storage::Env& m_env;
    int m_event_fd = -1;
    bool m_busy = false;  // loop thread only
    std::mutex m_mu;
    std::condition_variable m_cv;
    std::optional<Job> m_job;
    std::optional<Done> m_done;
    bool m_stop = false;
    std::thread m_thread;
};

}  // namespace lienthong::node
