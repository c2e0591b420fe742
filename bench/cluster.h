// Cluster: real lienthong-node processes on 127.0.0.1 that trust each other, in a private
// temporary directory, for the benchmark: two linked directly (sender, receiver), or with
// ClusterOptions::relay three, where the sender (a commune) reaches the receiver (its
// province) only through a district (relay()): the commune knows the province's identity but
// an endpoint nobody listens on, and its default route goes through the district. The
// district and the province are linked directly, so the same cluster also measures the
// direct hop (district -> province).
//
// Contract: start() either leaves every node running, connected to its neighbours and
// answering on its local API (and, with relay, the commune routing the province through the
// district), or throws with a message naming what failed.
// stop() (also run by the destructor) terminates the nodes (SIGTERM, then SIGKILL after a
// bounded wait) and removes the directory unless keep_dirs; it is idempotent and safe to call
// from another thread (the bench's signal thread). Each node is started with
// PR_SET_PDEATHSIG, so it dies with the bench even if the bench is killed with SIGKILL.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>

namespace lienthong::bench {

// A snapshot of one process, from /proc/PID/status and /proc/PID/stat.
struct ProcStats {
    uint64_t vm_hwm_kib = 0;     // peak resident set size (what the target is about)
    uint64_t vm_rss_kib = 0;
    uint64_t rss_anon_kib = 0;   // heap and stacks
    uint64_t rss_file_kib = 0;   // file-backed pages, i.e. LMDB's memory map
    double cpu_s = 0;            // user + system CPU time, all threads
    // Main thread (the node's event loop), from /proc/PID/schedstat: time on a CPU and time
    // runnable but waiting for one (CPU contention).
    double loop_cpu_s = 0;
    double loop_wait_s = 0;
};
// Zeroes for a process that is gone.
ProcStats read_proc_stats(pid_t pid);

struct NodeHandle {
    std::string name;       // "sender" and "receiver", or "commune", "province" and "district"
    std::string agency;
    std::string dir;        // the node's directory: node.yaml, node.key, node.log, data/
    std::string api_socket; // dir/data/api.sock
    std::string listen;     // tcp://127.0.0.1:PORT
    pid_t pid = -1;         // also its process group
    std::string database() const { return dir + "/data/data.mdb"; }
};

struct ClusterOptions {
    std::string node_bin;
    std::string work_parent;  // the temporary directory is created inside this one
    bool keep_dirs = false;
    uint64_t chunk_threshold_bytes = 0;  // limits.chunk_threshold_bytes; 0 keeps the node's default
    uint64_t window_bytes = 0;           // limits.window_bytes; 0 keeps the node's default
    uint64_t window_documents = 0;       // limits.window_documents; 0 keeps the node's default
    bool relay = false;  // three nodes, the sender reaching the receiver through relay()
    bool audit = true;   // audit.enabled: off only to measure what the audit log costs
    bool vdxp = false;   // the sender serves the hub API (vdxp_port(), system = its agency)
    std::chrono::milliseconds start_timeout{15000};
    std::chrono::milliseconds stop_timeout{10000};  // SIGTERM, then SIGKILL after this
};

class Cluster {
public:
    explicit Cluster(ClusterOptions options) : m_options(std::move(options)) {}
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    void start();
    void stop();
    const NodeHandle& sender() const { return m_nodes[0]; }
    const NodeHandle& receiver() const { return m_nodes[1]; }
    // REQUIRES: started with ClusterOptions::relay.
    const NodeHandle& relay() const { return m_nodes[2]; }
    bool has_relay() const { return m_options.relay; }
    const std::string& dir() const { return m_dir; }
    // REQUIRES: started with ClusterOptions::vdxp.
    uint16_t vdxp_port() const { return m_vdxp_port; }
    const std::string& vdxp_secret() const { return m_vdxp_secret; }
    // The file system type the databases live on (fsync cost depends on it).
    std::string filesystem() const;
    // Throws if a node process has exited (e.g. crashed), naming it and its log file.
    void check_alive() const;

private:
    void spawn(NodeHandle& n);
    void wait_ready();
    void wait_routed();
    size_t count() const { return m_options.relay ? 3 : 2; }

    ClusterOptions m_options;
    std::string m_dir;
    uint16_t m_vdxp_port = 0;
    std::string m_vdxp_secret = "bench-secret-0123456789";
    NodeHandle m_nodes[3];  // the third only with relay
    std::mutex m_stop_mutex;
    bool m_stopped = false;
};

}  // namespace lienthong::bench
