// Fuzz target: a range-reconciliation message from a peer (protocol/reconcile.h), as both the
// responder and the initiator read it, over a fixed set of 200 items.
// Invariants: anything decode accepts re-encodes to exactly the input (one canonical form);
// neither side crashes or answers with a message over its size limit; every "have" id the
// initiator reports is one it holds.
#include "fuzz_target.h"

#include <algorithm>

#include "protocol/reconcile.h"

using namespace lienthong::protocol;

namespace {

const VectorReconcileStorage& storage() {
    static const VectorReconcileStorage s = [] {
        std::vector<ReconcileItem> items;
        for (uint64_t i = 0; i < 200; ++i) {
            Hash32 id{};
            for (size_t b = 0; b < id.size(); ++b) id[b] = static_cast<uint8_t>((i * 131 + b * 17) ^ (i >> 3));
            items.push_back({1764000000000ull + i * 1000 / 3, id});
        }
        auto made = VectorReconcileStorage::make(std::move(items));
        if (!made.ok()) std::abort();
        return std::move(made).value();
    }();
    return s;
}

ReconcileOptions options() {
    ReconcileOptions o;
    o.max_message_bytes = 16 * 1024;
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView msg(data, size);
    const auto opts = options();
    if (auto m = decode_reconcile_message(msg, opts); m.ok())
        LT_FUZZ_CHECK(encode_reconcile_message(*m) == Bytes(msg.begin(), msg.end()));
    if (auto answer = ReconcileResponder(storage(), opts).respond(msg); answer.ok())
        LT_FUZZ_CHECK(answer->size() <= opts.max_message_bytes);
    Reconciler initiator(storage(), opts);
    (void)initiator.initiate();
    std::vector<Hash32> have, need;
    if (auto next = initiator.reconcile(msg, have, need); next.ok() && *next)
        LT_FUZZ_CHECK((*next)->size() <= opts.max_message_bytes);
    for (const auto& id : have) {
        bool held = false;
        for (size_t i = 0; i < storage().size() && !held; ++i) held = storage().item(i).id == id;
        LT_FUZZ_CHECK(held);
    }
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    const auto opts = options();
    std::vector<std::vector<uint8_t>> seeds;
    Reconciler initiator(storage(), opts);
    const Bytes first = initiator.initiate();
    seeds.emplace_back(first.begin(), first.end());
    // The answer of a responder holding half the set: fingerprints and id lists.
    std::vector<ReconcileItem> half;
    for (size_t i = 0; i < storage().size(); i += 2) half.push_back(storage().item(i));
    auto other = VectorReconcileStorage::make(std::move(half));
    if (other.ok())
        if (auto a = ReconcileResponder(*other, opts).respond(first); a.ok()) seeds.emplace_back(a->begin(), a->end());
    seeds.push_back({0x92, 0x01, 0x90});
    return seeds;
}
