#include "bench/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "node/api_client.h"
#include "node/keyfile.h"
#include "protocol/identity.h"

namespace lienthong::bench {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// Two distinct free TCP ports on 127.0.0.1, both held open while the second is chosen.
std::pair<int, int> free_ports() {
    int fds[2] = {-1, -1}, ports[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fds[i] < 0 || ::bind(fds[i], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fds[i], reinterpret_cast<sockaddr*>(&a), &len) != 0)
            fail(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(errno));
        ports[i] = ntohs(a.sin_port);
    }
    ::close(fds[0]);
    ::close(fds[1]);
    return {ports[0], ports[1]};
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) fail("cannot write " + path);
}

std::string node_yaml(const NodeHandle& n, const std::string& peer_agency, const std::string& peer_listen,
                      const std::string& peer_identity, const ClusterOptions& o) {
    std::ostringstream y;
    y << "agency: \"" << n.agency << "\"\n"
      << "name: \"bench " << n.name << "\"\n"
      << "data_dir: data\n"
      << "key_file: node.key\n"
      << "listen: \"" << n.listen << "\"\n"
      << "peers:\n"
      << "  - agency: \"" << peer_agency << "\"\n"
      << "    endpoint: \"" << peer_listen << "\"\n"
      << "    identity: \"" << peer_identity << "\"\n"
      << "log_level: warn\n";  // per-document info lines would distort the figures
    if (o.chunk_threshold_bytes || o.window_bytes || o.window_documents) y << "limits:\n";
    if (o.chunk_threshold_bytes) y << "  chunk_threshold_bytes: " << o.chunk_threshold_bytes << "\n";
    if (o.window_bytes) y << "  window_bytes: " << o.window_bytes << "\n";
    if (o.window_documents) y << "  window_documents: " << o.window_documents << "\n";
    return y.str();
}

// How the process ended ("exit status 2", "killed by signal 9"), or nothing while it runs.
std::optional<std::string> exited(pid_t pid) {
    siginfo_t si{};
    // WNOWAIT: look without reaping, so stop() still owns the wait.
    if (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) != 0) return "gone";
    if (si.si_pid != pid) return std::nullopt;
    if (si.si_code == CLD_EXITED) return "exit status " + std::to_string(si.si_status);
    return "killed by signal " + std::to_string(si.si_status);
}

// The last lines of a node's log, for an error message (the directory may be removed next).
std::string log_tail(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) {
        lines.push_back(l.substr(0, 300));
        if (lines.size() > 3) lines.erase(lines.begin());
    }
    std::string out;
    for (const auto& l : lines) out += "\n    " + l;
    return out.empty() ? " (log is empty)" : out;
}

uint64_t field_kib(const std::string& text, const std::string& key) {
    std::string needle(1, '\n');
    needle.append(key).push_back(':');
    const auto at = text.find(needle);
    if (at == std::string::npos) return 0;
    return std::strtoull(text.c_str() + at + key.size() + 2, nullptr, 10);
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

ProcStats read_proc_stats(pid_t pid) {
    ProcStats s;
    const std::string base = "/proc/" + std::to_string(pid);
    std::string status(1, '\n');
    status.append(slurp(base + "/status"));
    s.vm_hwm_kib = field_kib(status, "VmHWM");
    s.vm_rss_kib = field_kib(status, "VmRSS");
    s.rss_anon_kib = field_kib(status, "RssAnon");
    s.rss_file_kib = field_kib(status, "RssFile");
    // /proc/PID/stat: utime and stime are fields 14 and 15, counted after the ")" of comm.
    const std::string stat = slurp(base + "/stat");
    if (const auto rp = stat.rfind(')'); rp != std::string::npos) {
        std::istringstream in(stat.substr(rp + 2));
        std::string field;
        unsigned long long utime = 0, stime = 0;
        for (int i = 3; i <= 15 && (in >> field); ++i) {
            if (i == 14) utime = std::stoull(field);
            if (i == 15) stime = std::stoull(field);
        }
        s.cpu_s = double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
    }
    std::istringstream sched(slurp(base + "/schedstat"));
    unsigned long long on_cpu_ns = 0, wait_ns = 0;
    if (sched >> on_cpu_ns >> wait_ns) {
        s.loop_cpu_s = double(on_cpu_ns) / 1e9;
        s.loop_wait_s = double(wait_ns) / 1e9;
    }
    return s;
}

void Cluster::start() {
    std::string templ = m_options.work_parent + "/lienthong-bench.XXXXXX";
    if (!::mkdtemp(templ.data()))
        fail("cannot create a temporary directory in " + m_options.work_parent + ": " + std::strerror(errno));
    {
        std::lock_guard lock(m_stop_mutex);
        m_dir = templ;
    }

    const auto [port_a, port_b] = free_ports();
    const char* names[2] = {"sender", "receiver"};
    const char* agencies[2] = {"000.00.00.B01", "000.00.00.B02"};
    protocol::SecretIdentity ids[2];
    for (int i = 0; i < 2; ++i) {
        auto& n = m_nodes[i];
        n.name = names[i];
        n.agency = agencies[i];
        n.dir = m_dir + "/" + n.name;
        n.api_socket = n.dir + "/data/api.sock";
        n.listen = "tcp://127.0.0.1:" + std::to_string(i == 0 ? port_a : port_b);
        std::filesystem::create_directories(n.dir);
        ids[i] = protocol::SecretIdentity::generate(n.agency);
        if (auto st = node::write_key_file(n.dir + "/node.key", ids[i]); !st.ok()) fail(st.error());
    }
    for (int i = 0; i < 2; ++i) {
        const auto& peer = m_nodes[1 - i];
        write_text(m_nodes[i].dir + "/node.yaml",
                   node_yaml(m_nodes[i], peer.agency, peer.listen, ids[1 - i].pub.to_line(), m_options));
    }
    for (auto& n : m_nodes) spawn(n);
    wait_ready();
}

void Cluster::spawn(NodeHandle& n) {
    const std::string config = n.dir + "/node.yaml", log = n.dir + "/node.log";
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) fail(std::string("fork failed: ") + std::strerror(errno));
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        // Its own process group, so stop() also reaches a wrapper's child (--node-bin may be a
        // script running the node under strace or valgrind).
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the bench blocks signals for its own thread
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        const char* argv[] = {m_options.node_bin.c_str(), "--config", config.c_str(), nullptr};
        ::execv(argv[0], const_cast<char* const*>(argv));
        static const char msg[] = "lienthong-bench: cannot execute the node binary (see --node-bin)\n";
        if (::write(2, msg, sizeof msg - 1) < 0) ::_exit(127);
        ::_exit(127);
    }
    std::lock_guard lock(m_stop_mutex);
    n.pid = pid;
    ::setpgid(pid, pid);  // also here, so the group exists before any kill(-pid) below
    if (m_stopped) ::kill(-pid, SIGKILL);  // stop() ran meanwhile (an interrupt)
}

void Cluster::wait_ready() {
    const auto deadline = Clock::now() + m_options.start_timeout;
    for (auto& n : m_nodes) {
        while (!std::filesystem::exists(n.api_socket)) {
            check_alive();
            if (Clock::now() > deadline) fail(n.name + " node did not open its API socket in time; see " + n.dir + "/node.log");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    // Ready means each node has completed the CURVE handshake to the other.
    for (auto& n : m_nodes) {
        auto client = node::ApiClient::connect(n.api_socket, 2000);
        if (!client.ok()) fail(client.error());
        for (;;) {
            check_alive();
            auto st = (*client)->call({{"op", "status"}});
            if (!st.ok()) fail(n.name + " node: " + st.error());
            if ((*st).value("peers_connected", 0) == 1) break;
            if (Clock::now() > deadline) fail(n.name + " node did not connect to its peer in time; see " + n.dir + "/node.log");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
}

void Cluster::check_alive() const {
    for (const auto& n : m_nodes) {
        if (n.pid <= 0) continue;
        if (const auto how = exited(n.pid))
            fail(n.name + " node (pid " + std::to_string(n.pid) + ", " + m_options.node_bin + ") ended with " + *how +
                 "; its log " + n.dir + "/node.log ends:" + log_tail(n.dir + "/node.log"));
    }
}

std::string Cluster::filesystem() const {
    struct statfs s{};
    if (::statfs(m_dir.c_str(), &s) != 0) return "unknown";
    switch (static_cast<unsigned long>(s.f_type)) {
        case 0xEF53: return "ext4";
        case 0x01021994: return "tmpfs (fsync is free: figures overstate a disk)";
        case 0x58465342: return "xfs";
        case 0x9123683E: return "btrfs";
        case 0x794c7630: return "overlayfs";
        default: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(s.f_type));
            return buf;
        }
    }
}

void Cluster::stop() {
    std::lock_guard lock(m_stop_mutex);
    if (m_stopped) return;
    m_stopped = true;
    for (auto& n : m_nodes)
        if (n.pid > 0) ::kill(-n.pid, SIGTERM);
    const auto deadline = Clock::now() + m_options.stop_timeout;
    for (auto& n : m_nodes) {
        if (n.pid <= 0) continue;
        while (::waitpid(n.pid, nullptr, WNOHANG) == 0) {
            if (Clock::now() > deadline) {
                ::kill(-n.pid, SIGKILL);
                ::waitpid(n.pid, nullptr, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ::kill(-n.pid, SIGKILL);  // whatever a wrapper left behind in the group
        n.pid = -1;
    }
    if (m_dir.empty()) return;
    if (m_options.keep_dirs) {
        std::fprintf(stderr, "lienthong-bench: kept %s\n", m_dir.c_str());
    } else {
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
    }
}

Cluster::~Cluster() { stop(); }

}  // namespace lienthong::bench
