// Store-and-forward relays (issue 4): when a recipient cannot be reached directly, its
// envelopes go to the relay its route names (config relay.routes / relay.default_via), which
// takes custody durably and carries them on; the end-to-end receipt comes back hop by hop.
//
//   A (sender)                B (relay)                          C (recipient)
//   Relay{to C} envelope  →   verify A's signature (no decryption: B cannot read it),
//                             commit transit + outbox entry for C
//                         ←   Custody{id, C}
//   delivery (id, C) stays pending, its outbox entry goes: B is responsible now
//                             Deliver envelope                →  verify, open, commit inbox
//                                                             ←  Ack (receipt signed by C)
//                             commit: transit done, forward entry for A
//   Ack (C's receipt)     ←   (resent until A answers)
//   verify C's signature, record the receipt
//                         →   Custody{receipt id, ""}
//                             forward entry goes
// Every step is idempotent: a Relay B already holds is answered with Custody again, a receipt
// A already holds with Custody again, a document C already holds with its receipt again. The
// hop limit (RelayFrame::hops_left) ends loops; a node never relays a document it sent.
#include <algorithm>

#include "node/node_impl.h"

namespace lienthong::node {

// The relay to use for `agency` now, or "" to deliver directly (or not at all): a route covers
// it and its direct link cannot be made or has been down for relay.fallback_ms.
std::string NodeImpl::relay_via(const std::string& agency, uint64_t now) {
    const std::string via = m_config.relay.via_for(agency);
    if (via.empty() || via == agency) return "";
    if (auto it = m_links.find(agency); it != m_links.end()) {
        const auto& l = it->second;
        if (l.connected || now < l.down_since_ms + m_config.relay.fallback_ms) return "";
    }
    auto v = m_links.find(via);
    if (v == m_links.end() || !v->second.connected) return "";
    return via;
}

std::optional<protocol::SignPublicKey> NodeImpl::sender_key(const std::string& agency) const {
    if (auto it = m_links.find(agency); it != m_links.end()) return it->second.record.identity.sign_key;
    if (auto cur = m_dir.current.find(agency); cur != m_dir.current.end()) return cur->second.sign_key;
    return std::nullopt;
}

// Hands `via` the queued envelopes of every recipient routed through it now, as Relay frames,
// within its window.
void NodeImpl::pump_relays(PeerLink& via) {
    if (!via.connected || (m_config.relay.routes.empty() && m_config.relay.default_via.empty())) return;
    const uint64_t now = m_clock->now_ms();
    const std::string& via_agency = via.record.identity.agency;
    std::vector<std::string> routed;
    for (const auto& [agency, link] : m_links)
        if (agency != via_agency && relay_via(agency, now) == via_agency) routed.push_back(agency);
    for (const auto& agency : m_transit_unlinked)
        if (!m_links.count(agency) && relay_via(agency, now) == via_agency) routed.push_back(agency);
    if (routed.empty()) return;
    const size_t window = m_config.limits.window_documents;
    struct Item {
        std::string to;
        Hash32 id;
        bool offered;  // sent as an offer: the relay may pull chunks
        bool pulls;    // an offer the relay answers only once it has pulled the chunks
        uint64_t bytes;
        protocol::Frame frame;
    };
    std::vector<Item> items;
    const uint64_t whole_limit = via.whole_limit(m_config.limits.chunk_threshold_bytes);
    // A relay holds at most limits.transfers_per_peer chunked transfers from one peer (ours is
    // the best guess at its own): more offers would only be refused and wait for the timer.
    size_t offers = static_cast<size_t>(std::count_if(via.relay_inflight.begin(), via.relay_inflight.end(),
                                                      [](const auto& e) { return e.second.offered; }));
    m_store->env().read([&](const storage::ReadTxn& t) {
        // The envelope went to this relay for another of its recipients: wait for that custody,
        // then offer only its manifest, and the relay takes custody from the copy it holds
        // (on_relay_offer) instead of the bytes crossing the link once per recipient.
        enum class Handed { no, waiting, held };
        const auto handed = [&](const Hash32& id, const std::string& to) {
            for (auto it = via.relay_inflight.lower_bound({id, std::string()}); it != via.relay_inflight.end() && it->first.first == id; ++it)
                if (it->first.second != to) return Handed::waiting;
            for (const auto& i : items)
                if (i.id == id) return Handed::waiting;
            for (const auto& d : m_store->deliveries(t, id))
                if (d.recipient != to && d.via == via_agency && d.state == storage::DeliveryState::pending) return Handed::held;
            for (const auto& tr : m_store->transits(t, id))
                if (tr.to != to && tr.via == via_agency && !tr.delivered) return Handed::held;
            return Handed::no;
        };
        for (const auto& agency : routed) {
            if (via.relay_inflight.size() + items.size() >= window) break;
            m_store->scan_outbox(t, agency, {}, [&](ByteView key, const Hash32& id) {
                if (via.relay_inflight.size() + items.size() >= window) return false;
                if (via.relay_inflight.count({id, agency})) return true;
                // outbox key: agency 0x00 (3 - urgency) seq
                const uint64_t urgency = key.size() > agency.size() + 1 ? 3 - std::min<uint64_t>(3, key[agency.size() + 1]) : 0;
                uint64_t hops = m_config.relay.max_hops;
                if (auto tr = m_store->transit(t, id, agency)) hops = std::min<uint64_t>(hops, tr->hops_left);
                if (hops == 0) return true;  // carried as far as it may go: only a direct link delivers it
                const Handed h = handed(id, agency);
                if (h == Handed::waiting) return true;
                const bool large = m_store->document_size(t, id).value_or(0) > whole_limit;
                if (large && h == Handed::no && offers >= m_config.limits.transfers_per_peer) return true;  // a smaller one may go
                auto out = outgoing(t, id, h == Handed::held ? 0 : whole_limit);
                if (!out) return true;
                // A large envelope is offered by its manifest; the relay pulls the chunks.
                const bool offered = out->offer.has_value();
                const bool pulls = offered && h == Handed::no;
                offers += pulls ? 1 : 0;
                protocol::Frame frame = offered ? protocol::Frame(protocol::RelayOfferFrame{agency, hops, urgency, std::move(*out->offer)})
                                                : protocol::Frame(protocol::RelayFrame{agency, hops, urgency, std::move(out->envelope)});
                items.push_back(Item{agency, id, offered, pulls, h == Handed::held ? 0 : out->size, std::move(frame)});
                return true;
            });
        }
        return 0;
    });
    for (auto& it : items) {
        if (!send_frame(*via.dealer, it.frame)) break;
        if (via.relay_inflight.empty()) via.relay_progress_ms = now;
        via.relay_inflight[{it.id, it.to}] = RelayInFlight{now, it.pulls, it.bytes};
        if (it.offered) via.offered[it.id].assign(std::get<protocol::RelayOfferFrame>(it.frame).offer.hashes.size(), 0);
        else via.bytes_sent += std::get<protocol::RelayFrame>(it.frame).envelope.size();
        m_log.debug("relay_sent", {{"peer", via_agency}, {"to", it.to}, {"msg", hex_id(it.id)}});
    }
}

void NodeImpl::relay_timers(PeerLink& link, uint64_t now) {
    // A relay that did not answer: hand those envelopes over again (it is idempotent).
    const uint64_t wait = std::clamp(4 * link.rto_ms(), 2 * m_config.retry.initial_ms, m_config.retry.max_ms);
    // A large one is in the relay's hands while it keeps asking for chunks (on_chunk_want);
    // its own timer asks again after a loss, so we offer again only after a long silence.
    const uint64_t offer_wait = std::max<uint64_t>(wait, 120000);
    for (auto it = link.relay_inflight.begin(); it != link.relay_inflight.end();)
        it = now >= it->second.heard_ms + (it->second.offered ? offer_wait : wait) ? link.relay_inflight.erase(it) : std::next(it);
    // Receipts waiting to go back to this link's agency, until it answers with Custody.
    if (!link.connected || now < link.next_forward_ms) return;
    link.next_forward_ms = now + std::max<uint64_t>(wait, 1000);
    const std::string& hop = link.record.identity.agency;
    std::vector<Bytes> wires;
    m_store->env().read([&](const storage::ReadTxn& t) {
        for (const auto& rid : m_store->forwards(t, hop, 256))
            if (auto w = m_store->receipt(t, rid)) wires.push_back(std::move(*w));
        return 0;
    });
    for (auto& w : wires) send_frame(*link.dealer, protocol::AckFrame{std::move(w)});
}

// Router side: a peer asks us to carry an envelope on.
void NodeImpl::on_relay(const Bytes& rid, const std::string& peer, protocol::RelayFrame f) {
    auto se = protocol::decode_envelope(f.envelope, m_limits);
    if (!se.ok()) return reject(rid, peer, "malformed_envelope", se.error(), {});
    if (f.to == m_config.agency) {
        const Bytes mid(se->id.begin(), se->id.end());
        if (se->env.kind != protocol::Kind::document && se->env.kind != protocol::Kind::status)
            return reject(rid, peer, "wrong_kind", "only documents and status reports are relayed", mid, true);
        return on_deliver(rid, peer, std::move(f.envelope));
    }
    f.envelope = {};
    carry(rid, peer, std::make_shared<const protocol::SignedEnvelope>(std::move(se).value()), f.to,
          RelayTarget{f.hops_left, f.urgency});
}

// Why we cannot carry an envelope from `peer` on to `to` with `hops_left`, or "" if we can:
// we need a direct link to `to`, or a further route that does not lead back to `peer`.
std::string NodeImpl::relay_route_refusal(const std::string& peer, const std::string& to, uint64_t hops_left) {
    if (ensure_link(to) != m_links.end()) return "";
    const std::string onward = m_config.relay.via_for(to);
    if (!onward.empty() && onward != peer && hops_left > 1) return "";
    return "relay " + m_config.agency + " has no link and no further route to '" + to + "'";
}

// Takes custody of `se` (decoded, not yet checked) for recipient `to`, or refuses it: the
// sender's signature must verify (we cannot decrypt, and need not), it must be addressed to
// `to`, not be ours, and have somewhere to go. Idempotent: what we hold is answered with
// custody again. The envelope bytes are stored once however many recipients we carry it for.
void NodeImpl::carry(const Bytes& rid, const std::string& peer, std::shared_ptr<const protocol::SignedEnvelope> se,
                     const std::string& to, const RelayTarget& target) {
    const Bytes mid(se->id.begin(), se->id.end());
    if (se->env.kind != protocol::Kind::document && se->env.kind != protocol::Kind::status)
        return reject(rid, peer, "wrong_kind", "only documents and status reports are relayed", mid, true);
    if (std::find(se->env.to.begin(), se->env.to.end(), to) == se->env.to.end())
        return reject(rid, peer, "not_addressed", "relay asked to carry the envelope to '" + to + "', which it is not addressed to", mid, true);
    bool held = false, ours = false;
    m_store->env().read([&](const storage::ReadTxn& t) {
        held = m_store->transit(t, se->id, to).has_value();
        ours = m_store->sent_record(t, se->id).has_value();
        return 0;
    });
    if (ours) return reject(rid, peer, "relay_loop", "the envelope came back to its sender: check the relay routes", mid);
    const auto key = sender_key(se->env.from);
    if (!key) return reject(rid, peer, "unknown_sender", "relay does not know the sender '" + se->env.from + "' (not a peer, not in the directory)", mid);
    if (!verify_from(*se, se->env.from, *key))
        return reject(rid, peer, "bad_signature", "envelope signature does not verify with the sender's key", mid);
    if (held) {
        send_frame(*m_router, protocol::CustodyFrame{se->id, to}, rid);
        return;
    }
    if (auto why = relay_route_refusal(peer, to, target.hops_left); !why.empty()) return reject(rid, peer, "no_route", why, mid);
    const auto& usage = m_custody[peer];
    if (usage.count >= m_config.relay.custody_per_peer ||
        usage.bytes + se->wire.size() > m_config.relay.custody_bytes_per_peer)
        return reject(rid, peer, "custody_quota",
                      "relay " + m_config.agency + " holds " + std::to_string(usage.count) + " envelopes (" +
                          std::to_string(usage.bytes) + " bytes) for " + peer +
                          ", the most relay.custody_per_peer and relay.custody_bytes_per_peer allow; it is taken when "
                          "some are delivered",
                      mid);
    const bool direct = m_links.count(to) > 0;
    auto rec = std::make_shared<storage::TransitRecord>();
    rec->id = se->id;
    rec->to = to;
    rec->from_hop = peer;
    rec->origin = se->env.from;
    rec->received_ms = m_clock->now_ms();
    rec->urgency = target.urgency;
    rec->hops_left = target.hops_left - 1;
    auto fresh = std::make_shared<bool>(false);
    m_batch.writes.push_back([this, rec, fresh, se](storage::WriteTxn& t) -> Status {
        LT_ASSIGN(*fresh, m_store->add_transit(t, *rec, se->wire));
        if (!*fresh) return ok_status();
        auto a = audit_event("custody_taken");
        a.msg = rec->id;
        a.agency = rec->to;
        a.peer = rec->from_hop;
        a.detail = "from=" + rec->origin;
        return audit(t, a);
    });
    m_batch.after.push_back([this, rid, peer, rec, fresh, direct, size = se->wire.size()](bool ok, const std::string& error) {
        if (!ok) {
            m_log.error("custody_failed", {{"peer", peer}, {"to", rec->to}, {"msg", hex_id(rec->id)}, {"error", error}});
            return;  // no custody: the previous hop sends it again
        }
        send_frame(*m_router, protocol::CustodyFrame{rec->id, rec->to}, rid);
        if (!direct) m_transit_unlinked.insert(rec->to);
        if (*fresh) {
            auto& u = m_custody[peer];
            ++u.count;
            u.bytes += size;
            wake_outbox(rec->to, rec->urgency);
            drop_transfer(rec->id, "the whole envelope was taken into custody");
            m_log.info("custody_taken", {{"peer", peer}, {"from", rec->origin}, {"to", rec->to}, {"msg", hex_id(rec->id)},
                                         {"hops_left", std::to_string(rec->hops_left)}});
        }
    });
}

void NodeImpl::release_custody(const std::string& hop, uint64_t bytes) {
    auto it = m_custody.find(hop);
    if (it == m_custody.end()) return;
    it->second.count -= std::min<uint64_t>(it->second.count, 1);
    it->second.bytes -= std::min(it->second.bytes, bytes);
}

void NodeImpl::custody_timers(uint64_t now) {
    constexpr uint64_t kCheckMs = 600000;
    if (now < m_next_custody_check_ms) return;
    m_next_custody_check_ms = now + kCheckMs;
    const uint64_t expiry = m_config.relay.custody_expiry_ms;
    auto expired = m_store->env().read([&](const storage::ReadTxn& t) {
        return now > expiry ? m_store->pending_transits_before(t, now - expiry, 1000) : std::vector<storage::TransitRecord>{};
    });
    for (const auto& tr : expired)
        m_log.warn("custody_expired", {{"peer", tr.from_hop}, {"from", tr.origin}, {"to", tr.to}, {"msg", hex_id(tr.id)},
                                       {"note", "undelivered for relay.custody_expiry_ms: no longer carried"}});
    if (!expired.empty())
        m_batch.writes.push_back([this, expired](storage::WriteTxn& t) -> Status {
            for (const auto& tr : expired) LT_TRY(m_store->refuse_delivery(t, tr.id, tr.to, "custody expired"));
            return ok_status();
        });
    // Counted again from the table (the counts above only follow what this run saw).
    m_batch.after.push_back([this](bool ok, const std::string&) {
        if (ok) m_custody = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->custody_usage(t); });
    });
}

// Dealer side: the relay holds an envelope we handed it, or the previous hop holds a receipt
// we passed back.
void NodeImpl::on_custody(PeerLink& link, const protocol::CustodyFrame& f) {
    const std::string via = link.record.identity.agency;
    if (f.to.empty()) {
        m_batch.writes.push_back([this, via, id = f.id](storage::WriteTxn& t) { return m_store->remove_forward(t, via, id); });
        return;
    }
    if (!link.relay_inflight.count({f.id, f.to})) return;  // not asked, or answered already
    auto fresh = std::make_shared<bool>(false);
    const uint64_t now = m_clock->now_ms();
    m_batch.writes.push_back([this, via, f, fresh, now](storage::WriteTxn& t) -> Status {
        LT_ASSIGN(*fresh, m_store->record_custody(t, f.id, f.to, via, now));
        if (!*fresh) return ok_status();
        auto a = audit_event("custody_passed");
        a.msg = f.id;
        a.agency = f.to;
        a.peer = via;
        return audit(t, a);
    });
    m_batch.after.push_back([this, via, f, fresh, now](bool ok, const std::string&) {
        if (!ok) return;  // asked again after the relay timer; the relay answers again
        if (auto it = m_links.find(via); it != m_links.end()) {
            auto& l = it->second;
            if (auto flight = l.relay_inflight.find({f.id, f.to}); flight != l.relay_inflight.end()) {
                l.note_goodput(flight->second.bytes, now, l.relay_progress_ms);
                l.relay_progress_ms = now;
                l.relay_inflight.erase(flight);
            }
            if (l.relay_inflight.lower_bound({f.id, std::string()}) == l.relay_inflight.end() ||
                l.relay_inflight.lower_bound({f.id, std::string()})->first.first != f.id)
                l.offered.erase(f.id);  // no recipient of it is waiting on this relay any more
        }
        if (*fresh) m_log.info("relayed", {{"peer", via}, {"to", f.to}, {"msg", hex_id(f.id)}});
    });
}

// Router side: a receipt a relay passes back to us (we sent the document, or relayed it on).
void NodeImpl::on_forwarded_receipt(const Bytes& rid, const std::string& peer, Bytes envelope) {
    auto se = protocol::decode_envelope(envelope, m_limits);
    const auto refuse = [&](const std::string& kind, const std::string& why) {
        log_refusal("receipt_rejected", peer, kind, "", why);
    };
    if (!se.ok()) return refuse("malformed_receipt", se.error());
    if (se->env.kind != protocol::Kind::receipt) return refuse("malformed_receipt", "ack does not carry a receipt");
    const std::string signer = se->env.from;
    const auto key = sender_key(signer);
    if (!key) return refuse("unknown_sender", "receipt signed by '" + signer + "', whom this node does not know");
    if (!verify_from(*se, signer, *key)) return refuse("bad_signature", "receipt signature is invalid");
    auto receipt = protocol::parse_receipt(*se);
    if (!receipt.ok()) return refuse("malformed_receipt", receipt.error());
    const Hash32 receipt_id = se->id;
    auto outcome = queue_receipt(signer, std::move(*se), std::move(receipt).value());
    m_batch.after.push_back([this, rid, peer, signer, receipt_id, outcome](bool ok, const std::string&) {
        if (!ok) return;  // not answered: the relay passes it again
        log_receipt_misses(peer, receipt_id, *outcome);
        if (outcome->delivered.empty() && outcome->known.empty() && outcome->relayed.empty()) {
            // Logged above, once: the refusal itself is only sent.
            const std::string why = "the receipt names no document this node sent or carries (" +
                                    std::to_string(outcome->unknown.size() + outcome->mismatched.size()) + " listed)";
            send_frame(*m_router, protocol::RejectFrame{Bytes(receipt_id.begin(), receipt_id.end()), why, true}, rid);
            return;
        }
        send_frame(*m_router, protocol::CustodyFrame{receipt_id, ""}, rid);
        for (const auto& [hop, bytes] : outcome->released) release_custody(hop, bytes);
        m_counters.receipts += outcome->delivered.size();
        for (const auto& id : outcome->delivered)
            m_log.info("delivered", {{"peer", signer}, {"via", peer}, {"msg", hex_id(id)},
                                     {"receipt", protocol::short_id(receipt_id)}});
        for (const auto& id : outcome->relayed)
            m_log.info("relay_delivered", {{"peer", signer}, {"via", peer}, {"msg", hex_id(id)}});
        for (const auto& hop : outcome->forward_to)
            if (auto h = m_links.find(hop); h != m_links.end()) h->second.next_forward_ms = 0;
    });
}

void NodeImpl::log_receipt_misses(const std::string& peer, const Hash32& receipt_id, const ReceiptOutcome& outcome) {
    // One line per receipt, not per entry: a receipt may list thousands.
    if (!outcome.unknown.empty())
        log_refusal("receipt_rejected", peer, "bad_receipt", hex_id(outcome.unknown.front()),
                    "receipt lists documents this node did not send",
                    {{"receipt", protocol::short_id(receipt_id)}, {"count", std::to_string(outcome.unknown.size())}});
    if (!outcome.mismatched.empty())
        log_refusal("receipt_rejected", peer, "bad_receipt", hex_id(outcome.mismatched.front()),
                    "receipt signs a different document hash",
                    {{"receipt", protocol::short_id(receipt_id)}, {"count", std::to_string(outcome.mismatched.size())}});
}

// Queues the write that applies a verified receipt; the outcome is filled when it runs.
std::shared_ptr<ReceiptOutcome> NodeImpl::queue_receipt(const std::string& recipient, protocol::SignedEnvelope se,
                                                         protocol::Receipt r) {
    auto outcome = std::make_shared<ReceiptOutcome>();
    m_batch.writes.push_back([this, recipient, receipt_id = se.id, r = std::move(r), wire = std::move(se.wire),
                              outcome](storage::WriteTxn& t) -> Status {
        *outcome = ReceiptOutcome{};
        return apply_receipt(t, recipient, r, receipt_id, wire, *outcome);
    });
    return outcome;
}

// A verified receipt of `recipient`: each document it names that we sent is delivered to
// `recipient` (its 01 recorded), each we carry for `recipient` as a relay is done and the
// receipt queued back to the hop it came from. The receipt is stored only when it names
// something of ours: a peer cannot fill our database with receipts of nothing.
Status NodeImpl::apply_receipt(storage::WriteTxn& t, const std::string& recipient, const protocol::Receipt& r,
                               const Hash32& receipt_id, ByteView wire, ReceiptOutcome& out) {
    const uint64_t now = m_clock->now_ms();
    for (const auto& e : r.entries) {
        auto sent = m_store->sent_record(t, e.message_id);
        if (!sent) {
            auto tr = m_store->transit(t, e.message_id, recipient);
            if (!tr) {
                out.unknown.push_back(e.message_id);
                continue;
            }
            const uint64_t size = m_store->document_size(t, e.message_id).value_or(0);  // before the bytes go
            LT_ASSIGN(bool done, m_store->complete_transit(t, e.message_id, recipient, receipt_id));
            if (done) {
                if (!tr->refused) out.released.emplace_back(tr->from_hop, size);
                LT_TRY(m_store->add_forward(t, tr->from_hop, receipt_id));
                auto a = audit_event("transit_delivered");
                a.msg = receipt_id;
                a.about = e.message_id;
                a.agency = recipient;
                a.peer = tr->from_hop;
                LT_TRY(audit(t, a));
                out.relayed.push_back(e.message_id);
                out.forward_to.insert(tr->from_hop);
            } else {
                out.known.push_back(e.message_id);
            }
            continue;
        }
        if (sent->content_hash != e.document_hash) {
            out.mismatched.push_back(e.message_id);
            continue;
        }
        LT_ASSIGN(bool fresh, m_store->record_receipt(t, e.message_id, recipient, r.received_ms, now, receipt_id));
        (fresh ? out.delivered : out.known).push_back(e.message_id);
        if (fresh) {
            auto a = audit_event("receipt_received");
            a.msg = receipt_id;
            a.about = e.message_id;
            a.agency = recipient;
            LT_TRY(audit(t, a));
        }
        if (fresh && m_catalog->summary(t, e.message_id)) {
            // The signed receipt is the recipient's 01 (arrived) on the document's timeline.
            storage::StatusEvent arrived;
            arrived.document = e.message_id;
            arrived.recipient = arrived.reporter = recipient;
            arrived.code = "01";
            arrived.time_ms = r.received_ms;
            arrived.recorded_ms = now;
            LT_ASSIGN(auto seq, m_store->next_seq(t));
            if (auto added = m_catalog->add_status(t, arrived, seq); !added.ok()) return added.take_error();
        }
    }
    if (!out.delivered.empty() || !out.known.empty() || !out.relayed.empty())
        LT_TRY(m_store->put_receipt(t, receipt_id, wire));
    return ok_status();
}

}  // namespace lienthong::node
