// Audit archive files (issue 18): the oldest entries of a node's log, moved out of its database
// into a file signed by its key, so the log stays checkable after they are gone. Pure encoding
// and checking (no storage, no clock): a third party checks an archive with the public key alone.
//
// Archive file: the line kArchiveMagic, then one canonical msgpack value
//   [agency:str, sign_key:bin(32), created_ms:uint, before_ms:uint, first_prev:bin(32),
//    [entry:bin...], end:bin]
// then a 64-byte signature by sign_key over every byte before it (domain
// "lienthong/v1/audit-archive").
// The entries are a contiguous run of the chain from the oldest entry the database still held:
// the first links to first_prev (32 zero bytes when it is entry 1, else the hash of the last
// entry of the archive before it), each later one to the one before; every entry's time is
// before before_ms. `end` is a signed audit head (protocol/audit.h) of the last entry: the
// database keeps the same head as the point its chain now starts from, so the archive and the
// remaining log link through it, and archives taken one after another link to each other.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/audit.h"

namespace lienthong::protocol {

constexpr std::string_view kArchiveMagic = "lienthong-audit-archive v1\n";
// At most this many entries per archive file: an archive travels in one API reply and is
// checked in memory (an entry is a few hundred bytes). Older entries left over go to the next.
constexpr size_t kMaxArchiveEntries = 200000;

struct AuditArchive {
    std::string agency;
    SignPublicKey sign_key{};
    uint64_t created_ms = 0;
    uint64_t before_ms = 0;
    Hash32 first_prev{};
    std::vector<Bytes> entries;
    Bytes end;  // a signed head of the last entry (wire bytes)
};

// The whole file, signed with `id` (whose public key must be the archive's sign_key).
Bytes write_audit_archive(const AuditArchive& a, const SecretIdentity& id);

// What a check of an archive file found when it passed.
struct ArchiveCheck {
    AuditArchive a;
    uint64_t first_seq = 0, last_seq = 0;
    uint64_t first_time_ms = 0, last_time_ms = 0;
    AuditHead end;
    std::vector<Hash32> hashes;  // of each entry, first_seq first
};
// Checks the file: its form, its signature by the key it names (which must be one of
// `expected_keys` when that is not empty), the chain of its entries from first_prev, their
// times before before_ms, and that `end` is signed by that key and names the last entry. Any
// byte changed fails it, naming the first problem.
Result<ArchiveCheck> check_audit_archive(ByteView file, const std::vector<SignPublicKey>& expected_keys = {});

// Whether `file` starts as an archive (rather than an export).
bool is_audit_archive(ByteView file);

}  // namespace lienthong::protocol
