// Reload (SIGHUP, `systemctl reload lienthong`, `lienthong-admin reload`): the config file is
// read again and what can change while the node runs is applied at once:
//   log_level, confidential_to, retry (new backoffs; a link's socket keeps its reconnect
//   interval until it is made again), and the peers under `peers:` (a new one is added, one
//   whose identity or endpoint changed is linked again). A peer taken out of the file stays
//   until `lienthong-admin peer remove`, as it does across a restart.
// Every other key that differs is named in the log and the answer as needing a restart. A
// file that does not load is refused whole: the node keeps running with what it has.
#include "node/node_impl.h"

namespace lienthong::node {

using nlohmann::json;

namespace {
std::string anchors_text(const std::vector<protocol::TrustAnchor>& roots) {
    std::string out;
    for (const auto& r : roots) out += r.to_line() + "\n";
    return out;
}

std::string routes_text(const RelayConfig& r) {
    std::string out;
    for (const auto& route : r.routes) out += route.to + ">" + route.via + "\n";
    return out;
}

bool same_limits(const LimitsConfig& a, const LimitsConfig& b) {
    return a.max_envelope_bytes == b.max_envelope_bytes && a.window_documents == b.window_documents &&
           a.window_bytes == b.window_bytes && a.batch_documents == b.batch_documents &&
           a.chunk_threshold_bytes == b.chunk_threshold_bytes && a.transfers_per_peer == b.transfers_per_peer &&
           a.transfer_bytes_per_peer == b.transfer_bytes_per_peer && a.transfer_idle_ms == b.transfer_idle_ms;
}

bool same_relay(const RelayConfig& a, const RelayConfig& b) {
    return routes_text(a) == routes_text(b) && a.default_via == b.default_via && a.fallback_ms == b.fallback_ms &&
           a.max_hops == b.max_hops && a.custody_per_peer == b.custody_per_peer &&
           a.custody_bytes_per_peer == b.custody_bytes_per_peer && a.custody_expiry_ms == b.custody_expiry_ms;
}
}  // namespace

std::vector<std::string> restart_needed(const NodeConfig& running, const NodeConfig& file) {
    std::vector<std::string> keys;
    const auto check = [&](bool same, const char* key) {
        if (!same) keys.emplace_back(key);
    };
    check(running.agency == file.agency, "agency");
    check(running.name == file.name, "name");
    check(running.data_dir == file.data_dir, "data_dir");
    check(running.key_file == file.key_file, "key_file");
    check(running.listen == file.listen, "listen");
    check(running.heartbeat_ms == file.heartbeat_ms && running.heartbeat_timeout_ms == file.heartbeat_timeout_ms,
          "heartbeat_ms");
    check(same_limits(running.limits, file.limits), "limits");
    check(anchors_text(running.trust.roots) == anchors_text(file.trust.roots) &&
              running.trust.max_depth == file.trust.max_depth && running.trust.gossip_ms == file.trust.gossip_ms,
          "trust");
    check(same_relay(running.relay, file.relay), "relay");
    check(running.drop_dir == file.drop_dir, "drop_dir");
    check(running.http_listen == file.http_listen, "http.listen");
    check(running.vdxp.listen == file.vdxp.listen && running.vdxp.threads == file.vdxp.threads &&
              running.vdxp.idle_timeout_s == file.vdxp.idle_timeout_s &&
              running.vdxp.read_timeout_s == file.vdxp.read_timeout_s &&
              running.vdxp.max_body_bytes == file.vdxp.max_body_bytes,
          "vdxp.listen");
    check(running.edxml.trusted_ca_dir == file.edxml.trusted_ca_dir &&
              running.edxml.refuse_invalid_signature == file.edxml.refuse_invalid_signature,
          "edxml");
    check(running.audit.enabled == file.audit.enabled && running.audit.head_interval_ms == file.audit.head_interval_ms,
          "audit");
    return keys;
}

json NodeImpl::reload_config(const std::string& cause, const std::string& user) {
    m_service.reloading();
    auto loaded = load_config(m_config.config_path);
    if (!loaded.ok()) {
        m_log.error("reload_refused", {{"cause", cause}, {"error", loaded.error()},
                                       {"note", "the node keeps running with the config it has"}});
        m_service.reloaded("running; the last reload was refused: " + loaded.error());
        return json{{"ok", false}, {"error", loaded.error()}};
    }
    NodeConfig file = std::move(loaded).value();
    const auto needs_restart = restart_needed(m_config, file);
    std::vector<std::string> applied;
    // The hub API's systems and their secrets, re-read (a rotated secret file takes effect);
    // a system whose secret cannot be read fails the reload, and nothing is applied.
    if (auto st = vdxp_load_systems(file); !st.ok()) {
        m_log.error("reload_refused", {{"cause", cause}, {"error", st.error()},
                                       {"note", "the node keeps running with the config it has"}});
        m_service.reloaded("running; the last reload was refused: " + st.error());
        return json{{"ok", false}, {"error", st.error() + "; nothing was applied"}};
    }
    const auto same_system = [](const VdxpSystemConfig& x, const VdxpSystemConfig& y) {
        return x.systemid == y.systemid && x.secret_file == y.secret_file && x.agency == y.agency;
    };
    if (!std::equal(file.vdxp.systems.begin(), file.vdxp.systems.end(), m_config.vdxp.systems.begin(),
                    m_config.vdxp.systems.end(), same_system)) {
        m_config.vdxp.systems = file.vdxp.systems;
        applied.emplace_back("vdxp.systems");
    }
    // The new level takes effect after this reload's own line, which is written at the old one.
    const bool level_changed = file.log_level != m_config.log_level;
    if (level_changed) {
        m_config.log_level = file.log_level;
        applied.emplace_back("log_level");
    }
    if (file.confidential_to != m_config.confidential_to) {
        m_config.confidential_to = file.confidential_to;
        applied.emplace_back("confidential_to");
    }
    if (file.retry.initial_ms != m_config.retry.initial_ms || file.retry.max_ms != m_config.retry.max_ms) {
        m_config.retry = file.retry;
        applied.emplace_back("retry");
    }
    // Peers: stored (as at start) and linked once stored, each new or changed one.
    std::vector<storage::PeerRecord> changed;
    for (const auto& p : file.peers) {
        const auto it = m_links.find(p.identity.agency);
        if (it != m_links.end() && it->second.record.identity == p.identity && it->second.record.endpoint == p.endpoint)
            continue;
        if (p.identity.agency == m_config.agency) continue;  // load_config refuses this already
        changed.push_back({p.identity, p.endpoint, "config", m_clock->now_ms()});
    }
    if (!changed.empty()) {
        applied.emplace_back("peers");
        m_batch.writes.push_back([this, changed, user](storage::WriteTxn& t) -> Status {
            for (const auto& rec : changed) {
                LT_TRY(m_store->put_peer(t, rec));
                auto a = audit_event("peer_added");
                a.agency = rec.identity.agency;
                a.user = user;
                a.detail = "source=config reload endpoint=" + rec.endpoint;
                LT_TRY(audit(t, a));
            }
            return ok_status();
        });
        m_batch.after.push_back([this, changed](bool ok, const std::string& error) {
            if (!ok) return m_log.error("reload_peers_failed", {{"error", error}});
            for (const auto& rec : changed)
                if (auto st = add_link(rec); !st.ok()) m_log.error("reload_peer_failed", {{"peer", rec.identity.agency}, {"error", st.error()}});
        });
    }
    m_config.peers = file.peers;
    const auto join = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
        return out.empty() ? std::string("none") : out;
    };
    m_log.info("config_reloaded", {{"cause", cause}, {"applied", join(applied)}, {"peers_changed", std::to_string(changed.size())},
                                   {"restart_needed", join(needs_restart)}});
    if (level_changed) m_log.set_level(m_config.log_level);
    auto a = audit_event("config_reloaded");
    a.user = user;
    a.detail = "cause=" + cause + " applied=" + join(applied) + " restart_needed=" + join(needs_restart);
    audit_later(std::move(a));
    m_service.reloaded(needs_restart.empty() ? "running" : "running; a restart is needed for: " + join(needs_restart));
    return json{{"ok", true}, {"applied", applied}, {"peers_changed", changed.size()}, {"restart_needed", needs_restart}};
}

}  // namespace lienthong::node
