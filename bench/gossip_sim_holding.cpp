#include "bench/gossip_sim_holding.h"

#include <algorithm>
#include <bit>

namespace lienthong::bench {

using namespace lienthong::protocol;

namespace {

// The position of the k-th set bit of `w` (k counted from 0). REQUIRES: k < popcount(w).
unsigned select_bit(uint64_t w, size_t k) {
    for (; k > 0; --k) w &= w - 1;
    return static_cast<unsigned>(std::countr_zero(w));
}

}  // namespace

HoldingSet::HoldingSet(const std::vector<ReconcileItem>* items,
                       const std::vector<FingerprintAccumulator>* singles)
    : m_items(items), m_singles(singles), m_bits((items->size() + 63) / 64, 0), m_word_sums(m_bits.size()) {}

void HoldingSet::insert(size_t record) {
    uint64_t& w = m_bits[record >> 6];
    const uint64_t mask = uint64_t{1} << (record & 63);
    if (w & mask) return;
    w |= mask;
    const FingerprintAccumulator& one = (*m_singles)[record];
    m_word_sums[record >> 6].add(one);
    m_total.add(one);
    m_stale = true;
}

void HoldingSet::erase(size_t record) {
    uint64_t& w = m_bits[record >> 6];
    const uint64_t mask = uint64_t{1} << (record & 63);
    if (!(w & mask)) return;
    w &= ~mask;
    const FingerprintAccumulator& one = (*m_singles)[record];
    m_word_sums[record >> 6].subtract(one);
    m_total.subtract(one);
    m_stale = true;
}

void HoldingSet::refresh() const {
    if (!m_stale) return;
    m_run_counts.resize(m_bits.size() + 1);
    m_run_sums.resize(m_bits.size() + 1);
    m_run_counts[0] = 0;
    m_run_sums[0] = FingerprintAccumulator();
    for (size_t w = 0; w < m_bits.size(); ++w) {
        m_run_counts[w + 1] = m_run_counts[w] + static_cast<uint32_t>(std::popcount(m_bits[w]));
        m_run_sums[w + 1] = m_run_sums[w];
        m_run_sums[w + 1].add(m_word_sums[w]);
    }
    m_stale = false;
}

size_t HoldingSet::word_of_rank(size_t rank) const {
    // The last word whose running count (items before it) is <= rank.
    const auto it = std::upper_bound(m_run_counts.begin(), m_run_counts.end(), rank);
    return static_cast<size_t>(it - m_run_counts.begin()) - 1;
}

ReconcileItem HoldingSet::item(size_t i) const {
    const size_t w = word_of_rank(i);
    return (*m_items)[w * 64 + select_bit(m_bits[w], i - m_run_counts[w])];
}

size_t HoldingSet::lower_bound(const ReconcileBound& bound, size_t begin, size_t end) const {
    const auto it = std::lower_bound(
        m_items->begin(), m_items->end(), bound,
        [](const ReconcileItem& item, const ReconcileBound& b) { return compare(item, b) < 0; });
    const size_t pos = static_cast<size_t>(it - m_items->begin());
    size_t rank = m_run_counts[pos >> 6];
    if ((pos & 63) != 0) rank += std::popcount(m_bits[pos >> 6] & ((uint64_t{1} << (pos & 63)) - 1));
    return std::clamp(rank, begin, end);
}

// The word's first items added to the running sum before it, or its last ones taken from the
// running sum after it, whichever are fewer.
FingerprintAccumulator HoldingSet::prefix(size_t rank) const {
    if (rank >= size()) return m_total;
    const size_t w = word_of_rank(rank);
    const size_t in_word = m_run_counts[w + 1] - m_run_counts[w];
    const size_t take = rank - m_run_counts[w];
    uint64_t bits = m_bits[w];
    if (take <= in_word / 2) {
        FingerprintAccumulator acc = m_run_sums[w];
        for (size_t k = 0; k < take; ++k, bits &= bits - 1)
            acc.add((*m_singles)[w * 64 + static_cast<size_t>(std::countr_zero(bits))]);
        return acc;
    }
    FingerprintAccumulator acc = m_run_sums[w + 1], tail;
    for (size_t k = take; k < in_word; ++k) {
        const size_t top = 63 - static_cast<size_t>(std::countl_zero(bits));
        tail.add((*m_singles)[w * 64 + top]);
        bits &= ~(uint64_t{1} << top);
    }
    acc.subtract(tail);
    return acc;
}

ReconcileFingerprint HoldingSet::fingerprint(size_t begin, size_t end) const {
    FingerprintAccumulator acc = prefix(end);
    acc.subtract(prefix(begin));
    return acc.finish();
}

std::string HoldingSet::check_against(uint64_t seed) const {
    refresh();
    std::vector<ReconcileItem> mine;
    for (size_t r = 0; r < m_items->size(); ++r)
        if (has(r)) mine.push_back((*m_items)[r]);
    const VectorReconcileStorage v = VectorReconcileStorage::make(mine).value();
    if (v.size() != size()) return "sizes differ";
    uint64_t s = seed;
    auto next = [&](size_t n) {  // splitmix64, as Rng
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return n == 0 ? size_t{0} : static_cast<size_t>((z ^ (z >> 31)) % n);
    };
    for (int trial = 0; trial < 16; ++trial) {
        const size_t a = next(size() + 1), b = next(size() + 1);
        const size_t begin = std::min(a, b), end = std::max(a, b);
        if (fingerprint(begin, end) != v.fingerprint(begin, end))
            return "fingerprint of [" + std::to_string(begin) + ", " + std::to_string(end) + ")";
        if (begin < size() && item(begin) != v.item(begin))
            return "item " + std::to_string(begin);
        // A bound at some record of the country, held or not, and one just below it.
        const ReconcileItem& at = (*m_items)[next(m_items->size())];
        ReconcileBound bound{at.timestamp, at.id, 32};
        if (lower_bound(bound, begin, end) != v.lower_bound(bound, begin, end))
            return "lower_bound at a record";
        bound.prefix_len = 1;
        std::fill(bound.id.begin() + 1, bound.id.end(), 0);
        if (lower_bound(bound, 0, size()) != v.lower_bound(bound, 0, size()))
            return "lower_bound at a prefix";
    }
    if (lower_bound(ReconcileBound::infinity(), 0, size()) != size()) return "lower_bound at infinity";
    return "";
}

}  // namespace lienthong::bench
