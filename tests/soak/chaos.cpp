#include "tests/soak/chaos.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace lienthong::soak {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const char* kKindNames[] = {"cut_pair", "cut_node", "loss", "rate", "kill", "kill_relay"};

std::string role(size_t i) {
    return node_specs()[i].role;
}
std::string num(size_t i) {
    return std::to_string(i + 1);
}

std::string log_tail(const std::string& path, size_t lines) {
    std::ifstream in(path);
    std::vector<std::string> all;
    for (std::string l; std::getline(in, l);) all.push_back(l);
    std::string out;
    for (size_t k = all.size() > lines ? all.size() - lines : 0; k < all.size(); ++k)
        out += "    " + all[k] + "\n";
    return out;
}

void add_counters(json& sum, const json& counters) {
    // A nested map (counters.rejected) starts as null in the sum: value() would throw on it.
    if (!sum.is_object()) sum = json::object();
    for (auto it = counters.begin(); it != counters.end(); ++it) {
        if (it->is_number_unsigned())
            sum[it.key()] = sum.value(it.key(), uint64_t{0}) + it->get<uint64_t>();
        else if (it->is_object())
            add_counters(sum[it.key()], *it);
    }
}

}  // namespace

Chaos::Chaos(Federation& fed, NodeGate& gate, uint64_t seed, milliseconds span)
    : m_fed(fed), m_gate(gate), m_span(span), m_history(fed.size()) {
    plan(seed, span);
}

// Weights: cut a pair 30, cut a node 15, loss 25, rate cap 10, kill 20; one event every 1-3 s.
void Chaos::plan(uint64_t seed, milliseconds span) {
    std::mt19937_64 rng(seed);
    const auto uniform = [&](double lo, double hi) {
        return std::uniform_real_distribution<double>(lo, hi)(rng);
    };
    const auto pick = [&](size_t n) {
        return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
    };
    const auto ms = [](double s) { return milliseconds(static_cast<int64_t>(s * 1000)); };
    std::vector<std::pair<size_t, size_t>> links;
    for (size_t a = 0; a < m_fed.size(); ++a)
        for (size_t b = a + 1; b < m_fed.size(); ++b)
            if (linked(a, b)) links.emplace_back(a, b);
    const unsigned rates[] = {256, 512, 1000, 2000};
    for (double t = uniform(0.5, 2.0); ms(t) < span; t += uniform(1.0, 3.0)) {
        Event e{ms(t), Kind::kill, pick(m_fed.size()), SIZE_MAX, 0, {}};
        const double w = uniform(0, 100);
        if (w < 30) {
            e.kind = Kind::cut_pair;
            std::tie(e.node, e.peer) = links[pick(links.size())];
            e.lasts = ms(uniform(3, 20));
        } else if (w < 45) {
            e.kind = Kind::cut_node;
            e.lasts = ms(uniform(3, 15));
        } else if (w < 70) {
            e.kind = Kind::loss;
            e.value = 5 + static_cast<unsigned>(pick(26));
            e.lasts = ms(uniform(5, 20));
        } else if (w < 80) {
            e.kind = Kind::rate;
            e.value = rates[pick(4)];
            e.lasts = ms(uniform(5, 20));
        } else {
            e.lasts = ms(uniform(1, 10));  // down time before the restart
        }
        m_plan.push_back(e);
    }
    if (topology_name() == "tree") plan_tree(seed, span);
}

// The tree's fixed events (see chaos.h), from a stream of their own.
void Chaos::plan_tree(uint64_t seed, milliseconds span) {
    std::mt19937_64 rng(seed ^ 0x7ee5ca05ULL);
    const auto uniform = [&](double lo, double hi) {
        return std::uniform_real_distribution<double>(lo, hi)(rng);
    };
    const auto ms = [](double s) { return milliseconds(static_cast<int64_t>(s * 1000)); };
    const double s = static_cast<double>(span.count()) / 1000;
    std::vector<size_t> districts, communes;
    for (size_t i = 0; i < m_fed.size(); ++i)
        if (node_specs()[i].default_via != SIZE_MAX)  // the province has none
            (node_specs()[i].default_via == 0 ? districts : communes).push_back(i);
    if (districts.size() < 2 || communes.empty()) return;
    const size_t slow = communes[std::uniform_int_distribution<size_t>(0, communes.size() - 1)(rng)];
    m_plan.push_back(Event{ms(0.2), Kind::rate, slow, SIZE_MAX, 256, span, true});
    const size_t cut = districts[std::uniform_int_distribution<size_t>(0, 1)(rng)];
    m_plan.push_back(Event{ms(uniform(0.25, 0.5) * s), Kind::cut_node, cut, SIZE_MAX, 0,
                           milliseconds(30000), true});
    // Two kills of each district, in four slots across the span, the first district drawn.
    const size_t first = std::uniform_int_distribution<size_t>(0, 1)(rng);
    for (size_t k = 0; k < 4; ++k) {
        const size_t d = districts[(first + k) % 2];
        m_plan.push_back(Event{ms((0.1 + 0.2 * static_cast<double>(k) + uniform(0, 0.08)) * s),
                               Kind::kill_relay, d, SIZE_MAX, 0, ms(uniform(2, 8)), true});
    }
    std::stable_sort(m_plan.begin(), m_plan.end(),
                     [](const Event& a, const Event& b) { return a.at < b.at; });
}

std::string Chaos::describe(const Event& e) {
    std::ostringstream o;
    const double s = static_cast<double>(e.lasts.count()) / 1000;
    o.precision(1);
    o << std::fixed;
    switch (e.kind) {
        case Kind::cut_pair:
            o << "cut " << role(e.node) << " <-> " << role(e.peer) << " for " << s << " s";
            break;
        case Kind::cut_node:
            o << "cut " << role(e.node) << " from everyone for " << s << " s";
            break;
        case Kind::loss:
            o << "loss " << e.value << "% on " << role(e.node) << " for " << s << " s";
            break;
        case Kind::rate:
            o << "rate " << e.value << " kbit/s on " << role(e.node) << " for " << s << " s";
            break;
        case Kind::kill:
            o << "SIGKILL " << role(e.node) << ", restart after " << s << " s";
            break;
        case Kind::kill_relay:
            o << "SIGKILL relay " << role(e.node) << " mid-transfer, restart after " << s << " s";
            break;
    }
    if (e.fixed) o << " [fixed]";
    return o.str();
}

bool Chaos::tb(const std::string& command, const std::vector<std::string>& args) {
    const CommandResult r = m_fed.testbed(command, args);
    if (r.ok()) return true;
    std::string line = "testbed.sh " + command;
    for (const auto& a : args) line += " " + a;
    m_errors.push_back(line + ": " + r.describe());
    print_line("ERROR " + m_errors.back());
    return false;
}

bool Chaos::in_effect(Kind k, size_t node, size_t peer) const {
    return std::any_of(m_faults.begin(), m_faults.end(), [&](const Fault& f) {
        return f.event.kind == k && f.event.node == node &&
               (peer == SIZE_MAX || f.event.peer == peer);
    });
}

bool Chaos::down(size_t node) const {
    return in_effect(Kind::kill, node) || in_effect(Kind::kill_relay, node);
}

size_t Chaos::nodes_down() const {
    return static_cast<size_t>(std::count_if(m_faults.begin(), m_faults.end(), [](const Fault& f) {
        return f.event.kind == Kind::kill || f.event.kind == Kind::kill_relay;
    }));
}

void Chaos::run(const std::atomic<bool>& stop) {
    const auto t0 = Clock::now();
    size_t next = 0;
    while (!stop && Clock::now() < t0 + m_span) {
        const auto now = Clock::now();
        // Faults whose time is up end first, earliest first.
        std::sort(m_faults.begin(), m_faults.end(),
                  [](const Fault& a, const Fault& b) { return a.ends < b.ends; });
        while (!m_faults.empty() && m_faults.front().ends <= now) {
            const Fault f = m_faults.front();
            m_faults.erase(m_faults.begin());
            end(f);
        }
        check_alive();
        while (next < m_plan.size() && t0 + m_plan[next].at <= Clock::now()) {
            const Event& e = m_plan[next++];
            const size_t k = static_cast<size_t>(e.kind);
            if (e.kind == Kind::kill_relay) {
                m_armed.push_back(Armed{e, Clock::now(), Clock::now()});
                continue;
            }
            if (e.fixed) make_way(e);
            if (start(e)) {
                ++m_done[k];
                m_faults.push_back(Fault{e, Clock::now() + e.lasts});
            } else {
                ++m_skipped[k];
            }
        }
        poll_armed();
        std::this_thread::sleep_for(milliseconds(100));
    }
    for (const auto& a : m_armed) {
        print_line("chaos: skip " + describe(a.event) + " (the span ended first)");
        ++m_skipped[static_cast<size_t>(Kind::kill_relay)];
    }
    m_armed.clear();
}

// A fixed event ends the random fault of its kind on its node that would make it a skip.
void Chaos::make_way(const Event& e) {
    for (auto it = m_faults.begin(); it != m_faults.end(); ++it)
        if (it->event.kind == e.kind && it->event.node == e.node &&
            (e.kind == Kind::cut_node || e.kind == Kind::loss || e.kind == Kind::rate)) {
            const Fault f = *it;
            m_faults.erase(it);
            print_line("chaos: ending early for a fixed event: " + describe(f.event));
            end(f);
            return;
        }
}

// Whether a chunked transfer to or from node i is under way: i's own `transfers`, or a
// linked node's naming i as where it comes from.
bool Chaos::transfer_under_way(size_t i) const {
    const auto listed = [&](size_t n, const std::string& from) {
        const auto t = m_fed.admin_json(n, {"transfers"});
        if (!t || !t->contains("transfers")) return false;
        for (const auto& x : t->at("transfers"))
            if (from.empty() || x.value("from", "") == from) return true;
        return false;
    };
    if (listed(i, "")) return true;
    for (size_t n = 0; n < m_fed.size(); ++n)
        if (linked(i, n) && !down(n) && listed(n, node_specs()[i].agency)) return true;
    return false;
}

// Fires each armed kill_relay once a transfer is under way at its node (or it has waited
// 10 s); one whose node is down waits for the restart.
void Chaos::poll_armed() {
    const auto now = Clock::now();
    for (auto it = m_armed.begin(); it != m_armed.end();) {
        if (down(it->event.node) || now < it->next_poll) {
            ++it;
            continue;
        }
        const bool mid = transfer_under_way(it->event.node);
        if (!mid && now < it->since + std::chrono::seconds(10)) {
            it->next_poll = Clock::now() + milliseconds(300);
            ++it;
            continue;
        }
        const Event e = it->event;
        it = m_armed.erase(it);
        print_line("chaos: " + describe(e) +
                   (mid ? "" : " (no chunked transfer under way after 10 s: killed anyway)"));
        m_mid_transfer += mid;
        kill_node(e.node);
        ++m_done[static_cast<size_t>(Kind::kill_relay)];
        m_faults.push_back(Fault{e, Clock::now() + e.lasts});
    }
}

bool Chaos::start(const Event& e) {
    const std::string n = num(e.node);
    const auto skip = [&](const std::string& why) {
        print_line("chaos: skip " + describe(e) + " (" + why + ")");
        return false;
    };
    switch (e.kind) {
        case Kind::cut_pair:
            if (in_effect(Kind::cut_pair, e.node, e.peer)) return skip("already cut");
            print_line("chaos: " + describe(e));
            return tb("cut", {"--node", n, "--peer", num(e.peer)});
        case Kind::cut_node:
            if (in_effect(Kind::cut_node, e.node)) return skip("already cut");
            print_line("chaos: " + describe(e));
            return tb("cut", {"--node", n});
        case Kind::loss:
            if (in_effect(Kind::loss, e.node)) return skip("loss already set");
            print_line("chaos: " + describe(e));
            return tb("loss", {"--node", n, "--percent", std::to_string(e.value)});
        case Kind::rate:
            if (in_effect(Kind::rate, e.node)) return skip("already capped");
            print_line("chaos: " + describe(e));
            return tb("rate", {"--node", n, "--kbit", std::to_string(e.value)});
        case Kind::kill:
            if (down(e.node)) return skip("already down");
            if (nodes_down() >= 2) return skip("two nodes are down already");
            print_line("chaos: " + describe(e));
            kill_node(e.node);
            return true;
        case Kind::kill_relay:
            return false;  // armed in run(), fired by poll_armed()
    }
    return false;
}

void Chaos::end(const Fault& f) {
    const Event& e = f.event;
    const std::string n = num(e.node);
    switch (e.kind) {
        case Kind::cut_pair:
            print_line("chaos: heal " + role(e.node) + " <-> " + role(e.peer));
            tb("heal", {"--node", n, "--peer", num(e.peer)});
            break;
        case Kind::cut_node:
            print_line("chaos: heal " + role(e.node));
            tb("heal", {"--node", n});
            // 'heal --node' lifts the node's pair cuts too: put back those still due.
            for (const auto& g : m_faults)
                if (g.event.kind == Kind::cut_pair &&
                    (g.event.node == e.node || g.event.peer == e.node))
                    tb("cut", {"--node", num(g.event.node), "--peer", num(g.event.peer)});
            break;
        case Kind::loss:
            print_line("chaos: no loss on " + role(e.node));
            tb("loss", {"--node", n, "--percent", "0"});
            break;
        case Kind::rate:
            print_line("chaos: no rate cap on " + role(e.node));
            tb("rate", {"--node", n, "--kbit", "0"});
            break;
        case Kind::kill:
        case Kind::kill_relay:
            print_line("chaos: restart " + role(e.node));
            restart_node(e.node);
            break;
    }
}

void Chaos::kill_node(size_t i) {
    std::lock_guard<std::mutex> g(m_gate.lock[i]);
    if (auto s = m_fed.admin_json(i, {"status"}); s && s->contains("counters"))
        add_counters(m_history[i].counters_of_killed_runs, s->at("counters"));
    if (auto p = m_fed.admin_json(i, {"peer", "list"}); p && p->contains("peers"))
        for (const auto& peer : p->at("peers"))
            m_history[i].chunk_bytes_sent_of_killed_runs +=
                peer.value("chunk_bytes_sent", uint64_t{0});
    m_history[i].peak_rss_kib = std::max(m_history[i].peak_rss_kib, m_fed.peak_rss_kib(i));
    ++m_history[i].kills;
    m_gate.up[i] = false;
    tb("kill", {"--node", num(i), "--signal", "KILL"});
}

bool Chaos::restart_node(size_t i) {
    std::lock_guard<std::mutex> g(m_gate.lock[i]);
    if (!tb("restart", {"--node", num(i)})) return false;
    if (!m_fed.wait_api(i, std::chrono::seconds(30))) {
        m_errors.push_back("node " + role(i) +
                           " did not answer its API within 30 s of its restart:\n" +
                           log_tail(m_fed.log_path(i), 20));
        print_line("ERROR " + m_errors.back());
        return false;
    }
    m_gate.up[i] = true;
    return true;
}

// A node the chaos did not kill must be running: one that is not crashed on its own.
void Chaos::check_alive() {
    for (size_t i = 0; i < m_fed.size(); ++i) {
        {
            std::lock_guard<std::mutex> g(m_gate.lock[i]);
            if (!m_gate.up[i] || m_fed.live_pid(i)) continue;
            m_gate.up[i] = false;
        }
        m_crashes.push_back("node " + role(i) + " died without being killed; its log ends:\n" +
                            log_tail(m_fed.log_path(i), 30));
        print_line("CRASH " + m_crashes.back());
        restart_node(i);  // so the run goes on and shows what else happens
    }
}

bool Chaos::heal_all() {
    bool ok = true;
    for (size_t i = 0; i < m_fed.size(); ++i) ok &= tb("clear", {"--node", num(i)});
    for (const auto& f : m_faults)
        if (f.event.kind == Kind::kill || f.event.kind == Kind::kill_relay)
            ok &= restart_node(f.event.node);
    m_faults.clear();
    check_alive();
    for (size_t i = 0; i < m_fed.size(); ++i) {
        std::lock_guard<std::mutex> g(m_gate.lock[i]);
        ok &= m_gate.up[i];
    }
    return ok;
}

std::string Chaos::summary() const {
    std::string out;
    for (size_t k = 0; k < kKinds; ++k) {
        if (k == static_cast<size_t>(Kind::kill_relay) && m_done[k] + m_skipped[k] == 0) continue;
        out += std::string(out.empty() ? "" : ", ") + kKindNames[k] + " " +
               std::to_string(m_done[k]) +
               (m_skipped[k] ? " (" + std::to_string(m_skipped[k]) + " skipped)" : "");
        if (k == static_cast<size_t>(Kind::kill_relay))
            out += " (" + std::to_string(m_mid_transfer) + " with a chunked transfer under way)";
    }
    return out;
}

}  // namespace lienthong::soak
