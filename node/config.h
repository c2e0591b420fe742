// NodeConfig: everything lienthong-node reads from its YAML file, validated.
//
// This is the only place that sees YAML; the engine and transport get plain structs.
// Relative paths are resolved against the config file's directory. Every bad value stops
// start-up with one line naming the key (see load_config).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "node/log.h"
#include "protocol/identity.h"
#include "protocol/trust.h"

namespace lienthong::node {

struct PeerConfig {
    protocol::PublicIdentity identity;
    std::string endpoint;  // where to connect, e.g. tcp://127.0.0.1:7002
};

struct RetryConfig {
    uint64_t initial_ms = 500;   // first retransmission / reconnect delay
    uint64_t max_ms = 30000;     // cap of the exponential backoff
};

struct LimitsConfig {
    uint64_t max_envelope_bytes = 64ull << 20;  // largest document accepted or sent
    uint64_t window_documents = 512;            // unacknowledged documents in flight per peer
    uint64_t window_bytes = 16ull << 20;        // unacknowledged bytes in flight per peer
    uint64_t batch_documents = 1024;            // documents committed per group commit at most
    uint64_t chunk_threshold_bytes = 1ull << 20;  // larger envelopes travel in chunks (on slow links)
    // What one peer may hold open here in chunked transfers to us: their number, the sum of
    // their sizes, and how long one may go without a chunk or an offer before it is dropped
    // with its chunks (a cut longer than that starts over).
    uint64_t transfers_per_peer = 16;
    uint64_t transfer_bytes_per_peer = 256ull << 20;
    uint64_t transfer_idle_ms = 3600000;
};

// The largest local API request the node reads: a document of the largest envelope, with room
// for its encoding.
inline uint64_t api_request_limit(const LimitsConfig& l) { return 2 * l.max_envelope_bytes + (1ull << 20); }

// The federation's root of trust (issue 5). Without roots the node works with pinned peers
// only and ignores directory records.
struct TrustConfig {
    std::vector<protocol::TrustAnchor> roots;  // "lienthong-root v1 … [for:PREFIX,…]" lines
    uint64_t max_depth = protocol::kDefaultMaxDepth;  // issuer records between a root and a node
    uint64_t gossip_ms = 5000;  // how often each link compares directories
};

// Store-and-forward relays (issue 4). A recipient this node cannot reach directly — no link
// can be made to it, or its link has been down for fallback_ms — is reached through the relay
// its route names: the longest `to` prefix that covers it (an agency code is its own
// prefix), else `default_via` (typically the parent: commune → district → province).
struct RouteConfig {
    std::string to;   // an agency code or a code prefix
    std::string via;  // the relay: a peer of this node
};
struct RelayConfig {
    std::vector<RouteConfig> routes;
    std::string default_via;        // empty: no default route
    uint64_t fallback_ms = 30000;   // how long a direct link must be down before a route is used
    uint64_t max_hops = 4;          // relays an envelope may pass through, at most
    // What one previous hop may leave in this relay's custody: envelopes and their bytes. An
    // envelope still undelivered after custody_expiry_ms is dropped (its sender sees it pending).
    uint64_t custody_per_peer = 100000;
    uint64_t custody_bytes_per_peer = 4ull << 30;
    uint64_t custody_expiry_ms = 30ull * 86400000;
    // The relay for `agency`, or "" when no route covers it.
    std::string via_for(const std::string& agency) const;
};

// The issuer's XML-DSig signature in edXML files (protocol/edxml_dsig.h).
struct EdxmlConfig {
    // Folder of trusted CA certificates (*.pem, read when a signature is checked); empty: none,
    // and a signature can at most be "valid, signer unverified".
    std::string trusted_ca_dir;
    // Refuse at import an edXML whose signature is invalid (the signed content or the value
    // changed). Default false: send it, flagged, and let the recipient decide. An absent or
    // malformed signature is flagged in show, never refused.
    bool refuse_invalid_signature = false;
};

// The audit log (issue 18, storage/audit_log.h).
struct AuditConfig {
    // Off only to measure what it costs (the bench): a node run without it records nothing,
    // and its log has no entries for that time (the chain itself stays whole).
    bool enabled = true;
    // How often the node signs its log head and sends it to every connected peer (also when the
    // admin asks, and when a link comes up). 0: only when asked.
    uint64_t head_interval_ms = 600000;
};

// A document system allowed to use the national hub's API (node/vdxp_http.h), listed in the
// config; `lienthong-admin vdxp add-system` registers others in the database.
struct VdxpSystemConfig {
    std::string systemid;     // the SDK's `systemid`
    std::string secret_file;  // holds the SDK's `secret` (its text, one line); keep it mode 0600
    std::string agency;       // the agency it acts for: this node's (the default)
};

struct VdxpConfig {
    // "HOST:PORT", or a bare PORT for 127.0.0.1:PORT; empty (the default): no listener.
    std::string listen;
    std::vector<VdxpSystemConfig> systems;
    uint64_t max_body_bytes = 64ull << 20;  // one sendEdoc upload, at most
    uint64_t threads = 32;                  // connections served at once (an idle one holds a thread)
    uint64_t idle_timeout_s = 2;            // an idle keep-alive connection is closed after this
    uint64_t read_timeout_s = 10;           // a client that sends nothing for this long is dropped
};

struct NodeConfig {
    std::string config_path;
    std::string agency;
    std::string name;
    std::string data_dir;
    std::string key_file;
    std::string listen;
    std::vector<PeerConfig> peers;
    RetryConfig retry;
    LimitsConfig limits;
    uint64_t heartbeat_ms = 1000;
    // A link with no traffic at all for this long is closed and reconnected. Generous,
    // because a heartbeat waits behind a large message on a slow link.
    uint64_t heartbeat_timeout_ms = 20000;
    LogLevel log_level = LogLevel::info;
    LogFormat log_format = LogFormat::text;  // from the command line (--log-format), not the file
    // Recipients that may receive documents marked mật (confidentiality >= 1). Empty (the
    // default): such documents are refused at submission.
    std::set<std::string> confidential_to;
    TrustConfig trust;
    RelayConfig relay;
    AuditConfig audit;
    // Root of the drop folders (outgoing/, sent/, failed/, incoming/); empty: none.
    std::string drop_dir;
    // HTTP listener for /metrics, /health and /ready (http_service.h), "HOST:PORT"; empty: none.
    std::string http_listen;
    EdxmlConfig edxml;
    VdxpConfig vdxp;

    std::string api_endpoint() const { return "ipc://" + data_dir + "/api.sock"; }
    std::string api_socket_path() const { return data_dir + "/api.sock"; }
};

Result<NodeConfig> load_config(const std::string& path);
Result<NodeConfig> parse_config(const std::string& yaml_text, const std::string& path);

// Checks a ZeroMQ endpoint of the forms tcp://HOST:PORT (or tcp://*:PORT when `listening`).
Status check_endpoint(const std::string& endpoint, bool listening, const std::string& key);
// http.listen: "HOST:PORT", HOST an IPv4 address or a bracketed IPv6 one.
Status parse_http_listen(const std::string& text, std::string& host, uint16_t& port,
                         const std::string& key = "http.listen");

// A document system's id (the SDK's systemid): 1-64 of [A-Za-z0-9._-]. `what` names the input.
Status check_vdxp_systemid(const std::string& systemid, const std::string& what);

// A commented skeleton for `lienthong-admin init`. `data_dir` as written (relative to the
// config's directory, or absolute).
std::string config_skeleton(const std::string& agency, const std::string& name,
                            const std::string& listen, const std::string& data_dir = "data");

}  // namespace lienthong::node
