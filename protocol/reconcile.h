// Range-based set reconciliation (after negentropy, as strfry uses it): two nodes find which
// items each holds that the other lacks by exchanging fingerprints of ranges of their sets,
// splitting only the ranges whose fingerprints differ, until the ranges are small enough to
// send as id lists. A set of N items that differs in d items converges in about log_B(N) round
// trips (B = buckets) and O(d · B · log_B N) bytes, not O(N).
//
// Items are (timestamp, id) pairs ordered by timestamp, then id. A range is everything from
// the previous range's upper bound (inclusive; the first range starts at the lowest point)
// to its own upper bound (exclusive). Roles are fixed for one reconciliation:
//   the initiator (Reconciler) sends the first message and, from the responder's id lists,
//     learns both differences: "have" (ids it holds that the responder lacks) and "need"
//     (ids the responder holds that it lacks); it decides when the reconciliation is done;
//   the responder (ReconcileResponder) answers each message with the next one and learns
//     nothing itself. It keeps no state between messages.
// What to do with the differences (send the "have" items, ask for the "need" ones) is the
// caller's protocol, not this module's.
//
// Pure: no I/O, no clock, never throws. Every message is canonical msgpack (protocol/codec.h)
// and bounded by ReconcileOptions; a message from a peer that is malformed, non-canonical or
// over a bound is an error naming the problem, for the caller to count against that peer.
// A reconciliation always makes progress against an honest peer; against a lying one it ends
// with an error after ReconcileOptions::max_rounds.
//
// Thread-safety: a Reconciler or ReconcileResponder is used by one thread at a time. The
// storage is only read, through const methods; it must not change during a reconciliation.
#pragma once

#include <array>
#include <compare>
#include <optional>
#include <vector>

#include "protocol/bytes.h"

namespace lienthong::protocol {

// UINT64_MAX is reserved for the bound past every item; items use the timestamps below it.
constexpr uint64_t kReconcileMaxTimestamp = UINT64_MAX - 1;
constexpr uint64_t kReconcileVersion = 1;

struct ReconcileItem {
    uint64_t timestamp = 0;
    Hash32 id{};
    friend auto operator<=>(const ReconcileItem&, const ReconcileItem&) = default;
};

// A point in item order: a timestamp and an id prefix, padded with zero bytes to 32 bytes (so
// the bound sorts at or below every item that starts with the prefix). Bounds between two
// items are as short as possible: no prefix when the timestamps differ, else the shortest
// prefix of the upper item that exceeds the lower one.
struct ReconcileBound {
    uint64_t timestamp = 0;
    Hash32 id{};             // the prefix, zero-padded
    uint8_t prefix_len = 0;  // 0..32; only bytes before it may be non-zero
    static ReconcileBound infinity() { return {UINT64_MAX, {}, 0}; }
    bool is_infinity() const { return timestamp == UINT64_MAX; }
    // The smallest bound above `lower` and at or below `upper`. REQUIRES: lower < upper.
    static ReconcileBound between(const ReconcileItem& lower, const ReconcileItem& upper);
};
// Bounds and items compare by (timestamp, padded id); prefix_len does not take part.
std::strong_ordering compare(const ReconcileItem& item, const ReconcileBound& bound);
std::strong_ordering compare(const ReconcileBound& a, const ReconcileBound& b);

// BLAKE2b-128(key none) of "lienthong/v1/reconcile-fp" || 0 || sum || count, where sum is the
// sum of the range's ids, each read as a little-endian 256-bit integer, modulo 2^256 (32 bytes
// little-endian) and count is the number of items (8 bytes little-endian).
// Why a sum: it is incremental (an LMDB storage can keep partial sums in a tree) and, unlike
// XOR, an id present twice does not cancel out; the count and the hash keep a set with other
// ids summing to the same value from matching by chance.
// REQUIRES of the ids: they are hashes (uniformly distributed), as record and message ids are.
// A sum is linear, so structured ids (counters, long shared prefixes with a few varying bytes)
// make different ranges sum alike, and the difference then goes unseen. Someone who can choose
// ids freely can search for such sets too; with hash ids that means searching hash outputs.
using ReconcileFingerprint = std::array<uint8_t, 16>;

class FingerprintAccumulator {
  public:
    void add(const Hash32& id);
    // Partial sums: a storage that keeps the accumulators of prefixes of its set fingerprints
    // any range as the difference of two (the end's minus the start's), without reading the
    // range. subtract REQUIRES: `part` accumulated a subset of the ids accumulated here.
    void add(const FingerprintAccumulator& other);
    void subtract(const FingerprintAccumulator& part);
    uint64_t count() const { return m_count; }
    ReconcileFingerprint finish() const;

  private:
    std::array<uint64_t, 4> m_sum{};  // little-endian limbs
    uint64_t m_count = 0;
};

// What the reconciliation reads: a set of items in strictly increasing (timestamp, id) order,
// by index, every timestamp at most kReconcileMaxTimestamp.
class ReconcileStorage {
  public:
    virtual ~ReconcileStorage() = default;
    virtual size_t size() const = 0;
    // REQUIRES: i < size()
    virtual ReconcileItem item(size_t i) const = 0;
    // The first index in [begin, end) whose item is not below `bound`, or `end`.
    // REQUIRES: begin <= end <= size()
    virtual size_t lower_bound(const ReconcileBound& bound, size_t begin, size_t end) const = 0;
    // The fingerprint of the items [begin, end), as FingerprintAccumulator computes it.
    // REQUIRES: begin <= end <= size()
    virtual ReconcileFingerprint fingerprint(size_t begin, size_t end) const = 0;
};

// A set held in a sorted vector.
class VectorReconcileStorage final : public ReconcileStorage {
  public:
    // Sorts `items` and drops exact duplicates; refuses a timestamp above
    // kReconcileMaxTimestamp.
    static Result<VectorReconcileStorage> make(std::vector<ReconcileItem> items);

    size_t size() const override { return m_items.size(); }
    ReconcileItem item(size_t i) const override { return m_items[i]; }
    size_t lower_bound(const ReconcileBound& bound, size_t begin, size_t end) const override;
    ReconcileFingerprint fingerprint(size_t begin, size_t end) const override;

  private:
    std::vector<ReconcileItem> m_items;
};

struct ReconcileOptions {
    // Largest message either side writes or accepts. At least kMinMessageBytes (a smaller
    // value counts as that). Work that does not fit is left to the next round.
    size_t max_message_bytes = 256u << 10;
    static constexpr size_t kMinMessageBytes = 4096;
    // Most ranges in one message (at least 64).
    size_t max_ranges = 8192;
    // Most ids in one message's id lists together (at least 64).
    size_t max_ids = 8192;
    // How many ranges a range whose fingerprints differ is split into (2..32).
    size_t buckets = 16;
    // A range of at most this many items is sent as its ids instead of split (buckets..64).
    size_t id_list_threshold = 30;
    // The initiator gives up with an error after this many messages from the responder. One
    // side holding N items the other lacks takes about N / (max_message_bytes / 34) rounds.
    size_t max_rounds = 256;
};

// The messages, decoded. One message:
//   [ version = 1 : uint, [ range... ] ]
//   range = [ ts : uint, prefix : bin(0..32), mode = 0 : uint ]                  skip
//         | [ ts : uint, prefix : bin(0..32), mode = 1 : uint, fp : bin(16) ]    fingerprint
//         | [ ts : uint, prefix : bin(0..32), mode = 2 : uint, [id : bin(32)...] ]  id list
// Each range gives its upper bound: ts = 0 for infinity (with an empty prefix; only the last
// range), else 1 + (timestamp - the previous range's timestamp, 0 for the first); prefix as in
// ReconcileBound, never ending in a zero byte. Bounds strictly increase. Past the last range
// everything is skipped, so a message never ends with a skip, and two skips never follow each
// other. A skip says "nothing to do here", a fingerprint "this is what I hold here", an id list
// "these are every id I hold here" (all of them: a responder that cannot fit them ends the list
// early with a lower bound and follows it with a fingerprint of the rest).
// The initiator settles a range when the responder lists its ids there, and is done when it
// has nothing left to say (the responder answers a message of equal fingerprints with [1, []]).
// A message that runs out of room ends with a fingerprint from where it stopped to infinity.
enum class RangeMode : uint8_t { skip = 0, fingerprint = 1, id_list = 2 };

struct ReconcileRange {
    ReconcileBound upper;
    RangeMode mode = RangeMode::skip;
    ReconcileFingerprint fingerprint{};  // mode fingerprint
    std::vector<Hash32> ids;             // mode id_list
};

struct ReconcileMessage {
    std::vector<ReconcileRange> ranges;
};

// REQUIRES: `m` follows the rules above (what decode_reconcile_message accepts).
Bytes encode_reconcile_message(const ReconcileMessage& m);
Result<ReconcileMessage> decode_reconcile_message(ByteView bytes, const ReconcileOptions& options);

// The initiator's side.
class Reconciler {
  public:
    // `storage` must outlive the Reconciler.
    explicit Reconciler(const ReconcileStorage& storage, ReconcileOptions options = {});

    // The first message: one fingerprint of the whole set (so that equal sets, the common case
    // in gossip, cost one small round trip). Starts over if called again.
    Bytes initiate();
    // Reads the responder's answer, appends the differences it settles to `have` and `need`,
    // and returns the next message to send, or nullopt when every range is settled. Over one
    // reconciliation each id is appended once: a message that runs out of room ends with one
    // fingerprint of everything after it, ranges already settled included, so a range can be
    // settled twice, and the ids it yields again are dropped.
    // REQUIRES: initiate() was called. Errors: a malformed or oversize message, too many rounds.
    Result<std::optional<Bytes>> reconcile(ByteView msg, std::vector<Hash32>& have,
                                           std::vector<Hash32>& need);

  private:
    // Keeps the ids of v[from..] not yet reported in this reconciliation, each once, and
    // records them as reported.
    void keep_unreported(std::vector<Hash32>& v, size_t from);

    const ReconcileStorage& m_storage;
    ReconcileOptions m_options;
    bool m_initiated = false;
    size_t m_rounds = 0;
    std::vector<Hash32> m_reported;  // sorted: every id appended to have or need so far
};

// The responder's side.
class ReconcileResponder {
  public:
    // `storage` must outlive the ReconcileResponder.
    explicit ReconcileResponder(const ReconcileStorage& storage, ReconcileOptions options = {});

    // The answer to one message from the initiator. Errors: a malformed or oversize message.
    Result<Bytes> respond(ByteView msg) const;

  private:
    const ReconcileStorage& m_storage;
    ReconcileOptions m_options;
};

}  // namespace lienthong::protocol
