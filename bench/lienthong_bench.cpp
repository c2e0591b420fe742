// lienthong-bench: starts two real lienthong-node processes on 127.0.0.1 and measures, end to
// end (durable, signed, encrypted, receipts verified):
//   1. documents per second for 1 KiB documents, many concurrent senders: submitted in
//      send_batch requests (as a DMS catching up would), then one send call per document
//   2. MB/s for 1 MiB documents
//   3. send -> verified receipt latency, p50 and p99, one document at a time
//   4. each node's peak memory (VmHWM)
//   5. MB/s for 1 MiB documents from a commune through a district to the province (three
//      nodes: the commune cannot reach the province directly), beside the district ->
//      province direct figure measured on the same three nodes just before
// and prints each figure beside its target. It never fails because a target is missed: the
// exit status says only whether the measurement itself could be made.
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/vdxp_phase.h"
#include <vector>

#include "bench/cluster.h"
#include "bench/phases.h"

#ifndef LIENTHONG_NODE_BIN
#define LIENTHONG_NODE_BIN "lienthong-node"
#endif

namespace lienthong::bench {
namespace {

constexpr double kTargetDocsPerS = 5000;
constexpr double kTargetMBPerS = 150;
constexpr double kTargetP50Ms = 5;
constexpr double kTargetRssMiB = 100;
constexpr double kTargetRelayShare = 0.8;  // relayed MB/s at least this share of direct

// Every cluster started, so that an interrupt stops them all.
std::mutex g_clusters_mutex;
std::vector<std::weak_ptr<Cluster>> g_clusters;

std::shared_ptr<Cluster> make_cluster(const ClusterOptions& co) {
    auto c = std::make_shared<Cluster>(co);
    std::lock_guard lock(g_clusters_mutex);
    g_clusters.push_back(c);
    return c;
}

// Peak RssAnon / RssFile of both nodes, sampled every 10 ms, to tell heap from LMDB's map.
class MemorySampler {
public:
    MemorySampler(pid_t a, pid_t b) : m_pids{a, b}, m_thread([this] { loop(); }) {}
    ~MemorySampler() {
        m_stop = true;
        m_thread.join();
    }
    uint64_t peak_anon_kib(int i) const { return m_anon[i]; }
    uint64_t peak_file_kib(int i) const { return m_file[i]; }

private:
    void loop() {
        while (!m_stop) {
            for (int i = 0; i < 2; ++i) {
                const auto s = read_proc_stats(m_pids[i]);
                m_anon[i] = std::max<uint64_t>(m_anon[i], s.rss_anon_kib);
                m_file[i] = std::max<uint64_t>(m_file[i], s.rss_file_kib);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    pid_t m_pids[2];
    std::atomic<uint64_t> m_anon[2] = {0, 0}, m_file[2] = {0, 0};
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

std::string verdict(bool met) { return met ? "met" : "NOT MET"; }

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

void print_costs(const char* who, const NodeDelta& d, size_t docs, double payload_bytes, double seconds) {
    std::printf("    %-8s commits %7llu (%6.0f/s, %5.1f docs/commit)  cpu %6.2f s (%3.0f%% of a core)  "
                "data.mdb grew %7.1f MiB (%4.2fx payload)\n"
                "             event loop: on CPU %5.1f%%, waiting for a CPU %5.1f%%, blocked (I/O, idle) %5.1f%% of the phase\n"
                "             retransmits %llu, documents received %llu, duplicate arrivals %llu, receipts %llu\n",
                who, static_cast<unsigned long long>(d.commits), seconds > 0 ? double(d.commits) / seconds : 0.0,
                d.commits ? double(docs) / double(d.commits) : 0.0, d.cpu_s, seconds > 0 ? 100.0 * d.cpu_s / seconds : 0.0,
                double(d.db_growth) / 1048576.0, payload_bytes > 0 ? double(d.db_growth) / payload_bytes : 0.0,
                100.0 * d.loop_cpu_s / seconds, 100.0 * d.loop_wait_s / seconds,
                std::max(0.0, 100.0 - 100.0 * (d.loop_cpu_s + d.loop_wait_s) / seconds), static_cast<unsigned long long>(d.retransmits),
                static_cast<unsigned long long>(d.received), static_cast<unsigned long long>(d.duplicates),
                static_cast<unsigned long long>(d.receipts));
}

void print_throughput(const ThroughputResult& r) {
    const double mb = double(r.docs) * double(r.body_bytes) / 1e6;
    std::printf("  %s: %zu documents of %zu bytes, %zu concurrent senders, %s\n", r.name.c_str(), r.docs,
                r.body_bytes, r.senders,
                r.batch > 1 ? ("send_batch requests of " + std::to_string(r.batch)).c_str() : "one send call each");
    std::printf("    accepted (committed at sender) in %.3f s = %.0f docs/s; delivered with verified receipts in %.3f s "
                "= %.0f docs/s, %.1f MB/s\n",
                r.accept_s, double(r.docs) / r.accept_s, r.total_s, double(r.docs) / r.total_s, mb / r.total_s);
    std::printf("    node-recorded send->receipt latency under this load (sample of %zu): p50 %.0f ms, p99 %.0f ms, "
                "max %.0f ms\n",
                r.node_latency_ms.n, r.node_latency_ms.p50, r.node_latency_ms.p99, r.node_latency_ms.max);
    print_costs("sender", r.sender, r.docs, mb * 1e6, r.total_s);
    if (r.relayed) print_costs("relay", r.relay, r.docs, mb * 1e6, r.total_s);
    print_costs("receiver", r.receiver, r.docs, mb * 1e6, r.total_s);
    std::printf("    bench   cpu %6.2f s (%3.0f%% of a core)   receipts re-verified via API: %zu\n", r.bench_cpu_s,
                100.0 * r.bench_cpu_s / r.total_s, r.receipts_checked);
}

struct Options {
    size_t docs_small = 20000, docs_large = 300, latency_samples = 500, docs_relay = 300;
    bool relay_only = false;
    bool vdxp_only = false;
    size_t vdxp_docs = 20000;
    size_t vdxp_clients = 16;
    size_t senders = 32, large_senders = 8, batch = 64;
    size_t small_bytes = 1024, large_bytes = 1 << 20;
    bool quick = false, keep_dirs = false;
    std::string node_bin = LIENTHONG_NODE_BIN;
    std::string work_dir;
    unsigned timeout_s = 300;
    unsigned start_timeout_s = 15;
    uint64_t chunk_threshold = 0;
    uint64_t window_bytes = 0;
    uint64_t window_documents = 0;
    bool audit_off = false;      // the nodes run with audit.enabled: false
    bool audit_compare = false;  // the throughput and latency phases with the audit log on and off
    unsigned audit_rounds = 2;
};

double mb_per_s(const ThroughputResult& r) { return double(r.docs) * double(r.body_bytes) / 1e6 / r.total_s; }

struct RelayFigures {
    ThroughputResult direct, relayed;
};

// Phase 5 on a cluster of its own: commune -> district -> province against district ->
// province, 1 MiB documents, after a warm-up of each path (the links' goodput is measured, so
// that 1 MiB envelopes go whole as they do on a warmed-up link).
// The hub API phase: sendEdoc of 1 KiB edXML from concurrent HTTP clients, each answered once
// committed, beside the node's own send_batch figure on the same cluster.
int run_vdxp(const Options& o, ClusterOptions co, const PhaseOptions& po) {
    co.vdxp = true;
    auto cluster = make_cluster(co);
    cluster->start();
    std::printf("lienthong-bench --vdxp-only: sender pid %d (hub API on 127.0.0.1:%u), %u CPUs, load average %s\n",
                cluster->sender().pid, cluster->vdxp_port(), std::thread::hardware_concurrency(), load_average().c_str());
    (void)run_vdxp_send(*cluster, 200, 4);  // warm-up
    const VdxpResult v = run_vdxp_send(*cluster, o.vdxp_docs, o.vdxp_clients);
    std::printf("  hub API sendEdoc: %.0f documents/s answered, %.0f/s delivered with verified receipts\n",
                double(v.docs) / v.seconds, double(v.docs) / v.delivered_s);
    std::fflush(stdout);
    const auto batch = run_throughput(*cluster, "1 KiB documents", o.docs_small, o.small_bytes, o.senders, o.batch, po);
    std::printf("\nRESULTS (load average %s)\n", load_average().c_str());
    std::printf("  hub API sendEdoc: %zu edXML files of %zu bytes, %zu concurrent HTTP clients, signed as the SDK signs\n",
                v.docs, v.file_bytes, v.clients);
    std::printf("    %.0f documents/s durable (answered after the fsync'd commit); latency p50 %.2f ms, p99 %.2f ms, "
                "max %.2f ms; %zu failed%s%s\n",
                double(v.docs) / v.seconds, v.latency_ms.p50, v.latency_ms.p99, v.latency_ms.max, v.failed,
                v.first_error.empty() ? "" : ": ", v.first_error.c_str());
    print_throughput(batch);
    return v.failed == 0 ? 0 : 1;
}

RelayFigures run_relay(const Options& o, ClusterOptions co, const PhaseOptions& po) {
    co.relay = true;
    auto cluster = make_cluster(co);
    cluster->start();
    const auto &commune = cluster->sender(), &province = cluster->receiver(), &district = cluster->relay();
    std::printf("lienthong-bench: relay phase: commune pid %d -> district pid %d -> province pid %d, data in %s, load "
                "average %s\n",
                commune.pid, district.pid, province.pid, cluster->dir().c_str(), load_average().c_str());
    std::fflush(stdout);
    (void)run_throughput(*cluster, district, province, nullptr, "warm-up", 20, o.large_bytes, o.large_senders, 1, po);
    (void)run_throughput(*cluster, commune, province, &district, "warm-up", 20, o.large_bytes, o.large_senders, 1, po);
    RelayFigures f;
    f.direct = run_throughput(*cluster, district, province, nullptr, "1 MiB documents, district -> province (direct)",
                              o.docs_relay, o.large_bytes, o.large_senders, 1, po);
    print_throughput(f.direct);
    std::fflush(stdout);
    f.relayed = run_throughput(*cluster, commune, province, &district,
                               "1 MiB documents, commune -> district -> province (relayed)", o.docs_relay,
                               o.large_bytes, o.large_senders, 1, po);
    print_throughput(f.relayed);
    std::fflush(stdout);
    cluster->stop();
    return f;
}

void print_relay_results(const RelayFigures& f) {
    const double direct = mb_per_s(f.direct), relayed = mb_per_s(f.relayed);
    char target[64];
    std::snprintf(target, sizeof target, ">= %.1fx direct", kTargetRelayShare);
    std::printf("  %-44s %9.1f MB/s    (no target; the same three nodes)\n", "(5) 1 MiB, district -> province direct",
                direct);
    std::printf("  %-44s %9.1f MB/s    %s  %.2fx: %s\n", "(5) 1 MiB, commune -> district -> province", relayed, target,
                relayed / direct, verdict(relayed >= kTargetRelayShare * direct).c_str());
}

// The audit log's cost (issue 18): phases 1-3 on two fresh clusters per round, one with
// audit.enabled: false and one with it on (the order alternates between rounds, so a drift of
// the host's fsync cost does not favour one), and the best figure of each side printed beside
// the other's. Goal: no figure more than 10% worse with the log on.
int run_audit_compare(const Options& o, const ClusterOptions& base, const PhaseOptions& po) {
    struct Figures {
        double batched = 0, single = 0, mb_s = 0, p50 = 1e9;
    };
    Figures on, off;
    for (unsigned round = 0; round < o.audit_rounds; ++round) {
        for (int k = 0; k < 2; ++k) {
            const bool audit = (round + k) % 2 == 1;
            ClusterOptions co = base;
            co.audit = audit;
            auto cluster = make_cluster(co);
            cluster->start();
            (void)run_throughput(*cluster, "warm-up", 50, o.small_bytes, 4, 1, po);
            const auto small = run_throughput(*cluster, "1 KiB documents", o.docs_small, o.small_bytes, o.senders, o.batch, po);
            const auto single = run_throughput(*cluster, "1 KiB documents", o.docs_small, o.small_bytes, o.senders, 1, po);
            const auto large = run_throughput(*cluster, "1 MiB documents", o.docs_large, o.large_bytes, o.large_senders, 1, po);
            const auto lat = run_latency(*cluster, o.latency_samples, o.small_bytes, po);
            cluster->stop();
            Figures& f = audit ? on : off;
            const double b = double(small.docs) / small.total_s, s = double(single.docs) / single.total_s;
            std::printf("  round %u, audit %s: %.0f docs/s batched, %.0f docs/s single, %.1f MB/s, p50 %.0f ms\n", round + 1,
                        audit ? "on " : "off", b, s, mb_per_s(large), lat.node_ms.p50);
            std::fflush(stdout);
            f.batched = std::max(f.batched, b);
            f.single = std::max(f.single, s);
            f.mb_s = std::max(f.mb_s, mb_per_s(large));
            f.p50 = std::min(f.p50, lat.node_ms.p50);
        }
    }
    std::printf("\nAUDIT LOG COST (best of %u rounds each; load average %s)\n", o.audit_rounds, load_average().c_str());
    std::printf("  %-40s %12s %12s %8s\n", "figure", "audit off", "audit on", "on/off");
    const auto row = [](const char* name, double a, double b, const char* unit) {
        std::printf("  %-40s %9.1f %-2s %9.1f %-2s %7.2fx\n", name, a, unit, b, unit, a > 0 ? b / a : 0.0);
    };
    row("(1) 1 KiB docs/s, send_batch", off.batched, on.batched, "/s");
    row("(1) 1 KiB docs/s, one send call each", off.single, on.single, "/s");
    row("(2) 1 MiB documents, MB/s", off.mb_s, on.mb_s, "MB");
    row("(3) send->verified receipt p50, ms", off.p50, on.p50, "ms");
    const bool met = on.batched >= 0.9 * off.batched && on.single >= 0.9 * off.single && on.mb_s >= 0.9 * off.mb_s;
    std::printf("  throughput with the log on within 10%% of off: %s\n", met ? "met" : "NOT MET");
    std::fflush(stdout);
    return 0;
}

int run(const Options& o) {
    ClusterOptions co;
    co.node_bin = o.node_bin;
    co.work_parent = o.work_dir;
    co.keep_dirs = o.keep_dirs;
    co.chunk_threshold_bytes = o.chunk_threshold;
    co.window_bytes = o.window_bytes;
    co.window_documents = o.window_documents;
    co.start_timeout = std::chrono::seconds(o.start_timeout_s);
    co.audit = !o.audit_off;
    // An interrupt stops the nodes and removes the directory even if the main thread is stuck.
    std::thread([] {
        sigset_t set;
        sigemptyset(&set);
        for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
        int sig = 0;
        sigwait(&set, &sig);
        g_interrupted = true;
        std::fprintf(stderr, "lienthong-bench: interrupted, stopping the nodes\n");
        std::this_thread::sleep_for(std::chrono::seconds(3));  // let the main thread unwind
        std::lock_guard lock(g_clusters_mutex);
        for (const auto& weak : g_clusters)
            if (auto c = weak.lock()) c->stop();
        ::_exit(130);
    }).detach();
    PhaseOptions po;
    po.timeout = std::chrono::seconds(o.timeout_s);
    if (o.audit_compare) return run_audit_compare(o, co, po);
    if (o.vdxp_only) return run_vdxp(o, co, po);
    if (o.relay_only) {
        const RelayFigures f = run_relay(o, co, po);
        std::printf("\nRESULTS (end to end: durable, signed, encrypted, receipts verified; load average %s)\n",
                    load_average().c_str());
        print_relay_results(f);
        return 0;
    }

    auto cluster = make_cluster(co);
    cluster->start();
    std::printf("lienthong-bench: sender pid %d, receiver pid %d, data in %s (%s), %u CPUs, load average %s\n",
                cluster->sender().pid, cluster->receiver().pid, cluster->dir().c_str(), cluster->filesystem().c_str(),
                std::thread::hardware_concurrency(), load_average().c_str());
    std::printf("  (a commit is one LMDB write transaction: an fdatasync of its pages plus a synchronous meta-page "
                "write)\n");
    std::fflush(stdout);
    MemorySampler mem(cluster->sender().pid, cluster->receiver().pid);

    // Warm-up: first use of the link, the LMDB map and the allocators is not what we measure.
    (void)run_throughput(*cluster, "warm-up", 50, o.small_bytes, 4, 1, po);
    const auto small = run_throughput(*cluster, "1 KiB documents", o.docs_small, o.small_bytes, o.senders, o.batch, po);
    print_throughput(small);
    std::fflush(stdout);
    const auto single = run_throughput(*cluster, "1 KiB documents", o.docs_small, o.small_bytes, o.senders, 1, po);
    print_throughput(single);
    std::fflush(stdout);
    const auto large =
        run_throughput(*cluster, "1 MiB documents", o.docs_large, o.large_bytes, o.large_senders, 1, po);
    print_throughput(large);
    std::fflush(stdout);
    const auto lat = run_latency(*cluster, o.latency_samples, o.small_bytes, po);
    std::printf("  latency: %zu documents of %zu bytes, one at a time\n", lat.node_ms.n, o.small_bytes);
    std::printf("    node-recorded (acked_ms - queued_ms, 1 ms resolution): p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
                lat.node_ms.p50, lat.node_ms.p99, lat.node_ms.max);
    std::printf("    bench-measured (send call -> outbox seen empty, polled every 0.2 ms): p50 %.2f ms, p99 %.2f ms, "
                "max %.2f ms\n",
                lat.client_ms.p50, lat.client_ms.p99, lat.client_ms.max);
    std::printf("    commits per document: sender %.2f, receiver %.2f\n",
                double(lat.sender.commits) / double(lat.node_ms.n), double(lat.receiver.commits) / double(lat.node_ms.n));

    const ProcStats ps = read_proc_stats(cluster->sender().pid), pr = read_proc_stats(cluster->receiver().pid);
    const uint64_t anon_s = mem.peak_anon_kib(0), file_s = mem.peak_file_kib(0);
    const uint64_t anon_r = mem.peak_anon_kib(1), file_r = mem.peak_file_kib(1);
    cluster->stop();  // phase 5 runs three nodes of its own
    const RelayFigures relay = run_relay(o, co, po);
    const double hwm_s = double(ps.vm_hwm_kib) / 1024.0, hwm_r = double(pr.vm_hwm_kib) / 1024.0;
    std::printf("  memory: sender VmHWM %.1f MiB (peak RssAnon %.1f, RssFile %.1f); receiver VmHWM %.1f MiB "
                "(peak RssAnon %.1f, RssFile %.1f)\n",
                hwm_s, double(anon_s) / 1024.0, double(file_s) / 1024.0, hwm_r, double(anon_r) / 1024.0,
                double(file_r) / 1024.0);

    const double docs_s = double(small.docs) / small.total_s;
    const double single_docs_s = double(single.docs) / single.total_s;
    const std::string batched = "(1) 1 KiB docs/s, send_batch of " + std::to_string(o.batch);
    const double mb_s = double(large.docs) * double(large.body_bytes) / 1e6 / large.total_s;
    std::printf("\nRESULTS (end to end: durable, signed, encrypted, receipts verified; load average %s)\n",
                load_average().c_str());
    std::printf("  %-44s %9s          %s\n", "figure", "measured", "target");
    std::printf("  %-44s %9.0f docs/s  >= %4.0f docs/s  %s\n", batched.c_str(), docs_s, kTargetDocsPerS,
                verdict(docs_s >= kTargetDocsPerS).c_str());
    std::printf("  %-44s %9.0f docs/s  >= %4.0f docs/s  %s\n", "(1) 1 KiB docs/s, one send call each", single_docs_s,
                kTargetDocsPerS, verdict(single_docs_s >= kTargetDocsPerS).c_str());
    std::printf("  %-44s %9.1f MB/s    >= %4.0f MB/s    %s\n", "(2) 1 MiB documents, MB/s (10^6 B/s)", mb_s,
                kTargetMBPerS, verdict(mb_s >= kTargetMBPerS).c_str());
    std::printf("  %-44s %9.2f ms      <  %4.0f ms      %s\n", "(3) send->verified receipt p50 (node clock)",
                lat.node_ms.p50, kTargetP50Ms, verdict(lat.node_ms.p50 < kTargetP50Ms).c_str());
    std::printf("  %-44s %9.2f ms      <  %4.0f ms      %s\n", "    send->verified receipt p50 (bench clock)",
                lat.client_ms.p50, kTargetP50Ms, verdict(lat.client_ms.p50 < kTargetP50Ms).c_str());
    std::printf("  %-44s %9.2f ms      (no target)\n", "    send->verified receipt p99 (node clock)", lat.node_ms.p99);
    std::printf("  %-44s %9.2f ms      (no target)\n", "    send->verified receipt p99 (bench clock)", lat.client_ms.p99);
    std::printf("  %-44s %9.1f MiB     <  %4.0f MiB     %s\n", "(4) sender peak RSS (VmHWM)", hwm_s, kTargetRssMiB,
                verdict(hwm_s < kTargetRssMiB).c_str());
    std::printf("  %-44s %9.1f MiB     <  %4.0f MiB     %s\n", "(4) receiver peak RSS (VmHWM)", hwm_r, kTargetRssMiB,
                verdict(hwm_r < kTargetRssMiB).c_str());
    print_relay_results(relay);
    std::fflush(stdout);
    return 0;
}

}  // namespace
}  // namespace lienthong::bench

int main(int argc, char** argv) {
    using lienthong::bench::Options;
    Options o;
    const char* tmp = std::getenv("TMPDIR");
    o.work_dir = tmp && *tmp ? tmp : "/tmp";
    CLI::App app{"lienthong-bench: end-to-end throughput, latency and memory of two lienthong-node processes"};
    app.add_option("--docs-small", o.docs_small, "1 KiB documents for the throughput figure")->capture_default_str();
    app.add_option("--docs-large", o.docs_large, "1 MiB documents for the MB/s figure")->capture_default_str();
    app.add_option("--latency-samples", o.latency_samples, "documents sent one at a time for latency")
        ->capture_default_str();
    app.add_option("--senders", o.senders, "concurrent API clients for 1 KiB documents")->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_option("--batch", o.batch,
                   "documents per send_batch request in the first 1 KiB phase (the second sends one per call)")
        ->capture_default_str()->check(CLI::Range(1, 1024));
    app.add_option("--large-senders", o.large_senders, "concurrent API clients for 1 MiB documents")
        ->capture_default_str()->check(CLI::Range(1, 1024));
    app.add_option("--docs-relay", o.docs_relay, "1 MiB documents for each relay-phase figure (direct, relayed)")
        ->capture_default_str();
    app.add_flag("--relay-only", o.relay_only, "run only phase 5 (relay against direct, three nodes)");
    app.add_flag("--vdxp-only", o.vdxp_only,
                 "run only the hub API phase: sendEdoc of 1 KiB edXML over HTTP, beside send_batch of 1 KiB");
    app.add_option("--vdxp-docs", o.vdxp_docs, "documents for the hub API phase")->capture_default_str();
    app.add_option("--vdxp-clients", o.vdxp_clients, "concurrent HTTP clients for the hub API phase")->capture_default_str();
    app.add_flag("--quick", o.quick, "smoke run: 500 small, 20 large, 50 latency samples, 20 relay");
    app.add_flag("--keep-dirs", o.keep_dirs, "keep the nodes' directories (configs, logs, databases)");
    app.add_option("--node-bin", o.node_bin, "lienthong-node binary")->capture_default_str();
    app.add_option("--work-dir", o.work_dir, "where to create the temporary directory (default $TMPDIR or /tmp)");
    app.add_option("--timeout", o.timeout_s, "seconds allowed for each phase")->capture_default_str()
        ->check(CLI::Range(1, 86400));
    app.add_option("--start-timeout", o.start_timeout_s, "seconds allowed for the nodes to start and connect")
        ->capture_default_str()->check(CLI::Range(1, 3600));
    app.add_option("--chunk-threshold", o.chunk_threshold,
                   "the nodes' limits.chunk_threshold_bytes (envelopes above it travel in chunks); default: the node's")
        ->check(CLI::Range(uint64_t(65536), uint64_t(1) << 30));
    app.add_option("--window-bytes", o.window_bytes,
                   "the nodes' limits.window_bytes (unacknowledged bytes in flight per peer); default: the node's")
        ->check(CLI::Range(uint64_t(4096), uint64_t(1) << 32));
    app.add_option("--window-documents", o.window_documents,
                   "the nodes' limits.window_documents (unacknowledged documents in flight per peer); default: the "
                   "node's")
        ->check(CLI::Range(uint64_t(1), uint64_t(100000)));
    app.add_flag("--audit-off", o.audit_off, "run the nodes with audit.enabled: false");
    app.add_flag("--audit-compare", o.audit_compare,
                 "run phases 1-3 with the audit log off and on, on fresh clusters, and print both figures");
    app.add_option("--audit-rounds", o.audit_rounds, "rounds of --audit-compare (each: one cluster off, one on)")
        ->capture_default_str()->check(CLI::Range(1, 20));
    CLI11_PARSE(app, argc, argv);
    if (o.quick) {
        o.docs_small = 500;
        o.docs_large = 20;
        o.latency_samples = 50;
        o.docs_relay = 20;
    }
    if (o.docs_small == 0 || o.docs_large == 0 || o.latency_samples == 0 || o.docs_relay == 0) {
        std::fprintf(stderr, "lienthong-bench: --docs-small, --docs-large, --latency-samples and --docs-relay must be "
                             "at least 1\n");
        return 2;
    }
    // Signals go to the bench's signal thread only; worker threads inherit this mask.
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0) {
        std::fprintf(stderr, "lienthong-bench: libsodium failed to initialise\n");
        return 1;
    }
    try {
        return lienthong::bench::run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lienthong-bench: %s\n", e.what());
        return lienthong::bench::g_interrupted ? 130 : 1;
    }
}
