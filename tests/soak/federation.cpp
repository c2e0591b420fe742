#include "tests/soak/federation.h"

#include <algorithm>
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

// Relay configuration of node i (see the tables in federation.h).
std::string relay_yaml(size_t i) {
    const auto& s = node_specs();
    std::ostringstream o;
    o << "relay:\n  fallback_ms: 3000\n  max_hops: 4\n";
    if (s[i].default_via != SIZE_MAX) o << "  default_via: \"" << s[s[i].default_via].agency << "\"\n";
    if (!s[i].routes.empty()) o << "  routes:\n";
    for (const auto& r : s[i].routes)
        o << "    - {to: \"" << r.to << "\", via: \"" << s[r.via].agency << "\"}\n";
    return o.str();
}

struct Topology {
    std::string name;
    std::string subnet;
    std::vector<NodeSpec> nodes;
    std::vector<std::pair<size_t, size_t>> links;
};

std::vector<Topology> make_topologies() {
    Topology five{"five",
                  "10.79.0.0/24",
                  {{"P", "000.00.00.P01", SIZE_MAX, {{"000.01", 1}, {"000.02", 2}}},
                   {"D1", "000.01.00.D01", 0, {{"000.02", 2}, {"000.01.01.C01", 3}}},
                   {"D2", "000.02.00.D02", 0, {{"000.01", 1}, {"000.02.01.C02", 4}}},
                   {"C1", "000.01.01.C01", 1, {}},
                   {"C2", "000.02.01.C02", 2, {}}},
                  {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 4}}};
    Topology tree{"tree",
                  "10.79.1.0/24",
                  {{"P", "000.00.00.P01", SIZE_MAX, {{"000.01", 1}, {"000.02", 2}}},
                   {"D1", "000.01.00.D01", 0, {{"000.01.01.C11", 3}, {"000.01.02.C12", 4}}},
                   {"D2", "000.02.00.D02", 0, {{"000.02.01.C21", 5}, {"000.02.02.C22", 6}}},
                   {"C11", "000.01.01.C11", 1, {}},
                   {"C12", "000.01.02.C12", 1, {}},
                   {"C21", "000.02.01.C21", 2, {}},
                   {"C22", "000.02.02.C22", 2, {}}},
                  {{0, 1}, {0, 2}, {1, 3}, {1, 4}, {2, 5}, {2, 6}}};
    return {five, tree};
}

const std::vector<Topology>& topologies() {
    static const std::vector<Topology> all = make_topologies();
    return all;
}

const Topology* g_topology = &topologies()[0];

}  // namespace

bool use_topology(const std::string& name) {
    for (const auto& t : topologies())
        if (t.name == name) {
            g_topology = &t;
            return true;
        }
    return false;
}

const std::string& topology_name() {
    return g_topology->name;
}

const std::string& topology_subnet() {
    return g_topology->subnet;
}

const std::vector<NodeSpec>& node_specs() {
    return g_topology->nodes;
}

bool linked(size_t a, size_t b) {
    for (const auto& [x, y] : g_topology->links)
        if ((x == a && y == b) || (x == b && y == a)) return true;
    return false;
}

std::vector<size_t> tree_path(size_t a, size_t b) {
    if (g_topology->name != "tree" || a >= node_specs().size() || b >= node_specs().size())
        return {};
    // In a tree the relay routes follow the only path: up to the common ancestor, down to b.
    // A node's parent is its default_via.
    const auto up = [](size_t n) {
        std::vector<size_t> chain{n};
        while (node_specs()[chain.back()].default_via != SIZE_MAX)
            chain.push_back(node_specs()[chain.back()].default_via);
        return chain;
    };
    const std::vector<size_t> from_a = up(a), from_b = up(b);
    std::vector<size_t> path;
    for (size_t n : from_a) {
        path.push_back(n);
        const auto meet = std::find(from_b.begin(), from_b.end(), n);
        if (meet != from_b.end()) {
            for (auto it = std::make_reverse_iterator(meet); it != from_b.rend(); ++it)
                path.push_back(*it);
            return path;
        }
    }
    return {};
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
          << relay_yaml(i) << "log_level: info\n";
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

std::optional<Federation::WireCount> Federation::wire(size_t i) const {
    const std::string n = std::to_string(i + 1);
    // testbed.sh names the node's end of its veth NAME-n<i>; /sys and /proc/net, read inside
    // the namespace, are the namespace's own.
    const CommandResult r =
        testbed("exec", {"--node", n, "--", "cat",
                         "/sys/class/net/" + m_name + "-n" + n + "/statistics/tx_bytes",
                         "/proc/net/snmp"});
    if (!r.ok()) return std::nullopt;
    std::istringstream in(r.out);
    WireCount w;
    if (!(in >> w.tx_bytes)) return std::nullopt;
    // /proc/net/snmp: a "Tcp:" line of names, then a "Tcp:" line of values.
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("Tcp:", 0) != 0) continue;
        std::istringstream f(line.substr(4));
        std::vector<std::string> words;
        for (std::string w2; f >> w2;) words.push_back(w2);
        if (names.empty()) {
            names = words;
            continue;
        }
        for (size_t k = 0; k < names.size() && k < words.size(); ++k)
            if (names[k] == "RetransSegs") {
                w.retrans_segments = std::strtoull(words[k].c_str(), nullptr, 10);
                return w;
            }
    }
    return std::nullopt;
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
