#include "protocol/reconcile.h"

#include <sodium.h>

#include <algorithm>
#include <iterator>
#include <string>

#include "protocol/codec.h"

namespace lienthong::protocol {

namespace {

constexpr std::string_view kContext = "reconcile message";
constexpr std::string_view kFingerprintDomain = "lienthong/v1/reconcile-fp";
constexpr size_t kIdBytes = sizeof(Hash32);

ReconcileOptions normalized(ReconcileOptions o) {
    o.max_message_bytes = std::max(o.max_message_bytes, ReconcileOptions::kMinMessageBytes);
    o.max_ranges = std::max<size_t>(o.max_ranges, 64);
    o.max_ids = std::max<size_t>(o.max_ids, 64);
    o.buckets = std::clamp<size_t>(o.buckets, 2, 32);
    o.id_list_threshold = std::clamp<size_t>(o.id_list_threshold, o.buckets, 64);
    o.max_rounds = std::max<size_t>(o.max_rounds, 1);
    return o;
}

// ---- Sizes of the encoding, as Writer produces it ---------------------------------------------

size_t uint_size(uint64_t v) {
    return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : v <= 0xffffffffull ? 5 : 9;
}
size_t array_header_size(size_t n) {
    return n < 16 ? 1 : n < 65536 ? 3 : 5;
}
size_t bin_size(size_t n) {
    return (n < 256 ? 2 : n < 65536 ? 3 : 5) + n;
}

// The encoded upper bound's timestamp: 0 for infinity, else 1 + the step from the previous one.
uint64_t timestamp_code(const ReconcileBound& b, uint64_t previous) {
    return b.is_infinity() ? 0 : 1 + (b.timestamp - previous);
}

size_t range_size(const ReconcileRange& r, uint64_t previous_timestamp) {
    size_t n = 1 + uint_size(timestamp_code(r.upper, previous_timestamp)) +
               bin_size(r.upper.prefix_len) + 1;
    if (r.mode == RangeMode::fingerprint) n += bin_size(sizeof(ReconcileFingerprint));
    if (r.mode == RangeMode::id_list)
        n += array_header_size(r.ids.size()) + r.ids.size() * bin_size(kIdBytes);
    return n;
}

// The largest a range's fixed part can be (a 9-byte timestamp, a 32-byte prefix).
constexpr size_t kMaxBoundedRange = 1 + 9 + (2 + kIdBytes) + 1;
// Root array, version, the range list's header (at most 5 bytes).
constexpr size_t kMaxHeader = 1 + 1 + 5;
// What closing a message may add: a held-back skip, then a fingerprint of the rest up to
// infinity (0 timestamp, empty prefix).
constexpr size_t kCloseReserve = kMaxBoundedRange + (1 + 1 + 2 + 1 + 2 + 16);

// ---- Building one outgoing message ------------------------------------------------------------

// Collects one outgoing message within the byte, range and id bounds. A skip is held back until
// something follows it, so a message never ends with one and consecutive skips merge.
class MessageBuilder {
  public:
    explicit MessageBuilder(const ReconcileOptions& o) : m_o(o) {}

    bool empty() const { return m_msg.ranges.empty(); }
    void skip_to(const ReconcileBound& upper) { m_pending_skip = upper; }

    // Whether `ranges` fit after what is there, leaving room to close the message.
    bool fits(const std::vector<ReconcileRange>& ranges) const {
        size_t bytes = m_bytes + pending_skip_bytes();
        size_t count = m_msg.ranges.size() + (m_pending_skip ? 1 : 0) + ranges.size();
        size_t ids = m_ids;
        uint64_t last = m_pending_skip ? m_pending_skip->timestamp : m_last_timestamp;
        for (const auto& r : ranges) {
            bytes += range_size(r, last);
            ids += r.ids.size();
            if (!r.upper.is_infinity()) last = r.upper.timestamp;
        }
        return kMaxHeader + bytes + kCloseReserve <= m_o.max_message_bytes &&
               count + 2 <= m_o.max_ranges && ids <= m_o.max_ids;
    }

    // How many ids one more id list could hold, whatever its bound.
    size_t ids_that_fit() const {
        const size_t used = kMaxHeader + m_bytes + pending_skip_bytes() + kCloseReserve +
                            kMaxBoundedRange + array_header_size(SIZE_MAX);
        if (used >= m_o.max_message_bytes) return 0;
        return std::min((m_o.max_message_bytes - used) / bin_size(kIdBytes), m_o.max_ids - m_ids);
    }

    void append(std::vector<ReconcileRange>& ranges) {
        flush_skip();
        for (auto& r : ranges) push(std::move(r));
    }

    // Ends the message with a fingerprint of everything from the last bound written (or held
    // back) to infinity: the work this message leaves to the next round.
    void close_with(const ReconcileFingerprint& rest) {
        flush_skip();
        ReconcileRange r;
        r.upper = ReconcileBound::infinity();
        r.mode = RangeMode::fingerprint;
        r.fingerprint = rest;
        push(std::move(r));
    }

    ReconcileMessage take() { return std::move(m_msg); }

  private:
    size_t pending_skip_bytes() const {
        if (!m_pending_skip) return 0;
        ReconcileRange skip;
        skip.upper = *m_pending_skip;
        return range_size(skip, m_last_timestamp);
    }
    void flush_skip() {
        if (!m_pending_skip) return;
        ReconcileRange skip;
        skip.upper = *m_pending_skip;
        m_pending_skip.reset();
        push(std::move(skip));
    }
    void push(ReconcileRange r) {
        m_bytes += range_size(r, m_last_timestamp);
        m_ids += r.ids.size();
        if (!r.upper.is_infinity()) m_last_timestamp = r.upper.timestamp;
        m_msg.ranges.push_back(std::move(r));
    }

    const ReconcileOptions& m_o;
    ReconcileMessage m_msg;
    std::optional<ReconcileBound> m_pending_skip;
    size_t m_bytes = 0;  // of the ranges so far
    size_t m_ids = 0;
    uint64_t m_last_timestamp = 0;
};

// ---- The algorithm, shared by both roles ------------------------------------------------------

// Describes the items [lower, upper), which end at `upper_bound`: their ids when they are few,
// else `buckets` fingerprints of (nearly) equal numbers of items.
void split_range(const ReconcileStorage& s, const ReconcileOptions& o, size_t lower, size_t upper,
                 const ReconcileBound& upper_bound, std::vector<ReconcileRange>& out) {
    const size_t n = upper - lower;
    if (n <= o.id_list_threshold) {
        ReconcileRange r;
        r.upper = upper_bound;
        r.mode = RangeMode::id_list;
        r.ids.reserve(n);
        for (size_t i = lower; i < upper; ++i) r.ids.push_back(s.item(i).id);
        out.push_back(std::move(r));
        return;
    }
    // n > id_list_threshold >= buckets: every bucket holds at least one item.
    const size_t per_bucket = n / o.buckets;
    const size_t extra = n % o.buckets;
    size_t begin = lower;
    for (size_t b = 0; b < o.buckets; ++b) {
        const size_t end = begin + per_bucket + (b < extra ? 1 : 0);
        ReconcileRange r;
        r.mode = RangeMode::fingerprint;
        r.fingerprint = s.fingerprint(begin, end);
        r.upper =
            end == upper ? upper_bound : ReconcileBound::between(s.item(end - 1), s.item(end));
        out.push_back(std::move(r));
        begin = end;
    }
}

// The initiator's conclusion from the responder's every id in [lower, upper).
void settle(const ReconcileStorage& s, size_t lower, size_t upper, std::vector<Hash32> theirs,
            std::vector<Hash32>& have, std::vector<Hash32>& need) {
    std::vector<Hash32> ours;
    ours.reserve(upper - lower);
    for (size_t i = lower; i < upper; ++i) ours.push_back(s.item(i).id);
    std::sort(ours.begin(), ours.end());
    std::sort(theirs.begin(), theirs.end());
    std::set_difference(ours.begin(), ours.end(), theirs.begin(), theirs.end(),
                        std::back_inserter(have));
    std::set_difference(theirs.begin(), theirs.end(), ours.begin(), ours.end(),
                        std::back_inserter(need));
}

// The next message in answer to `in`. The initiator (have and need given) settles the ranges the
// responder listed; the responder lists its ids where the initiator did. A range whose
// fingerprints differ is split further by either side.
ReconcileMessage answer(const ReconcileStorage& s, const ReconcileOptions& o,
                        const ReconcileMessage& in, std::vector<Hash32>* have,
                        std::vector<Hash32>* need) {
    const bool initiator = have != nullptr;
    const size_t size = s.size();
    MessageBuilder out(o);
    size_t prev_index = 0;
    for (const ReconcileRange& r : in.ranges) {
        const size_t lower = prev_index;
        const size_t upper = s.lower_bound(r.upper, lower, size);
        std::vector<ReconcileRange> next;
        size_t listed_to = upper;  // the responder's id list may stop early
        bool settled = false;
        switch (r.mode) {
            case RangeMode::skip:
                settled = true;
                break;
            case RangeMode::fingerprint:
                if (s.fingerprint(lower, upper) == r.fingerprint)
                    settled = true;
                else
                    split_range(s, o, lower, upper, r.upper, next);
                break;
            case RangeMode::id_list:
                if (initiator) {
                    settle(s, lower, upper, r.ids, *have, *need);
                    settled = true;
                    break;
                }
                {
                    listed_to = std::min(upper, lower + out.ids_that_fit());
                    // Normalized options leave room for ids in a message that is still empty.
                    if (listed_to == lower && upper > lower && out.empty()) listed_to = lower + 1;
                    ReconcileRange list;
                    list.mode = RangeMode::id_list;
                    list.upper = listed_to == upper ? r.upper
                                                    : ReconcileBound::between(s.item(listed_to - 1),
                                                                              s.item(listed_to));
                    for (size_t i = lower; i < listed_to; ++i) list.ids.push_back(s.item(i).id);
                    if (listed_to > lower || upper == lower) next.push_back(std::move(list));
                }
                break;
        }
        if (settled) {
            out.skip_to(r.upper);
        } else {
            // A range whose answer does not fit, and everything after it, is left to the next
            // round as one fingerprint. The first answer always fits, so each round progresses.
            if (next.empty() || (!out.empty() && !out.fits(next))) {
                out.close_with(s.fingerprint(lower, size));
                break;
            }
            out.append(next);
            if (listed_to < upper) {
                out.close_with(s.fingerprint(listed_to, size));
                break;
            }
        }
        prev_index = upper;
    }
    return out.take();
}

}  // namespace

// ---- Bounds and fingerprints ------------------------------------------------------------------

ReconcileBound ReconcileBound::between(const ReconcileItem& lower, const ReconcileItem& upper) {
    ReconcileBound b;
    b.timestamp = upper.timestamp;
    if (lower.timestamp != upper.timestamp) return b;
    size_t shared = 0;
    while (shared < kIdBytes && lower.id[shared] == upper.id[shared]) ++shared;
    // Equal items break the REQUIRES; the bound is then the item itself, which the peer refuses
    // as not above the previous bound.
    b.prefix_len = static_cast<uint8_t>(std::min(shared + 1, kIdBytes));
    std::copy_n(upper.id.begin(), b.prefix_len, b.id.begin());
    return b;
}

std::strong_ordering compare(const ReconcileItem& item, const ReconcileBound& bound) {
    if (item.timestamp != bound.timestamp) return item.timestamp <=> bound.timestamp;
    return item.id <=> bound.id;
}

std::strong_ordering compare(const ReconcileBound& a, const ReconcileBound& b) {
    if (a.timestamp != b.timestamp) return a.timestamp <=> b.timestamp;
    return a.id <=> b.id;
}

void FingerprintAccumulator::add(const Hash32& id) {
    uint64_t carry = 0;
    for (size_t limb = 0; limb < m_sum.size(); ++limb) {
        uint64_t v = 0;
        for (size_t k = 0; k < 8; ++k) v |= static_cast<uint64_t>(id[limb * 8 + k]) << (8 * k);
        const uint64_t partial = m_sum[limb] + v;
        const uint64_t total = partial + carry;
        carry = (partial < v || total < partial) ? 1 : 0;
        m_sum[limb] = total;
    }
    ++m_count;
}

void FingerprintAccumulator::add(const FingerprintAccumulator& other) {
    uint64_t carry = 0;
    for (size_t limb = 0; limb < m_sum.size(); ++limb) {
        const uint64_t partial = m_sum[limb] + other.m_sum[limb];
        const uint64_t total = partial + carry;
        carry = (partial < other.m_sum[limb] || total < partial) ? 1 : 0;
        m_sum[limb] = total;
    }
    m_count += other.m_count;
}

void FingerprintAccumulator::subtract(const FingerprintAccumulator& part) {
    uint64_t borrow = 0;
    for (size_t limb = 0; limb < m_sum.size(); ++limb) {
        const uint64_t partial = m_sum[limb] - part.m_sum[limb];
        const uint64_t total = partial - borrow;
        borrow = (m_sum[limb] < part.m_sum[limb] || partial < borrow) ? 1 : 0;
        m_sum[limb] = total;
    }
    m_count -= part.m_count;
}

ReconcileFingerprint FingerprintAccumulator::finish() const {
    uint8_t input[32 + 8];
    for (size_t limb = 0; limb < m_sum.size(); ++limb)
        for (size_t k = 0; k < 8; ++k)
            input[limb * 8 + k] = static_cast<uint8_t>(m_sum[limb] >> (8 * k));
    for (size_t k = 0; k < 8; ++k) input[32 + k] = static_cast<uint8_t>(m_count >> (8 * k));
    ReconcileFingerprint out{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, out.size());
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kFingerprintDomain.data()),
                              kFingerprintDomain.size());
    const uint8_t sep = 0;
    crypto_generichash_update(&st, &sep, 1);
    crypto_generichash_update(&st, input, sizeof input);
    crypto_generichash_final(&st, out.data(), out.size());
    return out;
}

// ---- The in-memory storage --------------------------------------------------------------------

Result<VectorReconcileStorage> VectorReconcileStorage::make(std::vector<ReconcileItem> items) {
    for (const auto& item : items)
        if (item.timestamp > kReconcileMaxTimestamp)
            return make_error("reconcile storage: timestamp " + std::to_string(item.timestamp) +
                              " is reserved for the bound past every item; use a smaller one");
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    VectorReconcileStorage s;
    s.m_items = std::move(items);
    return s;
}

size_t VectorReconcileStorage::lower_bound(const ReconcileBound& bound, size_t begin,
                                           size_t end) const {
    const auto it = std::lower_bound(
        m_items.begin() + static_cast<ptrdiff_t>(begin),
        m_items.begin() + static_cast<ptrdiff_t>(end), bound,
        [](const ReconcileItem& item, const ReconcileBound& b) { return compare(item, b) < 0; });
    return static_cast<size_t>(it - m_items.begin());
}

ReconcileFingerprint VectorReconcileStorage::fingerprint(size_t begin, size_t end) const {
    FingerprintAccumulator acc;
    for (size_t i = begin; i < end; ++i) acc.add(m_items[i].id);
    return acc.finish();
}

// ---- The wire form ----------------------------------------------------------------------------

Bytes encode_reconcile_message(const ReconcileMessage& m) {
    Writer w;
    w.array(2).u64(kReconcileVersion).array(m.ranges.size());
    uint64_t previous = 0;
    for (const auto& r : m.ranges) {
        w.array(r.mode == RangeMode::skip ? 3 : 4)
            .u64(timestamp_code(r.upper, previous))
            .bin(ByteView(r.upper.id.data(), r.upper.prefix_len))
            .u64(static_cast<uint64_t>(r.mode));
        if (r.mode == RangeMode::fingerprint) w.bin(r.fingerprint);
        if (r.mode == RangeMode::id_list) {
            w.array(r.ids.size());
            for (const auto& id : r.ids) w.bin(id);
        }
        if (!r.upper.is_infinity()) previous = r.upper.timestamp;
    }
    return w.take();
}

Result<ReconcileMessage> decode_reconcile_message(ByteView bytes, const ReconcileOptions& options) {
    const ReconcileOptions o = normalized(options);
    DecodeLimits limits;
    limits.max_bytes = o.max_message_bytes;
    limits.max_array = std::max(o.max_ranges, o.max_ids);
    limits.max_str = 0;
    limits.max_bin = kIdBytes;
    limits.max_depth = 4;
    LT_ASSIGN(const Decoded decoded, Decoded::parse(bytes, kContext, limits));
    ArrayReader root = decoded.root();
    LT_ASSIGN(const uint64_t version, root.u64("version"));
    if (version != kReconcileVersion)
        return make_error(std::string(kContext) + ": version " + std::to_string(version) +
                          " is not supported (this node speaks version " +
                          std::to_string(kReconcileVersion) + ")");
    LT_ASSIGN(ArrayReader ranges, root.array("ranges", o.max_ranges));
    LT_TRY(root.finish());

    ReconcileMessage m;
    m.ranges.reserve(ranges.size());
    ReconcileBound previous;  // the lowest point: where the first range starts
    size_t ids = 0;
    for (size_t i = 0; i < ranges.size(); ++i) {
        const std::string what = "range " + std::to_string(i);
        auto fail = [&](const std::string& problem) {
            return make_error(std::string(kContext) + ": " + what + " " + problem);
        };
        if (previous.is_infinity()) return fail("follows the range that ends at infinity");
        LT_ASSIGN(ArrayReader fields, ranges.array(what, 4));
        LT_ASSIGN(const uint64_t code, fields.u64("timestamp"));
        LT_ASSIGN(const ByteView prefix, fields.bin("id prefix", kIdBytes));
        LT_ASSIGN(const uint64_t mode, fields.u64("mode"));
        ReconcileRange r;
        if (code == 0) {
            if (!prefix.empty()) return fail("ends at infinity but has an id prefix");
            r.upper = ReconcileBound::infinity();
        } else {
            if (code - 1 > kReconcileMaxTimestamp - previous.timestamp)
                return fail("has a timestamp past " + std::to_string(kReconcileMaxTimestamp));
            if (!prefix.empty() && prefix.back() == 0)
                return fail("has an id prefix ending in a zero byte (not the shortest form)");
            r.upper.timestamp = previous.timestamp + (code - 1);
            r.upper.prefix_len = static_cast<uint8_t>(prefix.size());
            std::copy(prefix.begin(), prefix.end(), r.upper.id.begin());
        }
        if (compare(r.upper, previous) <= 0) return fail("has a bound not above the previous one");
        switch (mode) {
            case static_cast<uint64_t>(RangeMode::skip):
                if (!m.ranges.empty() && m.ranges.back().mode == RangeMode::skip)
                    return fail("is a skip following a skip (they are one range)");
                r.mode = RangeMode::skip;
                break;
            case static_cast<uint64_t>(RangeMode::fingerprint): {
                r.mode = RangeMode::fingerprint;
                LT_ASSIGN(r.fingerprint, fields.fixed<sizeof(ReconcileFingerprint)>("fingerprint"));
                break;
            }
            case static_cast<uint64_t>(RangeMode::id_list): {
                r.mode = RangeMode::id_list;
                LT_ASSIGN(ArrayReader list, fields.array("ids", o.max_ids - ids));
                r.ids.reserve(list.size());
                while (list.remaining() > 0) {
                    LT_ASSIGN(const Hash32 id, list.fixed<kIdBytes>("id"));
                    r.ids.push_back(id);
                }
                ids += r.ids.size();
                std::vector<Hash32> sorted = r.ids;
                std::sort(sorted.begin(), sorted.end());
                if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
                    return fail("lists an id twice");
                break;
            }
            default:
                return fail("has unknown mode " + std::to_string(mode));
        }
        LT_TRY(fields.finish());
        previous = r.upper;
        m.ranges.push_back(std::move(r));
    }
    if (!m.ranges.empty() && m.ranges.back().mode == RangeMode::skip)
        return make_error(std::string(kContext) +
                          ": ends with a skip (everything past the last range is skipped)");
    return m;
}

// ---- The two roles ----------------------------------------------------------------------------

Reconciler::Reconciler(const ReconcileStorage& storage, ReconcileOptions options)
    : m_storage(storage), m_options(normalized(options)) {}

Bytes Reconciler::initiate() {
    m_initiated = true;
    m_rounds = 0;
    m_reported.clear();
    ReconcileMessage m;
    ReconcileRange all;
    all.upper = ReconcileBound::infinity();
    all.mode = RangeMode::fingerprint;
    all.fingerprint = m_storage.fingerprint(0, m_storage.size());
    m.ranges.push_back(std::move(all));
    return encode_reconcile_message(m);
}

Result<std::optional<Bytes>> Reconciler::reconcile(ByteView msg, std::vector<Hash32>& have,
                                                   std::vector<Hash32>& need) {
    if (!m_initiated)
        return make_error("reconcile: no reconciliation running; call initiate() first");
    if (++m_rounds > m_options.max_rounds)
        return make_error("reconcile: no agreement after " + std::to_string(m_options.max_rounds) +
                          " rounds; the peer may be misbehaving, or max_rounds is too low for "
                          "the sets' difference");
    LT_ASSIGN(const ReconcileMessage in, decode_reconcile_message(msg, m_options));
    const size_t have_before = have.size(), need_before = need.size();
    ReconcileMessage out = answer(m_storage, m_options, in, &have, &need);
    keep_unreported(have, have_before);
    keep_unreported(need, need_before);
    if (out.ranges.empty()) {
        m_initiated = false;
        return std::optional<Bytes>();
    }
    return std::optional<Bytes>(encode_reconcile_message(out));
}

void Reconciler::keep_unreported(std::vector<Hash32>& v, size_t from) {
    const auto first = v.begin() + static_cast<ptrdiff_t>(from);
    std::sort(first, v.end());
    auto last = std::unique(first, v.end());
    last = std::remove_if(first, last, [&](const Hash32& id) {
        return std::binary_search(m_reported.begin(), m_reported.end(), id);
    });
    v.erase(last, v.end());
    const size_t old_size = m_reported.size();
    m_reported.insert(m_reported.end(), v.begin() + static_cast<ptrdiff_t>(from), v.end());
    std::inplace_merge(m_reported.begin(), m_reported.begin() + static_cast<ptrdiff_t>(old_size),
                       m_reported.end());
}

ReconcileResponder::ReconcileResponder(const ReconcileStorage& storage, ReconcileOptions options)
    : m_storage(storage), m_options(normalized(options)) {}

Result<Bytes> ReconcileResponder::respond(ByteView msg) const {
    LT_ASSIGN(const ReconcileMessage in, decode_reconcile_message(msg, m_options));
    return encode_reconcile_message(answer(m_storage, m_options, in, nullptr, nullptr));
}

}  // namespace lienthong::protocol
