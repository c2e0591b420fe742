// The federation's root of trust: root and issuer keys, issuer (delegation) records, node
// records, enrollment requests, revocations, and the verifier that checks a node record
// against the roots a node trusts.
//
// Pure: no I/O and no clock; every time is a unix time in milliseconds passed in by the caller.
// Nothing here throws; decoders refuse oversize, malformed and non-canonical input with an
// error naming the field. Thread-safety: none needed, all functions work on their arguments.
//
// Every signed record has the same outer wire form (canonical msgpack, codec.h):
//   record = [ version=1 : uint, body : bin, signature : bin(64) ]
// The signature is Ed25519 over domain || 0x00 || body (sign_domain), with one domain per
// record kind, so no signature is ever valid as another kind. The body is itself canonical
// msgpack; its layout is written next to each struct below. A signer is named by its key id,
// key_id(public key). The printable form of a record is an armored block (armor()) safe for a
// USB stick or an email:
//   -----BEGIN LIENTHONG NODE RECORD-----
//   <base64url, no padding, lines of exactly 64 characters, the last one 1-64>
//   -----END LIENTHONG NODE RECORD-----
#pragma once

#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "protocol/identity.h"

namespace lienthong::protocol {

constexpr size_t kMaxRecordBytes = 4096;  // largest encoded record of any kind
constexpr size_t kMaxNameLength = 256;    // display names, bytes of UTF-8
constexpr size_t kMaxReasonLength = 512;  // revocation reasons, bytes of UTF-8
constexpr size_t kMaxEndpoints = 8;       // endpoints per node record
constexpr size_t kMaxEndpointLength = 256;
constexpr size_t kMaxDelegationDepth = 8;  // the largest TrustView::max_depth honoured
constexpr size_t kDefaultMaxDepth = 3;     // issuer records allowed between root and node

// BLAKE2b-256("lienthong/v1/key-id" || 0 || public key): how records name their signer.
using KeyId = Hash32;
KeyId key_id(const SignPublicKey& key);
std::string short_key_id(const KeyId& id);  // first 16 hex digits, for people and logs

// True when `agency` falls under `prefix`: it starts with it. The empty prefix covers all.
bool prefix_covers(std::string_view prefix, std::string_view agency);
// A prefix is empty or 1-64 characters of the agency code alphabet, e.g. "000.00.31.".
Status check_prefix(std::string_view prefix, std::string_view what);
// A record endpoint: tcp://HOST:PORT, a host name, IPv4 or [IPv6] host, port 1-65535.
Status check_record_endpoint(std::string_view endpoint);
// Display text (names, reasons): UTF-8, at most `max_len` bytes, no control characters.
Status check_text(std::string_view s, size_t max_len, bool allow_empty, std::string_view what);
// `s` cut to `max_len` bytes with control characters shown as '?', for quoting in errors.
std::string printable(std::string_view s, size_t max_len = 80);
// The public half of an Ed25519 secret key.
SignPublicKey public_of(const SignSecretKey& secret);

// ---- Authority keys --------------------------------------------------------------------

// A federation root (role root, named by its federation) or a delegated issuer (role issuer,
// named by its agency code). Printable public form, one line:
//   lienthong-root v1 <federation> <base64url 32-byte Ed25519 key>
//   lienthong-issuer v1 <agency> <base64url 32-byte Ed25519 key>
enum class AuthorityRole { root, issuer };

struct AuthorityKey {
    AuthorityRole role = AuthorityRole::root;
    std::string name;
    SignPublicKey key{};

    KeyId id() const { return key_id(key); }
    std::string to_line() const;
    static Result<AuthorityKey> from_line(std::string_view line);
    bool operator==(const AuthorityKey&) const = default;
};

// The secret half, as held in an offline key file (the caller writes it with mode 0600):
//   lienthong-root-secret v1 <federation> sign:<base64url 64-byte Ed25519 secret key>
//   lienthong-issuer-secret v1 <agency> sign:<base64url 64-byte Ed25519 secret key>
// Lines starting with '#' and blank lines are ignored when parsing.
struct AuthoritySecret {
    AuthorityKey pub;
    SignSecretKey secret{};

    static AuthoritySecret generate(AuthorityRole role, std::string name);
    std::string to_text() const;  // a comment line and the key line, newline-terminated
    static Result<AuthoritySecret> from_text(std::string_view text);
};

// A root this node trusts, and the agency code prefixes it may speak for. The node's own
// federation root speaks for every agency (no prefixes); an external federation's root only
// for the prefixes its admin was given. Printable form:
//   <root line> [for:<prefix>[,<prefix>...]]
struct TrustAnchor {
    AuthorityKey root;
    std::vector<std::string> prefixes;  // empty: every agency

    bool speaks_for(std::string_view agency) const;
    // True when every agency under `prefix` is one this root speaks for.
    bool covers_prefix(std::string_view prefix) const;
    std::string to_line() const;
    static Result<TrustAnchor> from_line(std::string_view line);
};

// ---- Records ---------------------------------------------------------------------------
// Each record type offers the same members:
//   body()        the canonical body bytes the signature covers
//   encode()      the wire form; decode() parses it back, checking form but not signature
//   armor()       the printable block; from_armor() parses exactly one block of this kind
//   check()       the form of every field (what decode enforces, for records built in code)
//   id()          BLAKE2b-256("lienthong/v1/record-id" || 0 || encode()), e.g. for gossip

// Delegation: lets `key` enroll agencies under `prefix`. Domain "lienthong/v1/issuer".
//   body = [ agency : str, name : str, key : bin(32), prefix : str, max_depth : uint,
//            serial : uint, valid_from_ms : uint, valid_until_ms : uint, signer : bin(32) ]
// `max_depth` is how many further levels of issuers it may delegate (0: it enrolls nodes
// only). Signed by a root, or by an issuer whose prefix holds this one's and whose max_depth
// exceeds this one's; only a root may grant the empty prefix (every agency).
struct IssuerRecord {
    std::string agency;
    std::string name;
    SignPublicKey key{};
    std::string prefix;
    uint64_t max_depth = 0;
    uint64_t serial = 1;  // >= 1
    uint64_t valid_from_ms = 0;
    uint64_t valid_until_ms = 0;  // > valid_from_ms; valid while from <= now < until
    KeyId signer{};
    Signature signature{};

    static constexpr std::string_view kDomain = "lienthong/v1/issuer";
    static constexpr std::string_view kLabel = "LIENTHONG ISSUER RECORD";
    Bytes body() const;
    Bytes encode() const;
    std::string armor() const;
    Hash32 id() const;
    Status check() const;
    static Result<IssuerRecord> decode(ByteView wire);
    static Result<IssuerRecord> from_armor(std::string_view text);
};

// Who an agency is and how to reach it. Domain "lienthong/v1/node-record".
//   body = [ agency : str, name : str, sign_key : bin(32), box_key : bin(32),
//            endpoints : [str...], parent : str ("" for none), serial : uint,
//            valid_from_ms : uint, valid_until_ms : uint, issuer : bin(32) ]
struct NodeRecord {
    std::string agency;
    std::string name;
    SignPublicKey sign_key{};
    BoxPublicKey box_key{};
    std::vector<std::string> endpoints;  // 0..kMaxEndpoints, distinct, check_record_endpoint
    std::string parent;                  // the parent agency, or empty
    uint64_t serial = 1;                 // >= 1
    uint64_t valid_from_ms = 0;
    uint64_t valid_until_ms = 0;  // > valid_from_ms
    KeyId issuer{};
    Signature signature{};

    static constexpr std::string_view kDomain = "lienthong/v1/node-record";
    static constexpr std::string_view kLabel = "LIENTHONG NODE RECORD";
    Bytes body() const;
    Bytes encode() const;
    std::string armor() const;
    Hash32 id() const;
    Status check() const;
    static Result<NodeRecord> decode(ByteView wire);
    static Result<NodeRecord> from_armor(std::string_view text);
};

// A node asking to be enrolled, signed with its own sign key (proof that it holds it; the box
// key is only bound by that signature). Domain "lienthong/v1/enroll".
//   body = [ agency : str, name : str, sign_key : bin(32), box_key : bin(32),
//            endpoints : [str...], parent : str, created_ms : uint ]
struct EnrollmentRequest {
    std::string agency;
    std::string name;
    SignPublicKey sign_key{};
    BoxPublicKey box_key{};
    std::vector<std::string> endpoints;
    std::string parent;
    uint64_t created_ms = 0;
    Signature signature{};

    static constexpr std::string_view kDomain = "lienthong/v1/enroll";
    static constexpr std::string_view kLabel = "LIENTHONG ENROLLMENT REQUEST";
    Bytes body() const;
    Bytes encode() const;
    std::string armor() const;
    Hash32 id() const;
    Status check() const;
    static Result<EnrollmentRequest> decode(ByteView wire);
    static Result<EnrollmentRequest> from_armor(std::string_view text);
};

// Withdraws records of one agency. Domain "lienthong/v1/revocation".
//   body = [ agency : str, kind : uint (1 node record, 2 issuer record), serial : uint,
//            revoked_at_ms : uint, reason : str, signer : bin(32) ]
// serial N >= 1 revokes the agency's records of that kind with serial <= N (the named one
// and every older one, so an old key cannot come back); serial 0 revokes every record issued
// (valid_from_ms) at or before revoked_at_ms, so only a record issued later re-admits the
// agency. A revocation takes effect at revoked_at_ms and counts only when signed by a key of
// the revoked record's chain: its root, an issuer above it, or (for an issuer) itself.
enum class RevokedKind : uint8_t { node = 1, issuer = 2 };

struct Revocation {
    std::string agency;
    RevokedKind kind = RevokedKind::node;
    uint64_t serial = 0;
    uint64_t revoked_at_ms = 0;
    std::string reason;
    KeyId signer{};
    Signature signature{};

    static constexpr std::string_view kDomain = "lienthong/v1/revocation";
    static constexpr std::string_view kLabel = "LIENTHONG REVOCATION";
    Bytes body() const;
    Bytes encode() const;
    std::string armor() const;
    Hash32 id() const;
    Status check() const;
    static Result<Revocation> decode(ByteView wire);
    static Result<Revocation> from_armor(std::string_view text);
    // True when this revocation names `agency`'s record of `kind`, `serial`, `valid_from_ms`
    // (whatever its signer and time).
    bool names(std::string_view agency, RevokedKind kind, uint64_t serial,
               uint64_t valid_from_ms) const;
};

// Signing checks the form first (check()) and sets the signer/issuer key id from `secret`.
Result<IssuerRecord> sign_issuer_record(IssuerRecord r, const SignSecretKey& secret);
Result<NodeRecord> sign_node_record(NodeRecord r, const SignSecretKey& secret);
Result<Revocation> sign_revocation(Revocation r, const SignSecretKey& secret);
// Fails unless `node_secret` is the secret half of r.sign_key.
Result<EnrollmentRequest> sign_enrollment_request(EnrollmentRequest r,
                                                  const SignSecretKey& node_secret);
// Checks the request's form and its proof of possession of the sign key.
Status verify_enrollment_request(const EnrollmentRequest& r);
// The unsigned node record a request asks for.
NodeRecord node_record_for(const EnrollmentRequest& r, uint64_t serial, uint64_t valid_from_ms,
                           uint64_t valid_until_ms);

// ---- Armor -----------------------------------------------------------------------------

struct ArmorBlock {
    std::string label;  // e.g. "LIENTHONG NODE RECORD"
    Bytes data;
};

std::string armor(std::string_view label, ByteView data);
// Parses every block of `text`. Blank lines, CR before LF and trailing spaces are tolerated;
// any other text outside a block, a short inner line, a blank line inside a block, bad
// base64, a missing or mismatched END line is refused with the line number.
Result<std::vector<ArmorBlock>> dearmor_all(std::string_view text, size_t max_blocks = 4096);
// Exactly one block, with `label`.
Result<Bytes> dearmor(std::string_view text, std::string_view label);

// ---- Verification ----------------------------------------------------------------------

enum class TrustFailure {
    malformed,              // a field breaks its form (check())
    bad_signature,          // the signature does not verify under the signer's key
    unknown_issuer,         // no trusted root or issuer record holds the signer's key
    not_yet_valid,          // now < valid_from_ms
    expired,                // now >= valid_until_ms
    outside_validity,       // validity not inside the signing issuer's validity
    outside_prefix,         // agency or prefix not inside the signing issuer's prefix
    outside_root_prefixes,  // a root speaking for agencies it is not trusted for
    chain_too_long,         // more issuer records than max_depth, or beyond an issuer's depth
    revoked,                // a revocation from the record's chain took effect at or before now
};
std::string_view failure_name(TrustFailure f);

struct TrustError {
    TrustFailure failure;
    std::string message;  // names the record, what failed and what to do
};

// A verified value or the one reason it is not trusted.
template <class T>
class [[nodiscard]] TrustResult {
  public:
    TrustResult(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    TrustResult(TrustError e) : m_v(std::in_place_index<1>, std::move(e)) {}
    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }
    const T& value() const { return std::get<0>(m_v); }  // REQUIRES: ok()
    const T* operator->() const { return &value(); }
    const TrustError& error() const { return std::get<1>(m_v); }  // REQUIRES: !ok()

  private:
    std::variant<T, TrustError> m_v;
};

// What a node knows when it checks a record: the decoded records of its directory. Issuer
// records may come in any order, several per key; at most 256 candidate issuer records are
// tried per check, so a directory should keep only issuer records that verify (records that
// merely copy a known key cannot crowd out the real one).
// To check a document signed at time T (e.g. before a revocation), pass now_ms = T.
struct TrustView {
    std::span<const TrustAnchor> roots;
    std::span<const IssuerRecord> issuers;
    std::span<const Revocation> revocations;
    uint64_t now_ms = 0;
    size_t max_depth = kDefaultMaxDepth;  // issuer records between root and record, at most
};

struct VerifiedChain {
    TrustAnchor anchor;                 // the root the chain ends at
    std::vector<IssuerRecord> issuers;  // root's delegate first, the record's signer last;
                                        // for an issuer record, not including itself
    uint64_t valid_until_ms = 0;        // the earliest end of validity along the chain
    uint64_t revoked_from_ms = 0;       // nonzero: a revocation takes effect at this later
                                        // time (a document signed before it stays valid)
};

// Checks form, the signature chain up to a trusted root, prefixes, depth, validity at
// view.now_ms and revocations. Among several issuer records for one key, the highest serial
// that verifies is used.
TrustResult<VerifiedChain> verify_node_record(const NodeRecord& r, const TrustView& view);
TrustResult<VerifiedChain> verify_issuer_record(const IssuerRecord& r, const TrustView& view);
// A revocation is authentic when a trusted root or a valid issuer signed it and, for a node
// record, that signer speaks for the agency. Whether it applies to a given record is decided
// by verify_node_record / verify_issuer_record (signer must be in that record's chain).
TrustResult<VerifiedChain> verify_revocation(const Revocation& r, const TrustView& view);

inline TrustResult<VerifiedChain> verify_node_record(const NodeRecord& r,
                                                     std::span<const TrustAnchor> roots,
                                                     std::span<const IssuerRecord> issuers,
                                                     std::span<const Revocation> revocations,
                                                     uint64_t now_ms, size_t max_depth) {
    return verify_node_record(r, TrustView{roots, issuers, revocations, now_ms, max_depth});
}

// An expired node record's key still verifies an envelope that key made while the record was
// valid (created_ms < valid_until_ms), for kExpiredKeyGraceMs after expiry: a document that
// waited in queues and relays is not lost to a renewal. Never one made after expiry (a stolen
// old key cannot sign new documents), never after the grace. `created_ms` is what the envelope
// claims; a key's holder could backdate it only within the grace, and only until then.
constexpr uint64_t kExpiredKeyGraceMs = 7ull * 86400000;
inline bool expired_key_still_verifies(uint64_t created_ms, uint64_t valid_until_ms, uint64_t now_ms) {
    return created_ms < valid_until_ms && now_ms < valid_until_ms + kExpiredKeyGraceMs;
}

// "Highest valid serial wins": `a` replaces `b` (same agency) when its serial is higher; at
// equal serials (an issuer's mistake) the smaller id() wins, so every node picks the same.
bool supersedes(const NodeRecord& a, const NodeRecord& b);
// Among `candidates`, the index of the record of `agency` to use at view.now_ms: the one
// that supersedes every other candidate of that agency that verifies. Candidates of other
// agencies and records that do not verify never win, whatever their serial. nullopt: none.
std::optional<size_t> select_current_record(std::string_view agency,
                                            std::span<const NodeRecord> candidates,
                                            const TrustView& view);

}  // namespace lienthong::protocol
