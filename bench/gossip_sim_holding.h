// What one simulated node offers in gossip, as a set that range reconciliation reads
// (protocol::ReconcileStorage) at a cost independent of the directory's size: a bitmap over
// the country's records, which are sorted in reconciliation order, with the fingerprint
// accumulator of each 64-record word and, brought up to date before a reconciliation, running
// counts and sums over the words. A range's fingerprint is the difference of two running sums
// (FingerprintAccumulator::subtract), its bounds a binary search over the country's records.
//
// Equal sets cost O(1) to compare; a node's set changes in O(1) per record; the running sums
// cost O(records / 64) to bring up to date after a change. VectorReconcileStorage, which the
// node uses, costs O(range) per fingerprint: over thousands of neighbours and records, the
// difference between minutes and days. check_against() compares the two on the same set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/reconcile.h"

namespace lienthong::bench {

class HoldingSet final : public protocol::ReconcileStorage {
  public:
    // `items`: every record's (timestamp, id), strictly increasing; `singles`: per item, the
    // accumulator of its id alone (adding one is a few word additions, not 32 byte loads).
    // Both must outlive the set.
    HoldingSet(const std::vector<protocol::ReconcileItem>* items,
               const std::vector<protocol::FingerprintAccumulator>* singles);

    bool has(size_t record) const { return (m_bits[record >> 6] >> (record & 63)) & 1; }
    void insert(size_t record);
    void erase(size_t record);
    const std::vector<uint64_t>& bits() const { return m_bits; }
    const protocol::FingerprintAccumulator& total() const { return m_total; }
    // Brings the running counts and sums up to date. REQUIRES: called after the last change
    // and before the set is read as a ReconcileStorage.
    void refresh() const;

    size_t size() const override { return m_total.count(); }
    protocol::ReconcileItem item(size_t i) const override;
    size_t lower_bound(const protocol::ReconcileBound& bound, size_t begin,
                       size_t end) const override;
    protocol::ReconcileFingerprint fingerprint(size_t begin, size_t end) const override;

    // "" when every method answers as VectorReconcileStorage does over the same items (a few
    // bounds and ranges tried per call), else what differs.
    std::string check_against(uint64_t seed) const;

  private:
    size_t word_of_rank(size_t rank) const;  // the word holding the rank-th set bit
    protocol::FingerprintAccumulator prefix(size_t rank) const;  // of the first `rank` items

    const std::vector<protocol::ReconcileItem>* m_items;
    const std::vector<protocol::FingerprintAccumulator>* m_singles;
    std::vector<uint64_t> m_bits;
    std::vector<protocol::FingerprintAccumulator> m_word_sums;
    protocol::FingerprintAccumulator m_total;
    // Running over words, size words + 1; valid when !m_stale.
    mutable std::vector<uint32_t> m_run_counts;
    mutable std::vector<protocol::FingerprintAccumulator> m_run_sums;
    mutable bool m_stale = true;
};

}  // namespace lienthong::bench
