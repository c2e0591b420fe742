// The benchmark's measurements, each run against a started Cluster.
//
// Every wait is bounded by `timeout`; a phase that cannot finish throws with the reason. All
// figures are end to end: a document counts only once the sender has committed the
// recipient's verified, signed receipt (its outbox is empty again).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/cluster.h"

namespace lienthong::bench {

// Set by the bench's signal thread; every wait loop checks it and throws.
extern std::atomic<bool> g_interrupted;

// Cost counters of one node over one phase.
struct NodeDelta {
    uint64_t commits = 0;       // LMDB write transactions (each one is a durable commit)
    double cpu_s = 0;
    double loop_cpu_s = 0;      // the event-loop thread on a CPU
    double loop_wait_s = 0;     // the event-loop thread runnable, waiting for a CPU
    int64_t db_growth = 0;      // bytes data.mdb grew by
    uint64_t retransmits = 0;   // go-back retransmissions on the link (sender only)
    uint64_t received = 0;      // documents newly stored in the inbox
    uint64_t duplicates = 0;    // documents that arrived again and were answered from the inbox
    uint64_t receipts = 0;      // receipts verified and committed
};

struct Percentiles {
    size_t n = 0;
    double p50 = 0, p99 = 0, max = 0;
};
Percentiles percentiles(std::vector<double> v);

struct ThroughputResult {
    std::string name;
    size_t docs = 0;
    size_t body_bytes = 0;
    size_t senders = 0;
    size_t batch = 1;     // documents per request (above 1: send_batch)
    double accept_s = 0;  // first send until the last send call returned (committed at sender)
    double total_s = 0;   // first send until the sender's outbox was empty
    NodeDelta sender, receiver;
    bool relayed = false;  // the documents crossed a relay, whose costs are in `relay`
    NodeDelta relay;
    double bench_cpu_s = 0;   // this program's own CPU time over the phase
    Percentiles node_latency_ms;  // acked_ms - queued_ms of a sample, under load
    size_t receipts_checked = 0;  // receipts re-verified through the API ('receipt' op)
};

struct LatencyResult {
    Percentiles node_ms;    // acked_ms - queued_ms, as the sender node records them
    Percentiles client_ms;  // send call issued -> outbox seen empty, measured by the bench
    NodeDelta sender, receiver;
};

struct PhaseOptions {
    std::chrono::seconds timeout{300};
};

ThroughputResult run_throughput(const Cluster& cluster, const std::string& name, size_t docs, size_t body_bytes,
                                size_t senders, size_t batch, const PhaseOptions& options);
// The same from `from` to `to`, nodes of `cluster`; `via`, when not null, is the relay the
// documents cross (its costs are measured too).
ThroughputResult run_throughput(const Cluster& cluster, const NodeHandle& from, const NodeHandle& to,
                                const NodeHandle* via, const std::string& name, size_t docs, size_t body_bytes,
                                size_t senders, size_t batch, const PhaseOptions& options);
LatencyResult run_latency(const Cluster& cluster, size_t samples, size_t body_bytes, const PhaseOptions& options);

}  // namespace lienthong::bench
