// The audit log's entries, signed heads and export files (issue 18): pure encoding and
// checking, no storage and no clock, so a third party can check an export with this code and
// the node's public key alone.
//
// Entry (canonical msgpack):
//   [seq:uint, time_ms:uint, kind:str, msg:bin(0|32), about:bin(0|32), agency:str, peer:str,
//    user:str, detail:str, prev:bin(32)]
//   seq counts from 1 without gaps; prev is entry_hash of entry seq-1 (32 zero bytes for seq 1).
//   msg: the message the event is about (document, status report or receipt id); about: the
//   document a status report, receipt or revoke/update/replace concerns; agency: the other
//   agency of the event (recipient, sender, the peer added); peer: the link it went over when
//   that is another node (a relay); user: who asked, for admin commands; detail: free text.
// entry_hash = BLAKE2b-256("lienthong/v1/audit-entry" || entry bytes). The log's head is the
// hash of its last entry: changing, removing or inserting any entry changes every later hash.
//
// Signed head: [agency:str, seq:uint, head:bin(32), time_ms:uint, signature:bin(64)], the
// signature by the agency's Ed25519 key over [agency, seq, head, time_ms] with the domain
// "lienthong/v1/audit-head". Peers keep the heads a node sends them (they witness them).
//
// Export file: the line kExportMagic, then one canonical msgpack value
//   [agency:str, sign_key:bin(32), doc:bin(32), created_ms:uint, [entry:bin...],
//    [signed head:bin...], [witness:str...]]
// then a 64-byte signature by sign_key over every byte before it (domain
// "lienthong/v1/audit-export"). The entries are a contiguous run of the chain: the first's prev
// is taken on trust, every later one links to the one before, and the last is the head of at
// least one signed head in the file (so an entry cannot be changed without breaking the head
// signature). witness[i] names who held head i ("self" for a head the node signed for this
// export).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/identity.h"

namespace lienthong::protocol {

struct AuditEntry {
    uint64_t seq = 0;
    uint64_t time_ms = 0;
    std::string kind;
    std::optional<Hash32> msg;
    std::optional<Hash32> about;
    std::string agency;
    std::string peer;
    std::string user;
    std::string detail;
    Hash32 prev{};
};

// Bounds an entry's fields must keep (decode refuses more; the writer clips detail and user).
constexpr size_t kMaxAuditKind = 32;
constexpr size_t kMaxAuditText = 512;

Bytes encode_audit_entry(const AuditEntry& e);
Result<AuditEntry> decode_audit_entry(ByteView bytes);
Hash32 audit_entry_hash(ByteView entry_bytes);

struct AuditHead {
    std::string agency;
    uint64_t seq = 0;  // 0: an empty log
    Hash32 head{};     // entry_hash of entry `seq` (zero for an empty log)
    uint64_t time_ms = 0;
    Signature signature{};
    Bytes signed_body() const;  // [agency, seq, head, time_ms]
};

AuditHead sign_audit_head(const SecretIdentity& id, uint64_t seq, const Hash32& head, uint64_t time_ms);
bool verify_audit_head(const SignPublicKey& pk, const AuditHead& h);
Bytes encode_audit_head(const AuditHead& h);
Result<AuditHead> decode_audit_head(ByteView bytes);

// Where a chain of entries stops being one: the first entry (by its position in `entries`,
// and its seq) that fails, and why. When entry n+1 does not link to entry n, entry n is named:
// its content changed (the usual edit), or else entry n+1's link did; the text says both.
struct ChainBreak {
    size_t index = 0;
    uint64_t seq = 0;
    std::string why;
};
// Checks entries[i] decodes, has seq first_seq + i and prev = hash of entries[i-1] (entries[0]'s
// prev must be `first_prev`). Hashes of each entry go to `hashes` when it is given.
std::optional<ChainBreak> check_audit_chain(const std::vector<Bytes>& entries, uint64_t first_seq,
                                            const Hash32& first_prev, std::vector<Hash32>* hashes = nullptr);

constexpr std::string_view kExportMagic = "lienthong-audit-export v1\n";

struct AuditExport {
    std::string agency;
    SignPublicKey sign_key{};
    Hash32 doc{};
    uint64_t created_ms = 0;
    std::vector<Bytes> entries;
    std::vector<Bytes> heads;
    std::vector<std::string> witnesses;
};

// The whole file, signed with `id` (whose public key must be the export's sign_key).
Bytes write_audit_export(const AuditExport& x, const SecretIdentity& id);

// What a check of an export file found when it passed.
struct ExportCheck {
    AuditExport x;
    std::vector<AuditEntry> about_doc;  // the entries about the document
    uint64_t witnessed_seq = 0;         // the highest head in the file covering the entries
    size_t heads_ok = 0;
};
// Checks the file: its form, its signature by the key it names, which must be `expected_key`
// when given, the chain of its entries, and that its heads, signed by that key, cover the last
// entry. Any byte changed fails it, naming the first problem.
Result<ExportCheck> check_audit_export(ByteView file, const std::optional<SignPublicKey>& expected_key);

}  // namespace lienthong::protocol
