// ServiceNotifier: tells the service manager how the node is doing, with sd_notify(3):
// READY=1 once the node serves, WATCHDOG=1 from the event loop, RELOADING=1 around a reload
// (SIGHUP), STOPPING=1 at shutdown, and a STATUS= line for `systemctl status`.
//
// Under systemd's Type=notify unit (deploy/lienthong.service) NOTIFY_SOCKET is set and
// WatchdogSec= sets WATCHDOG_USEC; elsewhere (started by hand, in tests) every call is a no-op.
// The watchdog is fed only by feed(), called once per loop turn: a loop that stops turning
// stops feeding it, and systemd restarts the node. Time is the monotonic clock, not the
// node's injectable Clock: the watchdog measures real time whatever a test clock says.
// Thread-safety: loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lienthong::node {

class ServiceNotifier {
public:
    ServiceNotifier();
    // The watchdog interval systemd asked for; 0 when there is none.
    std::chrono::microseconds watchdog_interval() const { return m_watchdog; }
    void ready(const std::string& status);
    void reloading();
    void reloaded(const std::string& status);
    void stopping();
    // Sends WATCHDOG=1 when half the watchdog interval has passed since the last one.
    void feed();

private:
    void notify(const std::string& state) const;
    std::chrono::microseconds m_watchdog{0};
    std::chrono::steady_clock::time_point m_last_feed{};
};

}  // namespace lienthong::node
