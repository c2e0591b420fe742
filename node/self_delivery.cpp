// Self-addressed documents. A document system tests its connection by sending a file to its
// own agency; the node delivers it through the same durable path as any other: the document
// is stored and queued in the outbox like every sent one, then handed to this node's own
// inbound path (the checks, the group commit, one signed receipt per commit), as if it had
// arrived on a link, with routing id kSelfRoute. The receipt, signed by this node, is applied
// to the outbox as a peer's would be (queue_receipt), so the delivery shows as delivered with
// its receipt, the document is stored once (the envelope table is keyed by its id) and
// appears once in the inbox. An outbox entry survives a crash and is delivered at start-up,
// or answered from the inbox if it was already received.
#include "node/node_impl.h"

namespace lienthong::node {

void NodeImpl::pump_self() {
    if (!m_self_has_more) return;
    m_self_has_more = false;
    const size_t window = m_config.limits.window_documents;
    if (m_self_inflight.size() >= window) {
        m_self_has_more = true;  // again when receipts free the window
        return;
    }
    std::vector<std::pair<Hash32, Bytes>> items;
    m_store->env().read([&](const storage::ReadTxn& t) {
        m_store->scan_outbox(t, m_config.agency, ByteView(), [&](ByteView, const Hash32& id) {
            if (m_self_inflight.count(id) || m_self_refused.count(id)) return true;
            if (m_self_inflight.size() + items.size() >= window) {
                m_self_has_more = true;
                return false;
            }
            m_store->with_document(t, id, [&](ByteView envelope) { items.emplace_back(id, Bytes(envelope.begin(), envelope.end())); });
            return true;
        });
        return 0;
    });
    for (auto& [id, envelope] : items) {
        m_self_inflight.insert(id);
        auto checked = check_delivery(m_config.agency, m_identity.pub.sign_key, envelope);
        Bytes().swap(envelope);
        on_checked_delivery(kSelfRoute, m_config.agency, std::move(checked));
    }
}

void NodeImpl::on_self_receipt(const Bytes& wire) {
    const std::string& self = m_config.agency;
    auto se = protocol::decode_envelope(wire, m_limits);
    if (!se.ok() || se->env.kind != protocol::Kind::receipt)
        return m_log.error("self_receipt_failed", {{"error", se.ok() ? "not a receipt" : se.error()}});
    auto receipt = protocol::parse_receipt(*se);
    if (!receipt.ok()) return m_log.error("self_receipt_failed", {{"error", receipt.error()}});
    std::vector<Hash32> named;
    for (const auto& e : receipt->entries) named.push_back(e.message_id);
    const Hash32 receipt_id = se->id;
    if (m_applied_receipts.count(receipt_id)) {
        for (const auto& id : named) m_self_inflight.erase(id);
        return;
    }
    auto outcome = queue_receipt(self, std::move(*se), std::move(receipt).value());
    m_batch.after.push_back([this, receipt_id, named, outcome](bool ok, const std::string&) {
        for (const auto& id : named) m_self_inflight.erase(id);
        if (!ok) {  // not applied: the outbox still holds them; hand them over again
            m_self_has_more = true;
            return;
        }
        m_applied_receipts.insert(receipt_id);
        m_counters.receipts += outcome->delivered.size();
        for (const auto& id : outcome->delivered)
            m_log.info("delivered", {{"peer", m_config.agency}, {"msg", hex_id(id)}, {"receipt", protocol::short_id(receipt_id)}});
        log_receipt_misses(m_config.agency, receipt_id, *outcome);
    });
}

}  // namespace lienthong::node
