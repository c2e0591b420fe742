// lienthong-soak: the chaos soak of issue 4, acceptance 3, and of issue 16 (relays under
// chaos). Real lienthong-node processes in a deploy/testbed/testbed.sh testbed (topology in
// federation.h: five nodes with some links across, or a tree of seven where communes reach
// everything through their district) exchange documents (traffic.h) while a seeded chaos
// (chaos.h) cuts links, loses packets, caps rates and SIGKILLs nodes; then everything heals
// and, within the heal window, every document must be in every intended inbox exactly once,
// every receipt back at its sender and no chunked transfer left on any node (check.h).
// Prints the seed, the chaos, the figures (deliveries, time to full delivery after the heal,
// counters, peak memory; for the tree, the bytes each node sent beside what it had to carry,
// carry.h) and, on failure, what is missing or duplicated with the log lines that mention it.
//
// usage: lienthong-soak --testbed TESTBED_SH --node-bin NODE --admin-bin ADMIN --name NAME
//                       --work DIR [--topology five|tree] [--seed N] [--documents 300]
//                       [--chaos-seconds 120] [--heal-seconds 60]
// The seed is also taken from $LIENTHONG_SOAK_SEED. Exit 0 passed, 1 failed, 2 bad
// arguments, 77 no testbed possible here. The testbed is taken down on every exit this
// program sees (including SIGINT/SIGTERM); soak_test.sh adds a trap for the ones it cannot.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "tests/soak/carry.h"
#include "tests/soak/check.h"

using namespace lienthong::soak;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
    g_stop = true;
}

struct Args {
    std::string testbed, node_bin, admin_bin, name, work;
    uint64_t seed = 20261127;
    unsigned documents = 300;
    unsigned chaos_seconds = 120;
    unsigned heal_seconds = 60;
    std::string topology = "five";
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "lienthong-soak: %s\nusage: lienthong-soak --testbed TESTBED_SH --node-bin NODE "
                 "--admin-bin ADMIN "
                 "--name NAME --work DIR [--topology five|tree] [--seed N] [--documents N] "
                 "[--chaos-seconds N] [--heal-seconds N]\n",
                 why.c_str());
    std::exit(2);
}

uint64_t number(const std::string& opt, const std::string& v) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') usage(opt + " '" + v + "' is not a number");
    return n;
}

Args parse(int argc, char** argv) {
    Args a;
    if (const char* s = std::getenv("LIENTHONG_SOAK_SEED"); s && *s)
        a.seed = number("LIENTHONG_SOAK_SEED", s);
    for (int i = 1; i < argc; ++i) {
        const std::string opt = argv[i];
        if (i + 1 >= argc) usage(opt + " needs a value");
        const std::string v = argv[++i];
        if (opt == "--testbed")
            a.testbed = v;
        else if (opt == "--node-bin")
            a.node_bin = v;
        else if (opt == "--admin-bin")
            a.admin_bin = v;
        else if (opt == "--name")
            a.name = v;
        else if (opt == "--work")
            a.work = v;
        else if (opt == "--seed")
            a.seed = number(opt, v);
        else if (opt == "--documents")
            a.documents = static_cast<unsigned>(number(opt, v));
        else if (opt == "--chaos-seconds")
            a.chaos_seconds = static_cast<unsigned>(number(opt, v));
        else if (opt == "--heal-seconds")
            a.heal_seconds = static_cast<unsigned>(number(opt, v));
        else if (opt == "--topology")
            a.topology = v;
        else
            usage("unknown option " + opt);
    }
    if (a.testbed.empty() || a.node_bin.empty() || a.admin_bin.empty() || a.name.empty() ||
        a.work.empty())
        usage("--testbed, --node-bin, --admin-bin, --name and --work are required");
    if (!use_topology(a.topology))
        usage("--topology '" + a.topology + "' is not a topology (five or tree)");
    return a;
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string fixed1(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", x);
    return b;
}

// Lines of the node logs that no run may contain: sanitizer reports, aborts, failed commits.
std::vector<std::string> log_findings(const Federation& fed) {
    static const char* kBad[] = {"ERROR: AddressSanitizer",
                                 "ERROR: LeakSanitizer",
                                 "runtime error:",
                                 "terminate called",
                                 "Assertion",
                                 "Aborted",
                                 "event=commit_failed",
                                 "event=custody_failed",
                                 "event=listener_lost"};
    std::vector<std::string> out;
    for (size_t i = 0; i < fed.size(); ++i) {
        std::ifstream in(fed.log_path(i));
        for (std::string line; std::getline(in, line);)
            for (const char* bad : kBad)
                if (line.find(bad) != std::string::npos && out.size() < 20)
                    out.push_back(node_specs()[i].role + ": " + line);
    }
    return out;
}

// How many lines of node i's log (every run) carry each event.
std::map<std::string, uint64_t> event_counts(const Federation& fed, size_t i) {
    std::map<std::string, uint64_t> n;
    std::ifstream in(fed.log_path(i));
    for (std::string line; std::getline(in, line);) {
        const auto p = line.find(" event=");
        if (p == std::string::npos) continue;
        const auto e = line.find(' ', p + 7);
        ++n[line.substr(p + 7, e == std::string::npos ? std::string::npos : e - p - 7)];
    }
    return n;
}

// Whether the last run in node i's log ended with a clean stop.
bool stopped_cleanly(const Federation& fed, size_t i) {
    std::ifstream in(fed.log_path(i));
    bool clean = false;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("=== ", 0) == 0) clean = false;  // testbed.sh marks every start
        if (line.find("event=node_stopped") != std::string::npos) clean = true;
    }
    return clean;
}

std::string mb(uint64_t bytes) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", static_cast<double>(bytes) / 1e6);
    return b;
}

// The tree's bytes: what each interface sent since the traffic began (wire0) beside what the
// node had to carry (carry.h). Returns the line on the relays' goal (under 1.5x), or "" for a
// topology that is not a tree.
std::string print_bytes(const Federation& fed, const Traffic& traffic, const Snapshot& snap,
                        const std::vector<Federation::WireCount>& wire0,
                        const std::vector<uint64_t>& chunk_bytes) {
    const std::string prefix = traffic.subject(0).substr(0, traffic.subject(0).find('#') + 1);
    const std::vector<CarryRow> carry = bytes_to_carry(snap, prefix);
    if (carry.empty()) return "";
    std::printf(
        "\nsoak: bytes sent by each node's interface since the first document, beside what it had "
        "to carry\n");
    std::printf("  %-4s %5s %10s %10s %7s %12s %7s %10s %10s\n", "", "docs", "sent MB",
                "carry MB", "ratio", "per-recip MB", "ratio", "TCP resent", "chunks MB");
    double worst = 0;
    std::string worst_role;
    for (size_t i = 0; i < fed.size(); ++i) {
        const auto w = fed.wire(i);
        if (!w) {
            std::printf("  %-4s (its interface could not be read)\n", node_specs()[i].role.c_str());
            continue;
        }
        const uint64_t sent = w->tx_bytes - wire0[i].tx_bytes;
        const auto ratio = [&](uint64_t carry_bytes) {
            return carry_bytes ? static_cast<double>(sent) / static_cast<double>(carry_bytes) : 0.0;
        };
        // A relay: some node's default route goes through it (the province, the districts).
        bool relay = false;
        for (const auto& n : node_specs()) relay |= n.default_via == i;
        if (relay && ratio(carry[i].per_link) > worst) {
            worst = ratio(carry[i].per_link);
            worst_role = node_specs()[i].role;
        }
        std::printf("  %-4s %5llu %10s %10s %6.2fx %12s %6.2fx %10llu %10s%s\n",
                    node_specs()[i].role.c_str(),
                    static_cast<unsigned long long>(carry[i].documents), mb(sent).c_str(),
                    mb(carry[i].per_link).c_str(), ratio(carry[i].per_link),
                    mb(carry[i].per_recipient).c_str(), ratio(carry[i].per_recipient),
                    static_cast<unsigned long long>(w->retrans_segments - wire0[i].retrans_segments),
                    mb(chunk_bytes[i]).c_str(), relay ? "  (relay)" : "");
    }
    std::printf(
        "  (sent: tx bytes of the node's interface, everything included: receipts, heartbeats, "
        "TCP/IP headers,\n   TCP retransmissions; carry: envelope bytes once per document and "
        "next hop; per-recip: once per\n   document, recipient and next hop; TCP resent: "
        "segments; chunks: peer_list chunk_bytes_sent over every run)\n");
    char line[160];
    std::snprintf(line, sizeof line, "relays sent at most %.2fx what they had to carry (%s); goal under 1.5x: %s",
                  worst, worst_role.c_str(), worst < 1.5 ? "met" : "NOT MET");
    std::printf("  %s\n", line);
    return line;
}

int soak(const Args& a) {
    Federation fed(a.testbed, a.node_bin, a.admin_bin, a.name, a.work);
    std::printf(
        "soak: topology %s, seed %llu (rerun with LIENTHONG_SOAK_SEED=%llu), %u documents, %u s of "
        "chaos, %u s to heal\n",
        a.topology.c_str(), static_cast<unsigned long long>(a.seed),
        static_cast<unsigned long long>(a.seed), a.documents, a.chaos_seconds, a.heal_seconds);
    const CommandResult check = run_command({a.testbed, "check"}, std::chrono::seconds(60));
    if (check.exit_code == 77) {
        std::printf("SKIP: %s", check.err.c_str());
        return 77;
    }
    if (!check.ok()) {
        std::printf("FAIL: testbed.sh check: %s\n", check.describe().c_str());
        return 1;
    }
    const CommandResult up = fed.testbed(
        "up", {"--nodes", std::to_string(fed.size()), "--subnet", topology_subnet()});
    if (up.exit_code == 77) {
        std::printf("SKIP: %s", up.err.c_str());
        return 77;
    }
    if (!up.ok()) {
        std::printf("FAIL: testbed.sh up: %s\n", up.describe().c_str());
        return 1;
    }
    fed.configure();
    NodeGate gate;
    for (size_t i = 0; i < fed.size(); ++i) {
        fed.start(i);
        gate.up[i] = true;
    }
    // Every direct link up before the clock starts (bounded).
    const auto t_links = Clock::now();
    for (bool all = false; !all;) {
        all = true;
        for (size_t i = 0; i < fed.size(); ++i) {
            size_t want = 0;
            for (size_t j = 0; j < fed.size(); ++j) want += linked(i, j);
            const auto s = fed.admin_json(i, {"status"});
            all &= s && s->value("peers_connected", size_t{0}) >= want;
        }
        if (!all && seconds_since(t_links) > 30) {
            std::printf("FAIL: the direct links did not all come up within 30 s of the start\n");
            return 1;
        }
        if (!all) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::string roles;
    for (const auto& n : node_specs()) roles += (roles.empty() ? "" : ", ") + n.role;
    print_line("federation up: " + roles + " in " + a.name + "-n1..n" + std::to_string(fed.size()) +
               ", direct links connected");

    const bool tree = topology_name() == "tree";
    TrafficOptions to;
    if (tree) {
        to.max_attachment_bytes = 4000000;
        to.mixed_urgency = true;
    }
    Traffic traffic(fed, gate, a.seed, a.documents,
                    std::chrono::seconds(a.chaos_seconds) * 95 / 100, to);
    // What each interface has sent before the first document: subtracted at the end.
    std::vector<Federation::WireCount> wire0(fed.size());
    for (size_t i = 0; i < fed.size(); ++i)
        if (const auto w = fed.wire(i)) wire0[i] = *w;
    traffic.prepare();
    Chaos chaos(fed, gate, a.seed, std::chrono::seconds(a.chaos_seconds));
    const auto t_chaos = Clock::now();
    std::atomic<bool> traffic_done{false};
    std::thread chaos_thread([&] { chaos.run(g_stop); });
    std::thread traffic_thread([&] {
        traffic.run(g_stop);
        traffic_done = true;
    });
    // The traffic gets the chaos span and a minute more; then it is stopped.
    while (!traffic_done && seconds_since(t_chaos) < a.chaos_seconds + 60.0)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const bool traffic_late = !traffic_done;
    if (traffic_late) g_stop = true;
    traffic_thread.join();
    chaos_thread.join();
    if (g_stop && !traffic_late) {
        std::printf("FAIL: interrupted\n");
        return 1;
    }
    print_line("chaos over after " + fixed1(seconds_since(t_chaos)) + " s: " + chaos.summary());
    print_line("traffic: " + std::to_string(traffic.sent().size()) + " of " +
               std::to_string(a.documents) + " documents sent, " +
               std::to_string(traffic.failures().size()) + " sends failed");

    // The heal window starts when the faults start being lifted, restarts included.
    const auto t_heal = Clock::now();
    const bool healed = chaos.heal_all();
    print_line("heal: every cut, loss and cap removed, every node running " +
               fixed1(seconds_since(t_heal)) + " s later" + (healed ? "" : " -- NOT ALL"));

    // Poll until everything is delivered and receipted at the senders and no node holds a
    // chunked transfer, or the window ends.
    double full_after = -1, delivered_after = -1;
    Verdict v;
    std::vector<std::string> transfers_left;
    for (auto last_print = Clock::now(); seconds_since(t_heal) <= a.heal_seconds;) {
        const Snapshot snap = take_snapshot(fed);
        v = judge(fed, traffic, snap, false);
        const bool delivered = snap.errors.empty() && v.delivered();
        if (delivered && delivered_after < 0) delivered_after = seconds_since(t_heal);
        if (delivered) {
            transfers_left = leftover_transfers(fed);
            if (transfers_left.empty()) {
                full_after = seconds_since(t_heal);
                break;
            }
        }
        if (seconds_since(last_print) >= 5) {
            print_line("waiting: " + std::to_string(v.delivered_once) + " of " +
                       std::to_string(v.deliveries) + " deliveries in place, " +
                       std::to_string(v.missing) + " missing, " + std::to_string(v.pending) +
                       " pending at senders, " + std::to_string(v.duplicated) + " duplicated" +
                       (delivered ? ", " + std::to_string(transfers_left.size()) +
                                        " transfers still open"
                                  : ""));
            last_print = Clock::now();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (full_after >= 0)
        print_line("all deliveries in place and receipted " + fixed1(delivered_after) +
                   " s after the heal, no transfer open " + fixed1(full_after) + " s after it");
    else if (delivered_after >= 0)
        print_line("all delivered " + fixed1(delivered_after) + " s after the heal, but " +
                   std::to_string(transfers_left.size()) + " transfers still open " +
                   std::to_string(a.heal_seconds) + " s after it");
    else
        print_line("NOT all delivered " + std::to_string(a.heal_seconds) + " s after the heal");

    const Snapshot snap = take_snapshot(fed);
    v = judge(fed, traffic, snap, true);
    transfers_left = leftover_transfers(fed);

    // Figures before the nodes stop: counters, retries, queued entries, peak memory.
    std::printf("\nsoak: per node (counters of the last run + runs ended by SIGKILL)\n");
    std::printf("  %-3s %6s %9s %9s %9s %9s %8s %8s %8s %7s %10s\n", "", "kills", "received",
                "dupl.", "sent", "receipts", "retries", "retrans.", "queued", "inbox", "VmHWM");
    uint64_t total_dupl = 0, total_retrans = 0;
    std::vector<uint64_t> chunk_bytes(fed.size());
    for (size_t i = 0; i < fed.size(); ++i) {
        const NodeHistory& h = chaos.history()[i];
        json c = h.counters_of_killed_runs;
        uint64_t queued = 0, inbox = 0, retries = 0;
        if (const auto s = fed.admin_json(i, {"status"})) {
            for (auto it = s->at("counters").begin(); it != s->at("counters").end(); ++it)
                if (it->is_number_unsigned())
                    c[it.key()] = c.value(it.key(), uint64_t{0}) + it->get<uint64_t>();
            queued = s->value("outbox_pending", uint64_t{0});
            inbox = s->value("inbox_total", uint64_t{0});
        }
        chunk_bytes[i] = h.chunk_bytes_sent_of_killed_runs;
        if (const auto p = fed.admin_json(i, {"peer", "list"}))
            for (const auto& peer : p->at("peers")) {
                retries += peer.value("retries", uint64_t{0});
                chunk_bytes[i] += peer.value("chunk_bytes_sent", uint64_t{0});
            }
        const auto events = event_counts(fed, i);
        const uint64_t retrans = events.count("retransmit") ? events.at("retransmit") : 0;
        const uint64_t hwm = std::max(h.peak_rss_kib, fed.peak_rss_kib(i));
        total_dupl += c.value("duplicates", uint64_t{0});
        total_retrans += retrans;
        std::printf("  %-3s %6llu %9llu %9llu %9llu %9llu %8llu %8llu %8llu %7llu %7.1f MiB\n",
                    node_specs()[i].role.c_str(), static_cast<unsigned long long>(h.kills),
                    static_cast<unsigned long long>(c.value("received", uint64_t{0})),
                    static_cast<unsigned long long>(c.value("duplicates", uint64_t{0})),
                    static_cast<unsigned long long>(c.value("sent", uint64_t{0})),
                    static_cast<unsigned long long>(c.value("receipts", uint64_t{0})),
                    static_cast<unsigned long long>(retries),
                    static_cast<unsigned long long>(retrans),
                    static_cast<unsigned long long>(queued), static_cast<unsigned long long>(inbox),
                    static_cast<double>(hwm) / 1024);
        if (queued != 0)
            v.problems.push_back(node_specs()[i].role + " still has " + std::to_string(queued) +
                                 " outbox entries queued");
    }
    std::printf(
        "  (retries: the last run's peer-list retries; retrans.: 'retransmit' log lines over every "
        "run; "
        "queued: outbox entries, transit included)\n");
    std::map<std::string, uint64_t> relay_events;
    for (size_t i = 0; i < fed.size(); ++i)
        for (const auto& [e, n] : event_counts(fed, i))
            if (e == "relayed" || e == "custody_taken" || e == "relay_delivered" ||
                e == "delivery_sync" || e == "receipts_resent" || e == "peer_connected" ||
                e == "delivery_sync_timeout")
                relay_events[e] += n;
    std::string ev;
    for (const auto& [e, n] : relay_events) ev += " " + e + "=" + std::to_string(n);
    std::printf("  log events over all nodes:%s\n", ev.c_str());
    const std::string byte_goal = print_bytes(fed, traffic, snap, wire0, chunk_bytes);

    // Stop every node with SIGTERM: each must stop cleanly.
    std::vector<std::string> unclean;
    for (size_t i = 0; i < fed.size(); ++i) {
        const CommandResult k = fed.testbed("kill", {"--node", std::to_string(i + 1)});
        if (!k.ok() || !stopped_cleanly(fed, i))
            unclean.push_back(node_specs()[i].role + (k.ok()
                                                          ? ": no node_stopped event after SIGTERM"
                                                          : ": " + k.describe()));
    }
    const auto findings = log_findings(fed);

    uint64_t attached = 0;
    size_t with_attachments = 0, multi = 0;
    for (const auto& d : traffic.sent()) {
        attached += d.attached_bytes;
        with_attachments += d.attached_bytes > 0;
        multi += d.recipients.size() > 1;
    }
    std::printf(
        "\nsoak: seed %llu: %zu documents sent (%zu to several agencies, %zu with attachments, "
        "%.1f MB attached)\n",
        static_cast<unsigned long long>(a.seed), traffic.sent().size(), multi, with_attachments,
        static_cast<double>(attached) / 1e6);
    std::printf(
        "soak: %zu of %zu deliveries in their inbox exactly once; %zu missing, %zu duplicated, %zu "
        "misdelivered, "
        "%zu pending at senders, %zu listed other than once by the search index; %zu of %zu "
        "receipts verified at the senders\n",
        v.delivered_once, v.deliveries, v.missing, v.duplicated, v.misdelivered, v.pending,
        v.catalog_wrong, v.receipts_ok, v.deliveries);
    std::printf(
        "soak: full delivery %s after the heal (no transfer open %s); duplicates counted by "
        "receivers %llu; retransmit events %llu\n",
        delivered_after >= 0 ? (fixed1(delivered_after) + " s").c_str() : "NOT reached",
        full_after >= 0 ? ("after " + fixed1(full_after) + " s").c_str() : "NOT reached",
        static_cast<unsigned long long>(total_dupl),
        static_cast<unsigned long long>(total_retrans));
    if (!byte_goal.empty()) std::printf("soak: %s\n", byte_goal.c_str());

    bool pass = true;
    const auto report = [&](const std::string& what, const std::vector<std::string>& lines) {
        if (lines.empty()) return;
        pass = false;
        std::printf("FAIL: %s\n", what.c_str());
        for (const auto& l : lines) std::printf("  %s\n", l.c_str());
    };
    report("sends refused or unanswered by running nodes", traffic.failures());
    report("testbed.sh commands failed (broken run)", chaos.errors());
    report("nodes crashed on their own", chaos.crashes());
    report("log lines that must not appear", findings);
    report("nodes that did not stop cleanly", unclean);
    report("nodes that could not be read", snap.errors);
    report("delivery", v.problems);
    report("chunked transfers left over", transfers_left);
    if (traffic.sent().size() != a.documents)
        report("traffic",
               {"only " + std::to_string(traffic.sent().size()) + " documents were sent"});
    if (!healed) report("heal", {"not every node came back"});
    if (full_after < 0 || !v.delivered() || v.receipts_ok != v.deliveries ||
        !transfers_left.empty())
        report("acceptance", {"not every document in every intended inbox exactly once with its "
                              "receipt back and no transfer left within " +
                              std::to_string(a.heal_seconds) + " s of the heal"});
    for (const auto& id : v.suspects)
        std::printf("trace of %s in the node logs:\n%s", id.c_str(), trace(fed, id, 40).c_str());
    std::printf("%s (seed %llu)\n", pass ? "soak PASSED" : "soak FAILED",
                static_cast<unsigned long long>(a.seed));
    return pass ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse(argc, argv);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    int rc = 1;
    try {
        rc = soak(a);
    } catch (const std::exception& e) {
        std::printf("FAIL: %s\n", e.what());
        rc = 1;
    }
    if (rc != 77) {
        // testbed.sh down removes the logs with the state: keep a copy beside the databases.
        run_command({"cp", "-r", "/run/lienthong-testbed/" + a.name + "/log", a.work + "/logs"},
                    std::chrono::seconds(30));
        const CommandResult down =
            run_command({a.testbed, "down", "--name", a.name}, std::chrono::seconds(120));
        if (!down.ok()) std::printf("testbed.sh down: %s\n", down.describe().c_str());
    }
    std::fflush(stdout);
    return rc;
}
