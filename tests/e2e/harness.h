// Process-level test harness: real lienthong-node processes on 127.0.0.1, each in its own
// temporary directory, driven through the local API; plus a "fake peer" that speaks the
// peer-link protocol directly from the test process.
//
// Every wait is bounded in time. A TestNode's destructor always stops its process (SIGTERM,
// then SIGKILL) and removes its directory (kept when LIENTHONG_E2E_KEEP is set, or its log
// tail is printed when the test is unwinding from a failure). Children also get
// PR_SET_PDEATHSIG so no node outlives a crashed test binary.
//
// Thread-safety: a TestNode is driven from the test's main thread; call() may be used from
// other threads only through their own ApiClient (see TestNode::client()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "node/api_client.h"
#include "protocol/frame.h"
#include "protocol/identity.h"

namespace lienthong::e2e {

using nlohmann::json;
using namespace std::chrono_literals;

// Set by the build (tests/e2e/CMakeLists.txt).
inline const char* node_bin() { return LIENTHONG_NODE_BIN; }
inline const char* admin_bin() { return LIENTHONG_ADMIN_BIN; }

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
uint16_t free_port();

// Polls `pred` every `step` until it holds or `timeout` passes. Returns the last result.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = 20ms);

// A directory under /tmp (short, so api.sock paths stay under the 100-character limit).
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return m_path; }
    void keep() { m_keep = true; }

private:
    std::string m_path;
    bool m_keep = false;
};

struct ProcessResult {
    int exit_code = -1;  // -1 when killed by a signal or timed out
    bool timed_out = false;
    std::string out;
    std::string err;
    std::vector<std::string> err_lines() const;  // stderr split on '\n', no empty trailing line
};

// Runs `argv` to completion with stdin from /dev/null, capturing stdout and stderr. Killed
// (and reported as timed out) if it runs past `timeout`.
ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 20s);

struct NodeOptions {
    uint64_t retry_initial_ms = 100;
    uint64_t retry_max_ms = 1000;
    uint64_t heartbeat_ms = 200;
    std::string log_level = "info";
    std::string extra_yaml;  // appended to node.yaml verbatim (top-level keys)
};

struct PeerEntry {
    std::string agency;
    std::string endpoint;
    std::string identity_line;
};

class TestNode {
public:
    // Generates keys (node.key, mode 0600) and picks a listen port; does not start.
    explicit TestNode(std::string agency, NodeOptions opts = {});
    ~TestNode();
    TestNode(const TestNode&) = delete;
    TestNode& operator=(const TestNode&) = delete;

    const std::string& agency() const { return m_agency; }
    const protocol::SecretIdentity& identity() const { return m_identity; }
    std::string identity_line() const { return m_identity.pub.to_line(); }
    std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(m_port); }
    const std::string& dir() const { return m_dir.path(); }
    std::string config_path() const { return dir() + "/node.yaml"; }
    std::string log_path() const { return dir() + "/node.log"; }
    std::string socket_path() const { return dir() + "/data/api.sock"; }
    pid_t pid() const { return m_pid; }

    void add_peer(const TestNode& other);
    void add_peer(PeerEntry peer);
    // node.yaml from the options and peers; start() writes it.
    std::string config_yaml() const;

    // Starts the process and waits (bounded) until its API answers. Throws with the log tail
    // when the node exits or does not come up.
    void start();
    // SIGKILL and reap. No-op when not running.
    void kill();
    // SIGTERM and wait (bounded; SIGKILL after `grace`). Returns the exit code, -1 if killed
    // by a signal, or the previous exit code when it was not running.
    int stop(std::chrono::milliseconds grace = 15s);
    void restart();
    bool running();

    // One API request over a cached client; an "ok": false answer or a transport failure is
    // an Error. The cached client is dropped after a failure (REQ sockets cannot recover).
    Result<json> call(const json& request, int timeout_ms = 30000);
    // Same, but throws std::runtime_error naming the op and the error (fails the test).
    json api(const json& request);
    // A fresh client, for use from another thread.
    std::unique_ptr<node::ApiClient> client(int timeout_ms = 30000) const;

    std::string log_text() const;
    bool log_contains(std::string_view text) const;
    size_t log_count(std::string_view text) const;
    std::string log_tail(size_t lines = 30) const;
    // Lines printed by AddressSanitizer / UndefinedBehaviorSanitizer / LeakSanitizer, if any.
    std::string sanitizer_findings() const;

private:
    void reap(int status);

    std::string m_agency;
    NodeOptions m_opts;
    TempDir m_dir;
    protocol::SecretIdentity m_identity;
    uint16_t m_port = 0;
    std::vector<PeerEntry> m_peers;
    pid_t m_pid = -1;
    int m_last_exit = 0;
    std::unique_ptr<node::ApiClient> m_client;
    int m_client_timeout_ms = 0;  // the receive timeout m_client was made with
};

// A peer that is configured in a node (its key is trusted) but is the test process itself:
// it opens a CURVE DEALER to the node and sends whatever frames the test wants.
class FakePeer {
public:
    // Generates a fresh identity for `agency`.
    explicit FakePeer(std::string agency);
    ~FakePeer();

    const protocol::SecretIdentity& identity() const { return m_identity; }
    // The peer entry a node needs to trust this fake peer. Its endpoint points at a port
    // where nothing listens (the node's outgoing link just keeps retrying).
    PeerEntry as_peer() const;

    // Connects a DEALER with this identity's keys to the node's listen endpoint.
    void connect(const TestNode& node);
    void send_frame(const protocol::Frame& f);
    // Sends raw ZeroMQ message parts (the last one without SNDMORE).
    void send_parts(const std::vector<protocol::Bytes>& parts);
    // Waits up to `timeout` for one message and decodes it as a frame.
    std::optional<Result<protocol::Frame>> recv_frame(std::chrono::milliseconds timeout);

    // The other direction: listens (CURVE server, this identity's keys) on the endpoint
    // as_peer() gives, where a node that has this fake peer configured connects its link.
    void listen();
    struct Listened {
        protocol::Bytes routing_id;
        Result<protocol::Frame> frame = make_error("nothing");
    };
    // The next frame the node sends on its link to us, within `timeout`; Pings are answered
    // and skipped.
    std::optional<Listened> recv_listened(std::chrono::milliseconds timeout);
    // Sends `f` to the node over its own link (to the connection `routing_id`).
    void send_listened(const protocol::Bytes& routing_id, const protocol::Frame& f);
    // The connection the last frame came on (Pings included); empty before any.
    const protocol::Bytes& last_routing_id() const { return m_last_rid; }

private:
    protocol::SecretIdentity m_identity;
    uint16_t m_dead_port = 0;
    zmq::context_t m_ctx{1};
    std::unique_ptr<zmq::socket_t> m_dealer;
    std::unique_ptr<zmq::socket_t> m_router;
    protocol::Bytes m_last_rid;
};

// Entries in one LMDB table of a node's database (read with mdb_stat while it runs); 0 when
// the table does not exist.
size_t table_entries(const TestNode& node, const std::string& table);

std::string z85(const std::array<uint8_t, 32>& key);

// A document to send through the local API, with its content kept for comparison.
struct TestDoc {
    std::string subject;
    protocol::Bytes body;
    struct File {
        std::string name, mime;
        protocol::Bytes data;
    };
    std::vector<File> attachments;
};

// Deterministic from `rng`: a body and `n_attachments` attachments of 1..max_bytes bytes.
TestDoc make_doc(int index, std::mt19937_64& rng, size_t n_attachments, size_t max_bytes);
json send_request(const std::vector<std::string>& to, const TestDoc& d);
protocol::Bytes random_bytes(std::mt19937_64& rng, size_t n);
// The bytes of a binary JSON value (export's body and attachment data).
protocol::Bytes bin(const json& j);

// Every id in the node's inbox (all of them, newest first, duplicates kept).
std::vector<std::string> inbox_ids(TestNode& node);
// Every id in the node's sent list; only those still pending for some recipient if `pending`.
std::vector<std::string> outbox_ids(TestNode& node, bool pending);

// Reads a counter from a status answer: counters.<name>, or the sum of counters.rejected.*
// when name == "rejected".
uint64_t status_counter(const json& status, const std::string& name);

}  // namespace lienthong::e2e
