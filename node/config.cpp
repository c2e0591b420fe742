#include "node/config.h"

#include <arpa/inet.h>

#include "protocol/frame.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace lienthong::node {

namespace {

std::string resolve(const std::string& base_dir, const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

Status check_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& allowed) {
    for (const auto& kv : map) {
        const auto key = kv.first.as<std::string>();
        if (!allowed.count(key)) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            return make_error("config: unknown key '" + where + key + "' (allowed here: " + list + ")");
        }
    }
    return ok_status();
}

Result<std::string> get_string(const YAML::Node& map, const std::string& key, const std::string& where,
                               bool required) {
    const auto n = map[key];
    if (!n || n.IsNull()) {
        if (required) return make_error("config: key '" + where + key + "' is required");
        return std::string();
    }
    if (!n.IsScalar()) return make_error("config: key '" + where + key + "' must be a single value");
    return n.as<std::string>();
}

Status get_uint(const YAML::Node& map, const std::string& key, const std::string& where, uint64_t lo,
                uint64_t hi, uint64_t& out) {
    const auto n = map[key];
    if (!n) return ok_status();
    const std::string text = n.IsScalar() ? n.as<std::string>() : "";
    uint64_t v = 0;
    size_t used = 0;
    try {
        if (text.empty() || text[0] == '-') throw std::invalid_argument("negative");
        v = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || v < lo || v > hi)
        return make_error("config: key '" + where + key + "' must be a whole number from " +
                          std::to_string(lo) + " to " + std::to_string(hi) + ", not '" + text + "'");
    out = v;
    return ok_status();
}

// vdxp: the national hub's API for document systems (node/vdxp_http.h).
Status parse_vdxp(const YAML::Node& vdxp, const std::string& base, NodeConfig& c) {
    if (!vdxp.IsMap()) return make_error("config: key 'vdxp' must be a mapping");
    LT_TRY(check_keys(vdxp, "vdxp.", {"listen", "systems", "max_body_bytes", "threads", "idle_timeout_s", "read_timeout_s"}));
    LT_ASSIGN(c.vdxp.listen, get_string(vdxp, "listen", "vdxp.", false));
    if (!c.vdxp.listen.empty()) {
        if (c.vdxp.listen.find(':') == std::string::npos) c.vdxp.listen = "127.0.0.1:" + c.vdxp.listen;
        std::string host;
        uint16_t port = 0;
        LT_TRY(parse_http_listen(c.vdxp.listen, host, port, "vdxp.listen"));
    }
    LT_TRY(get_uint(vdxp, "max_body_bytes", "vdxp.", 4096, 1ull << 30, c.vdxp.max_body_bytes));
    LT_TRY(get_uint(vdxp, "threads", "vdxp.", 2, 1024, c.vdxp.threads));
    LT_TRY(get_uint(vdxp, "idle_timeout_s", "vdxp.", 1, 300, c.vdxp.idle_timeout_s));
    LT_TRY(get_uint(vdxp, "read_timeout_s", "vdxp.", 1, 300, c.vdxp.read_timeout_s));
    if (const auto systems = vdxp["systems"]) {
        if (!systems.IsSequence()) return make_error("config: key 'vdxp.systems' must be a list of systems");
        for (size_t i = 0; i < systems.size(); ++i) {
            const auto& s = systems[i];
            const std::string where = "vdxp.systems[" + std::to_string(i) + "].";
            if (!s.IsMap()) return make_error("config: '" + where.substr(0, where.size() - 1) + "' must be a mapping");
            LT_TRY(check_keys(s, where, {"systemid", "secret_file", "agency"}));
            VdxpSystemConfig sc;
            LT_ASSIGN(sc.systemid, get_string(s, "systemid", where, true));
            LT_ASSIGN(auto file, get_string(s, "secret_file", where, true));
            sc.secret_file = resolve(base, file);
            LT_ASSIGN(sc.agency, get_string(s, "agency", where, false));
            if (sc.agency.empty()) sc.agency = c.agency;
            LT_TRY(check_vdxp_systemid(sc.systemid, "config: key '" + where + "systemid'"));
            if (sc.agency != c.agency)
                return make_error("config: key '" + where + "agency' is '" + sc.agency + "', but this node serves '" +
                                  c.agency + "': a system may act only for the node's own agency");
            for (const auto& other : c.vdxp.systems)
                if (other.systemid == sc.systemid)
                    return make_error("config: key '" + where + "systemid' repeats '" + sc.systemid + "'");
            c.vdxp.systems.push_back(std::move(sc));
        }
    }
    return ok_status();
}

Result<NodeConfig> parse_node(const YAML::Node& root, const std::string& path) {
    if (!root.IsMap()) return make_error("config: '" + path + "' must be a YAML mapping of keys");
    LT_TRY(check_keys(root, "", {"agency", "name", "data_dir", "key_file", "listen", "peers", "retry",
                                 "limits", "heartbeat_ms", "heartbeat_timeout_ms", "log_level",
                                 "confidential_to", "drop_dir", "trust", "relay", "http", "edxml", "audit", "vdxp"}));
    NodeConfig c;
    c.config_path = path;
    std::error_code ec;
    const std::string base = std::filesystem::absolute(path, ec).parent_path().string();
    LT_ASSIGN(c.agency, get_string(root, "agency", "", true));
    LT_TRY(protocol::check_agency(c.agency, "config: key 'agency'"));
    LT_ASSIGN(c.name, get_string(root, "name", "", false));
    LT_ASSIGN(auto data_dir, get_string(root, "data_dir", "", true));
    c.data_dir = resolve(base.empty() ? "." : base, data_dir);
    if (c.api_socket_path().size() > 100)
        return make_error("config: key 'data_dir' path is too long for the local API socket (" +
                          std::to_string(c.api_socket_path().size()) + " > 100 characters); use a shorter path");
    LT_ASSIGN(auto key_file, get_string(root, "key_file", "", true));
    c.key_file = resolve(base.empty() ? "." : base, key_file);
    LT_ASSIGN(c.listen, get_string(root, "listen", "", true));
    LT_TRY(check_endpoint(c.listen, true, "listen"));
    LT_TRY(get_uint(root, "heartbeat_ms", "", 50, 600000, c.heartbeat_ms));
    LT_TRY(get_uint(root, "heartbeat_timeout_ms", "", 100, 3600000, c.heartbeat_timeout_ms));
    if (c.heartbeat_timeout_ms < 2 * c.heartbeat_ms)
        return make_error("config: key 'heartbeat_timeout_ms' must be at least twice 'heartbeat_ms'");
    LT_ASSIGN(auto level, get_string(root, "log_level", "", false));
    if (!level.empty() && !parse_log_level(level, c.log_level))
        return make_error("config: key 'log_level' must be one of debug, info, warn, error, not '" + level + "'");

    if (const auto conf = root["confidential_to"]) {
        if (!conf.IsSequence() && !conf.IsNull())
            return make_error("config: key 'confidential_to' must be a list of agency codes");
        for (const auto& a : conf) {
            if (!a.IsScalar()) return make_error("config: key 'confidential_to' must be a list of agency codes");
            const std::string agency = a.as<std::string>();
            LT_TRY(protocol::check_agency(agency, "config: key 'confidential_to'"));
            c.confidential_to.insert(agency);
        }
    }
    LT_ASSIGN(auto drop_dir, get_string(root, "drop_dir", "", false));
    if (!drop_dir.empty()) c.drop_dir = resolve(base.empty() ? "." : base, drop_dir);

    if (const auto edxml = root["edxml"]) {
        if (!edxml.IsMap()) return make_error("config: key 'edxml' must be a mapping");
        LT_TRY(check_keys(edxml, "edxml.", {"trusted_ca_dir", "refuse_invalid_signature"}));
        LT_ASSIGN(auto ca_dir, get_string(edxml, "trusted_ca_dir", "edxml.", false));
        if (!ca_dir.empty()) {
            c.edxml.trusted_ca_dir = resolve(base.empty() ? "." : base, ca_dir);
            if (!std::filesystem::is_directory(c.edxml.trusted_ca_dir, ec))
                return make_error("config: key 'edxml.trusted_ca_dir': '" + c.edxml.trusted_ca_dir +
                                  "' is not a folder (it holds the trusted CA certificates as .pem files)");
        }
        if (const auto refuse = edxml["refuse_invalid_signature"]) {
            bool v = false;
            if (!refuse.IsScalar() || !YAML::convert<bool>::decode(refuse, v))
                return make_error("config: key 'edxml.refuse_invalid_signature' must be true or false");
            c.edxml.refuse_invalid_signature = v;
        }
    }

    if (const auto trust = root["trust"]) {
        if (!trust.IsMap()) return make_error("config: key 'trust' must be a mapping");
        LT_TRY(check_keys(trust, "trust.", {"roots", "max_depth", "gossip_ms"}));
        if (const auto roots = trust["roots"]) {
            if (!roots.IsSequence()) return make_error("config: key 'trust.roots' must be a list of root lines");
            size_t i = 0;
            for (const auto& r : roots) {
                const std::string where = "trust.roots[" + std::to_string(i++) + "]";
                if (!r.IsScalar()) return make_error("config: key '" + where + "' must be a 'lienthong-root v1 …' line");
                auto anchor = protocol::TrustAnchor::from_line(r.as<std::string>());
                if (!anchor.ok()) return make_error("config: key '" + where + "': " + anchor.error());
                c.trust.roots.push_back(std::move(anchor).value());
            }
        }
        LT_TRY(get_uint(trust, "max_depth", "trust.", 0, protocol::kMaxDelegationDepth, c.trust.max_depth));
        LT_TRY(get_uint(trust, "gossip_ms", "trust.", 100, 3600000, c.trust.gossip_ms));
    }

    if (const auto http = root["http"]) {
        if (!http.IsMap()) return make_error("config: key 'http' must be a mapping");
        LT_TRY(check_keys(http, "http.", {"listen"}));
        LT_ASSIGN(c.http_listen, get_string(http, "listen", "http.", false));
        if (!c.http_listen.empty()) {
            std::string host;
            uint16_t port = 0;
            LT_TRY(parse_http_listen(c.http_listen, host, port));
        }
    }

    if (const auto vdxp = root["vdxp"]) LT_TRY(parse_vdxp(vdxp, base.empty() ? "." : base, c));

    if (const auto relay = root["relay"]) {
        if (!relay.IsMap()) return make_error("config: key 'relay' must be a mapping");
        LT_TRY(check_keys(relay, "relay.", {"routes", "default_via", "fallback_ms", "max_hops", "custody_per_peer",
                                            "custody_bytes_per_peer", "custody_expiry_ms"}));
        LT_TRY(get_uint(relay, "custody_per_peer", "relay.", 1, 100000000, c.relay.custody_per_peer));
        LT_TRY(get_uint(relay, "custody_bytes_per_peer", "relay.", 65536, 1ull << 50, c.relay.custody_bytes_per_peer));
        LT_TRY(get_uint(relay, "custody_expiry_ms", "relay.", 60000, 3650ull * 86400000, c.relay.custody_expiry_ms));
        LT_ASSIGN(c.relay.default_via, get_string(relay, "default_via", "relay.", false));
        if (!c.relay.default_via.empty()) {
            LT_TRY(protocol::check_agency(c.relay.default_via, "config: key 'relay.default_via'"));
            if (c.relay.default_via == c.agency) return make_error("config: key 'relay.default_via' is this node itself");
        }
        LT_TRY(get_uint(relay, "fallback_ms", "relay.", 0, 86400000, c.relay.fallback_ms));
        LT_TRY(get_uint(relay, "max_hops", "relay.", 1, protocol::kMaxRelayHops, c.relay.max_hops));
        if (const auto routes = relay["routes"]) {
            if (!routes.IsSequence()) return make_error("config: key 'relay.routes' must be a list of {to, via}");
            std::set<std::string> seen;
            size_t i = 0;
            for (const auto& r : routes) {
                const std::string where = "relay.routes[" + std::to_string(i++) + "].";
                if (!r.IsMap()) return make_error("config: '" + where + "' must be a mapping with 'to' and 'via'");
                LT_TRY(check_keys(r, where, {"to", "via"}));
                RouteConfig rc;
                LT_ASSIGN(rc.to, get_string(r, "to", where, true));
                LT_TRY(protocol::check_prefix(rc.to, "config: key '" + where + "to'"));
                if (rc.to.empty()) return make_error("config: key '" + where + "to' is empty (use relay.default_via)");
                LT_ASSIGN(rc.via, get_string(r, "via", where, true));
                LT_TRY(protocol::check_agency(rc.via, "config: key '" + where + "via'"));
                if (rc.via == c.agency) return make_error("config: key '" + where + "via' is this node itself");
                if (!seen.insert(rc.to).second)
                    return make_error("config: key '" + where + "to': a route for '" + rc.to + "' is given twice");
                c.relay.routes.push_back(std::move(rc));
            }
        }
    }
    if (const auto audit = root["audit"]) {
        if (!audit.IsMap()) return make_error("config: key 'audit' must be a mapping");
        LT_TRY(check_keys(audit, "audit.", {"enabled", "head_interval_ms"}));
        if (const auto en = audit["enabled"]) {
            if (!en.IsScalar() || (en.Scalar() != "true" && en.Scalar() != "false"))
                return make_error("config: key 'audit.enabled' must be true or false");
            c.audit.enabled = en.Scalar() == "true";
        }
        LT_TRY(get_uint(audit, "head_interval_ms", "audit.", 0, 7ull * 86400000, c.audit.head_interval_ms));
        if (c.audit.head_interval_ms != 0 && c.audit.head_interval_ms < 1000)
            return make_error("config: key 'audit.head_interval_ms' must be 0 (only on demand) or at least 1000");
    }
    if (const auto retry = root["retry"]) {
        if (!retry.IsMap()) return make_error("config: key 'retry' must be a mapping");
        LT_TRY(check_keys(retry, "retry.", {"initial_ms", "max_ms"}));
        LT_TRY(get_uint(retry, "initial_ms", "retry.", 10, 3600000, c.retry.initial_ms));
        LT_TRY(get_uint(retry, "max_ms", "retry.", 10, 86400000, c.retry.max_ms));
        if (c.retry.max_ms < c.retry.initial_ms)
            return make_error("config: key 'retry.max_ms' must not be below 'retry.initial_ms'");
    }
    if (const auto lim = root["limits"]) {
        if (!lim.IsMap()) return make_error("config: key 'limits' must be a mapping");
        LT_TRY(check_keys(lim, "limits.", {"max_envelope_bytes", "window_documents", "window_bytes",
                                          "batch_documents", "chunk_threshold_bytes", "transfers_per_peer",
                                          "transfer_bytes_per_peer", "transfer_idle_ms"}));
        LT_TRY(get_uint(lim, "transfers_per_peer", "limits.", 1, 100000, c.limits.transfers_per_peer));
        LT_TRY(get_uint(lim, "transfer_bytes_per_peer", "limits.", 65536, 1ull << 40, c.limits.transfer_bytes_per_peer));
        LT_TRY(get_uint(lim, "transfer_idle_ms", "limits.", 1000, 30ull * 86400000, c.limits.transfer_idle_ms));
        LT_TRY(get_uint(lim, "chunk_threshold_bytes", "limits.", 65536, 1ull << 30, c.limits.chunk_threshold_bytes));
        LT_TRY(get_uint(lim, "max_envelope_bytes", "limits.", 4096, 1ull << 30, c.limits.max_envelope_bytes));
        LT_TRY(get_uint(lim, "window_documents", "limits.", 1, 100000, c.limits.window_documents));
        LT_TRY(get_uint(lim, "window_bytes", "limits.", 4096, 1ull << 32, c.limits.window_bytes));
        LT_TRY(get_uint(lim, "batch_documents", "limits.", 1, 100000, c.limits.batch_documents));
    }
    if (const auto peers = root["peers"]) {
        if (!peers.IsSequence() && !peers.IsNull())
            return make_error("config: key 'peers' must be a list");
        std::set<std::string> seen_agency, seen_key;
        size_t i = 0;
        for (const auto& p : peers) {
            const std::string where = "peers[" + std::to_string(i++) + "].";
            if (!p.IsMap()) return make_error("config: '" + where + "' must be a mapping");
            LT_TRY(check_keys(p, where, {"agency", "endpoint", "identity"}));
            PeerConfig pc;
            LT_ASSIGN(auto agency, get_string(p, "agency", where, true));
            LT_ASSIGN(pc.endpoint, get_string(p, "endpoint", where, true));
            LT_TRY(check_endpoint(pc.endpoint, false, where + "endpoint"));
            LT_ASSIGN(auto line, get_string(p, "identity", where, true));
            auto id = protocol::PublicIdentity::from_line(line);
            if (!id.ok()) return make_error("config: key '" + where + "identity': " + id.error());
            pc.identity = std::move(id).value();
            if (pc.identity.agency != agency)
                return make_error("config: key '" + where + "identity' is for agency '" +
                                  pc.identity.agency + "', not '" + agency + "'");
            if (agency == c.agency) return make_error("config: key '" + where + "agency' is this node itself");
            if (!seen_agency.insert(agency).second)
                return make_error("config: duplicate peer '" + agency + "' in 'peers'");
            if (!seen_key.insert(protocol::to_base64(pc.identity.box_key)).second)
                return make_error("config: peer '" + agency + "' reuses another peer's key");
            c.peers.push_back(std::move(pc));
        }
    }
    return c;
}

}  // namespace

std::string RelayConfig::via_for(const std::string& agency) const {
    const RouteConfig* best = nullptr;
    for (const auto& r : routes)
        if (protocol::prefix_covers(r.to, agency) && (!best || r.to.size() > best->to.size())) best = &r;
    return best ? best->via : default_via;
}

Status parse_http_listen(const std::string& text, std::string& host, uint16_t& port, const std::string& key) {
    const auto bad = [&](const std::string& why) {
        return make_error("config: key '" + key + "' '" + text + "' " + why +
                          " (expected HOST:PORT with an IP address, e.g. 127.0.0.1:9464 or [::1]:9464)");
    };
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return bad("has no host:port");
    std::string h = text.substr(0, colon);
    const std::string p = text.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return bad("has an invalid port");
    const unsigned long n = std::stoul(p);
    if (n == 0 || n > 65535) return bad("has a port outside 1-65535");
    unsigned char buf[16];
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
        h = h.substr(1, h.size() - 2);
        if (inet_pton(AF_INET6, h.c_str(), buf) != 1) return bad("has an invalid IPv6 address");
    } else if (inet_pton(AF_INET, h.c_str(), buf) != 1) {
        return bad("has a host that is not an IP address");
    }
    host = h;
    port = static_cast<uint16_t>(n);
    return ok_status();
}

Status check_vdxp_systemid(const std::string& systemid, const std::string& what) {
    if (systemid.empty() || systemid.size() > 64 ||
        systemid.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos)
        return make_error(what + " '" + systemid.substr(0, 80) +
                          "' is not a system id (1 to 64 letters, digits, '.', '_' or '-', as in the SDK's systemid)");
    return ok_status();
}

Status check_endpoint(const std::string& endpoint, bool listening, const std::string& key) {
    const auto bad = [&](const std::string& why) {
        return make_error("config: key '" + key + "' endpoint '" + endpoint + "' " + why +
                          " (expected tcp://HOST:PORT" + (listening ? " or tcp://*:PORT" : "") + ")");
    };
    if (endpoint.rfind("tcp://", 0) != 0) return bad("is not a tcp:// endpoint");
    const std::string rest = endpoint.substr(6);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0) return bad("has no host:port");
    const std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
    if (host == "*" && !listening) return bad("uses '*', which only a listen address may");
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
        return bad("has an invalid port");
    const unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) return bad("has a port outside 1-65535");
    for (char ch : host)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '*' ||
              ch == '[' || ch == ']' || ch == ':'))
            return bad("has an invalid host");
    return ok_status();
}

Result<NodeConfig> parse_config(const std::string& yaml_text, const std::string& path) {
    // Errors quote keys and values from the file; a quoted line break must not split the
    // one-line error (or forge a second log line), so control characters are escaped.
    const auto one_line = [](const std::string& text) {
        std::string out;
        for (char ch : text) {
            if (ch == '\n') out += "\\n";
            else if (ch == '\r') out += "\\r";
            else if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) out += '?';
            else out += ch;
        }
        return make_error(out);
    };
    try {
        auto c = parse_node(YAML::Load(yaml_text), path);
        if (!c.ok()) return one_line(c.error());
        return c;
    } catch (const YAML::Exception& e) {
        return one_line("config: '" + path + "' is not valid YAML: " + e.what());
    }
}

Result<NodeConfig> load_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) return make_error("config: cannot read '" + path + "' (does the file exist?)");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path);
}

std::string config_skeleton(const std::string& agency, const std::string& name, const std::string& listen,
                            const std::string& data_dir) {
    std::ostringstream o;
    o << "# lienthong-node configuration. Paths are relative to this file's directory.\n"
      << "# Every key is checked at start-up; an unknown key or bad value stops the node with a\n"
      << "# one-line error naming it.\n\n"
      << "# This node's agency code (mã định danh), e.g. 000.00.31.H14.\n"
      << "agency: \"" << agency << "\"\n"
      << "# Display name of the agency.\n"
      << "name: \"" << name << "\"\n"
      << "# Where the LMDB database and the local API socket (api.sock, mode 0600) live.\n"
      << "data_dir: \"" << data_dir << "\"\n"
      << "# Secret key file (mode 0600), written by 'lienthong-admin init'.\n"
      << "key_file: node.key\n"
      << "# Where peers connect to this node (ZeroMQ CURVE over TCP).\n"
      << "listen: \"" << listen << "\"\n"
      << "# Peers this node trusts and delivers to. 'identity' is the line printed by\n"
      << "# 'lienthong-admin id' on the peer. Peers can also be added live with\n"
      << "# 'lienthong-admin peer add'.\n"
      << "peers: []\n"
      << "#  - agency: \"000.00.00.H41\"\n"
      << "#    endpoint: \"tcp://127.0.0.1:7002\"\n"
      << "#    identity: \"lienthong-id v1 000.00.00.H41 sign:... box:...\"\n"
      << "# Retransmission and reconnect backoff: starts at initial_ms, doubles up to max_ms,\n"
      << "# with random jitter.\n"
      << "retry:\n  initial_ms: 500\n  max_ms: 30000\n"
      << "# Liveness probe interval, and how long a link may be silent before it is closed and\n"
      << "# reconnected (generous: a probe waits behind a large message on a slow link).\n"
      << "heartbeat_ms: 1000\n"
      << "heartbeat_timeout_ms: 20000\n"
      << "limits:\n"
      << "  max_envelope_bytes: 67108864   # largest document (with attachments) sent or accepted\n"
      << "  window_documents: 512          # unacknowledged documents in flight per peer\n"
      << "  window_bytes: 16777216         # unacknowledged bytes in flight per peer\n"
      << "  batch_documents: 1024          # documents per group commit (one fsync) at most\n"
      << "  transfers_per_peer: 16         # chunked transfers one peer may hold open here\n"
      << "  transfer_bytes_per_peer: 268435456  # and the sum of their sizes\n"
      << "  transfer_idle_ms: 3600000      # a transfer without a chunk this long is dropped\n"
      << "# Documents marked mật (1) or above are refused at submission unless every recipient\n"
      << "# is listed here (policy: confidential documents stay off the network by default).\n"
      << "confidential_to: []\n"
      << "# The issuer's XML-DSig signature in imported and received edXML: trusted_ca_dir holds\n"
      << "# the CA certificates (.pem) a signer's certificate must chain to (without it a\n"
      << "# signature can only be 'valid, signer unverified'); refuse_invalid_signature: true\n"
      << "# refuses at import an edXML whose signature is invalid (default: send it and let the\n"
      << "# recipient decide; show flags it). Absent or malformed signatures are flagged, not refused.\n"
      << "# edxml:\n"
      << "#   trusted_ca_dir: ca\n"
      << "#   refuse_invalid_signature: false\n"
      << "# Federation root of trust: node records signed under these roots (directly or by a\n"
      << "# delegated issuer) make their agencies reachable with no config edit here. Each line is\n"
      << "# printed by 'lienthong-admin root show'; add ' for:PREFIX,…' to trust a root only\n"
      << "# for those agency codes (another province's root, say).\n"
      << "# trust:\n"
      << "#   roots: [\"lienthong-root v1 …\"]\n"
      << "#   max_depth: 3\n"
      << "# Store-and-forward relays: a recipient this node cannot reach directly (no link, or its\n"
      << "# link down for fallback_ms) is reached through the relay of the longest matching route,\n"
      << "# else default_via (typically the parent agency). Relays hold ciphertext only.\n"
      << "# relay:\n"
      << "#   default_via: \"000.00.31.H14\"\n"
      << "#   routes:\n"
      << "#     - {to: \"000.00.00.\", via: \"000.00.31.H14\"}\n"
      << "#   fallback_ms: 30000\n"
      << "#   max_hops: 4\n"
      << "#   custody_per_peer: 100000          # envelopes one previous hop may leave here\n"
      << "#   custody_bytes_per_peer: 4294967296 # and their bytes\n"
      << "#   custody_expiry_ms: 2592000000     # undelivered this long (30 days): dropped\n"
      << "# Drop folders for a document system without API access: edXML files put in\n"
      << "# <drop_dir>/outgoing are sent and moved to sent/ (or failed/ with a .error file);\n"
      << "# received documents and statuses are written to incoming/. Empty: no drop folders.\n"
      << "# drop_dir: drop\n"
      << "# HTTP listener for monitoring: /metrics (Prometheus), /health and /ready. Off when\n"
      << "# absent; keep it on loopback or a management network.\n"
      << "# http:\n"
      << "#   listen: \"127.0.0.1:9464\"\n"
      << "# The national hub's API for document systems (the VDXP SDK's endpoint). Off when\n"
      << "# absent; systems can also be added with 'lienthong-admin vdxp add-system'.\n"
      << "# vdxp:\n"
      << "#   listen: \"127.0.0.1:8280\"\n"
      << "#   systems:\n"
      << "#     - systemid: \"" << agency << "\"\n"
      << "#       secret_file: vdxp-" << agency << ".secret\n"
      << "# debug, info, warn or error.\n"
      << "log_level: info\n";
    return o.str();
}

}  // namespace lienthong::node
