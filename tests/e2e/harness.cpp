#include "tests/e2e/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/file.h>
#include <unistd.h>
#include <zmq.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "node/keyfile.h"

namespace lienthong::e2e {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Forks and execs argv with stdin from /dev/null and stdout/stderr to the given files
// (appending). The child dies with the test process. Everything the child touches is
// prepared before fork: only async-signal-safe calls happen in between.
pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path,
            const std::string& cwd = "") {
    // LIENTHONG_E2E_CORE=1: let children dump core (into `cwd`), for post-mortems of crashes.
    const bool core = std::getenv("LIENTHONG_E2E_CORE") != nullptr;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        const int in = ::open("/dev/null", O_RDONLY);
        const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (in < 0 || out < 0 || err < 0) ::_exit(126);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(124);
        if (core) {
            const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
            ::setrlimit(RLIMIT_CORE, &unlimited);
        }
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        // Signals blocked by the test process (none expected) must not leak into the node.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(args[0], args.data());
        ::_exit(125);
    }
    return pid;
}

// Waits for `pid` up to `timeout`. Returns the wait status, or nullopt if still running.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (int i = 0; i < 100000; ++i) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0) return 0;  // not our child any more
        if (Clock::now() >= deadline) break;
        std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

// A port below the kernel's ephemeral range (32768-60999 by default), where no outgoing
// connection's local port can take it between this check and the node's bind: nodes that
// keep reconnecting to unreachable peers use many ephemeral ports. Tests run in parallel
// (ctest -j), each in its own process: a port is claimed with an flock on a file named after
// it, held until this process exits, so two tests never pick the same one. Each is also
// checked free by binding it.
uint16_t free_port() {
    static std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                            static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
    const std::string dir = "/tmp/lienthong-e2e-ports";
    ::mkdir(dir.c_str(), 01777);
    for (int attempt = 0; attempt < 500; ++attempt) {
        const auto port = static_cast<uint16_t>(std::uniform_int_distribution<int>(20000, 32767)(rng));
        const int lock = ::open((dir + "/" + std::to_string(port)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (lock < 0) continue;
        if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {  // another test process holds it
            ::close(lock);
            continue;
        }
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) throw std::runtime_error("socket() failed");
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) return port;  // the lock stays held (fd kept open) until this process exits
        ::close(lock);
    }
    throw std::runtime_error("cannot find a free port on 127.0.0.1 in 20000-32767");
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout, std::chrono::milliseconds step) {
    const auto deadline = Clock::now() + timeout;
    for (int i = 0; i < 1000000; ++i) {
        if (pred()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(step);
    }
    return pred();
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/lt-e2e-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
    if (std::getenv("LIENTHONG_E2E_KEEP")) m_keep = true;
}

TempDir::~TempDir() {
    if (m_keep) {
        std::fprintf(stderr, "e2e: kept %s\n", m_path.c_str());
        return;
    }
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

std::vector<std::string> ProcessResult::err_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    TempDir tmp;
    const std::string out_path = tmp.path() + "/out", err_path = tmp.path() + "/err";
    const pid_t pid = spawn(argv, out_path, err_path);
    ProcessResult r;
    auto status = wait_for(pid, timeout);
    if (!status) {
        r.timed_out = true;
        ::kill(pid, SIGKILL);
        status = wait_for(pid, 5s);
    }
    r.exit_code = status ? exit_code_of(*status) : -1;
    r.out = read_whole(out_path);
    r.err = read_whole(err_path);
    return r;
}

// ---------------------------------------------------------------------------------------------
// TestNode

TestNode::TestNode(std::string agency, NodeOptions opts)
    : m_agency(std::move(agency)), m_opts(std::move(opts)), m_identity(protocol::SecretIdentity::generate(m_agency)) {
    m_port = free_port();
    if (auto st = node::write_key_file(dir() + "/node.key", m_identity); !st.ok())
        throw std::runtime_error(st.error());
}

TestNode::~TestNode() {
    m_client.reset();
    if (m_pid > 0) {
        if (std::uncaught_exceptions() > 0)
            std::fprintf(stderr, "e2e: node %s (pid %d) log tail:\n%s\n", m_agency.c_str(), m_pid, log_tail(40).c_str());
        stop(10s);
    }
    const std::string san = sanitizer_findings();
    if (!san.empty()) std::fprintf(stderr, "e2e: SANITIZER REPORT in %s:\n%s\n", log_path().c_str(), san.c_str());
}

void TestNode::add_peer(const TestNode& other) {
    add_peer(PeerEntry{other.agency(), other.endpoint(), other.identity_line()});
}

void TestNode::add_peer(PeerEntry peer) { m_peers.push_back(std::move(peer)); }

std::string TestNode::config_yaml() const {
    std::ostringstream o;
    o << "agency: \"" << m_agency << "\"\n"
      << "name: \"e2e " << m_agency << "\"\n"
      << "data_dir: data\n"
      << "key_file: node.key\n"
      << "listen: \"" << endpoint() << "\"\n";
    if (m_peers.empty()) o << "peers: []\n";
    else {
        o << "peers:\n";
        for (const auto& p : m_peers)
            o << "  - agency: \"" << p.agency << "\"\n"
              << "    endpoint: \"" << p.endpoint << "\"\n"
              << "    identity: \"" << p.identity_line << "\"\n";
    }
    o << "retry:\n  initial_ms: " << m_opts.retry_initial_ms << "\n  max_ms: " << m_opts.retry_max_ms << "\n"
      << "heartbeat_ms: " << m_opts.heartbeat_ms << "\n"
      << "log_level: " << m_opts.log_level << "\n"
      << m_opts.extra_yaml;
    return o.str();
}

void TestNode::start() {
    if (m_pid > 0) throw std::runtime_error("node " + m_agency + " is already running");
    {
        std::ofstream out(config_path(), std::ios::trunc);
        out << config_yaml();
        if (!out) throw std::runtime_error("cannot write " + config_path());
    }
    // A socket left by a SIGKILLed node would look like a running node.
    ::unlink(socket_path().c_str());
    m_client.reset();
    {
        std::ofstream log(log_path(), std::ios::app);
        log << "# e2e harness: starting " << m_agency << "\n";
    }
    m_pid = spawn({node_bin(), "--config", config_path()}, log_path(), log_path(), dir());
    const auto fail = [&](const std::string& why) {
        const std::string tail = log_tail(20);
        if (m_pid > 0) kill();
        throw std::runtime_error("node " + m_agency + " did not come up: " + why + "\n--- " + log_path() + " ---\n" + tail);
    };
    struct stat st{};
    const bool sock = wait_until(
        [&] {
            if (!running()) return true;
            return ::stat(socket_path().c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
        },
        30s, 10ms);
    if (!running()) fail("it exited with code " + std::to_string(m_last_exit));
    if (!sock) fail("no API socket after 30 s");
    // The socket is bound before peers and signals are set up: wait for a first answer.
    for (int i = 0; i < 20; ++i) {
        if (call({{"op", "status"}}, 1500).ok()) return;
        if (!running()) fail("it exited with code " + std::to_string(m_last_exit));
    }
    fail("its API does not answer");
}

void TestNode::reap(int status) {
    m_last_exit = exit_code_of(status);
    m_pid = -1;
    m_client.reset();
}

bool TestNode::running() {
    if (m_pid <= 0) return false;
    int status = 0;
    const pid_t r = ::waitpid(m_pid, &status, WNOHANG);
    if (r == 0) return true;
    reap(r == m_pid ? status : 0);
    return false;
}

void TestNode::kill() {
    if (m_pid <= 0) return;
    ::kill(m_pid, SIGKILL);
    auto status = wait_for(m_pid, 10s);
    reap(status.value_or(0));
}

int TestNode::stop(std::chrono::milliseconds grace) {
    if (m_pid <= 0) return m_last_exit;
    m_client.reset();
    ::kill(m_pid, SIGTERM);
    auto status = wait_for(m_pid, grace);
    if (!status) {
        std::fprintf(stderr, "e2e: node %s did not stop within %lld ms of SIGTERM; killing it\n", m_agency.c_str(),
                     static_cast<long long>(grace.count()));
        ::kill(m_pid, SIGKILL);
        status = wait_for(m_pid, 10s);
        reap(status.value_or(0));
        m_last_exit = -2;
        return m_last_exit;
    }
    reap(*status);
    return m_last_exit;
}

void TestNode::restart() {
    stop();
    start();
}

Result<json> TestNode::call(const json& request, int timeout_ms) {
    // The client is kept between calls, but its receive timeout is the one it was made with:
    // a call with another timeout (start() polls with 1.5 s; a large send needs 30) gets a
    // client of its own.
    if (!m_client || m_client_timeout_ms != timeout_ms) {
        auto c = node::ApiClient::connect(socket_path(), timeout_ms);
        if (!c.ok()) return c.take_error();
        m_client = std::move(c).value();
        m_client_timeout_ms = timeout_ms;
    }
    auto r = m_client->call(request);
    if (!r.ok()) m_client.reset();
    return r;
}

json TestNode::api(const json& request) {
    auto r = call(request);
    if (!r.ok())
        throw std::runtime_error("API '" + request.value("op", std::string("?")) + "' on " + m_agency +
                                 " failed: " + r.error());
    return std::move(r).value();
}

std::unique_ptr<node::ApiClient> TestNode::client(int timeout_ms) const {
    auto c = node::ApiClient::connect(socket_path(), timeout_ms);
    if (!c.ok()) throw std::runtime_error(c.error());
    return std::move(c).value();
}

std::string TestNode::log_text() const { return read_whole(log_path()); }

bool TestNode::log_contains(std::string_view text) const { return log_text().find(text) != std::string::npos; }

size_t TestNode::log_count(std::string_view text) const {
    const std::string all = log_text();
    size_t n = 0;
    for (size_t p = all.find(text); p != std::string::npos; p = all.find(text, p + text.size())) ++n;
    return n;
}

std::string TestNode::log_tail(size_t lines) const {
    const std::string all = log_text();
    size_t p = all.size();
    for (size_t n = 0; n <= lines && p > 0; ++n) {
        const size_t q = all.rfind('\n', p - 1);
        if (q == std::string::npos) {
            p = 0;
            break;
        }
        p = q;
        if (n == lines) ++p;
    }
    return all.substr(p);
}

std::string TestNode::sanitizer_findings() const {
    std::istringstream in(log_text());
    std::string line, out;
    for (int i = 0; i < 1000000 && std::getline(in, line); ++i)
        if (line.find("Sanitizer") != std::string::npos || line.find("runtime error:") != std::string::npos ||
            line.find("==ERROR") != std::string::npos)
            out += line + "\n";
    return out;
}

// ---------------------------------------------------------------------------------------------
// FakePeer

std::string z85(const std::array<uint8_t, 32>& key) {
    char out[41] = {};
    zmq_z85_encode(out, key.data(), key.size());
    return std::string(out, 40);
}

FakePeer::FakePeer(std::string agency) : m_identity(protocol::SecretIdentity::generate(std::move(agency))) {
    m_dead_port = free_port();
}

FakePeer::~FakePeer() {
    m_dealer.reset();
    m_router.reset();
}

void FakePeer::listen() {
    m_router = std::make_unique<zmq::socket_t>(m_ctx, zmq::socket_type::router);
    m_router->set(zmq::sockopt::linger, 0);
    m_router->set(zmq::sockopt::curve_server, 1);
    m_router->set(zmq::sockopt::curve_secretkey, z85(m_identity.box_secret));
    m_router->bind("tcp://127.0.0.1:" + std::to_string(m_dead_port));
}

std::optional<FakePeer::Listened> FakePeer::recv_listened(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int turns = 0; turns < 10000; ++turns) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        zmq::pollitem_t item{m_router->handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, left) <= 0) return std::nullopt;
        zmq::message_t rid, body;
        if (!m_router->recv(rid, zmq::recv_flags::dontwait) || !rid.more()) continue;
        if (!m_router->recv(body, zmq::recv_flags::dontwait)) continue;
        Listened out;
        out.routing_id.assign(rid.data<uint8_t>(), rid.data<uint8_t>() + rid.size());
        m_last_rid = out.routing_id;
        out.frame = protocol::decode_frame(protocol::ByteView(body.data<uint8_t>(), body.size()), 64u << 20);
        if (out.frame.ok())
            if (const auto* ping = std::get_if<protocol::PingFrame>(&*out.frame)) {
                send_listened(out.routing_id, protocol::PongFrame{ping->nonce});
                continue;
            }
        return out;
    }
    return std::nullopt;
}

void FakePeer::send_listened(const protocol::Bytes& routing_id, const protocol::Frame& f) {
    const auto bytes = protocol::encode_frame(f);
    m_router->send(zmq::buffer(routing_id), zmq::send_flags::sndmore);
    m_router->send(zmq::buffer(bytes), zmq::send_flags::none);
}

size_t table_entries(const TestNode& node, const std::string& table) {
    const auto r = run_process({"/usr/bin/mdb_stat", "-s", table, node.dir() + "/data"}, 10s);
    const auto at = r.out.find("Entries: ");
    if (r.exit_code != 0 || at == std::string::npos)
        throw std::runtime_error("mdb_stat -s " + table + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err);
    return std::stoull(r.out.substr(at + 9));
}

PeerEntry FakePeer::as_peer() const {
    return PeerEntry{m_identity.pub.agency, "tcp://127.0.0.1:" + std::to_string(m_dead_port), m_identity.pub.to_line()};
}

void FakePeer::connect(const TestNode& node) {
    m_dealer = std::make_unique<zmq::socket_t>(m_ctx, zmq::socket_type::dealer);
    m_dealer->set(zmq::sockopt::linger, 0);
    m_dealer->set(zmq::sockopt::curve_serverkey, z85(node.identity().pub.box_key));
    m_dealer->set(zmq::sockopt::curve_publickey, z85(m_identity.pub.box_key));
    m_dealer->set(zmq::sockopt::curve_secretkey, z85(m_identity.box_secret));
    m_dealer->connect(node.endpoint());
}

void FakePeer::send_frame(const protocol::Frame& f) { send_parts({protocol::encode_frame(f)}); }

void FakePeer::send_parts(const std::vector<protocol::Bytes>& parts) {
    for (size_t i = 0; i < parts.size(); ++i) {
        const auto flags = i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
        if (!m_dealer->send(zmq::buffer(parts[i]), flags)) throw std::runtime_error("fake peer: send would block");
    }
}

std::optional<Result<protocol::Frame>> FakePeer::recv_frame(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{m_dealer->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
    std::vector<zmq::message_t> parts;
    for (int i = 0; i < 8; ++i) {
        zmq::message_t m;
        if (!m_dealer->recv(m, zmq::recv_flags::dontwait)) break;
        const bool more = m.more();
        parts.push_back(std::move(m));
        if (!more) break;
    }
    if (parts.empty()) return std::nullopt;
    if (parts.size() > 1) return Result<protocol::Frame>(make_error("frame sent in more than one part"));
    return protocol::decode_frame(protocol::ByteView(parts[0].data<uint8_t>(), parts[0].size()), 64u << 20);
}

protocol::Bytes random_bytes(std::mt19937_64& rng, size_t n) {
    protocol::Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
}

protocol::Bytes bin(const json& j) {
    const auto& b = j.get_binary();
    return protocol::Bytes(b.begin(), b.end());
}

TestDoc make_doc(int index, std::mt19937_64& rng, size_t n_attachments, size_t max_bytes) {
    TestDoc d;
    d.subject = "Công văn số " + std::to_string(index) + " về việc thử nghiệm liên thông";
    d.body = random_bytes(rng, 16 + rng() % 2048);
    for (size_t i = 0; i < n_attachments; ++i)
        d.attachments.push_back({"phu-luc-" + std::to_string(index) + "-" + std::to_string(i) + (i % 2 ? ".pdf" : ".edxml"),
                                 i % 2 ? "application/pdf" : "application/xml",
                                 random_bytes(rng, 1 + rng() % max_bytes)});
    return d;
}

json send_request(const std::vector<std::string>& to, const TestDoc& d) {
    json atts = json::array();
    for (const auto& a : d.attachments)
        atts.push_back({{"name", a.name}, {"mime", a.mime}, {"data", json::binary(a.data)}});
    return json{{"op", "send"}, {"to", to}, {"subject", d.subject}, {"body", json::binary(d.body)}, {"attachments", atts}};
}

std::vector<std::string> inbox_ids(TestNode& node) {
    const json r = node.api({{"op", "inbox"}, {"limit", 100000}});
    std::vector<std::string> ids;
    for (const auto& d : r.at("documents")) ids.push_back(d.at("id").get<std::string>());
    return ids;
}

std::vector<std::string> outbox_ids(TestNode& node, bool pending) {
    const json r = node.api({{"op", "outbox"}, {"limit", 100000}, {"pending", pending}});
    std::vector<std::string> ids;
    for (const auto& d : r.at("documents")) ids.push_back(d.at("id").get<std::string>());
    return ids;
}

uint64_t status_counter(const json& status, const std::string& name) {
    const auto& c = status.at("counters");
    if (name == "rejected") {
        uint64_t sum = 0;
        for (const auto& [k, v] : c.at("rejected").items()) sum += v.get<uint64_t>();
        return sum;
    }
    return c.at(name).get<uint64_t>();
}

}  // namespace lienthong::e2e
