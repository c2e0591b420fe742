// audit archive (issue 18): moves the oldest entries of the running node's log to a file it
// signs; and what audit verify needs to check such files and link them to the log in the
// database (whose chain starts from the archived point).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "admin/commands.h"
#include "protocol/audit_archive.h"

namespace lienthong::admin {

void add_audit_archive(CLI::App* audit, Globals& g, int& rc);

// Archive files checked and linked to each other and to the database's archived point.
struct ArchivedPart {
    std::vector<protocol::ArchiveCheck> archives;  // the files that checked, by first entry
    std::vector<std::string> problems;             // each a failure of verify
    uint64_t from_seq = 0;                         // the first entry the files cover (0: none)
    bool linked = false;                           // the last file ends at the archived point
    // The hash of archived entry `seq`, when a file holds it.
    std::optional<protocol::Hash32> hash_of(uint64_t seq) const;
};
// REQUIRES: `keys` holds the node's signing keys (current and earlier); `point` is the
// archived point the database holds (none when nothing was archived).
ArchivedPart link_archives(const std::vector<std::string>& files, const std::vector<protocol::SignPublicKey>& keys,
                           const std::optional<protocol::AuditHead>& point);

}  // namespace lienthong::admin
