// The simulated country of lienthong-gossip-sim: P provinces, each a federation with its own
// root key (1 province node, its districts as issuers, the communes under them), and every
// directory record of the run, real and signed: per province a root; one issuer record per
// district delegating its prefix; a node record per agency; with several provinces, each
// root's cross-trust record for every other province's root (its code prefix only), as
// `lienthong-admin root trust` makes them; one revocation of a commune; one key rotation (a
// commune's record of serial 2 with new keys); one forged commune record.
//
// Deterministic given the seed: keys are seeded Ed25519 key pairs (signatures are
// deterministic), the tree comes from a seeded splitmix64.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/cross_trust.h"
#include "protocol/frame.h"
#include "protocol/reconcile.h"
#include "protocol/trust.h"

namespace lienthong::bench {

constexpr uint64_t kNow = 1764000000000ull;  // the one instant every verification uses
constexpr uint64_t kDay = 86400000ull;
constexpr uint32_t kNone = UINT32_MAX;

// splitmix64: small, and the same sequence on every platform (std distributions are not).
class Rng {
  public:
    explicit Rng(uint64_t seed) : m_s(seed) {}
    uint64_t next() {
        uint64_t z = (m_s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return static_cast<size_t>(next() % n); }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    template <class T>
    void shuffle(std::vector<T>& v) {
        for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
    }

  private:
    uint64_t m_s;
};

[[noreturn]] inline void fail(const std::string& what) {
    throw std::runtime_error(what);
}

template <class T>
T must(Result<T> r, const std::string& what) {
    if (!r.ok()) fail(what + ": " + r.error());
    return std::move(r).value();
}

struct Record {
    protocol::Hash32 id{};
    protocol::DirRecordKind kind = protocol::DirRecordKind::node;
    protocol::Bytes wire;
    // When the record took effect (valid_from_ms, or revoked_at_ms for a revocation): the
    // timestamp range reconciliation orders records by.
    uint64_t timestamp = 0;
    uint32_t province = 0;       // whose root the record's chain ends at (cross-trust: the signer)
    uint32_t agency = kNone;     // node, issuer record, revocation: the agency it is about
    uint32_t target = kNone;     // cross-trust: the province whose root it trusts
    uint32_t supersedes = kNone;  // a node record of serial 2: the record it replaces
};

// Every record of the run, sorted by (timestamp, id): the order range reconciliation walks, so
// a node's set is a bitmap over this list and its n-th set bit is its n-th item.
struct Country {
    size_t provinces = 1;
    std::vector<protocol::TrustAnchor> roots;  // per province: its root, trusted for everything
    std::vector<std::string> agencies;  // 0..P-1 province nodes, then districts, then communes
    std::vector<uint32_t> province_of;  // per agency
    std::vector<uint32_t> district_of;  // per agency: a commune's district, else its province node
    std::vector<Record> records;
    std::vector<protocol::ReconcileItem> items;  // per record: (timestamp, id)
    std::vector<protocol::FingerprintAccumulator> singles;  // per record: of its id alone
    std::vector<uint32_t> by_id;                 // record indices in id order
    std::unordered_map<uint64_t, uint32_t> by_prefix;  // first 8 bytes of an id: its record
    std::vector<uint32_t> node_record;           // per agency: its node record
    std::vector<uint32_t> issuer_record;         // per agency: a district's issuer record
    std::vector<uint32_t> cross;                 // [P * p + q]: p's root trusting q's, or kNone
    // The records the verification of each record may consult besides cross-trust: issuer
    // records and revocations about the agencies of its chain (trust_verify.cpp looks issuers
    // up by key and applies revocations by agency, so no other record can change its outcome).
    std::vector<std::vector<uint32_t>> relevant;
    std::vector<std::vector<uint64_t>> full;  // per province: the bitmap every node ends with
    size_t full_count = 0;                    // node and issuer records (and P - 1 cross-trust)
    uint32_t revoked_agency = 0;              // a commune
    uint32_t revocation = 0;                  // its revocation, by its district's issuer
    uint32_t rotated_agency = 0;              // another commune
    uint32_t rotation = 0;                    // its record of serial 2, new keys
    uint32_t forged = 0;  // a commune record with another endpoint, the real one's signature

    bool is_authority(size_t r) const { return records[r].kind != protocol::DirRecordKind::node; }
    // Index of the record with this id, or kNone.
    uint32_t find(const protocol::Hash32& id) const;
};

// REQUIRES: n_nodes >= provinces * 3. Districts are at least one per province.
Country make_country(size_t n_nodes, size_t provinces, size_t want_districts, uint64_t seed,
                     Rng& rng);

// Bitmaps over Country::records.
inline bool bit(const std::vector<uint64_t>& words, size_t i) {
    return (words[i >> 6] >> (i & 63)) & 1;
}
inline void set_bit(std::vector<uint64_t>& words, size_t i) {
    words[i >> 6] |= uint64_t{1} << (i & 63);
}

}  // namespace lienthong::bench
