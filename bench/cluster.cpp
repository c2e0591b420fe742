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

// `n` distinct free TCP ports on 127.0.0.1, all held open until the last is chosen.
std::vector<int> free_ports(size_t n) {
    std::vector<int> fds, ports;
    for (size_t i = 0; i < n; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            const int err = errno;
            if (fd >= 0) ::close(fd);
            for (int f : fds) ::close(f);
            fail(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(err));
        }
        fds.push_back(fd);
        ports.push_back(ntohs(a.sin_port));
    }
    for (int f : fds) ::close(f);
    return ports;
}

struct PeerLine {
    std::string agency, endpoint, identity;
};

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) fail("cannot write " + path);
}

// `default_via`: the relay for every recipient not reached directly ("" for none).
std::string node_yaml(const NodeHandle& n, const std::vector<PeerLine>& peers, const std::string& default_via,
                      const ClusterOptions& o) {
    std::ostringstream y;
    y << "agency: \"" << n.agency << "\"\n"
      << "name: \"bench " << n.name << "\"\n"
      << "data_dir: data\n"
      << "key_file: node.key\n"
      << "listen: \"" << n.listen << "\"\n"
      << "peers:\n";
    for (const auto& p : peers)
        y << "  - agency: \"" << p.agency << "\"\n"
          << "    endpoint: \"" << p.endpoint << "\"\n"
          << "    identity: \"" << p.identity << "\"\n";
    y << "log_level: warn\n";  // per-document info lines would distort the figures
    // The route is taken once the direct link has been down fallback_ms (here: never made).
    if (!default_via.empty()) y << "relay:\n  default_via: \"" << default_via << "\"\n  fallback_ms: 200\n";
    if (o.chunk_threshold_bytes || o.window_bytes || o.window_documents) y << "limits:\n";
    if (o.chunk_threshold_bytes) y << "  chunk_threshold_bytes: " << o.chunk_threshold_bytes << "\n";
    if (o.window_bytes) y << "  window_bytes: " << o.window_bytes << "\n";
    if (o.window_documents) y << "  window_documents: " << o.window_documents << "\n";
    if (!o.audit) y << "audit:\n  enabled: false\n";
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

    const size_t n = count();
    const std::vector<int> ports = free_ports(n + 2);  // n + 1: an endpoint nobody listens on; n + 2: vdxp
    const char* names[2][3] = {{"sender", "receiver", ""}, {"commune", "province", "district"}};
    const char* agencies[2][3] = {{"000.00.00.B01", "000.00.00.B02", ""},
                                  {"000.01.01.C01", "000.00.00.P01", "000.01.00.D01"}};
    const int kind = m_options.relay ? 1 : 0;
    protocol::SecretIdentity ids[3];
    for (size_t i = 0; i < n; ++i) {
        auto& h = m_nodes[i];
        h.name = names[kind][i];
        h.agency = agencies[kind][i];
        h.dir = m_dir + "/" + h.name;
        h.api_socket = h.dir + "/data/api.sock";
        h.listen = "tcp://127.0.0.1:" + std::to_string(ports[i]);
        std::filesystem::create_directories(h.dir);
        ids[i] = protocol::SecretIdentity::generate(h.agency);
        if (auto st = node::write_key_file(h.dir + "/node.key", ids[i]); !st.ok()) fail(st.error());
    }
    const std::string nowhere = "tcp://127.0.0.1:" + std::to_string(ports[n]);
    const auto peer = [&](size_t i, bool reachable) {
        return PeerLine{m_nodes[i].agency, reachable ? m_nodes[i].listen : nowhere, ids[i].pub.to_line()};
    };
    if (!m_options.relay) {
        for (size_t i = 0; i < 2; ++i)
            write_text(m_nodes[i].dir + "/node.yaml", node_yaml(m_nodes[i], {peer(1 - i, true)}, "", m_options));
        if (m_options.vdxp) {  // the sender serves the hub API, its agency the one system
            m_vdxp_port = static_cast<uint16_t>(ports[n + 1]);
            write_text(m_nodes[0].dir + "/vdxp.secret", m_vdxp_secret + "\n");
            std::ofstream(m_nodes[0].dir + "/node.yaml", std::ios::app)
                << "vdxp:\n  listen: \"127.0.0.1:" << m_vdxp_port << "\"\n  systems:\n    - systemid: \""
                << m_nodes[0].agency << "\"\n      secret_file: vdxp.secret\n";
        }
    } else {
        // Commune and province know each other's identity, not a working endpoint: the
        // district carries between them.
        const std::string district = m_nodes[2].agency;
        write_text(m_nodes[0].dir + "/node.yaml",
                   node_yaml(m_nodes[0], {peer(2, true), peer(1, false)}, district, m_options));
        write_text(m_nodes[1].dir + "/node.yaml",
                   node_yaml(m_nodes[1], {peer(2, true), peer(0, false)}, district, m_options));
        write_text(m_nodes[2].dir + "/node.yaml",
                   node_yaml(m_nodes[2], {peer(0, true), peer(1, true)}, "", m_options));
    }
    for (size_t i = 0; i < n; ++i) spawn(m_nodes[i]);
    wait_ready();
    if (m_options.relay) wait_routed();
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
    for (size_t i = 0; i < count(); ++i) {
        const auto& n = m_nodes[i];
        while (!std::filesystem::exists(n.api_socket)) {
            check_alive();
            if (Clock::now() > deadline) fail(n.name + " node did not open its API socket in time; see " + n.dir + "/node.log");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    // Ready means each node has completed the CURVE handshake to its neighbours (the
    // district has two).
    for (size_t i = 0; i < count(); ++i) {
        const auto& n = m_nodes[i];
        const int neighbours = i == 2 ? 2 : 1;
        auto client = node::ApiClient::connect(n.api_socket, 2000);
        if (!client.ok()) fail(client.error());
        for (;;) {
            check_alive();
            auto st = (*client)->call({{"op", "status"}});
            if (!st.ok()) fail(n.name + " node: " + st.error());
            if ((*st).value("peers_connected", 0) == neighbours) break;
            if (Clock::now() > deadline) fail(n.name + " node did not connect to its peer in time; see " + n.dir + "/node.log");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
}

// The commune sends to the province through the district once its direct link has been down
// relay.fallback_ms: wait until its peer list says so, so that no phase waits for it.
void Cluster::wait_routed() {
    const auto deadline = Clock::now() + m_options.start_timeout;
    auto client = node::ApiClient::connect(m_nodes[0].api_socket, 2000);
    if (!client.ok()) fail(client.error());
    for (;;) {
        check_alive();
        auto peers = (*client)->call({{"op", "peer_list"}});
        if (!peers.ok()) fail(m_nodes[0].name + " node: " + peers.error());
        for (const auto& p : (*peers).at("peers"))
            if (p.value("agency", "") == m_nodes[1].agency && p.value("via", "") == m_nodes[2].agency) return;
        if (Clock::now() > deadline)
            fail("the commune does not route the province through the district; see " + m_nodes[0].dir + "/node.log");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
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
