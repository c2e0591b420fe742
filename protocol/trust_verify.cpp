// The verifier: chains from a record up to a trusted root, prefixes, depth, validity and
// revocation; the "highest valid serial wins" rule (trust.h); cross-federation trust
// (cross_trust.h).
#include <algorithm>
#include <ctime>
#include <limits>
#include <map>

#include "protocol/cross_trust.h"
#include "protocol/trust.h"

namespace lienthong::protocol {

std::string_view failure_name(TrustFailure f) {
    switch (f) {
        case TrustFailure::malformed:
            return "malformed";
        case TrustFailure::bad_signature:
            return "bad signature";
        case TrustFailure::unknown_issuer:
            return "unknown issuer";
        case TrustFailure::not_yet_valid:
            return "not yet valid";
        case TrustFailure::expired:
            return "expired";
        case TrustFailure::outside_validity:
            return "outside issuer validity";
        case TrustFailure::outside_prefix:
            return "outside delegated prefix";
        case TrustFailure::outside_root_prefixes:
            return "outside root's prefixes";
        case TrustFailure::chain_too_long:
            return "chain too long";
        case TrustFailure::revoked:
            return "revoked";
    }
    return "unknown";
}

namespace {

constexpr uint64_t kForever = std::numeric_limits<uint64_t>::max();
// Bounds the work of trying several issuer records per key at several levels.
constexpr size_t kMaxIssuerTrials = 256;

std::string utc(uint64_t ms) {
    const auto secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    if (!gmtime_r(&secs, &tm)) return std::to_string(ms) + " ms";
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

TrustError fail(TrustFailure f, const std::string& what, const std::string& message) {
    return TrustError{f, what + ": " + message};
}

std::string describe(std::string_view kind, std::string_view agency, uint64_t serial) {
    return std::string(kind) + " of '" + printable(agency) + "' (serial " + std::to_string(serial) +
           ")";
}

const SignPublicKey& signer_key(const VerifiedChain& c) {
    return c.issuers.empty() ? c.anchor.root.key : c.issuers.back().key;
}

std::string signer_name(const VerifiedChain& c) {
    return c.issuers.empty() ? "root '" + c.anchor.root.name + "'"
                             : "issuer '" + c.issuers.back().agency + "'";
}

std::string prefix_text(std::string_view p) {
    return p.empty() ? "(every agency)" : "'" + std::string(p) + "'";
}

std::string anchor_prefixes(const TrustAnchor& a) {
    std::string s;
    for (const auto& p : a.prefixes) s += (s.empty() ? "" : ", ") + p;
    return s;
}

Status check_window(const std::string& what, uint64_t from, uint64_t until, uint64_t now,
                    TrustFailure& failure) {
    if (now < from) {
        failure = TrustFailure::not_yet_valid;
        return make_error(what + ": not valid before " + utc(from));
    }
    if (now >= until) {
        failure = TrustFailure::expired;
        return make_error(what + ": expired at " + utc(until) +
                          "; the agency needs a renewed record");
    }
    return ok_status();
}

// Applies the revocations that name a record and are signed by one of `signers`: fills
// `chain.revoked_from_ms` with a later one, or returns the error of one already in effect.
std::optional<TrustError> apply_revocations(const TrustView& v, const std::string& what,
                                            std::string_view agency, RevokedKind kind,
                                            uint64_t serial, uint64_t valid_from,
                                            const std::vector<SignPublicKey>& signers,
                                            VerifiedChain& chain) {
    const Revocation* effective = nullptr;
    for (const auto& rev : v.revocations) {
        if (!rev.names(agency, kind, serial, valid_from)) continue;
        const auto key = std::find_if(signers.begin(), signers.end(), [&](const SignPublicKey& k) {
            return key_id(k) == rev.signer;
        });
        if (key == signers.end()) continue;  // not from this record's chain: does not apply
        if (!verify_domain(*key, Revocation::kDomain, rev.body(), rev.signature)) continue;
        if (rev.revoked_at_ms <= v.now_ms) {
            if (!effective || rev.revoked_at_ms < effective->revoked_at_ms) effective = &rev;
        } else if (chain.revoked_from_ms == 0 || rev.revoked_at_ms < chain.revoked_from_ms) {
            chain.revoked_from_ms = rev.revoked_at_ms;
        }
    }
    if (!effective) return std::nullopt;
    return fail(TrustFailure::revoked, what,
                "revoked since " + utc(effective->revoked_at_ms) +
                    " (reason: " + printable(effective->reason, 200) + ")");
}

std::vector<SignPublicKey> chain_keys(const VerifiedChain& c) {
    std::vector<SignPublicKey> keys{c.anchor.root.key};
    for (const auto& i : c.issuers) keys.push_back(i.key);
    return keys;
}

class ChainBuilder {
  public:
    explicit ChainBuilder(const TrustView& v)
        : m_v(v), m_max_depth(std::min(v.max_depth, kMaxDelegationDepth)) {}

    // The verified chain ending at the holder of `signer`, which would be the `level`-th
    // issuer record below the root (1 = signed by the root itself).
    TrustResult<VerifiedChain> resolve(const KeyId& signer, size_t level) {
        for (const auto& anchor : m_v.roots)
            if (anchor.root.id() == signer) return VerifiedChain{anchor, {}, kForever, 0};
        std::vector<const IssuerRecord*> candidates;
        for (const auto& i : m_v.issuers)
            if (key_id(i.key) == signer) candidates.push_back(&i);
        if (candidates.empty())
            return TrustError{TrustFailure::unknown_issuer,
                              "signed by key " + short_key_id(signer) +
                                  ", which is neither a trusted root nor the key of a known issuer "
                                  "record (import the issuer record, or check the trusted roots)"};
        std::stable_sort(
            candidates.begin(), candidates.end(),
            [](const IssuerRecord* a, const IssuerRecord* b) { return a->serial > b->serial; });
        std::optional<TrustError> first;
        for (const auto* c : candidates) {
            auto r = issuer(*c, level);
            if (r.ok()) return r;
            if (!first) first = r.error();
        }
        return *first;
    }

    // Verifies issuer record `r` at `level`; the chain returned ends with `r` itself.
    TrustResult<VerifiedChain> issuer(const IssuerRecord& r, size_t level) {
        const std::string what = describe("issuer record", r.agency, r.serial);
        if (m_trials++ >= kMaxIssuerTrials)
            return fail(TrustFailure::chain_too_long, what,
                        "too many candidate issuer records to try (limit " +
                            std::to_string(kMaxIssuerTrials) + ")");
        if (auto st = r.check(); !st.ok()) return TrustError{TrustFailure::malformed, st.error()};
        if (level > m_max_depth)
            return fail(TrustFailure::chain_too_long, what,
                        "chain too long: it would be issuer record number " +
                            std::to_string(level) +
                            " below the root, more than the maximum depth of " +
                            std::to_string(m_max_depth));
        auto parent = resolve(r.signer, level + 1);
        if (!parent.ok()) return fail(parent.error().failure, what, parent.error().message);
        VerifiedChain chain = parent.value();
        if (!verify_domain(signer_key(chain), IssuerRecord::kDomain, r.body(), r.signature))
            return fail(TrustFailure::bad_signature, what,
                        "signature does not verify under the key of " + signer_name(chain) +
                            " (altered after signing, or not an issuer record)");
        if (chain.issuers.empty()) {
            if (!chain.anchor.covers_prefix(r.prefix))
                return fail(TrustFailure::outside_root_prefixes, what,
                            "prefix " + prefix_text(r.prefix) + " is outside what root '" +
                                chain.anchor.root.name + "' is trusted for (" +
                                anchor_prefixes(chain.anchor) + ")");
        } else {
            const IssuerRecord& p = chain.issuers.back();
            if (r.prefix.empty())
                return fail(TrustFailure::outside_prefix, what,
                            "only a root may grant every agency (empty prefix), not issuer '" +
                                p.agency + "'");
            if (!prefix_covers(p.prefix, r.prefix))
                return fail(TrustFailure::outside_prefix, what,
                            "prefix " + prefix_text(r.prefix) + " is not inside issuer '" +
                                p.agency + "''s prefix " + prefix_text(p.prefix));
            if (r.max_depth >= p.max_depth)
                return fail(TrustFailure::chain_too_long, what,
                            "delegation too deep: issuer '" + p.agency + "' may delegate " +
                                std::to_string(p.max_depth) +
                                " more level(s), so it cannot grant " +
                                std::to_string(r.max_depth) + " further level(s)");
            if (r.valid_from_ms < p.valid_from_ms || r.valid_until_ms > p.valid_until_ms)
                return fail(TrustFailure::outside_validity, what,
                            "validity " + utc(r.valid_from_ms) + " to " + utc(r.valid_until_ms) +
                                " is not inside issuer '" + p.agency + "''s");
        }
        TrustFailure f{};
        if (auto st = check_window(what, r.valid_from_ms, r.valid_until_ms, m_v.now_ms, f);
            !st.ok())
            return TrustError{f, st.error()};
        auto keys = chain_keys(chain);
        keys.push_back(r.key);  // an issuer may revoke itself
        if (auto e = apply_revocations(m_v, what, r.agency, RevokedKind::issuer, r.serial,
                                       r.valid_from_ms, keys, chain))
            return *e;
        chain.issuers.push_back(r);
        chain.valid_until_ms = std::min(chain.valid_until_ms, r.valid_until_ms);
        return chain;
    }

  private:
    const TrustView& m_v;
    size_t m_max_depth;
    size_t m_trials = 0;
};

}  // namespace

TrustResult<VerifiedChain> verify_issuer_record(const IssuerRecord& r, const TrustView& view) {
    ChainBuilder b(view);
    auto chain = b.issuer(r, 1);
    if (!chain.ok()) return chain;
    VerifiedChain c = chain.value();
    c.issuers.pop_back();
    return c;
}

TrustResult<VerifiedChain> verify_node_record(const NodeRecord& r, const TrustView& view) {
    const std::string what = describe("node record", r.agency, r.serial);
    if (auto st = r.check(); !st.ok()) return TrustError{TrustFailure::malformed, st.error()};
    ChainBuilder b(view);
    auto resolved = b.resolve(r.issuer, 1);
    if (!resolved.ok()) return fail(resolved.error().failure, what, resolved.error().message);
    VerifiedChain chain = resolved.value();
    if (!verify_domain(signer_key(chain), NodeRecord::kDomain, r.body(), r.signature))
        return fail(TrustFailure::bad_signature, what,
                    "signature does not verify under the key of " + signer_name(chain) +
                        " (altered after signing, or not a node record)");
    if (!chain.anchor.speaks_for(r.agency))
        return fail(TrustFailure::outside_root_prefixes, what,
                    "root '" + chain.anchor.root.name + "' is trusted only for " +
                        anchor_prefixes(chain.anchor) + ", not for this agency");
    if (!chain.issuers.empty()) {
        const IssuerRecord& p = chain.issuers.back();
        if (!prefix_covers(p.prefix, r.agency))
            return fail(
                TrustFailure::outside_prefix, what,
                "agency is outside issuer '" + p.agency + "''s prefix " + prefix_text(p.prefix));
        if (r.valid_from_ms < p.valid_from_ms || r.valid_until_ms > p.valid_until_ms)
            return fail(TrustFailure::outside_validity, what,
                        "validity " + utc(r.valid_from_ms) + " to " + utc(r.valid_until_ms) +
                            " is not inside issuer '" + p.agency + "''s");
    }
    TrustFailure f{};
    if (auto st = check_window(what, r.valid_from_ms, r.valid_until_ms, view.now_ms, f); !st.ok())
        return TrustError{f, st.error()};
    if (auto e = apply_revocations(view, what, r.agency, RevokedKind::node, r.serial,
                                   r.valid_from_ms, chain_keys(chain), chain))
        return *e;
    chain.valid_until_ms = std::min(chain.valid_until_ms, r.valid_until_ms);
    return chain;
}

TrustResult<VerifiedChain> verify_revocation(const Revocation& r, const TrustView& view) {
    const std::string what = "revocation of '" + printable(r.agency) + "'";
    if (auto st = r.check(); !st.ok()) return TrustError{TrustFailure::malformed, st.error()};
    ChainBuilder b(view);
    auto resolved = b.resolve(r.signer, 1);
    if (!resolved.ok()) return fail(resolved.error().failure, what, resolved.error().message);
    const VerifiedChain& chain = resolved.value();
    if (!verify_domain(signer_key(chain), Revocation::kDomain, r.body(), r.signature))
        return fail(TrustFailure::bad_signature, what,
                    "signature does not verify under the key of " + signer_name(chain));
    if (r.kind == RevokedKind::node) {
        if (!chain.anchor.speaks_for(r.agency))
            return fail(TrustFailure::outside_root_prefixes, what,
                        "root '" + chain.anchor.root.name + "' is not trusted for this agency");
        if (!chain.issuers.empty() && !prefix_covers(chain.issuers.back().prefix, r.agency))
            return fail(TrustFailure::outside_prefix, what,
                        "agency is outside issuer '" + chain.issuers.back().agency + "''s prefix " +
                            prefix_text(chain.issuers.back().prefix));
    }
    return chain;
}

bool supersedes(const NodeRecord& a, const NodeRecord& b) {
    if (a.serial != b.serial) return a.serial > b.serial;
    return a.id() < b.id();
}

std::optional<size_t> select_current_record(std::string_view agency,
                                            std::span<const NodeRecord> candidates,
                                            const TrustView& view) {
    std::optional<size_t> best;
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (candidates[i].agency != agency) continue;
        if (best && !supersedes(candidates[i], candidates[*best])) continue;
        if (verify_node_record(candidates[i], view).ok()) best = i;
    }
    return best;
}

// ---- Cross-federation trust ------------------------------------------------------------

TrustResult<TrustAnchor> verify_cross_trust(const CrossTrust& r, std::span<const TrustAnchor> roots,
                                            uint64_t now_ms) {
    const std::string what = "cross-trust record of federation '" + printable(r.root.name) +
                              "' (serial " + std::to_string(r.serial) + ")";
    if (auto st = r.check(); !st.ok()) return TrustError{TrustFailure::malformed, st.error()};
    const auto signer = std::find_if(roots.begin(), roots.end(), [&](const TrustAnchor& a) {
        return a.root.id() == r.signer;
    });
    if (signer == roots.end())
        return fail(TrustFailure::unknown_issuer, what,
                    "signed by key " + short_key_id(r.signer) +
                        ", which is not a root this node trusts; only this federation's own root "
                        "may declare trust in another federation");
    if (!signer->prefixes.empty())
        return fail(TrustFailure::outside_root_prefixes, what,
                    "signed by root '" + signer->root.name +
                        "', which is trusted only for some prefixes and so cannot extend trust");
    if (!verify_domain(signer->root.key, CrossTrust::kDomain, r.body(), r.signature))
        return fail(TrustFailure::bad_signature, what,
                    "the signature does not verify under root '" + signer->root.name +
                        "' (altered or forged); ask the root's keeper for the record again");
    if (!r.withdrawn) {
        TrustFailure failure = TrustFailure::malformed;
        if (auto st = check_window(what, r.valid_from_ms, r.valid_until_ms, now_ms, failure); !st.ok())
            return TrustError{failure, st.error()};
    }
    return *signer;
}

bool supersedes(const CrossTrust& a, const CrossTrust& b) {
    if (a.serial != b.serial) return a.serial > b.serial;
    if (a.withdrawn != b.withdrawn) return a.withdrawn;  // at equal serials, ending trust wins
    return a.id() < b.id();
}

std::vector<size_t> deciding_cross_trust(std::span<const CrossTrust> records,
                                         std::span<const TrustAnchor> roots) {
    // Validity is judged by the caller: verify at a time inside every record's window.
    std::map<std::pair<KeyId, SignPublicKey>, size_t> best;
    for (size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        const auto v = verify_cross_trust(r, roots, r.valid_from_ms);
        if (!v.ok()) continue;
        const auto pair = std::make_pair(r.signer, r.root.key);
        auto it = best.find(pair);
        if (it == best.end())
            best.emplace(pair, i);
        else if (supersedes(r, records[it->second]))
            it->second = i;
    }
    std::vector<size_t> out;
    for (const auto& [pair, i] : best) out.push_back(i);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<TrustAnchor> external_anchors(std::span<const CrossTrust> records,
                                          std::span<const TrustAnchor> roots, uint64_t now_ms) {
    std::vector<TrustAnchor> out;
    for (size_t i : deciding_cross_trust(records, roots)) {
        const auto& r = records[i];
        if (r.withdrawn || now_ms < r.valid_from_ms || now_ms >= r.valid_until_ms) continue;
        const auto known = [&](const TrustAnchor& a) { return a.root.key == r.root.key; };
        if (std::any_of(roots.begin(), roots.end(), known) || std::any_of(out.begin(), out.end(), known))
            continue;
        out.push_back(r.anchor());
    }
    return out;
}

}  // namespace lienthong::protocol
