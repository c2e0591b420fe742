// The node's HTTP listener (config `http.listen`, off by default): /metrics for Prometheus,
// /health and /ready for a load balancer or systemd-less supervisor.
//
// It runs cpp-httplib (Debian libcpp-httplib-dev: a small, well-kept embedded HTTP/1.1 server
// with its own worker threads, so a slow client never blocks the event loop) on its own
// thread, and touches nothing of the node but the ServiceBoard: the event loop posts the
// rendered metrics page and its health there, the HTTP threads only read it.
//
//   GET /metrics  200, the page the loop rendered last (at most a second old); 503 before the first
//   GET /health   200 "ok" while the event loop turned within the last second and the last commit
//                 (or the idle probe the loop writes every few seconds) succeeded; 503 naming what
//                 failed otherwise
//   GET /ready    as /health, and 503 until the node has opened its sockets and serves peers
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "protocol/result.h"

namespace httplib {
class Server;
}

namespace lienthong::node {

struct ServiceBoard {
    std::atomic<uint64_t> loop_turn_ms{0};  // steady clock, ms: when the event loop last turned
    std::atomic<bool> ready{false};
    std::mutex mu;
    std::string metrics;   // guarded by mu
    std::string db_error;  // guarded by mu: the last commit's failure; empty when it succeeded
};

uint64_t steady_ms();

// What /health answers at steady time `now_ms`: empty when healthy, else the reason.
std::string health_problem(ServiceBoard& board, uint64_t now_ms);

class HttpService {
public:
    // Binds host:port now (an error names the address), serves on its own thread.
    static Result<std::unique_ptr<HttpService>> start(const std::string& listen, std::shared_ptr<ServiceBoard> board);
    ~HttpService();
    HttpService(const HttpService&) = delete;
    HttpService& operator=(const HttpService&) = delete;

private:
    HttpService() = default;
    std::shared_ptr<ServiceBoard> m_board;
    std::unique_ptr<httplib::Server> m_server;
    std::thread m_thread;
};

}  // namespace lienthong::node
