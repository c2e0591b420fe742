// The federation directory: node records, issuer records and revocations verified against the
// configured roots (protocol/trust.h), kept in LMDB, spread by gossip over every link, and
// turned into peer links — so a newly enrolled agency becomes reachable everywhere with no
// config edits, and a revoked one is dropped everywhere.
//
// Gossip (frames in protocol/frame.h), on each link, from the connecting side every
// trust.gossip_ms and at connect:
//   A → B  DirDigest(digest of A's record ids, count)
//   B → A  DirHave(B's ids)                      only when the digests differ
//   A → B  DirRecords(what B lacks), DirWant(what A lacks)
//   B → A  DirRecords(what A asked for)
// Only ids travel until a difference is known; records travel once. Every record is verified
// by the receiver against its own roots before it is stored or used; one that does not verify
// is counted and dropped (it may verify later, when its issuer arrives: the sender offers it
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
    }
    return "record";
}
}  // namespace

protocol::TrustView NodeImpl::dir_view(uint64_t now) const {
    return protocol::TrustView{m_config.trust.roots, m_dir.issuers, m_dir.revocations, now, m_config.trust.max_depth};
}

void NodeImpl::dir_recompute() {
    // The record in use per agency: the highest serial that verifies now.
    std::map<std::string, std::vector<protocol::NodeRecord>> by_agency;
    for (const auto& [id, r] : m_dir.nodes) by_agency[r.agency].push_back(r);
    m_dir.current.clear();
    const auto view = dir_view(m_clock->now_ms());
    for (const auto& [agency, recs] : by_agency)
        if (auto i = protocol::select_current_record(agency, recs, view)) m_dir.current[agency] = recs[*i];
    // What gossip offers: the current node record of each agency (superseded ones stay here,
    // to verify what was signed under them, but are not spread), every issuer record and
    // every revocation. The digest is over those ids, in order.
    m_dir.gossip.clear();
    for (const auto& [agency, rec] : m_dir.current) m_dir.gossip.insert(rec.id());
    for (const auto& [id, w] : m_dir.wires)
        if (w.first != static_cast<uint8_t>(DirRecordKind::node)) m_dir.gossip.insert(id);
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, 32);
    for (const auto& id : m_dir.gossip) crypto_generichash_update(&st, id.data(), id.size());
    crypto_generichash_final(&st, m_dir.digest.data(), 32);
    m_dir.links_dirty = true;
}

Status NodeImpl::dir_load() {
    const auto entries = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->directory_records(t); });
    std::vector<std::pair<DirRecordKind, Bytes>> records;
    for (const auto& e : entries)
        if (e.kind >= 1 && e.kind <= 3) records.emplace_back(static_cast<DirRecordKind>(e.kind), e.wire);
    dir_accept(std::move(records), "storage", false);
    m_log.info("directory_loaded", {{"records", std::to_string(m_dir.wires.size())},
                                    {"agencies", std::to_string(m_dir.current.size())}});
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
    // Issuers may arrive together with what they signed, in any order: retry until a pass
    // adds nothing.
    std::vector<std::pair<DirRecordKind, Bytes>> pending = std::move(records);
    std::vector<std::pair<DirRecordKind, std::string>> last_errors, final_errors;
    // A stored record that expired or was revoked since is kept: it verifies what the agency
    // signed while it was valid. A new one arriving expired is refused; bad signatures and
    // unknown issuers always are.
    const auto keep = [&](const auto& v) {
        return v.ok() || (!store && v.error().failure == protocol::TrustFailure::expired) ||
               v.error().failure == protocol::TrustFailure::revoked;
    };
    for (size_t pass = 0; pass < protocol::kMaxDelegationDepth + 2 && !pending.empty(); ++pass) {
        std::vector<std::pair<DirRecordKind, Bytes>> retry;
        last_errors.clear();
        size_t progress = 0;
        for (auto& [kind, wire] : pending) {
            std::string agency, error;
            Hash32 id{};
            bool ok = false;
            const auto view = dir_view(now);
            if (kind == DirRecordKind::node) {
                auto r = protocol::NodeRecord::decode(wire);
                if (!r.ok()) {
                    error = r.error();
                } else {
                    id = r->id();
                    agency = r->agency;
                    if (m_dir.wires.count(id)) { ++known; continue; }
                    if (auto cur = m_dir.current.find(r->agency);
                        cur != m_dir.current.end() && cur->second.serial > r->serial) {
                        error = "serial " + std::to_string(r->serial) + " is lower than serial " +
                                std::to_string(cur->second.serial) + " already held for this agency (a superseded record)";
                        final_errors.emplace_back(kind, agency + ": " + error);
                        continue;  // not retried: it can only become lower still
                    }
                    auto v = protocol::verify_node_record(*r, view);
                    ok = keep(v);
                    if (!ok) error = v.error().message;
                    if (ok) m_dir.nodes[id] = *r;
                }
            } else if (kind == DirRecordKind::issuer) {
                auto r = protocol::IssuerRecord::decode(wire);
                if (!r.ok()) {
                    error = r.error();
                } else {
                    id = r->id();
                    agency = r->agency;
                    if (m_dir.wires.count(id)) { ++known; continue; }
                    auto v = protocol::verify_issuer_record(*r, view);
                    ok = keep(v);
                    if (!ok) error = v.error().message;
                    if (ok) m_dir.issuers.push_back(*r);
                }
            } else {
                auto r = protocol::Revocation::decode(wire);
                if (!r.ok()) {
                    error = r.error();
                } else {
                    id = r->id();
                    agency = r->agency;
                    if (m_dir.wires.count(id)) { ++known; continue; }
                    auto v = protocol::verify_revocation(*r, view);
                    ok = v.ok();
                    if (!ok) error = v.error().message;
                    if (ok) m_dir.revocations.push_back(*r);
                }
            }
            if (!ok) {
                last_errors.emplace_back(kind, agency.empty() ? error : agency + ": " + error);
                retry.emplace_back(kind, std::move(wire));
                continue;
            }
            ++progress;
            ++added;
            m_dir.wires[id] = {static_cast<uint8_t>(kind), wire};
            if (store)
                m_batch.writes.push_back([this, id, kind, wire](storage::WriteTxn& t) {
                    return m_store->put_directory_record(t, id, static_cast<uint8_t>(kind), wire);
                });
            m_log.info("directory_record_added", {{"from", from}, {"kind", std::string(kind_word(kind))}, {"agency", agency},
                                                  {"id", protocol::short_id(id)}});
        }
        pending = std::move(retry);
        if (progress == 0) break;
    }
    last_errors.insert(last_errors.end(), final_errors.begin(), final_errors.end());
    for (const auto& [kind, error] : last_errors) {
        ++m_counters.rejected["directory_record"];
        m_log.warn("directory_record_refused", {{"from", from}, {"kind", std::string(kind_word(kind))}, {"error", error}});
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
        m_log.warn("peer_dropped", {{"peer", agency}, {"reason", "its directory record is revoked, expired or gone"}});
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
    for (auto& [agency, link] : m_links) {
        if (link.record.source == "directory" || !link.connected || now < link.next_gossip_ms) continue;
        link.next_gossip_ms = now + m_config.trust.gossip_ms;
        send_frame(*link.dealer, protocol::DirDigestFrame{m_dir.digest, m_dir.gossip.size()});
    }
}

std::vector<std::pair<DirRecordKind, Bytes>> NodeImpl::dir_records_for(const std::vector<Hash32>& ids) const {
    std::vector<std::pair<DirRecordKind, Bytes>> out;
    for (const auto& id : ids)
        if (auto it = m_dir.wires.find(id); it != m_dir.wires.end())
            out.emplace_back(static_cast<DirRecordKind>(it->second.first), it->second.second);
    return out;
}

// Router side: a peer's digest, want list or records.
void NodeImpl::dir_on_router_frame(const Bytes& rid, const std::string& peer, const protocol::Frame& f) {
    if (m_config.trust.roots.empty()) return;
    if (const auto* d = std::get_if<protocol::DirDigestFrame>(&f)) {
        if (d->digest == m_dir.digest) return;
        send_frame(*m_router, protocol::DirHaveFrame{std::vector<Hash32>(m_dir.gossip.begin(), m_dir.gossip.end())}, rid);
    } else if (const auto* w = std::get_if<protocol::DirWantFrame>(&f)) {
        auto recs = dir_records_for(w->ids);
        if (!recs.empty()) send_frame(*m_router, protocol::DirRecordsFrame{std::move(recs)}, rid);
    } else if (const auto* r = std::get_if<protocol::DirRecordsFrame>(&f)) {
        dir_accept(r->records, peer, true);
    }
}

// Dealer side: the peer's ids (we send what it lacks, ask for what we lack) or records.
void NodeImpl::dir_on_dealer_frame(PeerLink& link, const protocol::Frame& f) {
    if (m_config.trust.roots.empty()) return;
    if (const auto* h = std::get_if<protocol::DirHaveFrame>(&f)) {
        std::set<Hash32, HashLess> theirs(h->ids.begin(), h->ids.end());
        std::vector<Hash32> they_lack, we_lack;
        for (const auto& id : m_dir.gossip)
            if (!theirs.count(id)) they_lack.push_back(id);
        for (const auto& id : theirs)
            if (!m_dir.wires.count(id)) we_lack.push_back(id);
        if (!they_lack.empty()) send_frame(*link.dealer, protocol::DirRecordsFrame{dir_records_for(they_lack)});
        if (!we_lack.empty()) send_frame(*link.dealer, protocol::DirWantFrame{std::move(we_lack)});
    } else if (const auto* r = std::get_if<protocol::DirRecordsFrame>(&f)) {
        dir_accept(r->records, link.record.identity.agency, true);
    }
}

// --- local API -------------------------------------------------------------------------------

void NodeImpl::api_directory_import(const Bytes& rid, const json& req) {
    auto data = bytes_field(req, "data");
    if (!data.ok()) return api_reply(rid, fail(data.error()));
    auto blocks = protocol::dearmor_all(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()));
    if (!blocks.ok()) return api_reply(rid, fail(blocks.error()));
    std::vector<std::pair<DirRecordKind, Bytes>> records;
    for (auto& b : *blocks) {
        if (b.label == protocol::NodeRecord::kLabel)
            records.emplace_back(DirRecordKind::node, std::move(b.data));
        else if (b.label == protocol::IssuerRecord::kLabel)
            records.emplace_back(DirRecordKind::issuer, std::move(b.data));
        else if (b.label == protocol::Revocation::kLabel)
            records.emplace_back(DirRecordKind::revocation, std::move(b.data));
        else
            return api_reply(rid, fail("'" + b.label + "' is not a directory record (node record, issuer record or "
                                       "revocation); nothing was imported"));
    }
    if (records.empty()) return api_reply(rid, fail("no records in the data; nothing was imported"));
    auto result = std::make_shared<json>(dir_accept(std::move(records), "admin", true));
    m_batch.after.push_back([this, rid, result](bool ok, const std::string& error) {
        if (!ok) return api_reply(rid, fail("could not store the records: " + error));
        json out = *result;
        const auto& refused = out["refused"];
        // Nothing usable in it: a failure, with the first reason, so a client checking `ok` sees it.
        if (out["added"] == 0 && out["known"] == 0 && !refused.empty()) {
            std::string e = "no record imported: " + refused[0]["kind"].get<std::string>() + ": " +
                            refused[0]["error"].get<std::string>();
            if (refused.size() > 1) e += " (and " + std::to_string(refused.size() - 1) + " more refused)";
            out["ok"] = false;
            out["error"] = e;
            return api_reply(rid, out);
        }
        out["ok"] = true;
        api_reply(rid, out);
    });
}

json NodeImpl::api_directory_list(const json& req) {
    auto agency = string_field(req, "agency", false);
    if (!agency.ok()) return fail(agency.error());
    const uint64_t now = m_clock->now_ms();
    const auto view = dir_view(now);
    json nodes = json::array();
    for (const auto& [id, r] : m_dir.nodes) {
        if (!agency->empty() && r.agency != *agency) continue;
        const auto v = protocol::verify_node_record(r, view);
        const auto cur = m_dir.current.find(r.agency);
        const bool in_use = cur != m_dir.current.end() && cur->second.id() == id;
        json chain = json::array();
        if (v.ok())
            for (const auto& i : v->issuers) chain.push_back(i.agency + " (" + protocol::short_key_id(protocol::key_id(i.key)) + ")");
        nodes.push_back({{"agency", r.agency},
                         {"name", r.name},
                         {"serial", r.serial},
                         {"id", protocol::to_hex(id)},
                         {"endpoints", r.endpoints},
                         {"parent", r.parent},
                         {"valid_from_ms", r.valid_from_ms},
                         {"valid_until_ms", r.valid_until_ms},
                         {"state", v.ok() ? (in_use ? "current" : "superseded") : std::string(protocol::failure_name(v.error().failure))},
                         {"error", v.ok() ? "" : v.error().message},
                         {"root", v.ok() ? v->anchor.root.name : ""},
                         {"chain", chain},
                         {"linked", m_links.count(r.agency) > 0}});
    }
    json issuers = json::array();
    for (const auto& i : m_dir.issuers) {
        if (!agency->empty() && i.agency != *agency) continue;
        const auto v = protocol::verify_issuer_record(i, view);
        issuers.push_back({{"agency", i.agency}, {"name", i.name}, {"prefix", i.prefix}, {"serial", i.serial},
                           {"max_depth", i.max_depth}, {"valid_until_ms", i.valid_until_ms},
                           {"state", v.ok() ? "valid" : std::string(protocol::failure_name(v.error().failure))}});
    }
    json revs = json::array();
    for (const auto& r : m_dir.revocations) {
        if (!agency->empty() && r.agency != *agency) continue;
        revs.push_back({{"agency", r.agency}, {"serial", r.serial}, {"revoked_at_ms", r.revoked_at_ms}, {"reason", r.reason}});
    }
    return json{{"ok", true}, {"digest", protocol::to_hex(m_dir.digest)}, {"records", m_dir.wires.size()},
                {"offered", m_dir.gossip.size()},
                {"nodes", nodes}, {"issuers", issuers}, {"revocations", revs}};
}

}  // namespace lienthong::node
