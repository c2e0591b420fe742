// The nodes of lienthong-gossip-sim and the gossip between them: each node's set of records,
// its verification of what it receives (as NodeImpl::dir_accept), the links of the country,
// and rounds of exchanges whose messages are encoded for real and counted.
//
// One round: every node that is up runs one exchange, as the connecting side A, with each
// neighbour B that is up. The exchange, by --sync:
//   full (node/directory.cpp before range reconciliation; kept to compare with)
//     A → B  DirDigest(digest, count)     (frame type 6, retired)
//     B → A  DirHave(all of B's ids)                           only when the digests differ
//     A → B  DirRecords(what B lacks), DirWant(what A lacks)   each only when not empty
//     B → A  DirRecords(what A asked for)
//   range (protocol/reconcile.h, as node/directory.cpp)
//     A → B, B → A, ...  reconciliation messages, A initiating, until A knows what each lacks;
//                        the first is one fingerprint of A's set, so equal sets cost one round
//                        trip of about 30 bytes. Each travels in a DirReconcile frame.
//     A → B  DirRecords(every record B lacks), DirWant(what A lacks and has never refused)
//     B → A  DirRecords(what A asked for)
//   DirRecords frames carry at most 256 records each, as dir_send_records. Their sizes are
//   those of encode_frame, computed from each record's encoded entry (and checked against
//   encode_frame every few thousand frames).
// in one of two orders:
//   random    the round's exchanges run one after another in a fresh random order, each
//             seeing what earlier ones delivered: nodes whose gossip timers have random phases.
//   lockstep  every exchange sees the state at the start of the round and what it delivers
//             is stored at the end, so a record moves at most one link a round: the slow bound,
//             and rounds >= the graph distance a record has to travel.
// As the node: a node offers its current node record of each agency (a rotated key's old
// record is kept, and known, but no longer offered), issuer records, revocations and its own
// root's cross-trust records; another province's cross-trust record is refused once and then
// known (never asked for, never verified again), though neighbours across the border still
// send theirs on every exchange.
// Not modelled: links a real node opens to deliver (gossip runs only over configured links,
// as here); sockets, LMDB, ZeroMQ/CURVE framing (a few dozen bytes a message), the clock.
#pragma once

#include <functional>
#include <memory>

#include "bench/gossip_sim_holding.h"
#include "bench/gossip_sim_province.h"

namespace lienthong::bench {

enum class Order { random, lockstep };
const char* order_name(Order o);

enum class Sync { full, range };
const char* sync_name(Sync s);

struct SimOptions {
    std::vector<size_t> nodes{250, 500, 1000, 2000};  // one run per count
    size_t provinces = 1;
    size_t districts = 20;  // in all; fewer when the count is small
    // Provinces and districts are those of the largest count; smaller counts get them in
    // proportion (the country at a smaller scale, not a denser tree).
    bool scale_tree = false;
    size_t extra_links = 2;        // random links per commune, within its province
    double district_link_p = 0.3;  // chance of a link between two districts of a province
    size_t province_links = 2;     // random links per province node to others (besides a ring)
    // false: no tree links at all, every node links to extra_links + 1 random nodes (the same
    // records and issuers): the flat random graph, to compare with the tree's hubs.
    bool tree_links = true;
    uint64_t seed = 1;
    std::vector<Order> orders{Order::random, Order::lockstep};
    std::vector<Sync> syncs{Sync::range};
    size_t max_rounds = 200;  // a phase that has not converged by then fails the run
    // true: every node runs every verification itself, as a real node does (N x records
    // signature checks in all). false: a verification's outcome is shared by the nodes whose
    // view of the records that verification can consult is the same (exactly the outcome the
    // node would compute, without spending the CPU again); the cost per node is estimated.
    bool verify_every = true;
    double offline = 0;         // fraction of nodes down for the first offline_rounds rounds
    double never = 0;           // of which this fraction of all nodes never comes back
    size_t offline_rounds = 10;
    bool progress = true;  // a line per round
    protocol::ReconcileOptions reconcile;  // --sync range
};

struct SimNode {
    explicit SimNode(const Country& c) : offer(&c.items, &c.singles) {}
    HoldingSet offer;             // what it offers in gossip (and verified)
    std::vector<uint64_t> known;  // offered, superseded, or refused for good: never asked for
    uint32_t province = 0;
    bool up = true;
    std::vector<uint32_t> links;
    protocol::Hash32 digest{};  // --sync full
    bool digest_stale = true;
    uint64_t sent = 0, received = 0;           // frame bytes, this phase
    uint64_t verifications = 0, refusals = 0;  // whole run
    uint64_t foreign = 0;                      // cross-trust records of other provinces refused
};

struct PhaseResult {
    size_t rounds = 0;
    bool converged = false;
    uint64_t bytes = 0;
    uint64_t frames = 0;
    uint64_t reconcile_bytes = 0;    // of which reconciliation messages (--sync range)
    std::vector<uint64_t> per_node;  // bytes sent, sorted (nodes up at the end only)
    uint64_t verifications = 0;      // made by the nodes in this phase
    double exchange_seconds = 0;     // CPU of the exchanges, verification included as run
                                     // (process CPU time: other load on the machine does not count)
    double check_seconds = 0;        // of which verification actually run (any view)
    size_t node_rounds = 0;          // sum over rounds of the nodes up
    double seconds = 0;
};

class Network {
  public:
    Network(const Country& c, const SimOptions& o, Order order, Sync sync, Rng& rng);

    size_t links() const { return m_links; }
    const SimNode& node(size_t a) const { return m_nodes[a]; }
    size_t size() const { return m_nodes.size(); }
    void set_up(size_t a, bool up) { m_nodes[a].up = up; }

    // Puts a record in one node's set without verifying it: a corrupted store, or a node that
    // lies.
    void plant(size_t a, size_t record);
    void accept(size_t a, const std::vector<uint32_t>& records);
    // The node's TrustView as NodeImpl::dir_view builds it: its root, the external roots its
    // cross-trust records grant, its issuer records and revocations.
    struct View {
        std::vector<protocol::TrustAnchor> configured, anchors;
        std::vector<protocol::IssuerRecord> issuers;
        std::vector<protocol::Revocation> revocations;
    };
    std::unique_ptr<View> view_of(size_t a) const;
    protocol::TrustView trust_view(const View& v) const;

    // Verifications run against a node's whole view, and their CPU: the cost of one.
    uint64_t checks_run() const { return m_checks; }
    size_t rounds_run() const { return m_rounds; }  // in the current phase
    double check_seconds() const { return m_check_seconds; }
    // Reconciliations whose differences were not exactly the true ones (must stay 0).
    uint64_t reconcile_mismatches() const { return m_mismatches; }
    // Shared outcomes that the node's whole view contradicted (must stay 0).
    uint64_t view_mismatches() const { return m_view_mismatches; }
    // Computed frame sizes that differed from encode_frame's (must stay 0).
    uint64_t size_mismatches() const { return m_size_mismatches; }
    // The first node whose HoldingSet answered otherwise than VectorReconcileStorage, "" if none
    // (a sample of nodes is compared after each phase).
    const std::string& storage_mismatch() const { return m_storage_mismatch; }

    // Runs rounds until `missing` (how many nodes still lack what the phase spreads) is 0
    // after a round, or `max_rounds` have run. `at_round(r)` runs before round r (from 1).
    PhaseResult run(const char* name, size_t max_rounds, const std::function<size_t()>& missing,
                    const std::function<void(size_t)>& at_round = {});

  private:
    enum class Outcome : uint8_t { kept, retry, foreign };
    struct Shared {
        bool own;
        uint64_t tag;
        Outcome outcome;
    };

    void link_up(const SimOptions& o);
    void add_link(size_t a, size_t b);
    void exchange(uint32_t a, uint32_t b);
    void exchange_full(uint32_t a, uint32_t b);
    void exchange_range(uint32_t a, uint32_t b);
    void transfer(uint32_t a, uint32_t b, std::vector<uint32_t> they_lack,
                  std::vector<uint32_t> we_lack);
    void count(uint32_t from, uint32_t to, uint64_t bytes, uint64_t frames = 1);
    uint64_t records_bytes(const std::vector<uint32_t>& records, uint64_t& frames);
    uint64_t want_bytes(const std::vector<uint32_t>& records);
    void deliver(uint32_t to, std::vector<uint32_t> records);
    std::vector<uint32_t> records_of(const std::vector<protocol::Hash32>& ids) const;
    Outcome verify(size_t a, size_t record, std::unique_ptr<View>& view);
    Outcome verify_now(size_t record, const View& view, bool whole);
    uint64_t relevant_tag(const SimNode& n, size_t record) const;
    bool granted(const SimNode& n, size_t province) const;
    View narrow_view(const SimNode& n, size_t record) const;
    const protocol::Hash32& digest(size_t a);
    void check_storage_sample();

    const Country& m_c;
    Order m_order;
    Sync m_sync;
    Rng& m_rng;
    std::vector<SimNode> m_nodes;
    std::vector<std::vector<std::vector<uint32_t>>> m_inbox;  // lockstep: batches to store
    size_t m_links = 0;
    uint64_t m_bytes = 0, m_frames = 0, m_reconcile_bytes = 0, m_phase_verifications = 0;
    bool m_verify_every;
    bool m_progress;
    protocol::ReconcileOptions m_reconcile;
    std::vector<std::vector<Shared>> m_outcomes;  // !m_verify_every: per record
    std::vector<uint64_t> m_tags;                 // per record: 64 bits of its id
    std::vector<size_t> m_pool;  // per record: its index in m_issuers or m_revocations
    uint64_t m_misses = 0, m_view_mismatches = 0;
    double m_verify_seconds = 0;  // every verification run, narrow views included
    // Decoded authority records, shared by every node's views.
    std::vector<uint32_t> m_issuer_ids, m_revocation_ids;
    std::vector<protocol::IssuerRecord> m_issuers;
    std::vector<protocol::Revocation> m_revocations;
    std::vector<protocol::CrossTrust> m_cross;  // by index of m_c.cross
    // Frame sizes: an empty frame, and each record's entry in a DirRecords frame.
    uint64_t m_records_base = 0, m_want_base = 0, m_want_per_id = 0;
    std::vector<uint32_t> m_entry;
    uint64_t m_size_checks = 0, m_size_mismatches = 0;
    uint64_t m_checks = 0;  // verifications actually run
    size_t m_rounds = 0;
    double m_check_seconds = 0;
    uint64_t m_mismatches = 0;
    std::string m_storage_mismatch;
};

}  // namespace lienthong::bench
