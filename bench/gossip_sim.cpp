// lienthong-gossip-sim: the federation directory's gossip (node/directory.cpp) run in one
// process over a simulated province, to measure how many rounds and bytes it takes for every
// node to hold every record, and for a revocation to reach everyone (issue 5, acceptance 6),
// with the directory's exchange of today (--sync full: a digest, then every id) or with range
// reconciliation (--sync range, the default: protocol/reconcile.h).
//
// Real: the records (gossip_sim_province.h); every verification a node makes (each node
// decodes and verifies every record before storing it, against its own issuer records and
// revocations, and keeps only what verifies, as NodeImpl::dir_accept); the digest (BLAKE2b-256
// over the sorted ids, as NodeImpl::dir_recompute); the gossip frames, whose sizes are those of
// protocol::encode_frame, and the reconciliation messages, encoded by protocol/reconcile.h.
// Modelled: the network (gossip_sim_network.h).
//
// This file: one run (the phases and their checks), the report, the command line.
//
// Checks (exit status 1 when one fails): after convergence every node's set is exactly the
// full set; after the revocation every node holds it and sees the commune's record as revoked;
// a record with a bad signature injected at one node is refused by every neighbour and held by
// no other node after as many rounds as convergence took; with --sync range, every
// reconciliation found exactly the true differences.
//
// Deterministic given --seed: the province, the links and the orders come from a seeded
// splitmix64.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/gossip_sim_network.h"

namespace lienthong::bench {
namespace {

using namespace lienthong::protocol;

// ---- One run -------------------------------------------------------------------------------

struct RunResult {
    size_t nodes = 0, links = 0, records = 0;
    Order order = Order::random;
    Sync sync = Sync::range;
    PhaseResult spread, revoke, forged, quiet;
    uint64_t verifications = 0, forged_refusals = 0;
    uint64_t checks_run = 0;  // verifications whose CPU was spent (all of them with --verify every)
    double check_seconds = 0;  // and that CPU
    double seconds = 0;
    // Verification CPU a node spends to hold the whole directory, from the checks that ran.
    double verify_ms_per_node() const {
        return checks_run == 0
                   ? 0
                   : 1000.0 * check_seconds / static_cast<double>(checks_run) *
                         static_cast<double>(verifications) / static_cast<double>(nodes);
    }
    std::vector<std::string> failures;
};

uint64_t percentile(const std::vector<uint64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    const size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size() - 1, k == 0 ? 0 : k - 1)];
}
double mean(const std::vector<uint64_t>& v) {
    double s = 0;
    for (const auto x : v) s += static_cast<double>(x);
    return v.empty() ? 0 : s / static_cast<double>(v.size());
}
std::string kib(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", bytes / 1024.0);
    return buf;
}

RunResult run_one(size_t n_nodes, Order order, Sync sync, const SimOptions& o) {
    const auto t0 = std::chrono::steady_clock::now();
    RunResult out;
    out.order = order;
    out.sync = sync;
    // The same tree and links for both orders and both syncs.
    Rng rng(o.seed * 0x100000001b3ull + n_nodes);
    const Province p = make_province(n_nodes, o.districts, o.seed, rng);
    Network net(p, o, order, sync, rng);
    out.nodes = n_nodes;
    out.links = net.links();
    out.records = p.full_count;
    auto check = [&](bool ok, const std::string& what) {
        if (!ok) out.failures.push_back(what);
    };

    // 1. From own record and issuer chain to the whole directory.
    out.spread = net.run(o.max_rounds, [&] {
        for (size_t a = 0; a < net.size(); ++a)
            if (net.node(a).now.count < p.full_count) return false;
        return true;
    });
    check(out.spread.converged,
          "the directory did not converge in " + std::to_string(o.max_rounds) + " rounds");
    for (size_t a = 0; a < net.size(); ++a)
        if (net.node(a).now.held != p.full) {
            check(false, "node " + p.agencies[a] + " does not hold exactly the full set");
            break;
        }

    // 2. A revocation of one commune, imported at its district's node.
    const size_t at = p.district_of[p.revoked_agency];
    net.accept(at, {p.revocation});
    check(net.node(at).now.held[p.revocation] == 1,
          "the revocation did not verify at its district");
    out.revoke = net.run(o.max_rounds, [&] {
        for (size_t a = 0; a < net.size(); ++a)
            if (!net.node(a).now.held[p.revocation]) return false;
        return true;
    });
    check(out.revoke.converged,
          "the revocation did not reach everyone in " + std::to_string(o.max_rounds) + " rounds");
    const NodeRecord revoked =
        must(NodeRecord::decode(p.records[p.node_record[p.revoked_agency]].wire), "decode");
    for (size_t a = 0; a < net.size(); ++a) {
        const SimNode& n = net.node(a);
        const auto v = verify_node_record(
            revoked, TrustView{p.roots, n.issuers, n.revocations, kNow, kDefaultMaxDepth});
        if (v.ok() || v.error().failure != TrustFailure::revoked) {
            check(false,
                  "node " + p.agencies[a] + " does not see " + revoked.agency + " as revoked");
            break;
        }
    }

    // A quiet round: every set equal, only DirDigest frames (or one reconciliation round trip
    // of a fingerprint and an empty answer) travel.
    out.quiet = net.run(1, [] { return true; });

    // 3. A record with a bad signature planted at one node, gossiped for as many rounds as the
    // directory took to converge: its neighbours must refuse it every time, nobody else hold it.
    const size_t liar = 1 + rng.below(net.size() - 1);
    uint64_t refusals_before = 0;
    for (size_t a = 0; a < net.size(); ++a) refusals_before += net.node(a).refusals;
    net.plant(liar, p.forged);
    const size_t forged_rounds = std::max<size_t>(3, out.spread.rounds);
    out.forged = net.run(forged_rounds, [&] { return net.rounds_run() == forged_rounds; });
    for (size_t a = 0; a < net.size(); ++a) {
        out.forged_refusals += net.node(a).refusals;
        out.verifications += net.node(a).verifications;
        if (a != liar && net.node(a).now.held[p.forged]) {
            check(false, "the forged record spread to " + p.agencies[a]);
            break;
        }
    }
    out.forged_refusals -= refusals_before;
    out.checks_run = net.checks_run();
    out.check_seconds = net.check_seconds();
    check(out.forged_refusals > 0, "no node was offered the forged record");
    check(refusals_before == 0,
          "records were refused before the forgery (an issuer arrived after its records?)");
    check(net.reconcile_mismatches() == 0,
          std::to_string(net.reconcile_mismatches()) +
              " reconciliations did not find exactly the true differences");
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

void print_run(const RunResult& r, const SimOptions& o) {
    auto phase = [](const char* name, const PhaseResult& p) {
        std::printf(
            "  %-22s rounds %3zu%s  total %10s KiB in %8llu frames  per node KiB: mean %s p50 %s "
            "p99 %s max %s%s\n",
            name, p.rounds, p.converged ? " " : "!", kib(static_cast<double>(p.bytes)).c_str(),
            static_cast<unsigned long long>(p.frames), kib(mean(p.per_node)).c_str(),
            kib(static_cast<double>(percentile(p.per_node, 0.5))).c_str(),
            kib(static_cast<double>(percentile(p.per_node, 0.99))).c_str(),
            kib(static_cast<double>(p.per_node.empty() ? 0 : p.per_node.back())).c_str(),
            p.reconcile_bytes == 0
                ? ""
                : ("  (reconciliation " + kib(static_cast<double>(p.reconcile_bytes)) + " KiB)")
                      .c_str());
    };
    std::printf(
        "N=%zu order=%s sync=%s topology=%s: %zu links (mean degree %.2f), %zu records (node + "
        "issuer), seed %llu\n",
        r.nodes, order_name(r.order), sync_name(r.sync), o.tree_links ? "tree" : "flat", r.links,
        2.0 * static_cast<double>(r.links) / static_cast<double>(r.nodes), r.records,
        static_cast<unsigned long long>(o.seed));
    phase("every record everywhere", r.spread);
    phase("revocation everywhere", r.revoke);
    phase("one quiet round", r.quiet);
    phase("forged record", r.forged);
    std::printf(
        "  forged record refused %llu times; %llu verifications by the nodes, %llu run here "
        "(%.0f us each): %.0f ms of verification per node; %.1f s\n",
        static_cast<unsigned long long>(r.forged_refusals),
        static_cast<unsigned long long>(r.verifications),
        static_cast<unsigned long long>(r.checks_run),
        r.checks_run ? 1e6 * r.check_seconds / static_cast<double>(r.checks_run) : 0.0,
        r.verify_ms_per_node(), r.seconds);
    for (const auto& f : r.failures) std::printf("  CHECK FAILED: %s\n", f.c_str());
    std::fflush(stdout);
}

void print_table(const std::vector<RunResult>& runs) {
    std::printf(
        "\nrounds and bytes: rounds until every node holds every record, then the revocation "
        "(revoc);\n"
        "KiB of frames, per node = sent + received; verify ms = verification CPU per node\n");
    std::printf(
        "%-5s %-8s %6s %6s %6s %7s | %6s %7s %10s %8s %8s %8s %8s | %6s %9s %8s %8s %8s | %9s "
        "%7s\n",
        "sync", "order", "nodes", "log2N", "links", "records", "rounds", "r/log2N", "total", "mean",
        "p50", "p99", "max", "revoc", "total", "mean", "p99", "max", "verify ms", "time s");
    for (const auto& r : runs) {
        const double lg = std::log2(static_cast<double>(r.nodes));
        const auto& s = r.spread;
        const auto& v = r.revoke;
        std::printf(
            "%-5s %-8s %6zu %6.2f %6zu %7zu | %6zu %7.2f %10s %8s %8s %8s %8s | %6zu %9s %8s %8s "
            "%8s | %9.0f %7.1f\n",
            sync_name(r.sync), order_name(r.order), r.nodes, lg, r.links, r.records, s.rounds,
            static_cast<double>(s.rounds) / lg, kib(static_cast<double>(s.bytes)).c_str(),
            kib(mean(s.per_node)).c_str(),
            kib(static_cast<double>(percentile(s.per_node, 0.5))).c_str(),
            kib(static_cast<double>(percentile(s.per_node, 0.99))).c_str(),
            kib(static_cast<double>(s.per_node.back())).c_str(), v.rounds,
            kib(static_cast<double>(v.bytes)).c_str(), kib(mean(v.per_node)).c_str(),
            kib(static_cast<double>(percentile(v.per_node, 0.99))).c_str(),
            kib(static_cast<double>(v.per_node.back())).c_str(), r.verify_ms_per_node(), r.seconds);
    }
}

const char* kUsage =
    "usage: lienthong-gossip-sim [--nodes N[,N...]] [--districts D] [--extra-links K]\n"
    "                            [--district-link-p P] [--seed S] [--order random|lockstep|both]\n"
    "                            [--max-rounds R] [--verify every|shared] [--topology tree|flat]\n"
    "                            [--sync range|full|both]\n"
    "Simulates the directory gossip of node/directory.cpp in one process (no sockets, no LMDB)\n"
    "over a province of N nodes: 1 province, D districts (issuers), communes under them; each\n"
    "commune links to its district and K random nodes, districts to the province and to each\n"
    "other with probability P. Reports rounds and frame bytes until every node holds every\n"
    "record, then until a revocation reaches everyone, and checks a forged record never spreads.\n"
    "Defaults: --nodes 250,500,1000,2000 --districts 20 --extra-links 2 --district-link-p 0.3\n"
    "          --seed 1 --order both --max-rounds 200 --verify every. --verify shared lets nodes\n"
    "with the same issuer records and revocations share a verification's outcome (same result,\n"
    "far less CPU for large N; the CPU per node is then estimated). Exit status 1 when a check\n"
    "fails. --topology flat drops the tree links: every node links to K+1 random nodes.\n"
    "--sync: how two neighbours find what each lacks: range (default) reconciles their sets\n"
    "(protocol/reconcile.h), full sends a digest, then every id when the digests differ\n"
    "(node/directory.cpp today); both runs each. Options also take the form --flag=value.\n";

SimOptions parse(int argc, char** argv) {
    SimOptions o;
    auto number = [](const std::string& flag, const std::string& v) -> uint64_t {
        try {
            size_t used = 0;
            const unsigned long long x = std::stoull(v, &used);
            if (used != v.size()) throw std::invalid_argument(v);
            return x;
        } catch (const std::exception&) {
            fail(flag + ": '" + v + "' is not a number\n" + kUsage);
        }
    };
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        std::string v;
        if (const size_t eq = flag.find('='); eq != std::string::npos) {
            v = flag.substr(eq + 1);
            flag.resize(eq);
        } else {
            if (i + 1 >= argc) fail(flag + " needs a value (or is unknown)\n" + kUsage);
            v = argv[++i];
        }
        if (flag == "--nodes") {
            o.nodes.clear();
            size_t start = 0;
            while (start <= v.size()) {
                const size_t comma = std::min(v.find(',', start), v.size());
                const uint64_t n = number(flag, v.substr(start, comma - start));
                if (n < 3 || n > 100000) fail("--nodes: each count must be 3..100000");
                o.nodes.push_back(n);
                start = comma + 1;
            }
        } else if (flag == "--districts") {
            o.districts = number(flag, v);
            if (o.districts < 1) fail("--districts must be at least 1");
        } else if (flag == "--extra-links") {
            o.extra_links = number(flag, v);
        } else if (flag == "--district-link-p") {
            o.district_link_p = std::atof(v.c_str());
        } else if (flag == "--seed") {
            o.seed = number(flag, v);
        } else if (flag == "--max-rounds") {
            o.max_rounds = number(flag, v);
        } else if (flag == "--topology") {
            if (v == "tree")
                o.tree_links = true;
            else if (v == "flat")
                o.tree_links = false;
            else
                fail("--topology must be tree or flat");
        } else if (flag == "--verify") {
            if (v == "every")
                o.verify_every = true;
            else if (v == "shared")
                o.verify_every = false;
            else
                fail("--verify must be every or shared");
        } else if (flag == "--sync") {
            if (v == "range")
                o.syncs = {Sync::range};
            else if (v == "full")
                o.syncs = {Sync::full};
            else if (v == "both")
                o.syncs = {Sync::full, Sync::range};
            else
                fail("--sync must be range, full or both");
        } else if (flag == "--order") {
            if (v == "random")
                o.orders = {Order::random};
            else if (v == "lockstep")
                o.orders = {Order::lockstep};
            else if (v == "both")
                o.orders = {Order::random, Order::lockstep};
            else
                fail("--order must be random, lockstep or both");
        } else {
            fail("unknown option " + flag + "\n" + kUsage);
        }
    }
    return o;
}

int run(int argc, char** argv) {
    if (sodium_init() < 0) fail("libsodium could not be initialised");
    const SimOptions o = parse(argc, argv);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<RunResult> runs;
    size_t failures = 0;
    for (const size_t n : o.nodes)
        for (const Sync sync : o.syncs)
            for (const Order order : o.orders) {
                runs.push_back(run_one(n, order, sync, o));
                print_run(runs.back(), o);
                failures += runs.back().failures.size();
            }
    print_table(runs);
    std::printf("total time %.1f s; %s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                failures == 0 ? "all checks passed" : "SOME CHECKS FAILED");
    return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lienthong::bench

int main(int argc, char** argv) {
    try {
        return lienthong::bench::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lienthong-gossip-sim: %s\n", e.what());
        return 2;
    }
}
