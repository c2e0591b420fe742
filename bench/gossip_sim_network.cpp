#include "bench/gossip_sim_network.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace lienthong::bench {

using namespace lienthong::protocol;

namespace {

using Clock = std::chrono::steady_clock;

// CPU time of this process (one thread): what the simulation spent, whatever else runs.
double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The frames of the exchange node/directory.cpp used before reconciliation, kept here to
// compare with: DirDigest [6, digest:bin(32), count:uint]; DirHave [7] [[id:bin(32)...]].
Bytes digest_frame(const Hash32& digest, uint64_t count) {
    return Writer().array(3).u64(6).bin(digest).u64(count).take();
}
uint64_t have_frame_size(size_t ids) {
    Writer w;
    w.array(1).u64(7).array(1).array(ids);
    return w.take().size() + ids * (2 + sizeof(Hash32));
}

// The extra bytes of a msgpack array header of n elements over one of 0.
uint64_t array_growth(size_t n) {
    return n < 16 ? 0 : n < 65536 ? 2 : 4;
}

// 64 bits of a record id: XORed together, a set of records' tag, whatever their order.
uint64_t tag(const Hash32& id) {
    uint64_t t = 0;
    std::memcpy(&t, id.data(), sizeof t);
    return t;
}

constexpr size_t kRecordsPerFrame = 256;  // as NodeImpl::dir_send_records

}  // namespace

const char* order_name(Order o) {
    return o == Order::random ? "random" : "lockstep";
}
const char* sync_name(Sync s) {
    return s == Sync::full ? "full" : "range";
}

Network::Network(const Country& c, const SimOptions& o, Order order, Sync sync, Rng& rng)
    : m_c(c),
      m_order(order),
      m_sync(sync),
      m_rng(rng),
      m_inbox(c.agencies.size()),
      m_verify_every(o.verify_every),
      m_progress(o.progress),
      m_reconcile(o.reconcile),
      m_outcomes(c.records.size()) {
    m_nodes.reserve(c.agencies.size());
    for (size_t a = 0; a < c.agencies.size(); ++a) {
        m_nodes.emplace_back(c);
        m_nodes.back().known.assign(c.full[0].size(), 0);
        m_nodes.back().province = c.province_of[a];
    }
    m_cross.resize(c.cross.size());
    for (size_t r = 0; r < c.records.size(); ++r) {
        const Record& rec = c.records[r];
        m_tags.push_back(tag(rec.id));
        m_pool.push_back(rec.kind == DirRecordKind::issuer       ? m_issuers.size()
                         : rec.kind == DirRecordKind::revocation ? m_revocations.size()
                                                                 : 0);
        if (rec.kind == DirRecordKind::issuer) {
            m_issuer_ids.push_back(static_cast<uint32_t>(r));
            m_issuers.push_back(must(IssuerRecord::decode(rec.wire), "decode"));
        } else if (rec.kind == DirRecordKind::revocation) {
            m_revocation_ids.push_back(static_cast<uint32_t>(r));
            m_revocations.push_back(must(Revocation::decode(rec.wire), "decode"));
        } else if (rec.kind == DirRecordKind::cross_trust) {
            m_cross[rec.province * c.provinces + rec.target] =
                must(CrossTrust::decode(rec.wire), "decode");
        }
        const Bytes one = encode_frame(DirRecordsFrame{{{rec.kind, rec.wire}}});
        m_entry.push_back(static_cast<uint32_t>(one.size()));
    }
    m_records_base = encode_frame(DirRecordsFrame{}).size();
    for (auto& e : m_entry) e -= static_cast<uint32_t>(m_records_base);
    m_want_base = encode_frame(DirWantFrame{}).size();
    m_want_per_id = encode_frame(DirWantFrame{{Hash32{}}}).size() - m_want_base;
    link_up(o);
    for (size_t a = 0; a < m_nodes.size(); ++a) {
        // As after `enroll import`: its own record and its issuer chain (a district, as the
        // authority that enrolls its communes, also holds its own delegation); a province
        // node, where its root's keeper imports them, its root's cross-trust records.
        std::vector<uint32_t> start{c.node_record[a]};
        const size_t issuer = c.issuer_record[a] != kNone ? a : c.district_of[a];
        if (c.issuer_record[issuer] != kNone) start.push_back(c.issuer_record[issuer]);
        if (a < c.provinces)
            for (size_t q = 0; q < c.provinces; ++q)
                if (c.cross[a * c.provinces + q] != kNone) start.push_back(c.cross[a * c.provinces + q]);
        accept(a, start);
    }
}

void Network::plant(size_t a, size_t record) {
    m_nodes[a].offer.insert(record);
    set_bit(m_nodes[a].known, record);
    m_nodes[a].digest_stale = true;
}

void Network::add_link(size_t a, size_t b) {
    if (a == b) return;
    auto& la = m_nodes[a].links;
    if (std::find(la.begin(), la.end(), b) != la.end()) return;
    la.push_back(static_cast<uint32_t>(b));
    m_nodes[b].links.push_back(static_cast<uint32_t>(a));
    ++m_links;
}

// Province nodes in a ring and to province_links random others; each district to its
// province node and to the other districts of its province with probability
// district_link_p; each commune to its district and to extra_links random nodes of its
// province.
void Network::link_up(const SimOptions& o) {
    const size_t n = m_nodes.size();
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
    const size_t P = m_c.provinces;
    std::vector<std::vector<uint32_t>> members(P), districts(P);
    for (size_t a = 0; a < n; ++a) members[m_c.province_of[a]].push_back(static_cast<uint32_t>(a));
    for (size_t p = 0; p < P && P > 1; ++p) {
        add_link(p, (p + 1) % P);
        for (size_t k = 0; k < o.province_links; ++k) add_link(p, m_rng.below(P));
    }
    size_t first_commune = P;
    while (first_commune < n && m_c.district_of[first_commune] < P) ++first_commune;
    for (size_t d = P; d < first_commune; ++d) districts[m_c.province_of[d]].push_back(static_cast<uint32_t>(d));
    for (size_t p = 0; p < P; ++p)
        for (size_t i = 0; i < districts[p].size(); ++i) {
            add_link(districts[p][i], p);
            for (size_t j = i + 1; j < districts[p].size(); ++j)
                if (m_rng.unit() < o.district_link_p) add_link(districts[p][i], districts[p][j]);
        }
    for (size_t c = first_commune; c < n; ++c) {
        add_link(c, m_c.district_of[c]);
        const auto& mine = members[m_c.province_of[c]];
        const size_t want = std::min(o.extra_links, mine.size() - 2);
        for (size_t k = 0, tries = 0; k < want && tries < 100 * want; ++tries) {
            const size_t before = m_links;
            add_link(c, mine[m_rng.below(mine.size())]);
            if (m_links > before) ++k;
        }
    }
}

// As NodeImpl::dir_accept: skip what is known, refuse a record superseded by one held,
// verify against this node's own view; records that do not verify are retried while a pass
// adds something (an issuer may come in the same batch as what it signed), then dropped;
// another province's cross-trust record is refused for good.
void Network::accept(size_t a, const std::vector<uint32_t>& records) {
    SimNode& n = m_nodes[a];
    std::unique_ptr<View> view;  // built on the first verification that runs
    std::vector<uint32_t> pending = records;
    for (size_t pass = 0; pass < kMaxDelegationDepth + 3 && !pending.empty(); ++pass) {
        std::vector<uint32_t> retry;
        size_t progress = 0;
        for (const uint32_t i : pending) {
            if (bit(n.known, i)) continue;
            const Record& rec = m_c.records[i];
            if (rec.kind == DirRecordKind::node && i == m_c.records[m_c.rotation].supersedes &&
                n.offer.has(m_c.rotation)) {
                ++n.refusals;  // lower than the serial held
                continue;
            }
            ++n.verifications;
            ++m_phase_verifications;
            const Outcome o = verify(a, i, view);
            if (o == Outcome::retry) {
                retry.push_back(i);
                continue;
            }
            set_bit(n.known, i);
            if (o == Outcome::foreign) {
                ++n.foreign;
                continue;
            }
            n.offer.insert(i);
            if (rec.supersedes != kNone) n.offer.erase(rec.supersedes);
            if (m_c.is_authority(i)) view.reset();  // what it grants verifies the records after it
            n.digest_stale = true;
            ++progress;
        }
        pending = std::move(retry);
        if (progress == 0) break;
    }
    n.refusals += pending.size();
}

std::unique_ptr<Network::View> Network::view_of(size_t a) const {
    const SimNode& n = m_nodes[a];
    auto v = std::make_unique<View>();
    v->configured.push_back(m_c.roots[n.province]);
    std::vector<CrossTrust> cross;
    for (size_t q = 0; q < m_c.provinces; ++q) {
        const uint32_t r = m_c.cross[n.province * m_c.provinces + q];
        if (r != kNone && n.offer.has(r)) cross.push_back(m_cross[n.province * m_c.provinces + q]);
    }
    v->anchors = v->configured;
    for (auto& x : external_anchors(cross, v->configured, kNow)) v->anchors.push_back(std::move(x));
    for (size_t k = 0; k < m_issuer_ids.size(); ++k)
        if (n.offer.has(m_issuer_ids[k])) v->issuers.push_back(m_issuers[k]);
    for (size_t k = 0; k < m_revocation_ids.size(); ++k)
        if (n.offer.has(m_revocation_ids[k])) v->revocations.push_back(m_revocations[k]);
    return v;
}

TrustView Network::trust_view(const View& v) const {
    return TrustView{v.anchors, v.issuers, v.revocations, kNow, kDefaultMaxDepth};
}

// What, besides its own root, the verification of `record` at this node can consult: the
// issuer records and revocations of its chain's agencies, and whether its root's cross-trust
// record grants the record's province's root (every province's grant of a root is the same
// anchor). Equal tags (and the same answer to "is it my own province's?"), equal outcomes:
// trust_verify.cpp finds issuers by key and applies revocations by agency.
uint64_t Network::relevant_tag(const SimNode& n, size_t record) const {
    const Record& rec = m_c.records[record];
    if (rec.kind == DirRecordKind::cross_trust) return 0;  // checked against the configured roots
    uint64_t t = 0;
    for (const uint32_t r : m_c.relevant[record])
        if (n.offer.has(r)) t ^= m_tags[r];
    if (rec.province != n.province && granted(n, rec.province)) t ^= 0x9e3779b97f4a7c15ull;
    return t;
}

bool Network::granted(const SimNode& n, size_t province) const {
    const uint32_t x = m_c.cross[n.province * m_c.provinces + province];
    return x != kNone && n.offer.has(x);
}

// The part of the node's view relevant_tag covers: its root, the external root the record
// needs if granted, and the issuer records and revocations of the record's chain.
Network::View Network::narrow_view(const SimNode& n, size_t record) const {
    View v;
    v.configured.push_back(m_c.roots[n.province]);
    v.anchors = v.configured;
    const Record& rec = m_c.records[record];
    if (rec.kind != DirRecordKind::cross_trust && rec.province != n.province &&
        granted(n, rec.province)) {
        const std::vector<CrossTrust> grant{m_cross[n.province * m_c.provinces + rec.province]};
        for (auto& x : external_anchors(grant, v.configured, kNow)) v.anchors.push_back(std::move(x));
    }
    for (const uint32_t r : m_c.relevant[record]) {
        if (!n.offer.has(r)) continue;
        if (m_c.records[r].kind == DirRecordKind::issuer) v.issuers.push_back(m_issuers[m_pool[r]]);
        if (m_c.records[r].kind == DirRecordKind::revocation)
            v.revocations.push_back(m_revocations[m_pool[r]]);
    }
    return v;
}

// With --verify every, each verification runs against the node's whole view. Shared, a
// verification whose (own province, tag) was seen before takes that outcome; a new one runs
// against the narrow view, and one in kFullSample also against the whole view: its outcome
// must be the same (else the tag missed something: counted, and the run fails), and its time
// is what a node's verification costs (the whole view is what makes it slower).
Network::Outcome Network::verify(size_t a, size_t record, std::unique_ptr<View>& view) {
    constexpr uint64_t kFullSample = 16;
    const SimNode& n = m_nodes[a];
    const bool own = m_c.records[record].province == n.province;
    if (m_verify_every) {
        if (!view) view = view_of(a);
        return verify_now(record, *view, true);
    }
    const uint64_t t = relevant_tag(n, record);
    for (const Shared& s : m_outcomes[record])
        if (s.own == own && s.tag == t) return s.outcome;
    const Outcome o = verify_now(record, narrow_view(n, record), false);
    if (m_misses++ % kFullSample == 0) {
        if (!view) view = view_of(a);
        if (verify_now(record, *view, true) != o) ++m_view_mismatches;
    }
    m_outcomes[record].push_back({own, t, o});
    return o;
}

// The verification a node runs on a record it does not hold: decode, then the chain to a root
// with its own issuer records and revocations. Expired and revoked records are kept (they
// verify what was signed while they were valid); bad signatures and unknown issuers are not.
// `whole`: against the node's whole view, the cost counted per verification.
Network::Outcome Network::verify_now(size_t record, const View& view, bool whole) {
    const double t0 = cpu_now();
    const Record& rec = m_c.records[record];
    const TrustView tv = trust_view(view);
    const auto keeps = [](const auto& v) {
        return v.ok() || v.error().failure == TrustFailure::expired ||
               v.error().failure == TrustFailure::revoked;
    };
    Outcome o = Outcome::retry;
    switch (rec.kind) {
        case DirRecordKind::node:
            if (auto r = NodeRecord::decode(rec.wire); r.ok() && keeps(verify_node_record(*r, tv)))
                o = Outcome::kept;
            break;
        case DirRecordKind::issuer:
            if (auto r = IssuerRecord::decode(rec.wire); r.ok() && keeps(verify_issuer_record(*r, tv)))
                o = Outcome::kept;
            break;
        case DirRecordKind::revocation:
            if (auto r = Revocation::decode(rec.wire); r.ok() && verify_revocation(*r, tv).ok())
                o = Outcome::kept;
            break;
        case DirRecordKind::cross_trust:
            if (auto r = CrossTrust::decode(rec.wire); r.ok()) {
                const auto v = verify_cross_trust(*r, view.configured, kNow);
                if (keeps(v))
                    o = Outcome::kept;
                else if (v.error().failure == TrustFailure::unknown_issuer ||
                         v.error().failure == TrustFailure::outside_root_prefixes)
                    o = Outcome::foreign;  // another federation's: never_ours in directory.cpp
            }
            break;
    }
    const double spent = cpu_now() - t0;
    m_verify_seconds += spent;
    if (whole) {
        ++m_checks;
        m_check_seconds += spent;
    }
    return o;
}

const Hash32& Network::digest(size_t a) {
    SimNode& n = m_nodes[a];
    if (n.digest_stale) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, nullptr, 0, 32);
        for (const uint32_t r : m_c.by_id)
            if (n.offer.has(r)) crypto_generichash_update(&st, m_c.records[r].id.data(), 32);
        crypto_generichash_final(&st, n.digest.data(), 32);
        n.digest_stale = false;
    }
    return n.digest;
}

void Network::count(uint32_t from, uint32_t to, uint64_t bytes, uint64_t frames) {
    m_nodes[from].sent += bytes;
    m_nodes[to].received += bytes;
    m_bytes += bytes;
    m_frames += frames;
}

// encode_frame's size of the DirRecords frames carrying `records`, every few thousandth
// call checked by encoding them.
uint64_t Network::records_bytes(const std::vector<uint32_t>& records, uint64_t& frames) {
    uint64_t total = 0;
    frames = 0;
    for (size_t i = 0; i < records.size(); i += kRecordsPerFrame) {
        const size_t end = std::min(records.size(), i + kRecordsPerFrame);
        uint64_t bytes = m_records_base + array_growth(end - i);
        for (size_t k = i; k < end; ++k) bytes += m_entry[records[k]];
        if (m_size_checks++ % 4096 == 0) {
            DirRecordsFrame f;
            for (size_t k = i; k < end; ++k)
                f.records.emplace_back(m_c.records[records[k]].kind, m_c.records[records[k]].wire);
            if (encode_frame(f).size() != bytes) ++m_size_mismatches;
        }
        total += bytes;
        ++frames;
    }
    return total;
}

uint64_t Network::want_bytes(const std::vector<uint32_t>& records) {
    const uint64_t bytes =
        m_want_base + array_growth(records.size()) + m_want_per_id * records.size();
    if (m_size_checks++ % 4096 == 0) {
        DirWantFrame f;
        for (const uint32_t r : records) f.ids.push_back(m_c.records[r].id);
        if (encode_frame(f).size() != bytes) ++m_size_mismatches;
    }
    return bytes;
}

void Network::deliver(uint32_t to, std::vector<uint32_t> records) {
    if (m_order == Order::lockstep)
        m_inbox[to].push_back(std::move(records));
    else
        accept(to, records);
}

std::vector<uint32_t> Network::records_of(const std::vector<Hash32>& ids) const {
    std::vector<uint32_t> records;
    records.reserve(ids.size());
    for (const Hash32& id : ids) {
        const uint32_t r = m_c.find(id);
        if (r == kNone) fail("a reconciliation named an unknown id");
        records.push_back(r);
    }
    return records;
}

// One exchange with `a` as the connecting side.
void Network::exchange(uint32_t a, uint32_t b) {
    if (m_sync == Sync::full)
        exchange_full(a, b);
    else
        exchange_range(a, b);
}

// The messages of node/directory.cpp before reconciliation.
void Network::exchange_full(uint32_t a, uint32_t b) {
    const HoldingSet& sa = m_nodes[a].offer;
    const HoldingSet& sb = m_nodes[b].offer;
    count(a, b, digest_frame(digest(a), sa.size()).size());
    if (digest(a) == digest(b)) return;
    count(b, a, have_frame_size(sb.size()));
    std::vector<uint32_t> they_lack, we_lack;
    const auto& wa = sa.bits();
    const auto& wb = sb.bits();
    for (size_t w = 0; w < wa.size(); ++w) {
        for (uint64_t x = wa[w] & ~wb[w]; x; x &= x - 1)
            they_lack.push_back(static_cast<uint32_t>(w * 64 + std::countr_zero(x)));
        for (uint64_t x = wb[w] & ~wa[w]; x; x &= x - 1)
            we_lack.push_back(static_cast<uint32_t>(w * 64 + std::countr_zero(x)));
    }
    transfer(a, b, std::move(they_lack), std::move(we_lack));
}

// Range reconciliation, `a` initiating; then the record transfer. The differences found are
// checked against the true ones.
void Network::exchange_range(uint32_t a, uint32_t b) {
    const HoldingSet& sa = m_nodes[a].offer;
    const HoldingSet& sb = m_nodes[b].offer;
    sa.refresh();
    sb.refresh();
    Reconciler initiator(sa, m_reconcile);
    const ReconcileResponder responder(sb, m_reconcile);
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
    std::vector<uint32_t> they_lack = records_of(have);
    std::vector<uint32_t> we_lack = records_of(need);
    size_t true_they_lack = 0, true_we_lack = 0;
    const auto& wa = sa.bits();
    const auto& wb = sb.bits();
    for (size_t w = 0; w < wa.size(); ++w) {
        true_they_lack += std::popcount(wa[w] & ~wb[w]);
        true_we_lack += std::popcount(wb[w] & ~wa[w]);
    }
    bool exact = they_lack.size() == true_they_lack && we_lack.size() == true_we_lack;
    for (const uint32_t i : they_lack) exact = exact && sa.has(i) && !sb.has(i);
    for (const uint32_t i : we_lack) exact = exact && sb.has(i) && !sa.has(i);
    if (!exact) ++m_mismatches;
    transfer(a, b, std::move(they_lack), std::move(we_lack));
}

// A sends every record B lacks and asks for what it lacks and has never refused; B answers.
void Network::transfer(uint32_t a, uint32_t b, std::vector<uint32_t> they_lack,
                       std::vector<uint32_t> we_lack) {
    uint64_t frames = 0;
    if (!they_lack.empty()) {
        const uint64_t bytes = records_bytes(they_lack, frames);
        count(a, b, bytes, frames);
        deliver(b, std::move(they_lack));
    }
    std::erase_if(we_lack, [&](uint32_t r) { return bit(m_nodes[a].known, r); });
    if (!we_lack.empty()) {
        count(a, b, want_bytes(we_lack));
        const uint64_t bytes = records_bytes(we_lack, frames);
        count(b, a, bytes, frames);  // B had every one of them
        deliver(a, std::move(we_lack));
    }
}

// A few nodes' sets, compared with VectorReconcileStorage over the same items.
void Network::check_storage_sample() {
    if (!m_storage_mismatch.empty()) return;
    for (int k = 0; k < 4; ++k) {
        const size_t a = m_rng.below(m_nodes.size());
        const std::string why = m_nodes[a].offer.check_against(m_rng.next());
        if (!why.empty()) {
            m_storage_mismatch = m_c.agencies[a] + ": " + why;
            return;
        }
    }
}

PhaseResult Network::run(const char* name, size_t max_rounds,
                         const std::function<size_t()>& missing,
                         const std::function<void(size_t)>& at_round) {
    const auto t0 = Clock::now();
    PhaseResult r;
    m_bytes = m_frames = m_reconcile_bytes = m_phase_verifications = 0;
    const double checks_before = m_verify_seconds;
    for (auto& n : m_nodes) n.sent = n.received = 0;
    std::vector<std::pair<uint32_t, uint32_t>> exchanges;
    for (size_t a = 0; a < m_nodes.size(); ++a)
        for (const uint32_t b : m_nodes[a].links) exchanges.emplace_back(static_cast<uint32_t>(a), b);
    m_rounds = 0;
    while (r.rounds < max_rounds) {
        m_rounds = ++r.rounds;
        if (at_round) at_round(r.rounds);
        if (m_order == Order::random) m_rng.shuffle(exchanges);
        const double round_start = cpu_now();
        for (const auto& [a, b] : exchanges)
            if (m_nodes[a].up && m_nodes[b].up) exchange(a, b);
        if (m_order == Order::lockstep)
            for (size_t a = 0; a < m_nodes.size(); ++a) {
                for (const auto& batch : m_inbox[a]) accept(a, batch);
                m_inbox[a].clear();
            }
        r.exchange_seconds += cpu_now() - round_start;
        for (const auto& n : m_nodes) r.node_rounds += n.up;
        const size_t left = missing();
        if (m_progress)
            std::printf("    %s, round %zu: %zu nodes still to reach, %.1f MiB sent, %.1f s\n", name,
                        r.rounds, left, static_cast<double>(m_bytes) / 1048576.0,
                        std::chrono::duration<double>(Clock::now() - t0).count());
        std::fflush(stdout);
        if (left == 0) {
            r.converged = true;
            break;
        }
    }
    r.bytes = m_bytes;
    r.frames = m_frames;
    r.reconcile_bytes = m_reconcile_bytes;
    r.verifications = m_phase_verifications;
    r.check_seconds = m_verify_seconds - checks_before;
    for (const auto& n : m_nodes)
        if (n.up) r.per_node.push_back(n.sent);
    std::sort(r.per_node.begin(), r.per_node.end());
    check_storage_sample();
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
}

}  // namespace lienthong::bench
