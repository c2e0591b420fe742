// Trust between federations, X-Road style: a federation's root signs that it trusts another
// federation's root for some agency code prefixes — or withdraws that trust. The record
// spreads through the federation by gossip like a node record, and every node derives its
// external trust anchors from the records it holds, so adding or removing a neighbouring
// federation is one signed record imported at one node, not a config edit on every node.
//
// Pure, like trust.h: no I/O, no clock, nothing throws.
//
// Wire form: the signed-record form of trust.h, domain "lienthong/v1/cross-trust":
//   body = [ federation : str, key : bin(32), prefixes : [str...], serial : uint,
//            valid_from_ms : uint, valid_until_ms : uint, withdrawn : bool, signer : bin(32) ]
// `federation` and `key` name the external root; `prefixes` (1..kMaxCrossPrefixes, none
// empty, distinct; a withdrawal may list none) are what it may speak for. For one (signer, external key) pair the record
// with the highest serial decides (equal serials: the smaller id(), as for node records): a
// grant valid now makes the external root an anchor; a withdrawal, or an expired grant, ends
// the trust. A withdrawal takes effect whatever its validity fields say.
//
// Only a root the node trusts for every agency (its own federation's, configured without
// prefixes) may sign one: trust is not transitive, an external root cannot extend it.
#pragma once

#include "protocol/trust.h"

namespace lienthong::protocol {

constexpr size_t kMaxCrossPrefixes = 16;

struct CrossTrust {
    AuthorityKey root;                  // role root: the external federation's name and key
    std::vector<std::string> prefixes;  // what it may speak for
    uint64_t serial = 1;                // >= 1
    uint64_t valid_from_ms = 0;
    uint64_t valid_until_ms = 0;  // > valid_from_ms
    bool withdrawn = false;
    KeyId signer{};
    Signature signature{};

    static constexpr std::string_view kDomain = "lienthong/v1/cross-trust";
    static constexpr std::string_view kLabel = "LIENTHONG CROSS TRUST";
    Bytes body() const;
    Bytes encode() const;
    std::string armor() const;
    Hash32 id() const;
    Status check() const;
    static Result<CrossTrust> decode(ByteView wire);
    static Result<CrossTrust> from_armor(std::string_view text);

    TrustAnchor anchor() const { return TrustAnchor{root, prefixes}; }
};

// Checks the form and sets `signer` from `secret`.
Result<CrossTrust> sign_cross_trust(CrossTrust r, const SignSecretKey& secret);

// The signature, by one of `roots` that speaks for every agency, and (for a grant) its
// validity at now_ms. The value is the root that signed it.
TrustResult<TrustAnchor> verify_cross_trust(const CrossTrust& r,
                                            std::span<const TrustAnchor> roots, uint64_t now_ms);

// "Highest serial wins" for one (signer, external key) pair; at equal serials a withdrawal
// wins (ending trust is the safe side of a tie), then the smaller id().
bool supersedes(const CrossTrust& a, const CrossTrust& b);

// Indices into `records` of the deciding record of each (signer, external key) pair: the one
// whose signature verifies under `roots` and that supersedes every other such record of the
// pair. Validity is not considered here (an expired grant still decides; it grants nothing).
std::vector<size_t> deciding_cross_trust(std::span<const CrossTrust> records,
                                         std::span<const TrustAnchor> roots);

// The external anchors in force at now_ms: for each deciding record that is a grant valid now
// and whose root is not already among `roots`, its anchor.
std::vector<TrustAnchor> external_anchors(std::span<const CrossTrust> records,
                                          std::span<const TrustAnchor> roots, uint64_t now_ms);

}  // namespace lienthong::protocol
