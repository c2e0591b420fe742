// The chaos of the soak test: a seeded schedule of faults on the testbed — two linked nodes
// cut from each other, a node cut from everyone, random loss (5-30%) or a rate cap on a
// node's link, a node SIGKILLed and restarted — each lasting a random while. The schedule
// (when, what, where, how long) is drawn from the seed alone before anything runs, so a seed
// reproduces it; an event that would repeat a fault in effect, or take down a third node, is
// skipped when its time comes (and says so).
//
// The "tree" topology adds fixed events to the random ones, drawn from the seed too and
// never skipped (a random fault in their way is ended first): one commune capped at
// 256 kbit/s for the whole span, a whole district cut from everyone for 30 s, and each
// district SIGKILLed twice mid-transfer (when its own `transfers` or a neighbour's lists a
// chunked transfer to or from it; after 10 s without one it is killed anyway, and says so).
//
// NodeGate is how the traffic thread and the chaos agree on which nodes may be used: the
// chaos holds a node's mutex while it kills or restarts it, the traffic holds it while it
// submits a document, so a send never straddles a kill (its outcome is always known).
//
// Thread-safety: run() and heal_all() on one thread; NodeGate is shared with others.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tests/soak/federation.h"

namespace lienthong::soak {

struct NodeGate {
    std::array<std::mutex, kMaxNodes> lock;
    std::array<bool, kMaxNodes> up{};  // guarded by lock[i]: the node runs and answers its API
};

// What a node did in runs the chaos ended with SIGKILL: a killed process takes its counters
// and its VmHWM with it, so they are read just before the kill.
struct NodeHistory {
    uint64_t kills = 0;
    uint64_t peak_rss_kib = 0;                      // highest VmHWM over killed runs
    json counters_of_killed_runs = json::object();  // numeric counters summed over them
    uint64_t chunk_bytes_sent_of_killed_runs = 0;   // peer_list chunk_bytes_sent, summed
};

class Chaos {
  public:
    // Draws the schedule for `span` from `seed`.
    Chaos(Federation& fed, NodeGate& gate, uint64_t seed, std::chrono::milliseconds span);

    // Runs the schedule from now; returns at the end of the span (or at `stop`), with the
    // faults then in effect left in place.
    void run(const std::atomic<bool>& stop);
    // Removes every loss, cap and cut, and restarts every node that is down (waiting for its
    // API). False if some node could not be brought back.
    bool heal_all();
    // Nodes found dead that the chaos had not killed: one line each, with their log's tail.
    const std::vector<std::string>& crashes() const { return m_crashes; }
    // testbed.sh commands that failed (a broken run, not a finding about the nodes).
    const std::vector<std::string>& errors() const { return m_errors; }
    const std::vector<NodeHistory>& history() const { return m_history; }
    // Events done and skipped, by kind.
    std::string summary() const;

  private:
    enum class Kind { cut_pair, cut_node, loss, rate, kill, kill_relay };
    static constexpr size_t kKinds = 6;
    struct Event {
        std::chrono::milliseconds at;  // from the start of run()
        Kind kind;
        size_t node, peer;                // peer: cut_pair only
        unsigned value;                   // loss percent, rate kbit
        std::chrono::milliseconds lasts;  // until healed, or until restarted
        bool fixed = false;               // never skipped: a fault in its way is ended first
    };
    struct Fault {
        Event event;
        std::chrono::steady_clock::time_point ends;
    };
    // A kill_relay whose time has come, waiting for a transfer at its node.
    struct Armed {
        Event event;
        std::chrono::steady_clock::time_point since, next_poll;
    };

    void plan(uint64_t seed, std::chrono::milliseconds span);
    void plan_tree(uint64_t seed, std::chrono::milliseconds span);
    bool start(const Event& e);
    void make_way(const Event& e);
    void poll_armed();
    bool transfer_under_way(size_t i) const;
    void end(const Fault& f);
    void kill_node(size_t i);
    bool restart_node(size_t i);
    void check_alive();
    bool tb(const std::string& command, const std::vector<std::string>& args);
    bool in_effect(Kind k, size_t node, size_t peer = SIZE_MAX) const;
    bool down(size_t node) const;
    size_t nodes_down() const;
    static std::string describe(const Event& e);

    Federation& m_fed;
    NodeGate& m_gate;
    std::chrono::milliseconds m_span;
    std::vector<Event> m_plan;
    std::vector<Fault> m_faults;
    std::vector<Armed> m_armed;
    std::vector<NodeHistory> m_history;
    std::array<unsigned, kKinds> m_done{}, m_skipped{};
    unsigned m_mid_transfer = 0;  // kill_relay events that found a transfer under way
    std::vector<std::string> m_crashes;
    std::vector<std::string> m_errors;
};

}  // namespace lienthong::soak
