// The national hub's HTTP API (../shared/vdxp/SPEC.md) served by the node, so that a document
// system built on the hub's SDK switches over by changing its `endpoint` (config vdxp.listen,
// off by default). README "Connecting a document system" says how.
//
// cpp-httplib (Debian libcpp-httplib-dev, already serving /metrics) runs the connections on
// its own pool of threads (vdxp.threads): a slow or idle client holds one of them, never the
// event loop. A worker checks the request (size, method, the HMAC signature against the
// system's secret, the parameters), then hands it to the event loop as one local-API request
// over an in-process ZeroMQ socket (api_vdxp.cpp) and waits for the answer: uploads join the
// loop's group commit and are answered once durable. Answers are the hub's JSON envelope,
// ASCII only, never a JSON null.
//
// Thread-safety: start() and the destructor from one thread; everything else on HTTP threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "node/log.h"
#include "node/metrics.h"
#include "node/vdxp_systems.h"
#include "protocol/result.h"

namespace httplib {
class Server;
}
namespace zmq {
class context_t;
}

namespace lienthong::node {

struct VdxpHttpOptions {
    std::string listen;         // HOST:PORT
    std::string loop_endpoint;  // the node's in-process API endpoint
    uint64_t threads = 32;
    uint64_t idle_timeout_s = 2;
    uint64_t read_timeout_s = 10;
    uint64_t max_body_bytes = 64ull << 20;
    uint64_t loop_timeout_ms = 60000;  // a request the loop has not answered by then fails
};

class VdxpHttp {
public:
    // Binds now (an error names the address) and serves on its own threads.
    static Result<std::unique_ptr<VdxpHttp>> start(const VdxpHttpOptions& options, zmq::context_t& context,
                                                   std::shared_ptr<const VdxpRegistry> systems, const Logger& log);
    ~VdxpHttp();
    VdxpHttp(const VdxpHttp&) = delete;

    // What /metrics shows: requests by call (the known calls, else "other") and ErrorCode ("0"
    // for OK), and how long each took. A copy, taken under the lock the HTTP threads use.
    struct Stats {
        std::map<std::pair<std::string, std::string>, uint64_t> requests;
        Histogram seconds{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}};
    };
    Stats stats() const;
    VdxpHttp& operator=(const VdxpHttp&) = delete;

    struct Impl;

private:
    VdxpHttp() = default;
    std::unique_ptr<Impl> m_impl;
    std::unique_ptr<httplib::Server> m_server;
    std::thread m_thread;
};

}  // namespace lienthong::node
