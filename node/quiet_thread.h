// Threads besides the event loop never take a signal: the loop reads SIGTERM and SIGINT from a
// signalfd. The new thread inherits a fully blocked mask from its creator, so no signal can
// reach it even in its first instant.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace lienthong::node {

template <class F>
std::thread start_quiet_thread(F&& f) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    std::thread t(std::forward<F>(f));
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return t;
}

}  // namespace lienthong::node
