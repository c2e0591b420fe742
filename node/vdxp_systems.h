// The document systems allowed to use the national hub's API, as the HTTP threads check them:
// each system's id, the agency it acts for and its shared secret. The event loop builds the set
// (from vdxp.systems in the config and the systems `lienthong-admin vdxp` registered) and
// replaces it whole; the HTTP threads only look systems up.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "protocol/result.h"

namespace lienthong::node {

struct VdxpSystem {
    std::string systemid;
    std::string agency;
    std::string secret;       // the bytes the SDK keys its HMAC with (the configured text)
    std::string secret_file;  // where it is kept
    std::string source;       // "config" or "admin"
};

class VdxpRegistry {
public:
    void replace(std::vector<VdxpSystem> systems);
    std::optional<VdxpSystem> find(const std::string& systemid) const;
    std::vector<VdxpSystem> all() const;

private:
    mutable std::shared_mutex m_mu;
    std::map<std::string, VdxpSystem> m_systems;
};

constexpr size_t kMaxSecretBytes = 512;

// The secret in `path`: its text without the trailing line break and spaces. Refuses a missing,
// empty, over-long or binary file, naming it.
Result<std::string> read_secret_file(const std::string& path);
// Writes `secret` to `path` (mode 0600, fsync'd, replacing the file atomically).
Status write_secret_file(const std::string& path, const std::string& secret);
// A new secret as the hub issues them: 32 random bytes in base64 (44 characters).
std::string new_secret();
// Whether `secret` can be used: 8 to kMaxSecretBytes printable ASCII characters.
Status check_secret(const std::string& secret);

}  // namespace lienthong::node
