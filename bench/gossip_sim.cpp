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
    size_t nodes = 0, provinces = 0, districts = 0, links = 0, records = 0, up = 0;
    Order order = Order::random;
    Sync sync = Sync::range;
    PhaseResult spread, revoke, rotate, quiet, forged;
    uint64_t verifications = 0, forged_refusals = 0, foreign = 0;
    uint64_t checks_run = 0;   // verifications whose CPU was spent (all of them with --verify every)
    double check_seconds = 0;  // and that CPU
    double seconds = 0;
    double mean_check() const {
        return checks_run == 0 ? 0 : check_seconds / static_cast<double>(checks_run);
    }
    // Verification CPU a node spends to hold the whole directory, from the checks that ran.
    double verify_ms_per_node() const {
        return 1000.0 * mean_check() * static_cast<double>(verifications) /
               static_cast<double>(nodes);
    }
    // CPU per node per round of a phase: the exchanges as run (reconciliation, bookkeeping),
    // with the verification they ran replaced by what every node's own verifications cost.
    double cpu_ms_per_node_round(const PhaseResult& p) const {
        if (p.node_rounds == 0) return 0;
        const double cpu = p.exchange_seconds - p.check_seconds +
                           mean_check() * static_cast<double>(p.verifications);
        return 1000.0 * cpu / static_cast<double>(p.node_rounds);
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
uint64_t max_of(const std::vector<uint64_t>& sorted) {
    return sorted.empty() ? 0 : sorted.back();
}

// Which nodes are down for the first rounds (--offline), and which of them never come back
// (--never, communes only: the province and district nodes carry the records in).
struct Outage {
    std::vector<uint8_t> down, gone;
};
Outage pick_outage(const Country& c, const SimOptions& o, Rng& rng) {
    Outage out;
    out.down.assign(c.agencies.size(), 0);
    out.gone.assign(c.agencies.size(), 0);
    const size_t n = c.agencies.size();
    std::vector<size_t> communes, all(n);
    for (size_t a = 0; a < n; ++a) {
        all[a] = a;
        if (a >= c.provinces && c.district_of[a] >= c.provinces) communes.push_back(a);
    }
    rng.shuffle(communes);
    const size_t gone = std::min(communes.size(), static_cast<size_t>(o.never * static_cast<double>(n)));
    for (size_t k = 0; k < gone; ++k) out.gone[communes[k]] = out.down[communes[k]] = 1;
    rng.shuffle(all);
    size_t down = gone;
    const size_t want = static_cast<size_t>(o.offline * static_cast<double>(n));
    for (size_t k = 0; k < n && down < want; ++k)
        if (!out.down[all[k]]) {
            out.down[all[k]] = 1;
            ++down;
        }
    return out;
}

RunResult run_one(size_t n_nodes, size_t provinces, size_t districts, Order order, Sync sync,
                  const SimOptions& o) {
    const auto t0 = std::chrono::steady_clock::now();
    RunResult out;
    out.order = order;
    out.sync = sync;
    // The same tree and links for both orders and both syncs.
    Rng rng(o.seed * 0x100000001b3ull + n_nodes);
    const Country c = make_country(n_nodes, provinces, districts, o.seed, rng);
    Network net(c, o, order, sync, rng);
    out.nodes = n_nodes;
    out.provinces = provinces;
    out.districts = c.issuer_record.size() - std::count(c.issuer_record.begin(), c.issuer_record.end(), kNone);
    out.links = net.links();
    out.records = c.full_count;
    auto check = [&](bool ok, const std::string& what) {
        if (!ok) out.failures.push_back(what);
    };
    const Outage outage = pick_outage(c, o, rng);
    for (size_t a = 0; a < net.size(); ++a) net.set_up(a, !outage.down[a]);
    // The nodes each phase must reach: every one that is up once the outage is over.
    auto reached = [&](auto&& has) {
        size_t left = 0;
        for (size_t a = 0; a < net.size(); ++a)
            if (!outage.gone[a] && !has(net.node(a))) ++left;
        return left;
    };
    auto back_up = [&](size_t round) {
        if (round == o.offline_rounds + 1)
            for (size_t a = 0; a < net.size(); ++a)
                if (outage.down[a] && !outage.gone[a]) net.set_up(a, true);
    };

    // 1. From own record and issuer chain to the whole directory: all of it but the records
    // of nodes that never came up (a node's record starts at the node, after `enroll import`).
    std::vector<std::vector<uint64_t>> expected = c.full;
    size_t expected_count = c.full_count;
    for (size_t a = 0; a < net.size(); ++a)
        if (outage.gone[a]) {
            for (auto& e : expected) e[c.node_record[a] >> 6] &= ~(uint64_t{1} << (c.node_record[a] & 63));
            --expected_count;
        }
    out.spread = net.run(
        "every record", o.max_rounds,
        [&] {
            return reached([&](const SimNode& n) { return n.offer.size() == expected_count; });
        },
        back_up);
    for (size_t a = 0; a < net.size(); ++a) net.set_up(a, !outage.gone[a]);
    check(out.spread.converged,
          "the directory did not converge in " + std::to_string(o.max_rounds) + " rounds");
    for (size_t a = 0; a < net.size(); ++a)
        if (!outage.gone[a] && net.node(a).offer.bits() != expected[c.province_of[a]]) {
            check(false, "node " + c.agencies[a] + " does not hold exactly the full set");
            break;
        }

    // 2. A revocation of one commune, imported at its district's node.
    const size_t at = c.district_of[c.revoked_agency];
    net.accept(at, {c.revocation});
    check(net.node(at).offer.has(c.revocation), "the revocation did not verify at its district");
    out.revoke = net.run("revocation", o.max_rounds, [&] {
        return reached([&](const SimNode& n) { return n.offer.has(c.revocation); });
    });
    check(out.revoke.converged,
          "the revocation did not reach everyone in " + std::to_string(o.max_rounds) + " rounds");
    const NodeRecord revoked =
        must(NodeRecord::decode(c.records[c.node_record[c.revoked_agency]].wire), "decode");
    for (size_t a = 0; a < net.size(); ++a) {
        if (outage.gone[a]) continue;
        const auto view = net.view_of(a);
        const auto v = verify_node_record(revoked, net.trust_view(*view));
        if (v.ok() || v.error().failure != TrustFailure::revoked) {
            check(false, "node " + c.agencies[a] + " does not see " + revoked.agency + " as revoked");
            break;
        }
    }

    // 3. A key rotation: the commune's record of serial 2, imported where it was issued.
    const size_t issuer = c.district_of[c.rotated_agency];
    const uint32_t old_record = c.node_record[c.rotated_agency];
    net.accept(issuer, {c.rotation});
    check(net.node(issuer).offer.has(c.rotation), "the rotated record did not verify at its issuer");
    out.rotate = net.run("key rotation", o.max_rounds, [&] {
        return reached([&](const SimNode& n) { return n.offer.has(c.rotation); });
    });
    check(out.rotate.converged,
          "the key rotation did not reach everyone in " + std::to_string(o.max_rounds) + " rounds");
    for (size_t a = 0; a < net.size(); ++a)
        if (!outage.gone[a] && (net.node(a).offer.has(old_record) || !bit(net.node(a).known, old_record))) {
            check(false, "node " + c.agencies[a] + " still offers the record the rotation replaced");
            break;
        }

    // A quiet round: every set equal, one reconciliation round trip of a fingerprint and an
    // empty answer per exchange (plus, across a province border, each side's cross-trust
    // records, which the other refuses).
    out.quiet = net.run("quiet", 1, [] { return size_t{0}; });

    // 4. A record with a bad signature planted at one node, gossiped for as many rounds as the
    // directory took to converge: its neighbours must refuse it every time, nobody else hold it.
    size_t liar = 1 + rng.below(net.size() - 1);
    while (outage.gone[liar]) liar = 1 + rng.below(net.size() - 1);
    uint64_t refusals_before = 0;
    for (size_t a = 0; a < net.size(); ++a) refusals_before += net.node(a).refusals;
    net.plant(liar, c.forged);
    const size_t forged_rounds = std::max<size_t>(3, out.spread.rounds);
    out.forged = net.run("forged record", forged_rounds, [&] {
        return net.rounds_run() == forged_rounds ? size_t{0} : net.size();
    });
    for (size_t a = 0; a < net.size(); ++a) {
        out.forged_refusals += net.node(a).refusals;
        out.verifications += net.node(a).verifications;
        out.foreign += net.node(a).foreign;
        if (a != liar && net.node(a).offer.has(c.forged)) {
            check(false, "the forged record spread to " + c.agencies[a]);
            break;
        }
    }
    out.forged_refusals -= refusals_before;
    out.checks_run = net.checks_run();
    out.check_seconds = net.check_seconds();
    out.up = out.spread.per_node.size();
    check(out.forged_refusals > 0, "no node was offered the forged record");
    check(refusals_before == 0,
          std::to_string(refusals_before) +
              " records were refused before the forgery (an issuer arrived after its records?)");
    check(net.reconcile_mismatches() == 0,
          std::to_string(net.reconcile_mismatches()) +
              " reconciliations did not find exactly the true differences");
    check(net.view_mismatches() == 0,
          std::to_string(net.view_mismatches()) +
              " shared verification outcomes differed from the node's whole view's");
    check(net.size_mismatches() == 0,
          std::to_string(net.size_mismatches()) + " frame sizes differed from encode_frame's");
    check(net.storage_mismatch().empty(),
          "a node's set answered otherwise than VectorReconcileStorage: " + net.storage_mismatch());
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

void print_run(const RunResult& r, const SimOptions& o) {
    auto phase = [&](const char* name, const PhaseResult& p) {
        std::printf(
            "  %-22s rounds %3zu%s  total %10s KiB in %8llu frames  sent per node KiB: mean %s "
            "p50 %s p99 %s max %s  cpu %.3f ms/node/round%s\n",
            name, p.rounds, p.converged ? " " : "!", kib(static_cast<double>(p.bytes)).c_str(),
            static_cast<unsigned long long>(p.frames), kib(mean(p.per_node)).c_str(),
            kib(static_cast<double>(percentile(p.per_node, 0.5))).c_str(),
            kib(static_cast<double>(percentile(p.per_node, 0.99))).c_str(),
            kib(static_cast<double>(max_of(p.per_node))).c_str(), r.cpu_ms_per_node_round(p),
            p.reconcile_bytes == 0
                ? ""
                : ("  (reconciliation " + kib(static_cast<double>(p.reconcile_bytes)) + " KiB)")
                      .c_str());
    };
    std::printf(
        "N=%zu provinces=%zu districts=%zu order=%s sync=%s topology=%s: %zu links (mean degree "
        "%.2f), %zu records per node, seed %llu",
        r.nodes, r.provinces, r.districts, order_name(r.order), sync_name(r.sync),
        o.tree_links ? "tree" : "flat", r.links,
        2.0 * static_cast<double>(r.links) / static_cast<double>(r.nodes), r.records,
        static_cast<unsigned long long>(o.seed));
    if (o.offline > 0)
        std::printf("; %.0f%% down for rounds 1-%zu, %zu nodes never back", 100 * o.offline,
                    o.offline_rounds, r.nodes - r.up);
    std::printf("\n");
    phase("every record everywhere", r.spread);
    phase("revocation everywhere", r.revoke);
    phase("key rotation everywhere", r.rotate);
    phase("one quiet round", r.quiet);
    phase("forged record", r.forged);
    std::printf(
        "  forged record refused %llu times; other provinces' cross-trust records refused %llu "
        "times; %llu verifications by the nodes, %llu run here (%.0f us each): %.0f ms of "
        "verification per node; %.1f s\n",
        static_cast<unsigned long long>(r.forged_refusals),
        static_cast<unsigned long long>(r.foreign),
        static_cast<unsigned long long>(r.verifications),
        static_cast<unsigned long long>(r.checks_run), 1e6 * r.mean_check(),
        r.verify_ms_per_node(), r.seconds);
    for (const auto& f : r.failures) std::printf("  CHECK FAILED: %s\n", f.c_str());
    std::fflush(stdout);
}

void print_table(const std::vector<RunResult>& runs) {
    std::printf(
        "\nrounds until every node holds every record (spread), then a revocation (revoc), then a "
        "key rotation (rotat);\nKiB sent per node; cpu = ms per node per round while spreading; "
        "verify = ms of verification per node in all\n");
    std::printf(
        "%-5s %-8s %6s %4s %4s %6s %7s | %6s %8s %8s %8s | %5s %7s %7s | %5s %7s | %7s | %7s %7s | "
        "%7s\n",
        "sync", "order", "nodes", "prov", "dist", "links", "records", "spread", "mean", "p99", "max",
        "revoc", "mean", "max", "rotat", "mean", "quiet", "cpu", "verify", "time s");
    for (const auto& r : runs) {
        const auto& s = r.spread;
        std::printf(
            "%-5s %-8s %6zu %4zu %4zu %6zu %7zu | %5zu%s %8s %8s %8s | %4zu%s %7s %7s | %4zu%s %7s "
            "| %7s | %7.3f %7.0f | %7.1f\n",
            sync_name(r.sync), order_name(r.order), r.nodes, r.provinces, r.districts, r.links,
            r.records, s.rounds, s.converged ? " " : "!", kib(mean(s.per_node)).c_str(),
            kib(static_cast<double>(percentile(s.per_node, 0.99))).c_str(),
            kib(static_cast<double>(max_of(s.per_node))).c_str(), r.revoke.rounds,
            r.revoke.converged ? " " : "!", kib(mean(r.revoke.per_node)).c_str(),
            kib(static_cast<double>(max_of(r.revoke.per_node))).c_str(), r.rotate.rounds,
            r.rotate.converged ? " " : "!", kib(mean(r.rotate.per_node)).c_str(),
            kib(mean(r.quiet.per_node)).c_str(), r.cpu_ms_per_node_round(s), r.verify_ms_per_node(),
            r.seconds);
    }
}

const char* kUsage =
    "usage: lienthong-gossip-sim [--nodes N[,N...]] [--provinces P] [--districts D]\n"
    "                            [--scale-tree] [--extra-links K] [--district-link-p X]\n"
    "                            [--province-links L] [--seed S] [--order random|lockstep|both]\n"
    "                            [--max-rounds R] [--verify every|shared] [--topology tree|flat]\n"
    "                            [--sync range|full|both] [--offline PCT] [--never PCT]\n"
    "                            [--offline-rounds R] [--progress on|off]\n"
    "Simulates the directory gossip of node/directory.cpp in one process (no sockets, no LMDB)\n"
    "over a country of N nodes: P provinces (each its own root, every root trusting the others'\n"
    "for their codes), D districts (issuers) shared among them, communes under the districts.\n"
    "Province nodes link in a ring and to L random others, districts to their province node and\n"
    "to each other with probability X, communes to their district and to K random nodes of\n"
    "their province. Reports rounds and frame bytes until every node holds every record, then\n"
    "until a revocation and a key rotation reach everyone, and checks a forged record never\n"
    "spreads. --scale-tree: P and D are for the largest N; smaller N get them in proportion.\n"
    "--offline PCT: that share of nodes is down for the first --offline-rounds rounds (default\n"
    "10), of which --never PCT of all nodes (communes) never come back.\n"
    "Defaults: --nodes 250,500,1000,2000 --provinces 1 --districts 20 --extra-links 2\n"
    "          --district-link-p 0.3 --province-links 2 --seed 1 --order both --max-rounds 200\n"
    "          --verify every --progress on. --verify shared lets nodes whose view of what a\n"
    "verification can consult is the same share its outcome (same result, far less CPU for\n"
    "large N; the CPU per node is then estimated). Exit status 1 when a check fails.\n"
    "--topology flat drops the tree links: every node links to K+1 random nodes.\n"
    "--sync: how two neighbours find what each lacks: range (default) reconciles their sets\n"
    "(protocol/reconcile.h, as the node does), full sends a digest, then every id when the\n"
    "digests differ (the node before reconciliation); both runs each. Options also take the\n"
    "form --flag=value.\n";

SimOptions parse(int argc, char** argv) {
    SimOptions o;
    auto number = [](const std::string& flag, const std::string& v) -> uint64_t {
        try {
            size_t used = 0;
            const unsigned long long x = std::stoull(v, &used);
            if (used != v.size() || v[0] == '-') throw std::invalid_argument(v);
            return x;
        } catch (const std::exception&) {
            fail(flag + ": '" + v + "' is not a number\n" + kUsage);
        }
    };
    auto real = [](const std::string& flag, const std::string& v, double lo, double hi) {
        double x = 0;
        try {
            size_t used = 0;
            x = std::stod(v, &used);
            if (used != v.size()) throw std::invalid_argument(v);
        } catch (const std::exception&) {
            fail(flag + ": '" + v + "' is not a number\n" + kUsage);
        }
        if (!(x >= lo && x <= hi))
            fail(flag + ": " + v + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
        return x;
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
        } else if (flag == "--provinces") {
            o.provinces = number(flag, v);
            if (o.provinces < 1 || o.provinces > 99) fail("--provinces must be 1..99");
        } else if (flag == "--districts") {
            o.districts = number(flag, v);
            if (o.districts < 1) fail("--districts must be at least 1");
        } else if (flag == "--scale-tree") {
            if (v != "on" && v != "off") fail("--scale-tree must be on or off");
            o.scale_tree = v == "on";
        } else if (flag == "--extra-links") {
            o.extra_links = number(flag, v);
        } else if (flag == "--district-link-p") {
            o.district_link_p = real(flag, v, 0, 1);
        } else if (flag == "--province-links") {
            o.province_links = number(flag, v);
        } else if (flag == "--seed") {
            o.seed = number(flag, v);
        } else if (flag == "--max-rounds") {
            o.max_rounds = number(flag, v);
            if (o.max_rounds < 1) fail("--max-rounds must be at least 1");
        } else if (flag == "--offline") {
            o.offline = real(flag, v, 0, 90) / 100;
        } else if (flag == "--never") {
            o.never = real(flag, v, 0, 90) / 100;
        } else if (flag == "--offline-rounds") {
            o.offline_rounds = number(flag, v);
        } else if (flag == "--progress") {
            if (v != "on" && v != "off") fail("--progress must be on or off");
            o.progress = v == "on";
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
    if (o.never > o.offline) fail("--never cannot exceed --offline (the nodes never back are among those down)");
    for (const size_t n : o.nodes)
        if (n < 3 * o.provinces) fail("--nodes: each count must be at least 3 per province");
    return o;
}

int run(int argc, char** argv) {
    if (sodium_init() < 0) fail("libsodium could not be initialised");
    const SimOptions o = parse(argc, argv);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<RunResult> runs;
    size_t failures = 0;
    const size_t largest = *std::max_element(o.nodes.begin(), o.nodes.end());
    for (const size_t n : o.nodes) {
        size_t provinces = o.provinces, districts = o.districts;
        if (o.scale_tree) {
            const double share = static_cast<double>(n) / static_cast<double>(largest);
            provinces = std::max<size_t>(1, static_cast<size_t>(std::lround(share * static_cast<double>(provinces))));
            districts = std::max(provinces, static_cast<size_t>(std::lround(share * static_cast<double>(districts))));
        }
        for (const Sync sync : o.syncs)
            for (const Order order : o.orders) {
                runs.push_back(run_one(n, provinces, districts, order, sync, o));
                print_run(runs.back(), o);
                failures += runs.back().failures.size();
            }
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
