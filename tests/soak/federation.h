// The soak test's federation: lienthong-node processes, one in each namespace of a
// deploy/testbed/testbed.sh testbed, peered over the testbed's private addresses. Two
// topologies (--topology):
//
// "five" (the default):
//   node 1  P   province   000.00.00.P01   links: D1 D2 C1
//   node 2  D1  district   000.01.00.D01   links: P D2 C1       default_via P
//   node 3  D2  district   000.02.00.D02   links: P D1 C2       default_via P
//   node 4  C1  commune    000.01.01.C01   links: D1 P          default_via D1
//   node 5  C2  commune    000.02.01.C02   links: D2            default_via D2
// The province reaches a district's communes through that district (routes "000.01" and
// "000.02"), a district the other district's commune through that district. A district
// reaches its own commune only directly (a route to the commune via the commune itself), so
// nothing loops. C1 -> C2 crosses two relays (D1, D2).
//
// "tree": a province as it runs, no link across the tree (issue 16):
//   node 1  P    province  000.00.00.P01   links: D1 D2     routes 000.01 via D1, 000.02 via D2
//   node 2  D1   district  000.01.00.D01   links: P C11 C12 default_via P
//   node 3  D2   district  000.02.00.D02   links: P C21 C22 default_via P
//   node 4  C11  commune   000.01.01.C11   links: D1        default_via D1
//   node 5  C12  commune   000.01.02.C12   links: D1        default_via D1
//   node 6  C21  commune   000.02.01.C21   links: D2        default_via D2
//   node 7  C22  commune   000.02.02.C22   links: D2        default_via D2
// A commune reaches everything through its district; C11 -> C22 crosses three relays (D1,
// P, D2).
//
// In both, every node pins every other node's identity (a document is sealed to its
// recipient), but only the linked pairs get each other's real endpoint; the others get a
// port nobody listens on, so their direct link can never be made and they go through relays.
//
// Thread-safety: use_topology() once, before anything else. Federation's methods may be
// called from the traffic and chaos threads at once; per-node locking (who may kill a node
// while a send is in progress) is the caller's.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/soak/process.h"

namespace lienthong::soak {

using nlohmann::json;

// The most nodes a topology has.
constexpr size_t kMaxNodes = 8;

struct Route {
    std::string to;  // an agency code or a prefix
    size_t via;      // node index
};

struct NodeSpec {
    std::string role;               // P, D1, D2, C1, ...
    std::string agency;             // its agency code
    size_t default_via = SIZE_MAX;  // node index; SIZE_MAX: none
    std::vector<Route> routes;
};

// Selects the topology by name ("five" or "tree"); false if there is no such topology.
bool use_topology(const std::string& name);
const std::string& topology_name();
// The testbed subnet of the topology (each its own, so a leftover of one never collides).
const std::string& topology_subnet();
// The nodes of the topology, in testbed node order (index 0 is testbed node 1).
const std::vector<NodeSpec>& node_specs();
// Whether nodes a and b (0-based) have a direct link in the topology.
bool linked(size_t a, size_t b);
// The nodes an envelope crosses from a to b (both included), following the relay routes;
// only where the links form a tree (the "tree" topology), else empty.
std::vector<size_t> tree_path(size_t a, size_t b);

class Federation {
  public:
    // tb: testbed.sh; name: the testbed's name; work: a short directory (the API socket path
    // must fit in 108 bytes) for configs, keys and databases.
    Federation(std::string tb, std::string node_bin, std::string admin_bin, std::string name,
               std::string work);

    // testbed.sh COMMAND --name NAME ARGS...; deadline 60 s.
    CommandResult testbed(const std::string& command, const std::vector<std::string>& args) const;
    // Creates keys and configs for the nodes (testbed must be up).
    void configure();
    // Starts node i (0-based) in its namespace and waits until its API answers.
    void start(size_t i);
    // Waits until node i's API answers, up to `limit`; false if it did not.
    bool wait_api(size_t i, std::chrono::milliseconds limit) const;
    // lienthong-admin -c <node i's config> ARGS...; deadline 40 s (the client's own is 30 s).
    CommandResult admin(size_t i, const std::vector<std::string>& args) const;
    // admin(i, args + --json) parsed; nullopt (and `error` set) if it failed.
    std::optional<json> admin_json(size_t i, std::vector<std::string> args,
                                   std::string* error = nullptr) const;

    // The pid testbed.sh recorded for node i's process, if that process is alive (not a
    // zombie, same start time).
    std::optional<int> live_pid(size_t i) const;
    // VmHWM (peak resident set) of node i's live process in KiB, or 0.
    uint64_t peak_rss_kib(size_t i) const;
    // What node i's interface has sent since the testbed came up (every run of the node:
    // the namespace outlives it): bytes, and TCP segments its kernel sent again. nullopt if
    // it could not be read.
    struct WireCount {
        uint64_t tx_bytes = 0;
        uint64_t retrans_segments = 0;
    };
    std::optional<WireCount> wire(size_t i) const;
    // Node i's log (every run of it) as testbed.sh kept it.
    std::string log_path(size_t i) const;
    std::string config_path(size_t i) const;
    const std::string& work() const { return m_work; }
    size_t size() const { return node_specs().size(); }

  private:
    std::string m_tb, m_node_bin, m_admin_bin, m_name, m_work;
    std::vector<std::string> m_addr;
};

}  // namespace lienthong::soak
