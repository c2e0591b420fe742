// Recipient-initiated resync after a restore (issue 17). A node restored from a backup lacks
// what its peers delivered to it after the backup was taken, and they consider it delivered.
// So, once per peer, the restored node asks:
//
//   R (restored, connecting side)                     S (a sender)
//   Resync{since, first message}  →  range-based reconciliation (protocol/reconcile.h) of
//                                    R: what R holds from S, received since `since` - 2 skew;
//                                    S: what S sent to R and R acknowledged since
//                                       `since` - skew (or is still pending)
//   Resync{since, answer}         ←  ... until R knows what S has that R lacks
//   RedeliverWant{those ids}      →  S puts each back in its outbox for R (Store::redeliver)
//   Deliver / Offer ...           ←  as any delivery; R stores each once (by id) and answers
//                                    with a receipt, which S records as for any delivery
//
// `since` is when the backup was taken (ResyncMarks, written by lienthong-admin restore). The
// items are keyed by the documents' creation time, the same at both ends, while each end
// chooses them by its own clock (skew allowed for twice on R's side, so that what S chose, R
// chose too if it holds it). R asks again every kRetryMs until a reconciliation finds nothing
// missing, then marks the peer done; a lost question or a lost redelivery is asked for again.
// Documents created more than kLookbackMs before the backup and delivered after it are not
// found (S would have to read its whole history for them).
#include "node/node_impl.h"

namespace lienthong::node {

namespace {
constexpr size_t kMaxItems = 50000;
constexpr size_t kScanBudget = 4 * kMaxItems;
constexpr uint64_t kSkewMs = 3600000;                    // how far the two clocks may disagree
constexpr uint64_t kLookbackMs = 30ull * 24 * 3600000;  // see above
constexpr uint64_t kRetryMs = 5000;
constexpr size_t kIdsPerFrame = 4096;
constexpr uint32_t kMaxTimeouts = 3;

uint64_t minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

Result<std::shared_ptr<const protocol::VectorReconcileStorage>> reconcile_set(const std::vector<storage::TimedId>& ids) {
    std::vector<protocol::ReconcileItem> items;
    items.reserve(ids.size());
    for (const auto& s : ids) items.push_back({std::min(s.created_ms, protocol::kReconcileMaxTimestamp), s.id});
    LT_ASSIGN(auto set, protocol::VectorReconcileStorage::make(std::move(items)));
    return std::make_shared<const protocol::VectorReconcileStorage>(std::move(set));
}
}  // namespace

// Dealer side, on connecting and from the timers: start a round with `link`'s peer when this
// database was restored and that peer is not done.
void NodeImpl::maybe_start_resync(PeerLink& link, uint64_t now) {
    if (!link.connected || link.resync || now < link.resync_next_ms) return;
    const std::string agency = link.record.identity.agency;
    std::optional<uint64_t> since;
    bool done = false;
    std::optional<std::vector<storage::TimedId>> held;
    m_store->env().read([&](const storage::ReadTxn& t) {
        since = m_resync->since(t);
        done = since && m_resync->done(t, agency);
        if (since && !done) held = m_store->received_since(t, agency, minus(*since, 2 * kSkewMs), kMaxItems, kScanBudget);
        return 0;
    });
    if (!since || done) {
        link.resync_next_ms = UINT64_MAX;  // only a restore (node stopped) sets it again
        return;
    }
    link.resync_next_ms = now + kRetryMs;
    if (!held) {
        m_log.warn("resync_skipped", {{"peer", agency}, {"reason", "too many documents received since the backup to reconcile"}});
        link.resync_next_ms = UINT64_MAX;
        return;
    }
    auto set = reconcile_set(*held);
    if (!set.ok()) return;
    link.resync = std::make_unique<DeliverySync>(*set, m_dir.recon_options, *since, now);
    send_frame(*link.dealer, protocol::ResyncFrame{*since, link.resync->recon.initiate()});
}

// Dealer side: the next step, or the end: ask for what the peer delivered and we lack.
void NodeImpl::on_resync_answer(PeerLink& link, const protocol::ResyncFrame& f) {
    if (!link.resync || f.since_ms != link.resync->since_ms) return;
    const std::string agency = link.record.identity.agency;
    auto& sync = *link.resync;
    auto next = sync.recon.reconcile(f.message, sync.have, sync.need);
    if (!next.ok()) {
        log_refusal("frame_rejected", agency, "resync", "", "resync reconciliation: " + next.error());
        link.resync.reset();
        return;
    }
    link.resync_timeouts = 0;
    if (*next) {
        send_frame(*link.dealer, protocol::ResyncFrame{sync.since_ms, std::move(**next)});
        return;
    }
    const auto& lacking = sync.need;  // the peer has them, we do not
    const uint64_t now = m_clock->now_ms();
    m_log.info("resync", {{"peer", agency}, {"missing", std::to_string(lacking.size())},
                          {"ms", std::to_string(now - sync.started_ms)}});
    if (lacking.empty()) {
        m_batch.writes.push_back([this, agency, now](storage::WriteTxn& t) { return m_resync->set_done(t, agency, now); });
        m_log.info("resync_done", {{"peer", agency}});
        link.resync_next_ms = UINT64_MAX;
    } else {
        for (size_t i = 0; i < lacking.size(); i += kIdsPerFrame)
            send_frame(*link.dealer, protocol::RedeliverWantFrame{std::vector<Hash32>(
                                         lacking.begin() + static_cast<std::ptrdiff_t>(i),
                                         lacking.begin() + static_cast<std::ptrdiff_t>(std::min(lacking.size(), i + kIdsPerFrame)))});
    }
    link.resync.reset();
}

void NodeImpl::resync_timers(PeerLink& link, uint64_t now) {
    if (link.resync && now >= link.resync->started_ms + std::max<uint64_t>(2000, 4 * link.rto_ms())) {
        link.resync.reset();
        // A peer that never answers runs an older version (it refuses the frame): stop asking
        // it until the node restarts, instead of a warning every few seconds.
        if (++link.resync_timeouts >= kMaxTimeouts) {
            m_log.warn("resync_gave_up", {{"peer", link.record.identity.agency},
                                          {"note", "the peer does not answer resync (an older version?); ask it to resend"}});
            link.resync_next_ms = UINT64_MAX;
            return;
        }
        m_log.warn("resync_timeout", {{"peer", link.record.identity.agency}, {"note", "no answer; asking again later"}});
    }
    maybe_start_resync(link, now);
}

// Router side: answer a step from what we delivered to `peer` since the time it names. The set
// is read once per `since` and kept for the later rounds (at most one fresh read per
// kRebuildMs), as for the delivery sync.
void NodeImpl::on_resync_request(const Bytes& rid, const std::string& peer, const protocol::ResyncFrame& f) {
    constexpr uint64_t kRebuildMs = 5000;
    constexpr uint64_t kReuseMs = 30000;
    const uint64_t now = m_clock->now_ms();
    auto& cache = m_resync_answers[peer];
    if (!cache.set || cache.since_ms != f.since_ms || now >= cache.built_ms + kReuseMs) {
        if (cache.built_ms != 0 && now < cache.built_ms + kRebuildMs && cache.since_ms != f.since_ms)
            return log_refusal("frame_rejected", peer, "resync", "",
                               "resync asked again from another time within " + std::to_string(kRebuildMs) + " ms; not answered");
        auto items = m_store->env().read([&](const storage::ReadTxn& t) {
            return m_store->delivered_since(t, peer, minus(f.since_ms, kSkewMs), minus(f.since_ms, kLookbackMs), kMaxItems,
                                            kScanBudget);
        });
        cache = SyncAnswerSet{};
        cache.since_ms = f.since_ms;
        cache.built_ms = now;
        if (!items) {
            m_log.info("resync_skipped", {{"peer", peer}, {"reason", "too many documents delivered since its backup to reconcile"}});
            return;
        }
        auto set = reconcile_set(*items);
        if (!set.ok()) return;
        cache.set = *set;
    }
    auto answer = protocol::ReconcileResponder(*cache.set, m_dir.recon_options).respond(f.message);
    if (!answer.ok()) return log_refusal("frame_rejected", peer, "resync", "", "resync reconciliation: " + answer.error());
    send_frame(*m_router, protocol::ResyncFrame{f.since_ms, std::move(answer).value()}, rid);
}

// Router side: `peer` lost these documents we delivered to it: they go back into its outbox.
// Only documents we sent to that peer and it had acknowledged are queued again.
void NodeImpl::on_redeliver_want(const Bytes&, const std::string& peer, const protocol::RedeliverWantFrame& f) {
    auto queued = std::make_shared<size_t>(0);
    auto e = audit_event("redelivery_asked");
    e.agency = peer;
    const std::vector<Hash32> ids = f.ids;
    m_batch.add(
        [this, peer, ids, queued, e](storage::WriteTxn& t) mutable -> Status {
            *queued = 0;
            for (const auto& id : ids) {
                LT_ASSIGN(const bool again, m_store->redeliver(t, id, peer));
                *queued += again ? 1 : 0;
            }
            if (*queued == 0) return ok_status();
            e.detail = "asked=" + std::to_string(ids.size()) + " queued=" + std::to_string(*queued);
            return audit(t, e);
        },
        [this, peer, asked = ids.size(), queued](bool ok, const std::string& error) {
            m_log.info("redelivery", {{"peer", peer}, {"asked", std::to_string(asked)},
                                      {"queued", ok ? std::to_string(*queued) : "0"}, {"error", error}});
            auto it = m_links.find(peer);
            if (!ok || *queued == 0 || it == m_links.end()) return;
            // The entries are back at their old places, before the cursor: read from the top.
            it->second.has_more = true;
            it->second.cursor.clear();
        });
}

}  // namespace lienthong::node
