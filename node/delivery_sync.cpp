// Reconciliation on reconnect (issue 4): when a link comes up with documents pending for the
// peer, the two ends first establish which of them the peer already holds — a receipt lost on
// the wire, or lost with a crash, is then fetched instead of the document being sent again.
//
//   A (sender, connecting side)                         R (recipient)
//   Sync{since, first message}  →  range-based reconciliation (protocol/reconcile.h) of
//                                  A: what A sent R created at or after `since` (the oldest
//                                     pending one), pending or not;
//                                  R: what R received from A created at or after `since`
//   Sync{since, answer}         ←  ... until A knows what R lacks
//   A's pending ids that R does not lack: R holds them
//   ReceiptWant{those ids}      →
//   Ack (the stored receipts)   ←  as for any receipt
//   then the outbox is sent as usual, without what R holds (it waits in flight for its
//   receipt, and is sent again only if none comes).
// Equal sets cost one small round trip; d differences among n messages about d·log16(n)
// fingerprints. A sync that gets no answer, or sets over kMaxSyncItems, fall back to sending
// the outbox (the recipient is idempotent either way). Documents this node carries for others
// as a relay are not part of it: the recipient received them from their sender, not from us.
#include <algorithm>
#include <set>

#include "node/node_impl.h"

namespace lienthong::node {

namespace {
constexpr size_t kMaxSyncItems = 50000;
constexpr size_t kMaxSyncPending = 20000;
constexpr uint64_t kClockSkewMs = 3600000;  // how far the two clocks may disagree
constexpr size_t kIdsPerFrame = 4096;
}  // namespace

void NodeImpl::start_delivery_sync(PeerLink& link, uint64_t now) {
    link.sync.reset();
    const std::string agency = link.record.identity.agency;
    std::vector<Hash32> pending;
    uint64_t since = UINT64_MAX, from_seq = UINT64_MAX;
    bool too_many = false;
    std::optional<std::vector<storage::TimedId>> sent;
    m_store->env().read([&](const storage::ReadTxn& t) {
        m_store->scan_outbox(t, agency, {}, [&](ByteView, const Hash32& id) {
            auto rec = m_store->sent_record(t, id);
            if (!rec) return true;  // carried for another sender
            auto d = m_store->delivery(t, id, agency);
            if (!d) return true;
            if (pending.size() >= kMaxSyncPending) {
                too_many = true;
                return false;
            }
            pending.push_back(id);
            since = std::min(since, rec->created_ms);
            from_seq = std::min(from_seq, d->outbox_seq);
            return true;
        });
        if (!pending.empty() && !too_many) sent = m_store->sent_to_since(t, agency, from_seq, since, kMaxSyncItems);
        return 0;
    });
    if (pending.empty()) return;
    if (too_many || !sent) {
        m_log.info("delivery_sync_skipped", {{"peer", agency}, {"reason", "too many messages to reconcile; sending the outbox"}});
        return;
    }
    std::vector<protocol::ReconcileItem> items;
    items.reserve(sent->size());
    for (const auto& s : *sent) items.push_back({std::min(s.created_ms, protocol::kReconcileMaxTimestamp), s.id});
    auto set = protocol::VectorReconcileStorage::make(std::move(items));
    if (!set.ok()) return;
    link.sync = std::make_unique<DeliverySync>(std::make_shared<const protocol::VectorReconcileStorage>(std::move(set).value()),
                                               m_dir.recon_options, since, now);
    link.sync->pending = std::move(pending);
    send_frame(*link.dealer, protocol::SyncFrame{since, link.sync->recon.initiate()});
}

// Dealer side: the next step, or the end: ask for the receipts of what the peer holds.
void NodeImpl::on_sync_answer(PeerLink& link, const protocol::SyncFrame& f) {
    if (!link.sync || f.since_ms != link.sync->since_ms) return;
    const std::string agency = link.record.identity.agency;
    auto& sync = *link.sync;
    auto next = sync.recon.reconcile(f.message, sync.have, sync.need);
    if (!next.ok()) {
        log_refusal("frame_rejected", agency, "delivery_sync", "", "delivery reconciliation: " + next.error());
        link.sync.reset();
        return;
    }
    if (*next) {
        send_frame(*link.dealer, protocol::SyncFrame{sync.since_ms, std::move(**next)});
        return;
    }
    const std::set<Hash32, HashLess> lacking(sync.have.begin(), sync.have.end());
    std::vector<Hash32> held;
    const uint64_t now = m_clock->now_ms();
    for (const auto& id : sync.pending)
        if (!lacking.count(id)) held.push_back(id);
    // What the peer holds waits in flight for its receipt; the retransmission timer sends it
    // again if none comes.
    for (const auto& id : held) link.inflight.emplace(id, InFlight{{}, 0, now});
    for (size_t i = 0; i < held.size(); i += kIdsPerFrame)
        send_frame(*link.dealer, protocol::ReceiptWantFrame{std::vector<Hash32>(
                                     held.begin() + static_cast<std::ptrdiff_t>(i),
                                     held.begin() + static_cast<std::ptrdiff_t>(std::min(held.size(), i + kIdsPerFrame)))});
    m_log.info("delivery_sync", {{"peer", agency}, {"pending", std::to_string(sync.pending.size())},
                                 {"held_by_peer", std::to_string(held.size())},
                                 {"to_send", std::to_string(sync.pending.size() - held.size())},
                                 {"ms", std::to_string(now - sync.started_ms)}});
    link.sync.reset();
    link.last_progress_ms = now;
    link.has_more = true;
}

// Router side: answer a step from the messages received from `peer`, rebuilt each time (the
// responder keeps no state).
// Router side. The set a reconciliation runs over is read from the inbox once and kept for its
// later rounds (same `since`); a peer gets at most one fresh read per kSyncRebuildMs, and a read
// looks at no more than kSyncScanBudget inbox entries, whatever `since` it asks from.
void NodeImpl::on_sync_request(const Bytes& rid, const std::string& peer, const protocol::SyncFrame& f) {
    constexpr uint64_t kSyncRebuildMs = 5000;
    constexpr uint64_t kSyncReuseMs = 30000;
    constexpr size_t kSyncScanBudget = 4 * kMaxSyncItems;
    const uint64_t now = m_clock->now_ms();
    auto& cache = m_sync_answers[peer];
    if (!cache.set || cache.since_ms != f.since_ms || now >= cache.built_ms + kSyncReuseMs) {
        if (cache.built_ms != 0 && now < cache.built_ms + kSyncRebuildMs)
            return log_refusal("frame_rejected", peer, "delivery_sync", "",
                               "delivery reconciliation asked again from another time within " +
                                   std::to_string(kSyncRebuildMs) + " ms; not answered");
        auto items = m_store->env().read([&](const storage::ReadTxn& t) {
            return m_store->received_from_since(t, peer, f.since_ms, kClockSkewMs, kMaxSyncItems, kSyncScanBudget);
        });
        cache = SyncAnswerSet{};
        cache.since_ms = f.since_ms;
        cache.built_ms = now;
        if (!items) {
            m_log.info("delivery_sync_skipped", {{"peer", peer}, {"reason", "too many messages to reconcile; the peer will resend"}});
            return;
        }
        std::vector<protocol::ReconcileItem> set;
        set.reserve(items->size());
        for (const auto& s : *items) set.push_back({std::min(s.created_ms, protocol::kReconcileMaxTimestamp), s.id});
        auto storage = protocol::VectorReconcileStorage::make(std::move(set));
        if (!storage.ok()) return;
        cache.set = std::make_shared<const protocol::VectorReconcileStorage>(std::move(storage).value());
    }
    auto answer = protocol::ReconcileResponder(*cache.set, m_dir.recon_options).respond(f.message);
    if (!answer.ok()) {
        log_refusal("frame_rejected", peer, "delivery_sync", "", "delivery reconciliation: " + answer.error());
        return;
    }
    send_frame(*m_router, protocol::SyncFrame{f.since_ms, std::move(answer).value()}, rid);
}

// Router side: the receipts of documents `peer` sent us, which it did not get.
void NodeImpl::on_receipt_want(const Bytes& rid, const std::string& peer, const protocol::ReceiptWantFrame& f) {
    size_t found = 0;
    for (const auto& id : f.ids) found += answer_held(rid, id, peer) ? 1 : 0;
    m_log.info("receipts_resent", {{"peer", peer}, {"asked", std::to_string(f.ids.size())}, {"found", std::to_string(found)}});
}

}  // namespace lienthong::node
