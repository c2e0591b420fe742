#include "tests/soak/traffic.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

namespace lienthong::soak {

namespace {
constexpr unsigned kFiles = 24;
}

Traffic::Traffic(Federation& fed, NodeGate& gate, uint64_t seed, unsigned count,
                 std::chrono::milliseconds span, TrafficOptions options)
    : m_fed(fed), m_gate(gate), m_seed(seed), m_count(count), m_span(span) {
    // Its own stream, so the documents do not change when the chaos schedule does.
    std::mt19937_64 rng(seed ^ 0x7e57d0c5ULL);
    const auto uniform = [&](double lo, double hi) {
        return std::uniform_real_distribution<double>(lo, hi)(rng);
    };
    for (unsigned k = 0; k < kFiles; ++k) {
        auto bytes = static_cast<uint64_t>(std::exp(
            uniform(std::log(2000.0), std::log(static_cast<double>(options.max_attachment_bytes)))));
        if (options.max_attachment_bytes > 300000 && k < 2)
            bytes = k == 0 ? options.max_attachment_bytes : options.max_attachment_bytes * 5 / 8;
        m_files.emplace_back(m_fed.work() + "/att/scan-" + std::to_string(k) + ".pdf", bytes);
    }
    for (unsigned k = 0; k < count; ++k) {
        Plan p;
        p.sender = std::uniform_int_distribution<size_t>(0, m_fed.size() - 1)(rng);
        for (size_t j = 0; j < m_fed.size(); ++j)
            if (j != p.sender) p.others.push_back(j);
        std::shuffle(p.others.begin(), p.others.end(), rng);
        const double r = uniform(0, 100);
        p.recipients = r < 60 ? 1 : r < 85 ? 2 : r < 95 ? 3 : 4;
        if (uniform(0, 100) < 35) {
            const size_t n = uniform(0, 100) < 70 ? 1 : 2;
            for (size_t a = 0; a < n; ++a)
                p.attachments.push_back(std::uniform_int_distribution<size_t>(0, kFiles - 1)(rng));
            if (n == 2 && p.attachments[0] == p.attachments[1])
                p.attachments.pop_back();  // one name once
        }
        if (options.mixed_urgency) {
            const double u = uniform(0, 100);
            p.urgency = u < 60 ? 0 : u < 80 ? 1 : u < 92 ? 2 : 3;
        }
        m_plan.push_back(std::move(p));
    }
}

std::string Traffic::subject(unsigned number) const {
    return "soak " + std::to_string(m_seed) + " #" + std::to_string(number);
}

void Traffic::prepare() {
    std::filesystem::create_directories(m_fed.work() + "/att");
    std::mt19937_64 rng(m_seed ^ 0xa77ac4ULL);
    for (const auto& [path, bytes] : m_files) {
        std::string data(bytes, '\0');
        for (auto& ch : data) ch = static_cast<char>(rng());
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << data;
        if (!out) throw std::runtime_error("cannot write " + path);
    }
}

void Traffic::run(const std::atomic<bool>& stop) {
    const auto t0 = std::chrono::steady_clock::now();
    for (unsigned k = 0; k < m_count && !stop; ++k) {
        std::this_thread::sleep_until(t0 + m_span * k / m_count);
        const Plan& p = m_plan[k];
        // The planned sender if it is up, else the first running node after it; the
        // recipients are the first of the others that are not the sender.
        bool done = false;
        unsigned failed = 0;
        for (unsigned attempt = 0; !done && !stop && failed < 3; ++attempt) {
            if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
            if (attempt >= 300) {  // a minute with no node able to take it
                m_failures.push_back("document #" + std::to_string(k) +
                                     ": no running node accepted it for a minute");
                break;
            }
            for (size_t shift = 0; shift < m_fed.size() && !done; ++shift) {
                const size_t s = (p.sender + shift + attempt) % m_fed.size();
                std::unique_lock<std::mutex> g(m_gate.lock[s], std::try_to_lock);
                if (!g.owns_lock() || !m_gate.up[s]) continue;
                SentDocument d;
                d.number = k;
                d.urgency = p.urgency;
                d.sender = s;
                std::vector<size_t> order = p.others;
                if (s != p.sender) std::replace(order.begin(), order.end(), s, p.sender);
                d.recipients.assign(order.begin(),
                                    order.begin() + static_cast<std::ptrdiff_t>(p.recipients));
                std::vector<std::string> args = {
                    "send", "--subject", subject(k), "--body",
                    "Kính gửi: văn bản thử nghiệm số " + std::to_string(k)};
                if (p.urgency > 0) {
                    args.push_back("--urgency");
                    args.push_back(std::to_string(p.urgency));
                }
                for (size_t r : d.recipients) {
                    args.push_back("--to");
                    args.push_back(node_specs()[r].agency);
                }
                for (size_t a : p.attachments) {
                    args.push_back("--attach");
                    args.push_back(m_files[a].first);
                    d.attached_bytes += m_files[a].second;
                }
                const CommandResult r = m_fed.admin(s, args);
                const std::string id = r.out.substr(0, r.out.find('\n'));
                if (!r.ok() || id.size() != 64) {
                    m_failures.push_back("document #" + std::to_string(k) + ": send at " +
                                         node_specs()[s].role +
                                         " (running) failed: " + r.describe());
                    print_line("FAIL " + m_failures.back());
                    ++failed;
                    break;
                }
                d.id = id;
                m_sent.push_back(std::move(d));
                done = true;
            }
        }
        if ((k + 1) % 50 == 0) print_line("traffic: " + std::to_string(k + 1) + " documents sent");
    }
}

}  // namespace lienthong::soak
