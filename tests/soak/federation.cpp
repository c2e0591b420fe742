#include "tests/soak/federation.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lienthong::soak {

namespace {

constexpr int kPort = 7001;
constexpr int kDeadPort = 7999;  // nobody listens here: a direct link that can never be made

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string run_dir() {
    const char* d = std::getenv("TESTBED_RUN_DIR");
    return d && *d ? d : "/run/lienthong-testbed";
}

// Relay configuration of each node, by role (see the table in federation.h).
std::string relay_yaml(const std::string& role) {
    const auto& s = node_specs();
    std::ostringstream o;
    o << "relay:\n  fallback_ms: 3000\n  max_hops: 4\n";
    const auto route = [&](const std::string& to, const std::string& via) {
        o << "    - {to: \"" << to << "\", via: \"" << via << "\"}\n";
    };
    if (role == "P") {
        o << "  routes:\n";
        route("000.01", s[1].agency);
        route("000.02", s[2].agency);
    } else if (role == "D1") {
        o << "  default_via: \"" << s[0].agency << "\"\n  routes:\n";
        route("000.02", s[2].agency);
        route(s[3].agency, s[3].agency);
    } else if (role == "D2") {
        o << "  default_via: \"" << s[0].agency << "\"\n  routes:\n";
        route("000.01", s[1].agency);
        route(s[4].agency, s[4].agency);
    } else if (role == "C1") {
        o << "  default_via: \"" << s[1].agency << "\"\n";
    } else {
        o << "  default_via: \"" << s[2].agency << "\"\n";
    }
    return o.str();
}

}  // namespace

const std::vector<NodeSpec>& node_specs() {
    static const std::vector<NodeSpec> specs = {{"P", "000.00.00.P01"},
                                                {"D1", "000.01.00.D01"},
                                                {"D2", "000.02.00.D02"},
                                                {"C1", "000.01.01.C01"},
                                                {"C2", "000.02.01.C02"}};
    return specs;
}

bool linked(size_t a, size_t b) {
    static const bool links[5][5] = {{false, true, true, true, false},
                                     {true, false, true, true, false},
                                     {true, true, false, false, true},
                                     {true, true, false, false, false},
                                     {false, false, true, false, false}};
    return a < 5 && b < 5 && links[a][b];
}

Federation::Federation(std::string tb, std::string node_bin, std::string admin_bin,
                       std::string name, std::string work)
    : m_tb(std::move(tb)),
      m_node_bin(std::move(node_bin)),
      m_admin_bin(std::move(admin_bin)),
      m_name(std::move(name)),
      m_work(std::move(work)) {}

CommandResult Federation::testbed(const std::string& command,
                                  const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {m_tb, command, "--name", m_name};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, std::chrono::seconds(60));
}

std::string Federation::config_path(size_t i) const {
    return m_work + "/n" + std::to_string(i + 1) + "/node.yaml";
}

std::string Federation::log_path(size_t i) const {
    return run_dir() + "/" + m_name + "/log/" + std::to_string(i + 1) + ".log";
}

CommandResult Federation::admin(size_t i, const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {m_admin_bin, "-c", config_path(i)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, std::chrono::seconds(40));
}

std::optional<json> Federation::admin_json(size_t i, std::vector<std::string> args,
                                           std::string* error) const {
    args.push_back("--json");
    const CommandResult r = admin(i, args);
    if (!r.ok()) {
        if (error) *error = r.describe();
        return std::nullopt;
    }
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded()) {
        if (error) *error = "lienthong-admin printed no JSON: " + r.out.substr(0, 200);
        return std::nullopt;
    }
    return j;
}

void Federation::configure() {
    const auto& specs = node_specs();
    m_addr.clear();
    for (size_t i = 0; i < specs.size(); ++i) {
        const CommandResult a = testbed("addr", {"--node", std::to_string(i + 1)});
        if (!a.ok())
            throw std::runtime_error("testbed.sh addr --node " + std::to_string(i + 1) + ": " +
                                     a.describe());
        m_addr.push_back(a.out.substr(0, a.out.find('\n')));
    }
    std::vector<std::string> identity(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
        const std::string dir = m_work + "/n" + std::to_string(i + 1);
        const CommandResult init = run_command(
            {m_admin_bin, "init", "--agency", specs[i].agency, "--name", "soak " + specs[i].role,
             "--listen", "tcp://" + m_addr[i] + ":" + std::to_string(kPort), "--dir", dir},
            std::chrono::seconds(30));
        if (!init.ok())
            throw std::runtime_error("lienthong-admin init for " + specs[i].role + ": " +
                                     init.describe());
        std::string err;
        const auto id = admin_json(i, {"id"}, &err);
        if (!id) throw std::runtime_error("lienthong-admin id for " + specs[i].role + ": " + err);
        identity[i] = id->at("identity").get<std::string>();
    }
    // The skeleton 'init' wrote is replaced: every key the soak depends on is set here.
    for (size_t i = 0; i < specs.size(); ++i) {
        std::ostringstream o;
        o << "agency: \"" << specs[i].agency << "\"\n"
          << "name: \"soak " << specs[i].role << "\"\n"
          << "data_dir: data\nkey_file: node.key\n"
          << "listen: \"tcp://" << m_addr[i] << ":" << kPort << "\"\n"
          << "peers:\n";
        for (size_t j = 0; j < specs.size(); ++j) {
            if (j == i) continue;
            o << "  - agency: \"" << specs[j].agency << "\"\n"
              << "    endpoint: \"tcp://" << m_addr[j] << ":" << (linked(i, j) ? kPort : kDeadPort)
              << "\"\n"
              << "    identity: \"" << identity[j] << "\"\n";
        }
        // Quick reconnects and a short silence limit: a healed link must come back well
        // within the 60 s the acceptance allows.
        o << "retry:\n  initial_ms: 200\n  max_ms: 2000\n"
          << "heartbeat_ms: 500\nheartbeat_timeout_ms: 5000\n"
          << relay_yaml(specs[i].role) << "log_level: info\n";
        std::ofstream out(config_path(i), std::ios::trunc);
        out << o.str();
        if (!out) throw std::runtime_error("cannot write " + config_path(i));
    }
}

void Federation::start(size_t i) {
    const CommandResult r = testbed(
        "run", {"--node", std::to_string(i + 1), "--", m_node_bin, "--config", config_path(i)});
    if (!r.ok())
        throw std::runtime_error("testbed.sh run node " + std::to_string(i + 1) + ": " +
                                 r.describe());
    if (!wait_api(i, std::chrono::seconds(30)))
        throw std::runtime_error("node " + node_specs()[i].role +
                                 " did not answer its API within 30 s of its start");
}

bool Federation::wait_api(size_t i, std::chrono::milliseconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        // A SIGKILLed node leaves its socket file behind: ask only a live process.
        if (live_pid(i) && run_command({m_admin_bin, "-c", config_path(i), "status", "--json"},
                                       std::chrono::seconds(5))
                               .ok())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

std::optional<int> Federation::live_pid(size_t i) const {
    std::istringstream rec(
        read_all(run_dir() + "/" + m_name + "/proc/" + std::to_string(i + 1) + ".pid"));
    int pid = 0;
    std::string start;
    if (!(rec >> pid >> start) || pid <= 0) return std::nullopt;
    const std::string stat = read_all("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream f(stat.substr(close + 2));
    std::vector<std::string> fields;
    for (std::string w; f >> w;) fields.push_back(w);
    // fields[0] is the state, fields[19] the start time (fields 3 and 22 of /proc/PID/stat).
    if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X" || fields[19] != start)
        return std::nullopt;
    return pid;
}

uint64_t Federation::peak_rss_kib(size_t i) const {
    const auto pid = live_pid(i);
    if (!pid) return 0;
    std::istringstream in(read_all("/proc/" + std::to_string(*pid) + "/status"));
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
    return 0;
}

}  // namespace lienthong::soak
