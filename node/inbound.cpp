// Incoming links: the CURVE ROUTER where peers deliver documents, and the ZAP handler that
// admits only keys of known peers. Bad input never stops the loop: it is refused, counted,
// logged, and the peer is told why.
#include <zmq.h>

#include <cstring>

#include "node/document_json.h"
#include "node/node_impl.h"
#include "protocol/edxml_convert.h"

namespace lienthong::node {

const PeerLink* NodeImpl::find_peer_by_box_key(ByteView key) const {
    for (const auto& [agency, link] : m_links)
        if (key.size() == 32 && std::equal(key.begin(), key.end(), link.record.identity.box_key.begin()))
            return &link;
    return nullptr;
}

void NodeImpl::on_zap_request() {
    std::vector<zmq::message_t> parts;
    try {
        for (int i = 0; i < 10; ++i) {
            zmq::message_t part;
            if (!m_zap->recv(part, zmq::recv_flags::dontwait)) break;
            const bool more = part.more();
            parts.push_back(std::move(part));
            if (!more) break;
        }
    } catch (const zmq::error_t&) {
        return;
    }
    if (parts.size() < 6) return;
    const std::string mechanism = parts[5].to_string();
    const std::string address = parts[3].to_string();
    std::string status = "400", text = "unknown key", user;
    if (mechanism == "CURVE" && parts.size() >= 7) {
        const ByteView key(parts[6].data<uint8_t>(), parts[6].size());
        const PeerLink* link = find_peer_by_box_key(key);
        if (!link)  // an agency of the directory that has not needed a link yet
            if (auto agency = dir_agency_of_box_key(key))
                if (auto it = ensure_link(*agency); it != m_links.end()) link = &it->second;
        if (link) {
            status = "200";
            text = "OK";
            user = link->record.identity.agency;
        } else {
            ++m_counters.refused_connections;
            const std::string key_text = protocol::to_base64(key);
            uint64_t repeats = 0;
            if (m_refused_connections.allow(key_text, m_clock->now_ms(), repeats)) {
                std::string agency = "-", reason = "key is not a configured peer; add it with 'lienthong-admin peer add'";
                if (auto known = dir_agency_of_stored_key(key)) {
                    agency = *known;
                    if (auto why = dir_why_unusable(*known); !why.empty()) reason = why;
                }
                m_log.warn("connection_refused", {{"peer", agency}, {"address", address}, {"key", key_text},
                                                  {"refused_since_last_line", std::to_string(repeats)}, {"reason", reason}});
            }
        }
    }
    try {
        m_zap->send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
        m_zap->send(parts[1], zmq::send_flags::sndmore);
        m_zap->send(zmq::buffer(status), zmq::send_flags::sndmore);
        m_zap->send(zmq::buffer(text), zmq::send_flags::sndmore);
        m_zap->send(zmq::buffer(user), zmq::send_flags::sndmore);
        m_zap->send(zmq::str_buffer(""), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
        m_log.error("zap_reply_failed", {{"error", e.what()}});
    }
}

void NodeImpl::on_router_monitor_event() {
    zmq::message_t ev, addr;
    try {
        if (!m_router_monitor->recv(ev, zmq::recv_flags::dontwait)) return;
        if (ev.more() && !m_router_monitor->recv(addr, zmq::recv_flags::dontwait)) return;
    } catch (const zmq::error_t&) {
        return;
    }
    if (ev.size() < 6) return;
    uint16_t event = 0;
    std::memcpy(&event, ev.data(), 2);
    const std::string address = addr.to_string();
    if (event == ZMQ_EVENT_DISCONNECTED) {
        ++m_counters.links_closed;
        m_log.info("peer_link_closed", {{"address", address},
                                        {"note", "peer went away, or sent a message over the transport cap"}});
    } else {
        m_log.warn("handshake_failed", {{"address", address}, {"error", "incoming CURVE handshake failed (bad protocol or key)"}});
    }
}

void NodeImpl::log_refusal(std::string_view event, const std::string& peer, const std::string& kind,
                           const std::string& msg, const std::string& error, std::initializer_list<Logger::Field> extra) {
    ++m_counters.rejected[kind];
    uint64_t held = 0;
    std::string key(event);
    key.append("/").append(peer).append("/").append(kind);
    if (!m_refusals.allow(key, m_clock->now_ms(), held)) return;
    std::vector<Logger::Field> fields{{"peer", peer}};
    if (!msg.empty()) fields.emplace_back("msg", msg);
    fields.emplace_back("kind", kind);
    fields.insert(fields.end(), extra.begin(), extra.end());
    fields.emplace_back("error", error);
    const std::string held_text = std::to_string(held);
    if (held > 0) fields.emplace_back("held_back", held_text);
    m_log.log(LogLevel::warn, event, fields);
}

void NodeImpl::reject(const Bytes& routing_id, const std::string& peer, const std::string& kind,
                      const std::string& reason, const Bytes& message_id, bool permanent) {
    log_refusal("envelope_rejected", peer, kind, message_id.empty() ? "-" : protocol::to_hex(message_id), reason);
    // A refusal for good of a message we can name is recorded, at most once per 10 s per
    // (peer, kind): a peer can repeat a refused frame at will, and must not fill the log.
    uint64_t held = 0;
    if (permanent && message_id.size() == 32 && m_audit_refusals.allow(peer + "/" + kind, m_clock->now_ms(), held)) {
        auto a = audit_event("document_refused");
        Hash32 id{};
        std::copy(message_id.begin(), message_id.end(), id.begin());
        a.msg = id;
        a.peer = peer;
        a.detail = kind + ": " + reason + (held ? " (" + std::to_string(held) + " earlier not recorded)" : "");
        audit_later(std::move(a));
    }
    if (routing_id == kSelfRoute) {  // our own document to ourselves: logged, kept, not retried
        if (message_id.size() == 32) {
            Hash32 id{};
            std::copy(message_id.begin(), message_id.end(), id.begin());
            m_self_inflight.erase(id);
            m_self_refused.insert(id);
        }
        return;
    }
    send_frame(*m_router, protocol::RejectFrame{message_id, reason.substr(0, 1000), permanent}, routing_id);
}

void NodeImpl::on_router_readable() {
    const auto& lim = m_config.limits;
    if (batch_full()) return;
    // Take what has arrived (up to a group commit's worth), then check every delivery's
    // signature in parallel, then handle each frame in arrival order.
    struct Arrival {
        Bytes rid;
        std::string peer;
        Result<protocol::Frame> frame = make_error("not decoded");
        CheckedDelivery delivery;
    };
    // A burst is bounded in bytes too: its envelopes are held decoded (twice) until handled.
    constexpr size_t kBurstBytes = 4u << 20;
    std::vector<Arrival> arrivals;
    std::vector<size_t> deliveries;
    size_t bytes = m_batch.bytes, burst = 0;
    for (size_t n = m_batch.documents;
         n < lim.batch_documents && bytes < 2 * lim.window_bytes && burst < kBurstBytes; ++n) {
        std::vector<zmq::message_t> parts;
        try {
            zmq::message_t part;
            if (!m_router->recv(part, zmq::recv_flags::dontwait)) break;
            parts.push_back(std::move(part));
            // [routing id, frame]; drain (never wait for) anything more a faulty peer sent.
            while (parts.back().more() && parts.size() < 64) {
                zmq::message_t more;
                if (!m_router->recv(more, zmq::recv_flags::dontwait)) break;
                parts.push_back(std::move(more));
            }
        } catch (const zmq::error_t&) {
            break;
        }
        if (parts.size() < 2) continue;
        const char* user = parts[1].gets("User-Id");
        Arrival a;
        a.rid.assign(parts[0].data<uint8_t>(), parts[0].data<uint8_t>() + parts[0].size());
        a.peer = user ? user : "";
        const auto link = m_links.find(a.peer);
        if (link == m_links.end()) continue;  // no User-Id, or removed while connected
        link->second.last_contact_ms = m_clock->now_ms();
        bytes += parts[1].size();
        burst += parts[1].size();
        a.frame = parts.size() > 2 ? Result<protocol::Frame>(make_error("frame: sent in more than one part"))
                                   : protocol::decode_frame(ByteView(parts[1].data<uint8_t>(), parts[1].size()),
                                                            lim.max_envelope_bytes);
        if (a.frame.ok() && std::holds_alternative<protocol::DeliverFrame>(*a.frame)) {
            deliveries.push_back(arrivals.size());
            a.delivery.link_key = link->second.record.identity.sign_key;
        }
        arrivals.push_back(std::move(a));
    }
    const auto check = [&](size_t k) {
        auto& a = arrivals[deliveries[k]];
        auto& envelope = std::get<protocol::DeliverFrame>(*a.frame).envelope;
        a.delivery = check_delivery(a.peer, a.delivery.link_key, envelope);
        Bytes().swap(envelope);  // decoded into a.delivery
    };
    // Helpers only for a burst worth waking them for: a few small documents cost less than the
    // wake-up, and on a busy machine the helper takes a CPU from other work.
    if (deliveries.size() >= 16 || burst >= (256u << 10))
        m_verifiers.run(deliveries.size(), check);
    else
        for (size_t k = 0; k < deliveries.size(); ++k) check(k);
    for (auto& a : arrivals) {
        const Bytes& rid = a.rid;
        const std::string& peer = a.peer;
        if (!m_links.count(peer)) continue;  // removed by an earlier frame
        if (!a.frame.ok()) {
            reject(rid, peer, "malformed_frame", a.frame.error(), {});
            continue;
        }
        std::visit(
            [&](auto&& f) {
                using T = std::decay_t<decltype(f)>;
                if constexpr (std::is_same_v<T, protocol::DeliverFrame>) {
                    on_checked_delivery(rid, peer, std::move(a.delivery));
                } else if constexpr (std::is_same_v<T, protocol::PingFrame>) {
                    send_frame(*m_router, protocol::PongFrame{f.nonce}, rid);
                } else if constexpr (std::is_same_v<T, protocol::SyncFrame>) {
                    on_sync_request(rid, peer, f);
                } else if constexpr (std::is_same_v<T, protocol::OfferFrame>) {
                    on_offer(rid, peer, std::move(f));
                } else if constexpr (std::is_same_v<T, protocol::ChunkFrame>) {
                    on_chunk(rid, peer, std::move(f));
                } else if constexpr (std::is_same_v<T, protocol::ReceiptWantFrame>) {
                    on_receipt_want(rid, peer, f);
                } else if constexpr (std::is_same_v<T, protocol::ResyncFrame>) {
                    on_resync_request(rid, peer, f);
                } else if constexpr (std::is_same_v<T, protocol::RedeliverWantFrame>) {
                    on_redeliver_want(rid, peer, f);
                } else if constexpr (std::is_same_v<T, protocol::RelayOfferFrame>) {
                    on_relay_offer(rid, peer, std::move(f));
                } else if constexpr (std::is_same_v<T, protocol::RelayFrame>) {
                    on_relay(rid, peer, std::move(f));
                } else if constexpr (std::is_same_v<T, protocol::AckFrame>) {
                    on_forwarded_receipt(rid, peer, std::move(f.envelope));
                } else if constexpr (std::is_same_v<T, protocol::AuditHeadFrame>) {
                    on_audit_head(rid, peer, f);
                } else if constexpr (std::is_same_v<T, protocol::AuditHeadsWantFrame>) {
                    on_audit_heads_want(rid, peer);
                } else if constexpr (std::is_same_v<T, protocol::DirReconcileFrame> ||
                                     std::is_same_v<T, protocol::DirWantFrame> ||
                                     std::is_same_v<T, protocol::DirRecordsFrame>) {
                    dir_on_router_frame(rid, peer, protocol::Frame(std::move(f)));
                } else {
                    reject(rid, peer, "unexpected_frame", "frame type not accepted on an incoming link", {});
                }
            },
            std::move(a.frame).value());
    }
}

// When we hold message `id` (from `sender`, if not empty), queues its stored receipt as the
// answer to `routing_id` and returns true.
bool NodeImpl::answer_held(const Bytes& routing_id, const Hash32& id, const std::string& sender) {
    return m_store->env().read([&](const storage::ReadTxn& t) {
        auto existing = m_store->inbox_record(t, id);
        if (!existing || (!sender.empty() && existing->sender != sender)) return false;
        if (!m_batch.receipt_wires.count(existing->receipt_id))
            if (auto w = m_store->receipt(t, existing->receipt_id)) m_batch.receipt_wires[existing->receipt_id] = std::move(*w);
        m_batch.acks.emplace(routing_id, existing->receipt_id);
        return true;
    });
}

CheckedDelivery NodeImpl::check_delivery(const std::string& peer, const protocol::SignPublicKey& link_key,
                                         ByteView envelope) const {
    CheckedDelivery c;
    c.link_key = link_key;
    c.size = envelope.size();
    c.se = protocol::decode_envelope(envelope, m_limits);
    c.link_signed = c.se.ok() && c.se->env.from == peer && protocol::verify_envelope(*c.se, link_key);
    return c;
}

std::string NodeImpl::status_misfit(const storage::StatusEvent& e) {
    return m_store->env().read([&](const storage::ReadTxn& t) -> std::string {
        std::vector<uint64_t> changes;
        for (const auto& l : m_catalog->lifecycle(t, e.document)) changes.push_back(l.recorded_ms);
        // The report in its place by signed time (after those of the same time: recorded now).
        auto events = m_catalog->timeline(t, e.document, e.recipient);
        const auto at = std::upper_bound(events.begin(), events.end(), e.time_ms,
                                         [](uint64_t ms, const storage::StatusEvent& ev) { return ms < ev.time_ms; });
        const size_t index = static_cast<size_t>(at - events.begin());
        storage::StatusEvent arriving = e;
        arriving.recorded_ms = m_clock->now_ms();
        events.insert(at, arriving);
        bool taken = false;
        const auto before = storage::Catalog::replay(
            std::vector<storage::StatusEvent>(events.begin(), events.begin() + static_cast<ptrdiff_t>(index)), changes);
        storage::Catalog::replay(events, changes, [&](size_t i) { taken = taken || i == index; });
        if (taken) return "";
        return "status " + e.code + " (" + std::string(protocol::status_code_name(e.code)) + ") signed at " +
               utc_time(e.time_ms) + " does not fit the document's timeline at that time (" +
               (before.code.empty() ? "no status" : before.code + " " + std::string(protocol::status_code_name(before.code))) +
               "): reports may not reverse, reopen or repeat the lifecycle";
    });
}

void NodeImpl::on_deliver(const Bytes& routing_id, const std::string& peer, Bytes envelope) {
    auto it = m_links.find(peer);
    if (it == m_links.end()) return;
    auto c = check_delivery(peer, it->second.record.identity.sign_key, envelope);
    Bytes().swap(envelope);
    on_checked_delivery(routing_id, peer, std::move(c));
}

void NodeImpl::on_checked_delivery(const Bytes& routing_id, const std::string& peer, CheckedDelivery c) {
    auto& se = c.se;
    if (!se.ok()) return reject(routing_id, peer, "malformed_envelope", se.error(), {});
    const Bytes mid(se->id.begin(), se->id.end());
    const std::string short_msg = hex_id(se->id);
    if (se->env.kind != protocol::Kind::document && se->env.kind != protocol::Kind::status)
        return reject(routing_id, peer, "wrong_kind", "only documents and status reports are delivered on this link", mid, true);
    // The sender, or a relay carrying the sender's envelope (relay.cpp): the signature is the
    // sender's either way.
    const std::string origin = se->env.from;
    if (std::find(se->env.to.begin(), se->env.to.end(), m_config.agency) == se->env.to.end())
        return reject(routing_id, peer, "not_addressed", "document is not addressed to " + m_config.agency, mid, true);
    if (m_inbound_pending.count(se->id)) {
        ++m_counters.duplicates;
        return;  // already being committed; its receipt will answer this copy too
    }
    if (routing_id == kSelfRoute && origin != m_config.agency)
        return reject(routing_id, peer, "unknown_sender", "a self-addressed delivery from '" + origin + "'", mid, true);
    const auto origin_key = routing_id == kSelfRoute ? std::optional(m_identity.pub.sign_key)
                            : origin == peer         ? std::optional(m_links.at(peer).record.identity.sign_key)
                                                     : sender_key(origin);
    if (!origin_key)
        return reject(routing_id, peer, "unknown_sender",
                      "envelope from '" + origin + "', whom this node does not know, arrived over the link of '" + peer + "'", mid);
    // Checked on arrival with the link's key; another key of the sender's (its directory record
    // changed, or a relay brought it) is tried here.
    const bool link_signed = c.link_signed && *origin_key == c.link_key;  // link_signed: origin == peer
    if (!link_signed && !verify_from(*se, origin, *origin_key))
        return reject(routing_id, peer, "bad_signature", "envelope signature does not verify with the sender's key", mid);

    // Fast path for a re-sent document we already hold: answer with the stored receipt.
    if (answer_held(routing_id, se->id, "")) {
        ++m_counters.duplicates;
        m_log.debug("duplicate", {{"peer", peer}, {"msg", short_msg}});
        return;
    }
    InboundDoc d;
    d.rec.id = se->id;
    d.rec.sender = origin;
    d.rec.size = c.size;
    d.rec.created_ms = se->env.created_ms;
    if (se->env.kind == protocol::Kind::document) {
        auto opened = protocol::open_document(*se, m_identity, m_limits, &m_shared_keys);
        for (size_t k = 0; !opened.ok() && k < m_previous.size(); ++k)  // sealed before our key rotated
            opened = protocol::open_document(*se, m_previous[k], m_limits);
        if (!opened.ok()) return reject(routing_id, peer, "undecryptable", opened.error(), mid, true);
        // A carried edXML must be the document it claims to be; checked once here, so show and
        // export can rely on it.
        if (!opened->content.edxml.empty())
            if (auto carried = protocol::edxml::complete_from_edxml(opened->content); !carried.ok())
                return reject(routing_id, peer, "bad_edxml", carried.error(), mid, true);
        d.rec.content_hash = opened->content_hash;
        d.rec.subject = opened->content.meta.subject;
        d.summary = std::make_shared<storage::DocSummary>(summarize(se->id, false, opened->content, 0));
        d.business_reason = opened->content.meta.business.reason;
        // Checked here, not first in the group commit: one bad document must not fail the others.
        Status indexable = storage::Catalog::check_document(*d.summary);
        if (indexable.ok() && d.summary->acts_on)
            indexable = storage::Catalog::check_lifecycle({*d.summary->acts_on, se->id, d.summary->business_type, 0,
                                                           d.business_reason});
        if (!indexable.ok()) return reject(routing_id, peer, "unindexable", indexable.error(), mid, true);
        if (const auto& target = d.summary->acts_on) {
            // Only the sender of a document may revoke, update or replace it.
            const auto sum = m_store->env().read([&](const storage::ReadTxn& t) { return m_catalog->summary(t, *target); });
            if (sum && sum->sender != origin)
                return reject(routing_id, peer, "not_authorized",
                              std::string(protocol::business_doc_type_name(
                                  static_cast<protocol::BusinessDocType>(d.summary->business_type))) +
                                  " of document " + hex_id(*target).substr(0, 16) + ", which " + sum->sender +
                                  " sent, not " + origin + ": an agency may act only on its own documents",
                              mid, true);
        }
    } else {
        auto opened = protocol::open_status(*se, m_identity, &m_shared_keys);
        for (size_t k = 0; !opened.ok() && k < m_previous.size(); ++k) opened = protocol::open_status(*se, m_previous[k]);
        if (!opened.ok()) return reject(routing_id, peer, "undecryptable", opened.error(), mid, true);
        const auto& r = opened->report;
        const auto doc = m_store->env().read([&](const storage::ReadTxn& t) { return m_catalog->summary(t, r.document); });
        const bool about_ours = doc && doc->outgoing &&
                                std::find(doc->recipients.begin(), doc->recipients.end(), origin) != doc->recipients.end();
        const bool about_theirs = doc && !doc->outgoing && doc->sender == origin;
        if (r.code == "13" ? !about_theirs : !about_ours)
            return reject(routing_id, peer, "unrelated_status",
                          "status " + r.code + " is about document " + hex_id(r.document).substr(0, 16) +
                              ", which " + origin + " " + (r.code == "13" ? "did not send to " : "was not sent by ") +
                              m_config.agency,
                          mid);
        d.rec.content_hash = opened->content_hash;
        d.rec.subject = "status " + r.code + ": " + doc->subject;
        auto e = std::make_shared<storage::StatusEvent>();
        e->document = r.document;
        e->recipient = r.code == "13" ? m_config.agency : origin;
        e->reporter = origin;
        e->code = r.code;
        e->time_ms = r.time_ms;
        e->staff = r.staff;
        e->description = r.description;
        e->message_id = se->id;
        if (auto st = storage::Catalog::check_status(*e); !st.ok())
            return reject(routing_id, peer, "unindexable", st.error(), mid, true);
        if (auto why = status_misfit(*e); !why.empty()) return reject(routing_id, peer, "status_refused", why, mid, true);
        d.status = std::move(e);
    }
    d.wire = std::move(se->wire);
    d.routing_id = routing_id;
    d.peer = peer;
    m_batch.documents += 1;
    m_batch.bytes += c.size;
    m_inbound_pending.insert(d.rec.id);
    m_batch.inbound.push_back(std::move(d));
}

}  // namespace lienthong::node
