#include "bench/gossip_sim_network.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace lienthong::bench {

using namespace lienthong::protocol;

namespace {

// The frames of the exchange node/directory.cpp used before reconciliation, kept here to
// compare with: DirDigest [6, digest:bin(32), count:uint]; DirHave [7] [[id:bin(32)...]].
Bytes digest_frame(const Hash32& digest, uint64_t count) {
    return Writer().array(3).u64(6).bin(digest).u64(count).take();
}
Bytes have_frame(const std::vector<Hash32>& ids) {
    Writer w;
    w.array(1).u64(7).array(1).array(ids.size());
    for (const auto& id : ids) w.bin(id);
    return w.take();
}

// 64 bits of a record id: XORed together, a set of records' tag, whatever their order.
uint64_t tag(const Hash32& id) {
    uint64_t t = 0;
    std::memcpy(&t, id.data(), sizeof t);
    return t;
}

}  // namespace

const char* order_name(Order o) {
    return o == Order::random ? "random" : "lockstep";
}
const char* sync_name(Sync s) {
    return s == Sync::full ? "full" : "range";
}

Network::Network(const Province& p, const SimOptions& o, Order order, Sync sync, Rng& rng)
    : m_p(p),
      m_order(order),
      m_sync(sync),
      m_rng(rng),
      m_nodes(p.agencies.size()),
      m_inbox(p.agencies.size()),
      m_verify_every(o.verify_every),
      m_reconcile(o.reconcile) {
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

void Network::plant(size_t a, size_t record) {
    m_nodes[a].now.held[record] = 1;
    ++m_nodes[a].now.count;
    m_nodes[a].stale = true;
}

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
void Network::link_up(const SimOptions& o) {
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
            n.stale = true;
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
    if (n.stale) {
        if (m_sync == Sync::full) {
            crypto_generichash_state st;
            crypto_generichash_init(&st, nullptr, 0, 32);
            for (size_t i = 0; i < n.now.held.size(); ++i)
                if (n.now.held[i]) crypto_generichash_update(&st, m_p.records[i].id.data(), 32);
            crypto_generichash_final(&st, n.now.digest.data(), 32);
        } else {
            std::vector<ReconcileItem> items;
            items.reserve(n.now.count);
            for (size_t i = 0; i < n.now.held.size(); ++i)
                if (n.now.held[i]) items.push_back({m_p.records[i].timestamp, m_p.records[i].id});
            n.now.items = std::make_shared<const VectorReconcileStorage>(
                must(VectorReconcileStorage::make(std::move(items)), "reconcile storage"));
        }
        n.stale = false;
    }
    return n.now;
}

void Network::send(uint32_t from, uint32_t to, const Frame& f) {
    count(from, to, encode_frame(f).size());
}

void Network::count(uint32_t from, uint32_t to, uint64_t bytes) {
    m_nodes[from].sent += bytes;
    m_nodes[to].received += bytes;
    m_bytes += bytes;
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

std::vector<size_t> Network::records_of(std::vector<Hash32> ids) const {
    std::vector<size_t> records;
    records.reserve(ids.size());
    std::sort(ids.begin(), ids.end());
    for (const Hash32& id : ids) {
        const auto it = std::lower_bound(m_p.records.begin(), m_p.records.end(), id,
                                         [](const Record& r, const Hash32& x) { return r.id < x; });
        if (it == m_p.records.end() || it->id != id) fail("a reconciliation named an unknown id");
        records.push_back(static_cast<size_t>(it - m_p.records.begin()));
    }
    return records;
}

// One exchange with `a` as the connecting side.
void Network::exchange(uint32_t a, uint32_t b) {
    const Holding& va = view(a);
    const Holding& vb = view(b);
    if (m_sync == Sync::full)
        exchange_full(a, b, va, vb);
    else
        exchange_range(a, b, va, vb);
}

// The messages of node/directory.cpp.
void Network::exchange_full(uint32_t a, uint32_t b, const Holding& va, const Holding& vb) {
    count(a, b, digest_frame(va.digest, va.count).size());
    if (va.digest == vb.digest) return;
    std::vector<size_t> theirs, they_lack, we_lack;
    for (size_t i = 0; i < vb.held.size(); ++i) {
        if (vb.held[i]) theirs.push_back(i);
        if (va.held[i] && !vb.held[i]) they_lack.push_back(i);
        if (vb.held[i] && !va.held[i]) we_lack.push_back(i);
    }
    count(b, a, have_frame(ids_of(theirs)).size());
    transfer(a, b, std::move(they_lack), std::move(we_lack));
}

// Range reconciliation, `a` initiating; then the same record transfer as the full exchange.
// The differences found are checked against the true ones.
void Network::exchange_range(uint32_t a, uint32_t b, const Holding& va, const Holding& vb) {
    Reconciler initiator(*va.items, m_reconcile);
    const ReconcileResponder responder(*vb.items, m_reconcile);
    std::vector<Hash32> have, need;
    Bytes msg = initiator.initiate();
    for (;;) {
        const Bytes reply = must(responder.respond(msg), "reconcile (responder)");
        const size_t out = encode_frame(DirReconcileFrame{msg}).size();
        const size_t back = encode_frame(DirReconcileFrame{reply}).size();
        count(a, b, out);
        count(b, a, back);
        m_reconcile_bytes += out + back;
        auto next = must(initiator.reconcile(reply, have, need), "reconcile (initiator)");
        if (!next) break;
        msg = std::move(*next);
    }
    std::vector<size_t> they_lack = records_of(std::move(have));
    std::vector<size_t> we_lack = records_of(std::move(need));
    size_t true_they_lack = 0, true_we_lack = 0;
    for (size_t i = 0; i < va.held.size(); ++i) {
        true_they_lack += va.held[i] && !vb.held[i];
        true_we_lack += vb.held[i] && !va.held[i];
    }
    bool exact = they_lack.size() == true_they_lack && we_lack.size() == true_we_lack;
    for (const size_t i : they_lack) exact = exact && va.held[i] && !vb.held[i];
    for (const size_t i : we_lack) exact = exact && vb.held[i] && !va.held[i];
    if (!exact) ++m_mismatches;
    transfer(a, b, std::move(they_lack), std::move(we_lack));
}

// A sends what B lacks and asks for what it lacks itself; B answers.
void Network::transfer(uint32_t a, uint32_t b, std::vector<size_t> they_lack,
                       std::vector<size_t> we_lack) {
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
    m_bytes = m_frames = m_reconcile_bytes = 0;
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
    r.reconcile_bytes = m_reconcile_bytes;
    for (const auto& n : m_nodes) r.per_node.push_back(n.sent + n.received);
    std::sort(r.per_node.begin(), r.per_node.end());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace lienthong::bench
