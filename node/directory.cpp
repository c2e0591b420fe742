// The federation directory: node records, issuer records and revocations verified against the
// configured roots (protocol/trust.h), kept in LMDB, spread by gossip over every link, and
// turned into peer links — so a newly enrolled agency becomes reachable everywhere with no
// config edits, and a revoked one is dropped everywhere.
//
// Gossip (frames in protocol/frame.h), on each neighbour link, from the connecting side every
// trust.gossip_ms and at connect: range-based set reconciliation of the ids each side offers
// (protocol/reconcile.h), keyed by each record's time:
//   A → B  DirReconcile(one fingerprint of A's whole set)
//   B → A  DirReconcile(answer)  ...  until A knows what B lacks ("have") and what it lacks
//   A → B  DirRecords(what B lacks), DirWant(what A lacks)
//   B → A  DirRecords(what A asked for)
// Equal sets cost one small round trip; d differences among N records cost about
// d · log16(N) fingerprints, not N ids. Records travel once. Every record is verified by the
// receiver against its own roots before it is stored or used; one that does not verify is
// counted and dropped (it may verify later, when its issuer arrives: the sender offers it
// again on the next round).
#include <sodium.h>

#include "node/api_util.h"
#include "node/node_impl.h"

namespace lienthong::node {

namespace {
using protocol::DirRecordKind;

std::string_view kind_word(DirRecordKind k) {
    switch (k) {
        case DirRecordKind::node: return "node record";
        case DirRecordKind::issuer: return "issuer record";
        case DirRecordKind::revocation: return "revocation";
        case DirRecordKind::cross_trust: return "cross-trust record";
    }
    return "record";
}

// What one record came to in dir_accept.
struct Outcome {
    Hash32 id{};
    std::string agency;  // or "federation NAME" for cross-trust records
    std::string error;
    bool known = false;  // held already
    bool kept = false;
    bool final = false;  // refused for good (not retried in later passes)
    std::optional<protocol::TrustFailure> failure;
};

// A cross-trust record refused for these reasons is another federation's (or names a root
// configured with prefixes): no record this node can receive will ever make it verify.
bool never_ours(const Outcome& o) {
    return o.failure == protocol::TrustFailure::unknown_issuer ||
           o.failure == protocol::TrustFailure::outside_root_prefixes;
}
constexpr size_t kMaxForeignIds = 10000;
}  // namespace

protocol::TrustView NodeImpl::dir_view(uint64_t now) const {
    return protocol::TrustView{m_dir.anchors, m_dir.issuers, m_dir.revocations, now, m_config.trust.max_depth};
}

// The roots records are checked against: the configured ones, then every external federation's
// root that a cross-trust record of ours grants now.
void NodeImpl::dir_update_anchors(uint64_t now) {
    const auto& roots = m_config.trust.roots;
    m_dir.cross_deciding = protocol::deciding_cross_trust(m_dir.cross, roots);
    m_dir.anchors = roots;
    for (auto& a : protocol::external_anchors(m_dir.cross, roots, now)) m_dir.anchors.push_back(std::move(a));
}

void NodeImpl::dir_recompute() {
    const uint64_t now = m_clock->now_ms();
    const size_t anchors_before = m_dir.anchors.size();
    dir_update_anchors(now);
    if (m_dir.anchors.size() != anchors_before)
        m_log.info("trust_anchors", {{"roots", std::to_string(m_config.trust.roots.size())},
                                     {"external", std::to_string(m_dir.anchors.size() - m_config.trust.roots.size())}});
    // The record in use per agency: the highest serial that verifies now.
    std::map<std::string, std::vector<protocol::NodeRecord>> by_agency;
    for (const auto& [id, r] : m_dir.nodes) by_agency[r.agency].push_back(r);
    m_dir.current.clear();
    const auto view = dir_view(now);
    for (const auto& [agency, recs] : by_agency)
        if (auto i = protocol::select_current_record(agency, recs, view)) m_dir.current[agency] = recs[*i];
    // What gossip offers: the current node record of each agency (superseded ones stay here,
    // to verify what was signed under them, but are not spread), the issuer records that are
    // valid or were valid (expired, revoked: still needed to verify old documents), every
    // revocation, and the deciding cross-trust record of each external root. Issuer records
    // of a federation no longer trusted are not spread. The digest is over those ids, in order.
    m_dir.gossip.clear();
    for (const auto& [agency, rec] : m_dir.current) m_dir.gossip.insert(rec.id());
    for (const auto& r : m_dir.issuers) {
        const auto v = protocol::verify_issuer_record(r, view);
        if (v.ok() || v.error().failure == protocol::TrustFailure::expired ||
            v.error().failure == protocol::TrustFailure::revoked)
            m_dir.gossip.insert(r.id());
    }
    for (const auto& r : m_dir.revocations) m_dir.gossip.insert(r.id());
    for (size_t i : m_dir.cross_deciding) m_dir.gossip.insert(m_dir.cross[i].id());
    // The same set, keyed by each record's time, for reconciliation. A snapshot: a
    // reconciliation under way keeps the one it started with.
    std::vector<protocol::ReconcileItem> items;
    const auto add = [&](uint64_t ms, const Hash32& id) {
        items.push_back({std::min(ms, protocol::kReconcileMaxTimestamp), id});
    };
    for (const auto& [agency, rec] : m_dir.current) add(rec.valid_from_ms, rec.id());
    for (const auto& r : m_dir.issuers)
        if (const auto id = r.id(); m_dir.gossip.count(id)) add(r.valid_from_ms, id);
    for (const auto& r : m_dir.revocations) add(r.revoked_at_ms, r.id());
    for (size_t i : m_dir.cross_deciding) add(m_dir.cross[i].valid_from_ms, m_dir.cross[i].id());
    auto set = protocol::VectorReconcileStorage::make(std::move(items));
    if (set.ok()) m_dir.recon_set = std::make_shared<const protocol::VectorReconcileStorage>(std::move(set).value());
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, 32);
    for (const auto& id : m_dir.gossip) crypto_generichash_update(&st, id.data(), id.size());
    crypto_generichash_final(&st, m_dir.digest.data(), 32);
    m_dir.links_dirty = true;
}

Status NodeImpl::dir_load() {
    m_dir.anchors = m_config.trust.roots;
    const auto entries = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->directory_records(t); });
    std::vector<std::pair<DirRecordKind, Bytes>> records;
    for (const auto& e : entries)
        if (e.kind >= 1 && e.kind <= 4) records.emplace_back(static_cast<DirRecordKind>(e.kind), e.wire);
    dir_accept(std::move(records), "storage", false);
    m_log.info("directory_loaded", {{"records", std::to_string(m_dir.wires.size())},
                                    {"agencies", std::to_string(m_dir.current.size())},
                                    {"external_roots", std::to_string(m_dir.anchors.size() - m_config.trust.roots.size())}});
    return ok_status();
}

json NodeImpl::dir_accept(std::vector<std::pair<DirRecordKind, Bytes>> records, const std::string& from, bool store) {
    size_t added = 0, known = 0;
    json refused = json::array();
    if (m_config.trust.roots.empty()) {
        for (const auto& [kind, wire] : records)
            refused.push_back({{"kind", std::string(kind_word(kind))}, {"error", "this node has no trust roots configured (config key 'trust.roots')"}});
        return json{{"added", 0}, {"known", 0}, {"refused", refused}};
    }
    const uint64_t now = m_clock->now_ms();
    // A stored record that expired or was revoked since is kept: it verifies what the agency
    // signed while it was valid. A new one arriving expired is refused; bad signatures and
    // unknown issuers always are.
    const auto keep = [&](const auto& v) {
        return v.ok() || (!store && v.error().failure == protocol::TrustFailure::expired) ||
               v.error().failure == protocol::TrustFailure::revoked;
    };
    const auto strict = [](const auto& v) { return v.ok(); };
    // Decodes, checks against what is held (`lower`: why it is superseded, or ""), verifies,
    // and hands a kept record to `hold`.
    const auto attempt = [&](auto decoded, auto agency_of, auto lower, auto verify, auto keeps, auto hold) {
        Outcome out;
        if (!decoded.ok()) {
            out.error = decoded.error();
            return out;
        }
        auto& r = decoded.value();
        out.id = r.id();
        out.agency = agency_of(r);
        if (m_dir.wires.count(out.id) || m_dir.foreign.count(out.id)) {
            out.known = true;
            return out;
        }
        if (out.error = lower(r); !out.error.empty()) {
            out.final = true;  // it can only become lower still
            return out;
        }
        const auto v = verify(r);
        out.kept = keeps(v);
        if (!out.kept) {
            out.error = v.error().message;
            out.failure = v.error().failure;
            return out;
        }
        hold(std::move(decoded).value());
        return out;
    };
    const auto lower_than = [](uint64_t serial, uint64_t held, std::string_view what) {
        return "serial " + std::to_string(serial) + " is lower than serial " + std::to_string(held) +
               " already held for this " + std::string(what) + " (a superseded record)";
    };
    const auto none = [](const auto&) { return std::string(); };
    const auto by_agency = [](const auto& r) { return r.agency; };
    const auto try_one = [&](DirRecordKind kind, const Bytes& wire) -> Outcome {
        const auto view = dir_view(now);
        switch (kind) {
            case DirRecordKind::node:
                return attempt(
                    protocol::NodeRecord::decode(wire), by_agency,
                    [&](const protocol::NodeRecord& r) {
                        auto cur = m_dir.current.find(r.agency);
                        if (cur == m_dir.current.end() || cur->second.serial <= r.serial) return std::string();
                        return lower_than(r.serial, cur->second.serial, "agency");
                    },
                    [&](const protocol::NodeRecord& r) { return protocol::verify_node_record(r, view); }, keep,
                    [&](protocol::NodeRecord r) { m_dir.nodes[r.id()] = std::move(r); });
            case DirRecordKind::issuer:
                return attempt(
                    protocol::IssuerRecord::decode(wire), by_agency, none,
                    [&](const protocol::IssuerRecord& r) { return protocol::verify_issuer_record(r, view); }, keep,
                    [&](protocol::IssuerRecord r) { m_dir.issuers.push_back(std::move(r)); });
            case DirRecordKind::revocation:
                return attempt(
                    protocol::Revocation::decode(wire), by_agency, none,
                    [&](const protocol::Revocation& r) { return protocol::verify_revocation(r, view); }, strict,
                    [&](protocol::Revocation r) { m_dir.revocations.push_back(std::move(r)); });
            case DirRecordKind::cross_trust:
                return attempt(
                    protocol::CrossTrust::decode(wire),
                    [](const protocol::CrossTrust& r) { return "federation " + r.root.name; },
                    [&](const protocol::CrossTrust& r) {
                        for (size_t i : m_dir.cross_deciding) {
                            const auto& held = m_dir.cross[i];
                            if (held.signer == r.signer && held.root.key == r.root.key && protocol::supersedes(held, r))
                                return lower_than(r.serial, held.serial, "federation");
                        }
                        return std::string();
                    },
                    [&](const protocol::CrossTrust& r) {
                        return protocol::verify_cross_trust(r, m_config.trust.roots, now);
                    },
                    keep,
                    [&](protocol::CrossTrust r) {
                        m_dir.cross.push_back(std::move(r));
                        dir_update_anchors(now);  // what it grants verifies the records after it
                    });
        }
        return Outcome{};
    };
    // Issuers and cross-trust records may arrive together with what they vouch for, in any
    // order: retry until a pass adds nothing.
    std::vector<std::pair<DirRecordKind, Bytes>> pending = std::move(records);
    std::vector<std::pair<DirRecordKind, std::string>> last_errors, final_errors;
    for (size_t pass = 0; pass < protocol::kMaxDelegationDepth + 3 && !pending.empty(); ++pass) {
        std::vector<std::pair<DirRecordKind, Bytes>> retry;
        last_errors.clear();
        size_t progress = 0;
        for (auto& [kind, wire] : pending) {
            const Outcome o = try_one(kind, wire);
            if (o.known) {
                ++known;
                continue;
            }
            if (!o.kept) {
                auto error = o.agency.empty() ? o.error : o.agency + ": " + o.error;
                if (kind == DirRecordKind::cross_trust && never_ours(o)) {
                    // Refused once, with the reason; neighbours across a federation border
                    // offer theirs every round, and it is neither asked for nor checked again.
                    if (m_dir.foreign.size() >= kMaxForeignIds) m_dir.foreign.clear();
                    m_dir.foreign.insert(o.id);
                    final_errors.emplace_back(kind, std::move(error));
                } else if (o.final) {
                    final_errors.emplace_back(kind, std::move(error));
                } else {
                    last_errors.emplace_back(kind, std::move(error));
                    retry.emplace_back(kind, std::move(wire));
                }
                continue;
            }
            ++progress;
            ++added;
            m_dir.wires[o.id] = {static_cast<uint8_t>(kind), wire};
            if (store)
                m_batch.writes.push_back([this, id = o.id, kind, wire, from, agency = o.agency](storage::WriteTxn& t) -> Status {
                    LT_TRY(m_store->put_directory_record(t, id, static_cast<uint8_t>(kind), wire));
                    auto a = audit_event("directory_record_imported");
                    a.msg = id;
                    a.agency = agency;
                    if (from != "admin") a.peer = from;
                    a.detail = "kind=" + std::string(kind_word(kind)) + (from == "admin" ? " via=admin" : " via=gossip");
                    return audit(t, a);
                });
            m_log.info("directory_record_added", {{"from", from}, {"kind", std::string(kind_word(kind))},
                                                  {"agency", o.agency}, {"id", protocol::short_id(o.id)}});
        }
        pending = std::move(retry);
        if (progress == 0) break;
    }
    last_errors.insert(last_errors.end(), final_errors.begin(), final_errors.end());
    for (const auto& [kind, error] : last_errors) {
        ++m_counters.rejected["directory_record"];
        // A neighbour offers a record we cannot verify again every round: one line per
        // refusal per interval (an admin's import is always answered in full).
        uint64_t repeats = 0;
        if (!store || from == "admin" || m_refused_records.allow(from + " " + error, now, repeats))
            m_log.warn("directory_record_refused", {{"from", from}, {"kind", std::string(kind_word(kind))},
                                                    {"refused_since_last_line", std::to_string(repeats)}, {"error", error}});
        refused.push_back({{"kind", std::string(kind_word(kind))}, {"error", error}});
    }
    if (added > 0) dir_recompute();
    return json{{"added", added}, {"known", known}, {"refused", refused}};
}

// A link to `agency`, made from its directory record when there is none yet. Directory
// links are made when first needed (a document to send, a peer connecting), not for every
// agency in the directory: a province holds thousands of records but talks to few of them.
// Called only where m_links may change (API handling, ZAP, start-up).
std::map<std::string, PeerLink>::iterator NodeImpl::ensure_link(const std::string& agency) {
    auto it = m_links.find(agency);
    if (it != m_links.end() || agency == m_config.agency) return it;
    auto cur = m_dir.current.find(agency);
    if (cur == m_dir.current.end() || cur->second.endpoints.empty()) return m_links.end();
    const auto& rec = cur->second;
    if (!protocol::verify_node_record(rec, dir_view(m_clock->now_ms())).ok()) return m_links.end();
    storage::PeerRecord p;
    p.identity.agency = agency;
    p.identity.sign_key = rec.sign_key;
    p.identity.box_key = rec.box_key;
    p.endpoint = rec.endpoints[0];
    p.source = "directory";
    p.added_ms = m_clock->now_ms();
    if (auto st = add_link(p); !st.ok()) {
        m_log.warn("directory_link_failed", {{"peer", agency}, {"error", st.error()}});
        return m_links.end();
    }
    m_log.info("directory_peer", {{"peer", agency}, {"endpoint", p.endpoint}, {"serial", std::to_string(rec.serial)}});
    return m_links.find(agency);
}

// The agency whose current, valid directory record holds this CURVE key, if any.
std::optional<std::string> NodeImpl::dir_agency_of_box_key(ByteView key) const {
    if (key.size() != 32) return std::nullopt;
    const auto view = dir_view(m_clock->now_ms());
    for (const auto& [agency, rec] : m_dir.current)
        if (std::equal(key.begin(), key.end(), rec.box_key.begin()) && agency != m_config.agency &&
            protocol::verify_node_record(rec, view).ok())
            return agency;
    return std::nullopt;
}

// Why `agency`, which the directory knows, cannot be used now ("" when its record is usable
// or nothing is known of it): the reason its newest record fails, and when it verifies only
// under the root of a federation whose trust was withdrawn or lapsed, that.
std::string NodeImpl::dir_why_unusable(const std::string& agency) const {
    const protocol::NodeRecord* newest = nullptr;
    for (const auto& [id, r] : m_dir.nodes)
        if (r.agency == agency && (!newest || protocol::supersedes(r, *newest))) newest = &r;
    if (!newest) return "";
    const uint64_t now = m_clock->now_ms();
    const auto v = protocol::verify_node_record(*newest, dir_view(now));
    if (v.ok()) return "";
    for (size_t i : m_dir.cross_deciding) {
        const auto& c = m_dir.cross[i];
        const bool in_force = !c.withdrawn && c.valid_from_ms <= now && now < c.valid_until_ms;
        if (in_force) continue;
        auto roots = m_dir.anchors;
        roots.push_back(c.anchor());
        auto view = dir_view(now);
        view.roots = roots;
        if (!protocol::verify_node_record(*newest, view).ok()) continue;
        return "its record is signed under the root of federation '" + c.root.name + "', which is no longer trusted (" +
               (c.withdrawn ? "trust withdrawn by cross-trust serial " + std::to_string(c.serial) + " of " +
                                  utc_time(c.valid_from_ms)
                            : "the cross-trust record lapsed at " + utc_time(c.valid_until_ms)) +
               "); documents to or from it are refused until a new cross-trust record is imported";
    }
    return "its directory record does not verify: " + v.error().message;
}

// The agency of any stored node record holding this CURVE key, valid or not: to say why a
// connection is refused.
std::optional<std::string> NodeImpl::dir_agency_of_stored_key(ByteView key) const {
    if (key.size() != 32) return std::nullopt;
    for (const auto& [id, rec] : m_dir.nodes)
        if (std::equal(key.begin(), key.end(), rec.box_key.begin())) return rec.agency;
    return std::nullopt;
}

// At a safe point of the loop (no link handler is running): existing directory links follow
// the directory — re-keyed when the record changed, dropped when it is revoked, expired or
// gone; pinned links whose key a revocation names are dropped too.
void NodeImpl::dir_apply_links() {
    if (!m_dir.links_dirty) return;
    m_dir.links_dirty = false;
    const auto view = dir_view(m_clock->now_ms());
    std::vector<std::string> drop, rekey;
    for (const auto& [agency, link] : m_links) {
        if (link.record.source == "directory") {
            auto cur = m_dir.current.find(agency);
            if (cur == m_dir.current.end() || cur->second.endpoints.empty() ||
                !protocol::verify_node_record(cur->second, view).ok())
                drop.push_back(agency);
            else if (cur->second.box_key != link.record.identity.box_key ||
                     cur->second.sign_key != link.record.identity.sign_key ||
                     cur->second.endpoints[0] != link.record.endpoint)
                rekey.push_back(agency);
            continue;
        }
        for (const auto& [id, rec] : m_dir.nodes) {
            if (rec.agency != agency || rec.box_key != link.record.identity.box_key) continue;
            const auto v = protocol::verify_node_record(rec, view);
            if (!v.ok() && v.error().failure == protocol::TrustFailure::revoked) drop.push_back(agency);
        }
    }
    // Its incoming connections stay open until the listener is reopened: ZAP checked them
    // once, at the handshake.
    if (!drop.empty()) m_reopen_router = true;
    for (const auto& agency : drop) {
        remove_link(agency);
        auto why = dir_why_unusable(agency);
        m_log.warn("peer_dropped", {{"peer", agency}, {"reason", why.empty() ? "its directory record is gone or lists no endpoint" : why}});
    }
    for (const auto& agency : rekey) {
        remove_link(agency);
        ensure_link(agency);
    }
}

void NodeImpl::dir_timers(uint64_t now) {
    if (m_config.trust.roots.empty()) return;
    if (now >= m_dir.next_refresh_ms) {  // validity ends and revocations take effect with time
        m_dir.next_refresh_ms = now + 10000;
        dir_recompute();
    }
    dir_apply_links();
    // Gossip runs over the links an admin set up (config or 'peer add'): the neighbours.
    // Directory links exist to deliver, and would make every node talk to every other.
    // One reconciliation per link at a time; one that got no answer is given up after a while.
    const uint64_t give_up_ms = std::max<uint64_t>(10000, 4 * m_config.trust.gossip_ms);
    for (auto& [agency, link] : m_links) {
        if (link.record.source == "directory" || !link.connected || now < link.next_gossip_ms) continue;
        if (link.dir_sync && now < link.dir_sync->started_ms + give_up_ms) continue;
        if (!m_dir.recon_set) continue;
        link.next_gossip_ms = now + m_config.trust.gossip_ms;
        link.dir_sync = std::make_unique<DirSync>(m_dir.recon_set, m_dir.recon_options, now);
        send_frame(*link.dealer, protocol::DirReconcileFrame{link.dir_sync->recon.initiate()});
    }
}

// Records by id, in frames of at most kRecordsPerFrame (a frame stays well under the
// transport's message cap whatever the directory's size).
void NodeImpl::dir_send_records(zmq::socket_t& sock, const std::vector<Hash32>& ids, ByteView routing_id) {
    constexpr size_t kRecordsPerFrame = 256;
    auto recs = dir_records_for(ids);
    for (size_t i = 0; i < recs.size(); i += kRecordsPerFrame) {
        const auto end = std::min(recs.size(), i + kRecordsPerFrame);
        std::vector<std::pair<DirRecordKind, Bytes>> part(std::make_move_iterator(recs.begin() + static_cast<std::ptrdiff_t>(i)),
                                                          std::make_move_iterator(recs.begin() + static_cast<std::ptrdiff_t>(end)));
        send_frame(sock, protocol::DirRecordsFrame{std::move(part)}, routing_id);
    }
}

std::vector<std::pair<DirRecordKind, Bytes>> NodeImpl::dir_records_for(const std::vector<Hash32>& ids) const {
    std::vector<std::pair<DirRecordKind, Bytes>> out;
    for (const auto& id : ids)
        if (auto it = m_dir.wires.find(id); it != m_dir.wires.end())
            out.emplace_back(static_cast<DirRecordKind>(it->second.first), it->second.second);
    return out;
}

// Router side: a peer's reconciliation step (answered from our set as it is now), want list,
// or records.
void NodeImpl::dir_on_router_frame(const Bytes& rid, const std::string& peer, const protocol::Frame& f) {
    if (m_config.trust.roots.empty()) return;
    if (const auto* c = std::get_if<protocol::DirReconcileFrame>(&f)) {
        if (!m_dir.recon_set) return;
        auto answer = protocol::ReconcileResponder(*m_dir.recon_set, m_dir.recon_options).respond(c->message);
        if (!answer.ok()) {
            log_refusal("frame_rejected", peer, "directory_reconcile", "", "directory reconciliation: " + answer.error());
            return;
        }
        send_frame(*m_router, protocol::DirReconcileFrame{std::move(answer).value()}, rid);
    } else if (const auto* w = std::get_if<protocol::DirWantFrame>(&f)) {
        dir_send_records(*m_router, w->ids, rid);
    } else if (const auto* r = std::get_if<protocol::DirRecordsFrame>(&f)) {
        dir_accept(r->records, peer, true);
    }
}

// Dealer side: the next step of our reconciliation — when it settles, we send what the peer
// lacks and ask for what we lack — or records.
void NodeImpl::dir_on_dealer_frame(PeerLink& link, const protocol::Frame& f) {
    if (m_config.trust.roots.empty()) return;
    const std::string& peer = link.record.identity.agency;
    if (const auto* c = std::get_if<protocol::DirReconcileFrame>(&f)) {
        if (!link.dir_sync) return;  // given up on, or not ours
        auto& sync = *link.dir_sync;
        auto next = sync.recon.reconcile(c->message, sync.have, sync.need);
        if (!next.ok()) {
            log_refusal("frame_rejected", peer, "directory_reconcile", "", "directory reconciliation: " + next.error());
            link.dir_sync.reset();
            return;
        }
        if (*next) {
            send_frame(*link.dealer, protocol::DirReconcileFrame{std::move(**next)});
            return;
        }
        std::vector<Hash32> want;
        for (const auto& id : sync.need)
            if (!m_dir.wires.count(id) && !m_dir.foreign.count(id)) want.push_back(id);
        if (!sync.have.empty()) dir_send_records(*link.dealer, sync.have);
        if (!want.empty()) send_frame(*link.dealer, protocol::DirWantFrame{std::move(want)});
        link.dir_sync.reset();
    } else if (const auto* r = std::get_if<protocol::DirRecordsFrame>(&f)) {
        dir_accept(r->records, peer, true);
    }
}

}  // namespace lienthong::node
