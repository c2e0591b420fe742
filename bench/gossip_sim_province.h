// The simulated province of lienthong-gossip-sim: its agencies (1 province, D districts, the
// communes under them), and every directory record of the run, real and signed: a root key,
// one issuer record per district delegating its prefix, a node record per agency, one
// revocation of a commune and one forged commune record.
//
// Deterministic given the seed: keys are seeded Ed25519 key pairs (signatures are
// deterministic), the tree comes from a seeded splitmix64.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/trust.h"

namespace lienthong::bench {

constexpr uint64_t kNow = 1764000000000ull;  // the one instant every verification uses
constexpr uint64_t kDay = 86400000ull;

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
};

// Every record of the run, sorted by id, so a node's set is a bitmap over this list and
// walking the bitmap gives the ids in the order a node's std::map holds them.
struct Province {
    std::vector<protocol::TrustAnchor> roots;
    std::vector<std::string> agencies;  // 0 province, 1..D districts, then communes
    std::vector<size_t> district_of;    // per agency: 0 province, else its district's agency index
    std::vector<Record> records;
    std::vector<size_t> node_record;    // per agency: its node record
    std::vector<size_t> issuer_record;  // per agency: a district's issuer record, else SIZE_MAX
    std::vector<uint8_t> full;          // the node and issuer records: what everyone must hold
    size_t full_count = 0;
    size_t revoked_agency = 0;  // a commune
    size_t revocation = 0;      // its revocation, signed by its district's issuer
    size_t forged = 0;          // a commune record with another endpoint, old signature
};

// REQUIRES: n_nodes >= 3.
Province make_province(size_t n_nodes, size_t want_districts, uint64_t seed, Rng& rng);

}  // namespace lienthong::bench
