#include "node/http_service.h"

#include <httplib.h>

#include <chrono>

#include "node/config.h"

namespace lienthong::node {

namespace {
constexpr uint64_t kLoopStallMs = 1000;  // the event loop turns at least every 250 ms when idle
}  // namespace

uint64_t steady_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

std::string health_problem(ServiceBoard& board, uint64_t now_ms) {
    std::string problem;
    const uint64_t turn = board.loop_turn_ms.load();
    if (turn == 0 || now_ms > turn + kLoopStallMs)
        problem = "event loop has not turned for " + std::to_string(turn == 0 ? 0 : now_ms - turn) +
                  " ms (the node is stuck: see its log, restart it)";
    std::lock_guard lock(board.mu);
    if (!board.db_error.empty())
        problem += std::string(problem.empty() ? "" : "; ") + "database cannot be written: " + board.db_error;
    return problem;
}

Result<std::unique_ptr<HttpService>> HttpService::start(const std::string& listen, std::shared_ptr<ServiceBoard> board) {
    std::string host;
    uint16_t port = 0;
    LT_TRY(parse_http_listen(listen, host, port));
    std::unique_ptr<HttpService> s(new HttpService());
    s->m_board = board;
    s->m_server = std::make_unique<httplib::Server>();
    auto& srv = *s->m_server;
    // Two workers: scrapes and probes are small; a client that stalls holds one for 5 s at most.
    srv.new_task_queue = [] { return new httplib::ThreadPool(2); };
    srv.set_read_timeout(5, 0);
    srv.set_write_timeout(5, 0);
    srv.set_keep_alive_max_count(100);
    srv.set_payload_max_length(64 * 1024);
    srv.Get("/metrics", [board](const httplib::Request&, httplib::Response& res) {
        std::lock_guard lock(board->mu);
        if (board->metrics.empty()) {
            res.status = 503;
            res.set_content("metrics not rendered yet; try again in a second\n", "text/plain");
            return;
        }
        res.set_content(board->metrics, "text/plain; version=0.0.4; charset=utf-8");
    });
    srv.Get("/health", [board](const httplib::Request&, httplib::Response& res) {
        const std::string problem = health_problem(*board, steady_ms());
        res.status = problem.empty() ? 200 : 503;
        res.set_content(problem.empty() ? "ok\n" : problem + "\n", "text/plain");
    });
    srv.Get("/ready", [board](const httplib::Request&, httplib::Response& res) {
        std::string problem = health_problem(*board, steady_ms());
        if (!board->ready.load()) problem = "starting or stopping" + (problem.empty() ? "" : "; " + problem);
        res.status = problem.empty() ? 200 : 503;
        res.set_content(problem.empty() ? "ready\n" : problem + "\n", "text/plain");
    });
    if (!srv.bind_to_port(host.c_str(), port))
        return make_error("cannot listen on http.listen " + listen + ": the address is in use or not on this machine");
    s->m_thread = std::thread([&srv] { srv.listen_after_bind(); });
    return s;
}

HttpService::~HttpService() {
    if (m_server) m_server->stop();
    if (m_thread.joinable()) m_thread.join();
}

}  // namespace lienthong::node
