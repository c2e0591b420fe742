// lienthong-gossip-sim: the federation directory's gossip (node/directory.cpp) run in one
// process over a simulated province, to measure how many rounds and bytes it takes for every
// node to hold every record, and for a revocation to reach everyone (issue 5, acceptance 6).
//
// Real: the records (protocol/trust.h: a root key, one issuer record per district delegating
// its prefix, a node record per agency, Ed25519-signed); every verification a node makes
// (each node decodes and verifies every record before storing it, against its own issuer
// records and revocations, and keeps only what verifies, as NodeImpl::dir_accept); the digest
// (BLAKE2b-256 over the sorted ids, as NodeImpl::dir_recompute); the four gossip frames,
// whose sizes are those of protocol::encode_frame. Modelled: the network. No sockets, no
// LMDB, no ZeroMQ/CURVE framing (a few dozen bytes a message, not counted), no clock.
//
// One round: every node runs one exchange, as the connecting side, with each neighbour:
//   A → B  DirDigest(digest, count)
//   B → A  DirHave(all of B's ids)                           only when the digests differ
//   A → B  DirRecords(what B lacks), DirWant(what A lacks)   each only when not empty
//   B → A  DirRecords(what A asked for)
// in one of two orders:
//   random    the round's exchanges run one after another in a fresh random order, each
//             seeing what earlier ones delivered: nodes whose gossip timers have random phases.
//   lockstep  every exchange sees the state at the start of the round and what it delivers
//             is stored at the end, so a record moves at most one link a round: the slow bound,
//             and rounds >= the graph distance a record has to travel.
// Not modelled: a real node also opens a link to every agency whose record it holds
// (dir_apply_links), so its neighbour set grows toward the whole directory; here it stays the
// configured one. Superseded records (the node now gossips only the current record of each
// agency) do not arise: every agency has one record.
//
// Checks (exit status 1 when one fails): after convergence every node's set is exactly the
// full set; after the revocation every node holds it and sees the commune's record as revoked;
// a record with a bad signature injected at one node is refused by every neighbour and held by
// no other node after as many rounds as convergence took.
//
// Deterministic given --seed: keys are seeded Ed25519 key pairs (signatures are deterministic),
// the tree, the links and the orders come from a seeded splitmix64.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/trust.h"

namespace lienthong::bench {
namespace {

using namespace lienthong::protocol;

constexpr uint64_t kNow = 1764000000000ull;  // the one instant every verification uses
constexpr uint64_t kDay = 86400000ull;

enum class Order { random, lockstep };
const char* order_name(Order o) {
    return o == Order::random ? "random" : "lockstep";
}

struct Options {
    std::vector<size_t> nodes{250, 500, 1000, 2000};  // one run per count
    size_t districts = 20;                            // fewer when the count is small
    size_t extra_links = 2;        // random links per commune, besides its district
    double district_link_p = 0.3;  // chance of a link between two districts
    // false: no tree links at all, every node links to extra_links + 1 random nodes (the same
    // records and issuers): the flat random graph, to compare with the tree's hubs.
    bool tree_links = true;
    uint64_t seed = 1;
    std::vector<Order> orders{Order::random, Order::lockstep};
    size_t max_rounds = 200;  // a phase that has not converged by then fails the run
    // true: every node runs every verification itself, as a real node does (N x records
    // signature checks in all). false: a verification's outcome is shared by the nodes whose
    // issuer records and revocations are the same (exactly the outcome the node would compute,
    // without spending the CPU again); the cost per node is then estimated from the checks run.
    bool verify_every = true;
};

// splitmix64: small, and the same sequence on every platform (std distributions are not).
class Rng {
  public:
    explicit Rng(uint64_t seed) : m_s(seed) {}
    uint64_t next() {
        uint64_t z = (m_s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return static_cast<size_t>(next() % n); }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    template <class T>
    void shuffle(std::vector<T>& v) {
        for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
    }

  private:
    uint64_t m_s;
};

// 64 bits of a record id: XORed together, a set of records' tag, whatever their order.
uint64_t tag(const Hash32& id) {
    uint64_t t = 0;
    std::memcpy(&t, id.data(), sizeof t);
    return t;
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what);
}

template <class T>
T must(Result<T> r, const std::string& what) {
    if (!r.ok()) fail(what + ": " + r.error());
    return std::move(r).value();
}

// A key pair derived from the seed and a name, so record ids repeat from run to run.
AuthoritySecret seeded_authority(uint64_t seed, AuthorityRole role, const std::string& name) {
    Bytes in(8);
    for (int i = 0; i < 8; ++i) in[i] = static_cast<uint8_t>(seed >> (8 * i));
    in.insert(in.end(), name.begin(), name.end());
    const Hash32 s = hash_domain("lienthong/gossip-sim/key", in);
    AuthoritySecret a;
    a.pub.role = role;
    a.pub.name = name;
    crypto_sign_seed_keypair(a.pub.key.data(), a.secret.data(), s.data());
    return a;
}

BoxPublicKey seeded_box_key(uint64_t seed, const std::string& name) {
    const AuthoritySecret a = seeded_authority(seed, AuthorityRole::issuer, "box:" + name);
    BoxPublicKey pk{};
    BoxSecretKey sk{};
    crypto_box_seed_keypair(pk.data(), sk.data(), a.secret.data());  // first 32 bytes: a seed
    return pk;
}

// ---- The province --------------------------------------------------------------------------

struct Record {
    Hash32 id{};
    DirRecordKind kind = DirRecordKind::node;
    Bytes wire;
};

// Every record of the run, sorted by id, so a node's set is a bitmap over this list and
// walking the bitmap gives the ids in the order a node's std::map holds them.
struct Province {
    std::vector<TrustAnchor> roots;
    std::vector<std::string> agencies;  // 0 province, 1..D districts, then communes
    std::vector<size_t> district_of;    // per agency: 0 province, else its district's agency index
    std::vector<Record> records;
    std::vector<size_t> node_record;    // per agency: its node record
    std::vector<size_t> issuer_record;  // per agency: a district's issuer record, else SIZE_MAX
    std::vector<uint8_t> full;          // the node and issuer records: what everyone must hold
    size_t full_count = 0;
    size_t revoked_agency = 0;  // a commune
    size_t revocation = 0;      // its revocation, signed by its district's issuer
    size_t forged = 0;          // a commune record with another endpoint, old signature
};

NodeRecord node_record(const std::string& agency, const std::string& name,
                       const std::string& parent, uint64_t seed) {
    NodeRecord n;
    n.agency = agency;
    n.name = name;
    n.sign_key = seeded_authority(seed, AuthorityRole::issuer, "node:" + agency).pub.key;
    n.box_key = seeded_box_key(seed, agency);
    std::string host = agency;
    std::replace(host.begin(), host.end(), '.', '-');
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    n.endpoints = {"tcp://" + host + ".hagiang.gov.vn:7001"};
    n.parent = parent;
    n.serial = 1;
    n.valid_from_ms = kNow - kDay;
    n.valid_until_ms = kNow + 365 * kDay;
    return n;
}

Province make_province(size_t n_nodes, size_t want_districts, uint64_t seed, Rng& rng) {
    const size_t districts = std::min(want_districts, std::max<size_t>(1, (n_nodes - 1) / 2));
    if (n_nodes < districts + 2) fail("--nodes must be at least 3");
    Province p;
    const AuthoritySecret root = seeded_authority(seed, AuthorityRole::root, "hagiang");
    p.roots.push_back(TrustAnchor{root.pub, {}});

    char buf[64];
    p.agencies.push_back("H14");
    p.district_of.push_back(0);
    for (size_t d = 1; d <= districts; ++d) {
        std::snprintf(buf, sizeof buf, "H14.D%02zu", d);
        p.agencies.push_back(buf);
        p.district_of.push_back(0);
    }
    // Communes go to districts at random, as real districts differ in size; numbered per
    // district.
    std::vector<size_t> per_district(districts + 1, 0);
    for (size_t i = districts + 1; i < n_nodes; ++i) {
        const size_t d = 1 + rng.below(districts);
        std::snprintf(buf, sizeof buf, "%s.X%03zu", p.agencies[d].c_str(), ++per_district[d]);
        p.agencies.push_back(buf);
        p.district_of.push_back(d);
    }

    struct Unsorted {
        DirRecordKind kind;
        Bytes wire;
        size_t agency;
    };
    std::vector<Unsorted> made;
    std::vector<AuthoritySecret> issuer_keys(districts + 1);
    for (size_t d = 1; d <= districts; ++d) {
        issuer_keys[d] = seeded_authority(seed, AuthorityRole::issuer, p.agencies[d]);
        IssuerRecord r;
        r.agency = p.agencies[d];
        r.name = "Ủy ban nhân dân huyện " + std::to_string(d) + ", tỉnh Hà Giang";
        r.key = issuer_keys[d].pub.key;
        r.prefix = p.agencies[d] + ".";
        r.max_depth = 0;
        r.valid_from_ms = kNow - 30 * kDay;
        r.valid_until_ms = kNow + 3 * 365 * kDay;
        made.push_back({DirRecordKind::issuer,
                        must(sign_issuer_record(r, root.secret), "issuer record").encode(), d});
    }
    NodeRecord forged_source;
    for (size_t a = 0; a < p.agencies.size(); ++a) {
        const bool commune = a > districts;
        const std::string name = a == 0     ? "Ủy ban nhân dân tỉnh Hà Giang"
                                 : !commune ? "Ủy ban nhân dân huyện " + std::to_string(a)
                                            : "Ủy ban nhân dân xã " +
                                                  p.agencies[a].substr(p.agencies[a].size() - 3) +
                                                  ", huyện " + std::to_string(p.district_of[a]);
        const std::string parent = a == 0 ? "" : p.agencies[p.district_of[a]];
        const SignSecretKey& signer = commune ? issuer_keys[p.district_of[a]].secret : root.secret;
        const NodeRecord r =
            must(sign_node_record(node_record(p.agencies[a], name, parent, seed), signer),
                 "node record");
        made.push_back({DirRecordKind::node, r.encode(), a});
        if (a == p.agencies.size() - 1) forged_source = r;
    }
    // The revoked commune and its revocation, by the issuer that enrolled it.
    p.revoked_agency = districts + 1 + rng.below(n_nodes - districts - 1);
    Revocation rev;
    rev.agency = p.agencies[p.revoked_agency];
    rev.kind = RevokedKind::node;
    rev.serial = 1;
    rev.revoked_at_ms = kNow - 1000;
    rev.reason = "khóa bí mật bị lộ (key compromised)";
    made.push_back({DirRecordKind::revocation,
                    must(sign_revocation(rev, issuer_keys[p.district_of[p.revoked_agency]].secret),
                         "revocation")
                        .encode(),
                    p.revoked_agency});
    // A forgery: the last commune's record pointing at another endpoint, under the signature
    // of the real one.
    forged_source.endpoints = {"tcp://attacker.example:7001"};
    made.push_back({DirRecordKind::node, forged_source.encode(), SIZE_MAX});

    std::vector<size_t> order(made.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<Hash32> ids(made.size());
    for (size_t i = 0; i < made.size(); ++i) {
        if (made[i].kind == DirRecordKind::node)
            ids[i] = must(NodeRecord::decode(made[i].wire), "decode").id();
        else if (made[i].kind == DirRecordKind::issuer)
            ids[i] = must(IssuerRecord::decode(made[i].wire), "decode").id();
        else
            ids[i] = must(Revocation::decode(made[i].wire), "decode").id();
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
    p.node_record.assign(p.agencies.size(), SIZE_MAX);
    p.issuer_record.assign(p.agencies.size(), SIZE_MAX);
    p.full.assign(made.size(), 0);
    for (size_t pos = 0; pos < order.size(); ++pos) {
        const size_t i = order[pos];
        p.records.push_back({ids[i], made[i].kind, made[i].wire});
        if (made[i].kind == DirRecordKind::revocation) {
            p.revocation = pos;
        } else if (made[i].agency == SIZE_MAX) {
            p.forged = pos;
        } else {
            (made[i].kind == DirRecordKind::node ? p.node_record
                                                 : p.issuer_record)[made[i].agency] = pos;
            p.full[pos] = 1;
            ++p.full_count;
        }
    }
    return p;
}

// ---- Nodes and the network -----------------------------------------------------------------

struct Holding {
    std::vector<uint8_t> held;  // by record index
    size_t count = 0;
    Hash32 digest{};
};

struct SimNode {
    Holding now;
    bool digest_stale = true;
    std::vector<IssuerRecord> issuers;  // decoded, verified: the node's TrustView
    std::vector<Revocation> revocations;
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
    std::vector<uint64_t> per_node;  // sent + received, sorted
    double seconds = 0;
};

class Network {
  public:
    Network(const Province& p, const Options& o, Order order, Rng& rng)
        : m_p(p),
          m_order(order),
          m_rng(rng),
          m_nodes(p.agencies.size()),
          m_inbox(p.agencies.size()),
          m_verify_every(o.verify_every) {
        link_up(o);
        for (size_t a = 0; a < m_nodes.size(); ++a) {
            SimNode& n = m_nodes[a];
            n.now.held.assign(p.records.size(), 0);
            // As after `enroll import`: its own record and its issuer chain (a district, as the
            // authority that enrolls its communes, also holds its own delegation).
            std::vector<size_t> start{p.node_record[a]};
            const size_t issuer = a > 0 && p.issuer_record[a] != SIZE_MAX ? a : p.district_of[a];
            if (issuer != 0) start.push_back(p.issuer_record[issuer]);
            accept(a, start);
        }
    }

    size_t links() const { return m_links; }
    const SimNode& node(size_t a) const { return m_nodes[a]; }
    size_t size() const { return m_nodes.size(); }

    // Puts a record in one node's set without verifying it: a corrupted store, or a node that
    // lies.
    void plant(size_t a, size_t record) {
        m_nodes[a].now.held[record] = 1;
        ++m_nodes[a].now.count;
        m_nodes[a].digest_stale = true;
    }
    void accept(size_t a, const std::vector<size_t>& records);
    uint64_t checks_run() const { return m_checks; }
    size_t rounds_run() const { return m_rounds; }  // in the current phase
    double check_seconds() const { return m_check_seconds; }

    // Runs rounds until `done` holds after a round (or `max_rounds` have run).
    PhaseResult run(size_t max_rounds, const std::function<bool()>& done);

  private:
    void link_up(const Options& o);
    void add_link(size_t a, size_t b);
    const Holding& view(size_t a);  // what `a` says in this exchange
    const Holding& live(size_t a);  // `a`'s set now, its digest brought up to date
    void exchange(uint32_t a, uint32_t b);
    void send(uint32_t from, uint32_t to, const Frame& f);
    void deliver(uint32_t to, std::vector<size_t> records);
    DirRecordsFrame records_frame(const std::vector<size_t>& records) const;
    std::vector<Hash32> ids_of(const std::vector<size_t>& records) const;
    bool verifies(const SimNode& n, size_t record);

    const Province& m_p;
    Order m_order;
    Rng& m_rng;
    std::vector<SimNode> m_nodes;
    std::vector<Holding> m_snapshot;  // lockstep: the state at round start
    std::vector<std::vector<std::vector<size_t>>>
        m_inbox;  // lockstep: batches to store at round end
    size_t m_links = 0;
    uint64_t m_bytes = 0, m_frames = 0;
    bool m_verify_every;
    std::map<std::pair<size_t, uint64_t>, bool> m_outcomes;  // !m_verify_every: (record, authority)
    uint64_t m_checks = 0;                                   // verifications actually run
    size_t m_rounds = 0;
    double m_check_seconds = 0;
};

void Network::add_link(size_t a, size_t b) {
    if (a == b) return;
    auto& la = m_nodes[a].links;
    if (std::find(la.begin(), la.end(), b) != la.end()) return;
    la.push_back(static_cast<uint32_t>(b));
    m_nodes[b].links.push_back(static_cast<uint32_t>(a));
    ++m_links;
}

// Districts to the province and to each other with probability district_link_p; each commune
// to its district and to extra_links random other nodes.
void Network::link_up(const Options& o) {
    const size_t n = m_nodes.size();
    size_t districts = 0;
    for (size_t a = 1; a < n && m_p.district_of[a] == 0; ++a) ++districts;
    if (!o.tree_links) {
        for (size_t a = 0; a < n; ++a)
            for (size_t k = 0, tries = 0;
                 k < o.extra_links + 1 && tries < 100 * (o.extra_links + 1); ++tries) {
                const size_t before = m_links;
                add_link(a, m_rng.below(n));
                if (m_links > before) ++k;
            }
        return;
    }
    for (size_t d = 1; d <= districts; ++d) {
        add_link(d, 0);
        for (size_t e = d + 1; e <= districts; ++e)
            if (m_rng.unit() < o.district_link_p) add_link(d, e);
    }
    for (size_t c = districts + 1; c < n; ++c) {
        add_link(c, m_p.district_of[c]);
        const size_t want = std::min(o.extra_links, n - 2);
        for (size_t k = 0, tries = 0; k < want && tries < 100 * want; ++tries) {
            const size_t before = m_links;
            add_link(c, m_rng.below(n));
            if (m_links > before) ++k;
        }
    }
}

// As NodeImpl::dir_accept: decode, skip what is held, verify against this node's own view;
// records that do not verify are retried while a pass adds something (an issuer may come in
// the same batch as what it signed), then dropped.
void Network::accept(size_t a, const std::vector<size_t>& records) {
    SimNode& n = m_nodes[a];
    std::vector<size_t> pending = records;
    for (size_t pass = 0; pass < kMaxDelegationDepth + 2 && !pending.empty(); ++pass) {
        std::vector<size_t> retry;
        size_t progress = 0;
        for (const size_t i : pending) {
            if (n.now.held[i]) continue;
            ++n.verifications;
            if (!verifies(n, i)) {
                retry.push_back(i);
                continue;
            }
            const Record& rec = m_p.records[i];
            if (rec.kind == DirRecordKind::issuer)
                n.issuers.push_back(must(IssuerRecord::decode(rec.wire), "decode"));
            if (rec.kind == DirRecordKind::revocation)
                n.revocations.push_back(must(Revocation::decode(rec.wire), "decode"));
            if (rec.kind != DirRecordKind::node) n.authority ^= tag(rec.id);
            n.now.held[i] = 1;
            ++n.now.count;
            n.digest_stale = true;
            ++progress;
        }
        pending = std::move(retry);
        if (progress == 0) break;
    }
    n.refusals += pending.size();
}

// The verification a node runs on a record it does not hold: decode, then the chain to a root
// with its own issuer records and revocations. Expired and revoked records are kept (they
// verify what was signed while they were valid); bad signatures and unknown issuers are not.
bool Network::verifies(const SimNode& n, size_t record) {
    if (!m_verify_every)
        if (auto it = m_outcomes.find({record, n.authority}); it != m_outcomes.end())
            return it->second;
    const auto t0 = std::chrono::steady_clock::now();
    const Record& rec = m_p.records[record];
    const TrustView view{m_p.roots, n.issuers, n.revocations, kNow, kDefaultMaxDepth};
    bool ok = false;
    if (rec.kind == DirRecordKind::node) {
        if (auto r = NodeRecord::decode(rec.wire); r.ok()) {
            const auto v = verify_node_record(*r, view);
            ok = v.ok() || v.error().failure == TrustFailure::expired ||
                 v.error().failure == TrustFailure::revoked;
        }
    } else if (rec.kind == DirRecordKind::issuer) {
        if (auto r = IssuerRecord::decode(rec.wire); r.ok()) {
            const auto v = verify_issuer_record(*r, view);
            ok = v.ok() || v.error().failure == TrustFailure::expired ||
                 v.error().failure == TrustFailure::revoked;
        }
    } else if (auto r = Revocation::decode(rec.wire); r.ok()) {
        ok = verify_revocation(*r, view).ok();
    }
    ++m_checks;
    m_check_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!m_verify_every) m_outcomes.emplace(std::make_pair(record, n.authority), ok);
    return ok;
}

const Holding& Network::view(size_t a) {
    return m_order == Order::lockstep ? m_snapshot[a] : live(a);
}

const Holding& Network::live(size_t a) {
    SimNode& n = m_nodes[a];
    if (n.digest_stale) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, nullptr, 0, 32);
        for (size_t i = 0; i < n.now.held.size(); ++i)
            if (n.now.held[i]) crypto_generichash_update(&st, m_p.records[i].id.data(), 32);
        crypto_generichash_final(&st, n.now.digest.data(), 32);
        n.digest_stale = false;
    }
    return n.now;
}

void Network::send(uint32_t from, uint32_t to, const Frame& f) {
    const uint64_t size = encode_frame(f).size();
    m_nodes[from].sent += size;
    m_nodes[to].received += size;
    m_bytes += size;
    ++m_frames;
}

void Network::deliver(uint32_t to, std::vector<size_t> records) {
    if (m_order == Order::lockstep)
        m_inbox[to].push_back(std::move(records));
    else
        accept(to, records);
}

DirRecordsFrame Network::records_frame(const std::vector<size_t>& records) const {
    DirRecordsFrame f;
    for (const size_t i : records) f.records.emplace_back(m_p.records[i].kind, m_p.records[i].wire);
    return f;
}

std::vector<Hash32> Network::ids_of(const std::vector<size_t>& records) const {
    std::vector<Hash32> ids;
    ids.reserve(records.size());
    for (const size_t i : records) ids.push_back(m_p.records[i].id);
    return ids;
}

// One exchange with `a` as the connecting side; the messages of node/directory.cpp.
void Network::exchange(uint32_t a, uint32_t b) {
    const Holding& va = view(a);
    const Holding& vb = view(b);
    send(a, b, DirDigestFrame{va.digest, va.count});
    if (va.digest == vb.digest) return;
    std::vector<size_t> theirs, they_lack, we_lack;
    for (size_t i = 0; i < vb.held.size(); ++i) {
        if (vb.held[i]) theirs.push_back(i);
        if (va.held[i] && !vb.held[i]) they_lack.push_back(i);
        if (vb.held[i] && !va.held[i]) we_lack.push_back(i);
    }
    send(b, a, DirHaveFrame{ids_of(theirs)});
    if (!they_lack.empty()) {
        send(a, b, records_frame(they_lack));
        deliver(b, std::move(they_lack));
    }
    if (!we_lack.empty()) {
        send(a, b, DirWantFrame{ids_of(we_lack)});
        send(b, a, records_frame(we_lack));  // B had every one of them
        deliver(a, std::move(we_lack));
    }
}

PhaseResult Network::run(size_t max_rounds, const std::function<bool()>& done) {
    const auto t0 = std::chrono::steady_clock::now();
    PhaseResult r;
    m_bytes = m_frames = 0;
    for (auto& n : m_nodes) n.sent = n.received = 0;
    std::vector<std::pair<uint32_t, uint32_t>> exchanges;
    for (size_t a = 0; a < m_nodes.size(); ++a)
        for (const uint32_t b : m_nodes[a].links)
            exchanges.emplace_back(static_cast<uint32_t>(a), b);
    while (r.rounds < max_rounds) {
        m_rounds = ++r.rounds;
        if (m_order == Order::lockstep) {
            m_snapshot.resize(m_nodes.size());
            for (size_t a = 0; a < m_nodes.size(); ++a) m_snapshot[a] = live(a);
        } else {
            m_rng.shuffle(exchanges);
        }
        for (const auto& [a, b] : exchanges) exchange(a, b);
        if (m_order == Order::lockstep)
            for (size_t a = 0; a < m_nodes.size(); ++a) {
                for (const auto& batch : m_inbox[a]) accept(a, batch);
                m_inbox[a].clear();
            }
        if (done()) {
            r.converged = true;
            break;
        }
    }
    r.bytes = m_bytes;
    r.frames = m_frames;
    for (const auto& n : m_nodes) r.per_node.push_back(n.sent + n.received);
    std::sort(r.per_node.begin(), r.per_node.end());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

// ---- One run -------------------------------------------------------------------------------

struct RunResult {
    size_t nodes = 0, links = 0, records = 0;
    Order order = Order::random;
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

RunResult run_one(size_t n_nodes, Order order, const Options& o) {
    const auto t0 = std::chrono::steady_clock::now();
    RunResult out;
    out.order = order;
    Rng rng(o.seed * 0x100000001b3ull + n_nodes);  // the same tree and links for both orders
    const Province p = make_province(n_nodes, o.districts, o.seed, rng);
    Network net(p, o, order, rng);
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

    // A quiet round: every digest equal, only DirDigest frames travel.
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
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

void print_run(const RunResult& r, const Options& o) {
    auto phase = [](const char* name, const PhaseResult& p) {
        std::printf(
            "  %-22s rounds %3zu%s  total %10s KiB in %8llu frames  per node KiB: mean %s p50 %s "
            "p99 %s max %s\n",
            name, p.rounds, p.converged ? " " : "!", kib(static_cast<double>(p.bytes)).c_str(),
            static_cast<unsigned long long>(p.frames), kib(mean(p.per_node)).c_str(),
            kib(static_cast<double>(percentile(p.per_node, 0.5))).c_str(),
            kib(static_cast<double>(percentile(p.per_node, 0.99))).c_str(),
            kib(static_cast<double>(p.per_node.empty() ? 0 : p.per_node.back())).c_str());
    };
    std::printf(
        "N=%zu order=%s topology=%s: %zu links (mean degree %.2f), %zu records (node + issuer), "
        "seed %llu\n",
        r.nodes, order_name(r.order), o.tree_links ? "tree" : "flat", r.links,
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
        "%-8s %6s %6s %6s %7s | %6s %7s %10s %8s %8s %8s %8s | %6s %9s %8s %8s %8s | %9s %7s\n",
        "order", "nodes", "log2N", "links", "records", "rounds", "r/log2N", "total", "mean", "p50",
        "p99", "max", "revoc", "total", "mean", "p99", "max", "verify ms", "time s");
    for (const auto& r : runs) {
        const double lg = std::log2(static_cast<double>(r.nodes));
        const auto& s = r.spread;
        const auto& v = r.revoke;
        std::printf(
            "%-8s %6zu %6.2f %6zu %7zu | %6zu %7.2f %10s %8s %8s %8s %8s | %6zu %9s %8s %8s %8s | "
            "%9.0f %7.1f\n",
            order_name(r.order), r.nodes, lg, r.links, r.records, s.rounds,
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
    "Simulates the directory gossip of node/directory.cpp in one process (no sockets, no LMDB)\n"
    "over a province of N nodes: 1 province, D districts (issuers), communes under them; each\n"
    "commune links to its district and K random nodes, districts to the province and to each\n"
    "other with probability P. Reports rounds and frame bytes until every node holds every\n"
    "record, then until a revocation reaches everyone, and checks a forged record never spreads.\n"
    "Defaults: --nodes 250,500,1000,2000 --districts 20 --extra-links 2 --district-link-p 0.3\n"
    "          --seed 1 --order both --max-rounds 200 --verify every. --verify shared lets nodes\n"
    "with the same issuer records and revocations share a verification's outcome (same result,\n"
    "far less CPU for large N; the CPU per node is then estimated). Exit status 1 when a check\n"
    "fails. --topology flat drops the tree links: every node links to K+1 random nodes.\n";

Options parse(int argc, char** argv) {
    Options o;
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
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) fail(flag + " needs a value (or is unknown)\n" + kUsage);
        const std::string v = argv[++i];
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
    const Options o = parse(argc, argv);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<RunResult> runs;
    size_t failures = 0;
    for (const size_t n : o.nodes)
        for (const Order order : o.orders) {
            runs.push_back(run_one(n, order, o));
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
