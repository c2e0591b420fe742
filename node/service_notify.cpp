#include "node/service_notify.h"

#include <systemd/sd-daemon.h>

namespace lienthong::node {

ServiceNotifier::ServiceNotifier() {
    uint64_t usec = 0;
    // > 0 only when the watchdog is on and meant for this process (WATCHDOG_PID, if set).
    if (sd_watchdog_enabled(0, &usec) > 0) m_watchdog = std::chrono::microseconds(usec);
}

void ServiceNotifier::notify(const std::string& state) const {
    // Without NOTIFY_SOCKET sd_notify returns 0 and sends nothing; a failure to send is not the
    // node's to act on (systemd then sees no READY or WATCHDOG and acts itself).
    (void)sd_notify(0, state.c_str());
}

void ServiceNotifier::ready(const std::string& status) {
    notify("READY=1\nSTATUS=" + status);
    m_last_feed = std::chrono::steady_clock::now();
}

void ServiceNotifier::reloading() { notify("RELOADING=1\nSTATUS=reloading the config"); }

void ServiceNotifier::reloaded(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

void ServiceNotifier::stopping() { notify("STOPPING=1\nSTATUS=stopping"); }

void ServiceNotifier::feed() {
    if (m_watchdog.count() == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - m_last_feed < m_watchdog / 2) return;
    notify("WATCHDOG=1");
    m_last_feed = now;
}

}  // namespace lienthong::node
