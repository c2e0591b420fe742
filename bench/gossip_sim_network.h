// The nodes of lienthong-gossip-sim and the gossip between them: each node's set of records,
// its verification of what it receives (as NodeImpl::dir_accept), the links of the province,
// and rounds of exchanges whose messages are encoded for real and counted.
//
// One round: every node runs one exchange, as the connecting side A, with each neighbour B.
// The exchange, by --sync:
//   full (node/directory.cpp before range reconciliation; kept to compare with)
//     A → B  DirDigest(digest, count)     (frame type 6, retired)
//     B → A  DirHave(all of B's ids)                           only when the digests differ
//     A → B  DirRecords(what B lacks), DirWant(what A lacks)   each only when not empty
//     B → A  DirRecords(what A asked for)
//   range (protocol/reconcile.h)
//     A → B, B → A, ...  reconciliation messages, A initiating, until A knows what each lacks;
//                        the first is one fingerprint of A's set, so equal sets cost one round
//                        trip of about 30 bytes. Each travels in a DirReconcile frame, as
//                        node/directory.cpp sends it.
//     A → B  DirRecords(what B lacks), DirWant(what A lacks)   each only when not empty
//     B → A  DirRecords(what A asked for)
//   Records are ordered for reconciliation by (when they took effect, id).
// in one of two orders:
//   random    the round's exchanges run one after another in a fresh random order, each
//             seeing what earlier ones delivered: nodes whose gossip timers have random phases.
//   lockstep  every exchange sees the state at the start of the round and what it delivers
//             is stored at the end, so a record moves at most one link a round: the slow bound,
//             and rounds >= the graph distance a record has to travel.
// Not modelled: a real node also opens a link to every agency whose record it holds
// (dir_apply_links), so its neighbour set grows toward the whole directory; here it stays the
// configured one. Superseded records (the node now gossips only the current record of each
// agency) do not arise: every agency has one record. No sockets, no LMDB, no ZeroMQ/CURVE
// framing (a few dozen bytes a message, not counted), no clock.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "bench/gossip_sim_province.h"
#include "protocol/reconcile.h"

namespace lienthong::bench {

enum class Order { random, lockstep };
const char* order_name(Order o);

enum class Sync { full, range };
const char* sync_name(Sync s);

struct SimOptions {
    std::vector<size_t> nodes{250, 500, 1000, 2000};  // one run per count
    size_t districts = 20;                            // fewer when the count is small
    size_t extra_links = 2;        // random links per commune, besides its district
    double district_link_p = 0.3;  // chance of a link between two districts
    // false: no tree links at all, every node links to extra_links + 1 random nodes (the same
    // records and issuers): the flat random graph, to compare with the tree's hubs.
    bool tree_links = true;
    uint64_t seed = 1;
    std::vector<Order> orders{Order::random, Order::lockstep};
    std::vector<Sync> syncs{Sync::range};
    size_t max_rounds = 200;  // a phase that has not converged by then fails the run
    // true: every node runs every verification itself, as a real node does (N x records
    // signature checks in all). false: a verification's outcome is shared by the nodes whose
    // issuer records and revocations are the same (exactly the outcome the node would compute,
    // without spending the CPU again); the cost per node is then estimated from the checks run.
    bool verify_every = true;
    protocol::ReconcileOptions reconcile;  // --sync range
};

// What a node holds, as a bitmap over Province::records.
struct Holding {
    std::vector<uint8_t> held;  // by record index
    size_t count = 0;
    protocol::Hash32 digest{};
    std::shared_ptr<const protocol::VectorReconcileStorage> items;  // --sync range
};

struct SimNode {
    Holding now;
    bool stale = true;                            // digest and items not yet brought up to date
    std::vector<protocol::IssuerRecord> issuers;  // decoded, verified: the node's TrustView
    std::vector<protocol::Revocation> revocations;
    uint64_t authority = 0;  // XOR of tags of the records above: equal views, equal outcomes
    std::vector<uint32_t> links;
    uint64_t sent = 0, received = 0;           // frame bytes, this phase
    uint64_t verifications = 0, refusals = 0;  // whole run
};

struct PhaseResult {
    size_t rounds = 0;
    bool converged = false;
    uint64_t bytes = 0;
    uint64_t frames = 0;
    uint64_t reconcile_bytes = 0;    // of which reconciliation messages (--sync range)
    std::vector<uint64_t> per_node;  // sent + received, sorted
    double seconds = 0;
};

class Network {
  public:
    Network(const Province& p, const SimOptions& o, Order order, Sync sync, Rng& rng);

    size_t links() const { return m_links; }
    const SimNode& node(size_t a) const { return m_nodes[a]; }
    size_t size() const { return m_nodes.size(); }

    // Puts a record in one node's set without verifying it: a corrupted store, or a node that
    // lies.
    void plant(size_t a, size_t record);
    void accept(size_t a, const std::vector<size_t>& records);
    uint64_t checks_run() const { return m_checks; }
    size_t rounds_run() const { return m_rounds; }  // in the current phase
    double check_seconds() const { return m_check_seconds; }
    // Reconciliations whose differences were not exactly the true ones (must stay 0).
    uint64_t reconcile_mismatches() const { return m_mismatches; }

    // Runs rounds until `done` holds after a round (or `max_rounds` have run).
    PhaseResult run(size_t max_rounds, const std::function<bool()>& done);

  private:
    void link_up(const SimOptions& o);
    void add_link(size_t a, size_t b);
    const Holding& view(size_t a);  // what `a` says in this exchange
    const Holding& live(size_t a);  // `a`'s set now, its digest and items brought up to date
    void exchange(uint32_t a, uint32_t b);
    void exchange_full(uint32_t a, uint32_t b, const Holding& va, const Holding& vb);
    void exchange_range(uint32_t a, uint32_t b, const Holding& va, const Holding& vb);
    void transfer(uint32_t a, uint32_t b, std::vector<size_t> they_lack,
                  std::vector<size_t> we_lack);
    void send(uint32_t from, uint32_t to, const protocol::Frame& f);
    void count(uint32_t from, uint32_t to, uint64_t bytes);
    void deliver(uint32_t to, std::vector<size_t> records);
    protocol::DirRecordsFrame records_frame(const std::vector<size_t>& records) const;
    std::vector<protocol::Hash32> ids_of(const std::vector<size_t>& records) const;
    std::vector<size_t> records_of(std::vector<protocol::Hash32> ids) const;
    bool verifies(const SimNode& n, size_t record);

    const Province& m_p;
    Order m_order;
    Sync m_sync;
    Rng& m_rng;
    std::vector<SimNode> m_nodes;
    std::vector<Holding> m_snapshot;  // lockstep: the state at round start
    std::vector<std::vector<std::vector<size_t>>>
        m_inbox;  // lockstep: batches to store at round end
    size_t m_links = 0;
    uint64_t m_bytes = 0, m_frames = 0, m_reconcile_bytes = 0;
    bool m_verify_every;
    protocol::ReconcileOptions m_reconcile;
    std::map<std::pair<size_t, uint64_t>, bool> m_outcomes;  // !m_verify_every: (record, authority)
    uint64_t m_checks = 0;                                   // verifications actually run
    size_t m_rounds = 0;
    double m_check_seconds = 0;
    uint64_t m_mismatches = 0;
};

}  // namespace lienthong::bench
