#include "bench/phases.h"

#include <sodium.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "node/api_client.h"

namespace lienthong::bench {

std::atomic<bool> g_interrupted{false};

namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

void check_interrupted() {
    if (g_interrupted) fail("interrupted");
}

double seconds_since(SteadyClock::time_point t0, SteadyClock::time_point t1) {
    return std::chrono::duration<double>(t1 - t0).count();
}

std::unique_ptr<node::ApiClient> connect(const NodeHandle& n) {
    auto c = node::ApiClient::connect(n.api_socket, 30000);  // bounds every call at 30 s
    if (!c.ok()) fail(n.name + " node: " + c.error());
    return std::move(c).value();
}

json call(node::ApiClient& c, const json& req, const NodeHandle& n) {
    auto r = c.call(req);
    if (!r.ok()) fail(n.name + " node, op '" + req.value("op", "") + "': " + r.error());
    return std::move(r).value();
}

double self_cpu_s() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A send request with an incompressible body, as a DMS would submit a scanned document.
// `count` > 1 makes it one send_batch request of that many such documents.
json send_request(const std::string& to, size_t body_bytes, size_t count = 1) {
    std::vector<uint8_t> body(body_bytes);
    randombytes_buf(body.data(), body.size());
    json doc{{"op", "send"},
             {"to", json::array({to})},
             {"subject", "lienthong-bench"},
             {"doc_type", "Công văn"},
             {"body", json::binary(std::move(body))}};
    if (count <= 1) return doc;
    doc.erase("op");
    json req{{"op", "send_batch"}, {"documents", json::array()}};
    for (size_t i = 0; i < count; ++i) req["documents"].push_back(doc);
    return req;
}

struct Snapshot {
    uint64_t commits = 0, retries = 0, inbox_total = 0, outbox_pending = 0, received = 0, duplicates = 0, receipts = 0;
    int64_t db_bytes = 0;
    ProcStats proc;
};

Snapshot snapshot(node::ApiClient& c, const NodeHandle& n) {
    Snapshot s;
    const json st = call(c, {{"op", "status"}}, n);
    const json& counters = st.at("counters");
    s.commits = counters.value("commits", uint64_t{0});
    s.received = counters.value("received", uint64_t{0});
    s.duplicates = counters.value("duplicates", uint64_t{0});
    s.receipts = counters.value("receipts", uint64_t{0});
    s.inbox_total = st.value("inbox_total", uint64_t{0});
    s.outbox_pending = st.value("outbox_pending", uint64_t{0});
    const json peers = call(c, {{"op", "peer_list"}}, n);
    for (const auto& p : peers.at("peers")) s.retries += p.value("retries", uint64_t{0});
    s.proc = read_proc_stats(n.pid);
    std::error_code ec;
    s.db_bytes = static_cast<int64_t>(std::filesystem::file_size(n.database(), ec));
    return s;
}

NodeDelta delta(const Snapshot& a, const Snapshot& b) {
    return NodeDelta{b.commits - a.commits, b.proc.cpu_s - a.proc.cpu_s, b.proc.loop_cpu_s - a.proc.loop_cpu_s,
                     b.proc.loop_wait_s - a.proc.loop_wait_s, b.db_bytes - a.db_bytes,
                     b.retries - a.retries,  b.received - a.received,  b.duplicates - a.duplicates,
                     b.receipts - a.receipts};
}

// Whether any document the sender holds still waits for a recipient's receipt.
bool any_pending(node::ApiClient& c, const NodeHandle& sender) {
    const json r = call(c, {{"op", "outbox"}, {"pending", true}, {"limit", 1}}, sender);
    return !r.at("documents").empty();
}

// acked_ms - queued_ms of one delivered document, as the sender recorded it.
std::optional<double> node_latency_ms(node::ApiClient& c, const NodeHandle& sender, const std::string& id) {
    const json doc = call(c, {{"op", "show"}, {"id", id}}, sender);
    for (const auto& d : doc.at("deliveries"))
        if (d.value("state", "") == "delivered")
            return double(d.value("acked_ms", uint64_t{0})) - double(d.value("queued_ms", uint64_t{0}));
    return std::nullopt;
}

// Asks the sender to re-verify each stored receipt's signature and document hash.
size_t check_receipts(node::ApiClient& c, const NodeHandle& sender, const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
        const json r = call(c, {{"op", "receipt"}, {"id", id}}, sender);
        const auto& rs = r.at("receipts");
        if (rs.size() != 1 || !rs[0].value("signature_valid", false) || !rs[0].value("hash_matches", false))
            fail("receipt of document " + id + " did not verify: " + r.dump());
    }
    return ids.size();
}

// Evenly spread picks, at most `k`.
std::vector<std::string> sample(const std::vector<std::string>& all, size_t k) {
    std::vector<std::string> out;
    if (all.empty()) return out;
    k = std::min(k, all.size());
    for (size_t i = 0; i < k; ++i) out.push_back(all[i * all.size() / k]);
    return out;
}

}  // namespace

Percentiles percentiles(std::vector<double> v) {
    Percentiles p;
    p.n = v.size();
    if (v.empty()) return p;
    std::sort(v.begin(), v.end());
    const auto rank = [&](double q) { return v[std::max<size_t>(1, size_t(std::ceil(q * double(v.size())))) - 1]; };
    p.p50 = rank(0.50);
    p.p99 = rank(0.99);
    p.max = v.back();
    return p;
}

ThroughputResult run_throughput(const Cluster& cluster, const std::string& name, size_t docs, size_t body_bytes,
                                size_t senders, size_t batch, const PhaseOptions& options) {
    return run_throughput(cluster, cluster.sender(), cluster.receiver(), nullptr, name, docs, body_bytes, senders,
                          batch, options);
}

ThroughputResult run_throughput(const Cluster& cluster, const NodeHandle& snd, const NodeHandle& rcv,
                                const NodeHandle* via, const std::string& name, size_t docs, size_t body_bytes,
                                size_t senders, size_t batch, const PhaseOptions& options) {
    auto control = connect(snd);
    auto rcontrol = connect(rcv);
    std::unique_ptr<node::ApiClient> vcontrol = via ? connect(*via) : nullptr;
    const Snapshot s0 = snapshot(*control, snd), r0 = snapshot(*rcontrol, rcv);
    const Snapshot v0 = via ? snapshot(*vcontrol, *via) : Snapshot{};
    if (s0.outbox_pending != 0) fail(name + ": sender outbox is not empty before the phase");
    const double cpu0 = self_cpu_s();

    std::vector<std::vector<std::string>> ids(senders);
    std::atomic<size_t> next{0}, finished{0};
    std::atomic<bool> abort{false};
    std::mutex error_mutex;
    std::string first_error;
    const auto record_error = [&](const std::string& e) {
        std::lock_guard lock(error_mutex);
        if (first_error.empty()) first_error = e;
        abort = true;
    };
    std::latch ready(static_cast<std::ptrdiff_t>(senders)), go(1);

    // Joins the sender threads on every way out of this function.
    struct Joiner {
        std::vector<std::thread> threads;
        std::atomic<bool>& abort;
        std::latch& go;
        bool released = false;
        ~Joiner() {
            abort = true;
            if (!released) go.count_down();
            for (auto& t : threads) t.join();
        }
    } joiner{{}, abort, go};
    for (size_t t = 0; t < senders; ++t) {
        joiner.threads.emplace_back([&, t] {
            std::unique_ptr<node::ApiClient> client;
            json req;
            try {
                client = connect(snd);
                req = send_request(rcv.agency, body_bytes, batch);
            } catch (const std::exception& e) {
                record_error(e.what());
            }
            ready.count_down();
            go.wait();
            while (client && !abort && !g_interrupted) {
                const size_t first = next.fetch_add(batch);
                if (first >= docs) break;
                const size_t n = std::min(batch, docs - first);
                if (n < batch) req = send_request(rcv.agency, body_bytes, n);
                auto r = client->call(req);
                if (!r.ok()) {
                    record_error("sender node, op '" + req.value("op", "") + "': " + r.error());
                    break;
                }
                if (r->contains("ids"))
                    for (const auto& id : r->at("ids")) ids[t].push_back(id.get<std::string>());
                else
                    ids[t].push_back(r->value("id", ""));
            }
            ++finished;
        });
    }
    ready.wait();
    const auto t0 = SteadyClock::now();
    go.count_down();
    joiner.released = true;
    const auto deadline = t0 + options.timeout;
    SteadyClock::time_point accepted{}, done{};
    auto last_alive_check = t0;
    for (;;) {
        if (g_interrupted) fail("interrupted");
        if (abort) {
            std::lock_guard lock(error_mutex);
            fail(name + ": " + first_error);
        }
        const auto now = SteadyClock::now();
        if (now > deadline)
            fail(name + ": not finished after " + std::to_string(options.timeout.count()) + " s (" +
                 std::to_string(std::min(next.load(), docs)) + " of " + std::to_string(docs) + " sends started)");
        if (now - last_alive_check > std::chrono::milliseconds(200)) {
            cluster.check_alive();
            last_alive_check = now;
        }
        if (finished == senders) {
            if (accepted == SteadyClock::time_point{}) accepted = now;
            const json st = call(*control, {{"op", "status"}}, snd);
            // Through a relay the outbox empties once the relay has custody; the delivery
            // stays pending until the recipient's receipt is back.
            if (st.value("outbox_pending", uint64_t{1}) == 0 && (!via || !any_pending(*control, snd))) {
                done = SteadyClock::now();
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }

    ThroughputResult res;
    res.name = name;
    res.docs = docs;
    res.body_bytes = body_bytes;
    res.senders = senders;
    res.batch = batch;
    res.accept_s = seconds_since(t0, accepted);
    res.total_s = seconds_since(t0, done);
    res.bench_cpu_s = self_cpu_s() - cpu0;
    const Snapshot s1 = snapshot(*control, snd), r1 = snapshot(*rcontrol, rcv);
    res.sender = delta(s0, s1);
    res.receiver = delta(r0, r1);
    const Snapshot v1 = via ? snapshot(*vcontrol, *via) : Snapshot{};
    if (via) {
        res.relayed = true;
        res.relay = delta(v0, v1);
    }
    // Exactly once: every document is in the receiver's inbox once.
    if (r1.inbox_total - r0.inbox_total != docs)
        fail(name + ": receiver's inbox grew by " + std::to_string(r1.inbox_total - r0.inbox_total) +
             " documents, expected " + std::to_string(docs));
    if (via && v1.inbox_total != v0.inbox_total)  // carried, not received
        fail(name + ": the relay's inbox grew by " + std::to_string(v1.inbox_total - v0.inbox_total) + " documents");

    std::vector<std::string> all;
    for (auto& v : ids) all.insert(all.end(), v.begin(), v.end());
    std::vector<double> lat;
    for (const auto& id : sample(all, body_bytes > 65536 ? 30 : 200)) {
        check_interrupted();
        if (auto ms = node_latency_ms(*control, snd, id)) lat.push_back(*ms);
    }
    res.node_latency_ms = percentiles(std::move(lat));
    res.receipts_checked = check_receipts(*control, snd, sample(all, 3));
    return res;
}

LatencyResult run_latency(const Cluster& cluster, size_t samples, size_t body_bytes, const PhaseOptions& options) {
    const auto& snd = cluster.sender();
    const auto& rcv = cluster.receiver();
    auto client = connect(snd);
    auto rcontrol = connect(rcv);
    const Snapshot s0 = snapshot(*client, snd), r0 = snapshot(*rcontrol, rcv);
    const json req = send_request(rcv.agency, body_bytes);
    const auto deadline = SteadyClock::now() + options.timeout;
    std::vector<std::string> ids;
    std::vector<double> client_ms;
    for (size_t i = 0; i < samples; ++i) {
        const auto t0 = SteadyClock::now();
        ids.push_back(call(*client, req, snd).value("id", ""));
        // One at a time: the next document goes only once this one's receipt is committed.
        for (size_t polls = 0;; ++polls) {
            check_interrupted();
            if (SteadyClock::now() > deadline)
                fail("latency: not finished after " + std::to_string(options.timeout.count()) + " s (" +
                     std::to_string(i) + " of " + std::to_string(samples) + " documents)");
            if (polls % 1000 == 999) cluster.check_alive();
            if (call(*client, {{"op", "status"}}, snd).value("outbox_pending", uint64_t{1}) == 0) break;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        client_ms.push_back(seconds_since(t0, SteadyClock::now()) * 1000.0);
    }
    LatencyResult res;
    res.sender = delta(s0, snapshot(*client, snd));
    res.receiver = delta(r0, snapshot(*rcontrol, rcv));
    std::vector<double> node_ms;
    for (const auto& id : ids) {
        check_interrupted();
        if (auto ms = node_latency_ms(*client, snd, id)) node_ms.push_back(*ms);
    }
    if (node_ms.size() != ids.size()) fail("latency: some documents were not marked delivered");
    check_receipts(*client, snd, sample(ids, 3));
    res.node_ms = percentiles(std::move(node_ms));
    res.client_ms = percentiles(std::move(client_ms));
    return res;
}

}  // namespace lienthong::bench
