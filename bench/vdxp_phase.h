// The hub API phase of lienthong-bench: document systems' sendEdoc calls over HTTP, signed as
// the SDK signs them (tests/e2e/vdxp_client.h), each answered once durable.
#pragma once

#include "bench/cluster.h"
#include "bench/phases.h"

namespace lienthong::bench {

struct VdxpResult {
    size_t docs = 0;
    size_t clients = 0;
    size_t file_bytes = 0;
    double seconds = 0;        // first call until the last answer
    double delivered_s = 0;    // first call until the sender's outbox was empty (receipts verified)
    Percentiles latency_ms;    // each call, request written -> answer read
    size_t failed = 0;         // answers that were not OK
    std::string first_error;
};

// `docs` distinct 1 KiB edXML documents sender -> receiver through the sender's vdxp.listen,
// from `clients` concurrent HTTP clients.
VdxpResult run_vdxp_send(const Cluster& cluster, size_t docs, size_t clients);

}  // namespace lienthong::bench
