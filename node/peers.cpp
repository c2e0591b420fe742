// Outgoing links: one DEALER per peer, a window of documents in flight, go-back retransmission
// with capped exponential backoff and jitter, heartbeats, and receipt handling.
#include <zmq.h>

#include <algorithm>
#include <cmath>

#include "node/node_impl.h"

namespace lienthong::node {

namespace {
std::string z85(const std::array<uint8_t, 32>& key) {
    char out[41] = {};
    zmq_z85_encode(out, key.data(), key.size());
    return std::string(out, 40);
}
}  // namespace

Status NodeImpl::add_link(const storage::PeerRecord& rec) {
    const std::string& agency = rec.identity.agency;
    remove_link(agency);
    PeerLink link;
    link.record = rec;
    link.backoff_ms = m_config.retry.initial_ms;
    link.down_since_ms = m_clock->now_ms();
    try {
        link.dealer = std::make_unique<zmq::socket_t>(m_ctx, zmq::socket_type::dealer);
        auto& d = *link.dealer;
        d.set(zmq::sockopt::linger, 0);
        d.set(zmq::sockopt::immediate, 1);
        d.set(zmq::sockopt::curve_serverkey, z85(rec.identity.box_key));
        d.set(zmq::sockopt::curve_publickey, z85(m_identity.pub.box_key));
        d.set(zmq::sockopt::curve_secretkey, z85(m_identity.box_secret));
        d.set(zmq::sockopt::reconnect_ivl, static_cast<int>(m_config.retry.initial_ms));
        d.set(zmq::sockopt::reconnect_ivl_max, static_cast<int>(m_config.retry.max_ms));
        // An attempt that gets no answer — a connect whose SYNs were lost, or a CURVE
        // handshake whose packets were (heartbeats start only after it) — would otherwise sit
        // in TCP's exponential backoff, or for libzmq's 30 s handshake limit, long after the
        // link has healed. Give it up and start a fresh one instead.
        const int attempt_ms = static_cast<int>(std::clamp<uint64_t>(4 * m_config.retry.initial_ms, 2000, 10000));
        d.set(zmq::sockopt::connect_timeout, attempt_ms);
        d.set(zmq::sockopt::handshake_ivl, attempt_ms);
        d.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(m_config.heartbeat_ms));
        d.set(zmq::sockopt::heartbeat_timeout, static_cast<int>(m_config.heartbeat_timeout_ms));
        d.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(m_config.limits.max_envelope_bytes + 4096));
        d.set(zmq::sockopt::sndhwm, static_cast<int>(m_config.limits.window_documents * 2 + 16));
        const std::string mon = "inproc://monitor-" + std::to_string(++m_monitor_seq);
        if (zmq_socket_monitor(d.handle(), mon.c_str(),
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
            return make_error("cannot monitor the link to '" + agency + "'");
        link.monitor = std::make_unique<zmq::socket_t>(m_ctx, zmq::socket_type::pair);
        link.monitor->set(zmq::sockopt::linger, 0);
        link.monitor->connect(mon);
        d.connect(rec.endpoint);
    } catch (const zmq::error_t& e) {
        return make_error("cannot connect to peer '" + agency + "' at " + rec.endpoint + ": " + e.what());
    }
    m_links.emplace(agency, std::move(link));
    m_log.info("peer_added", {{"peer", agency}, {"endpoint", rec.endpoint}, {"source", rec.source}});
    return ok_status();
}

void NodeImpl::remove_link(const std::string& agency) {
    auto it = m_links.find(agency);
    if (it == m_links.end()) return;
    zmq_socket_monitor(it->second.dealer->handle(), nullptr, 0);
    m_links.erase(it);
}

bool NodeImpl::send_frame(zmq::socket_t& sock, const protocol::Frame& f, ByteView routing_id) {
    auto* bytes = new Bytes(protocol::encode_frame(f));
    // Hand the buffer to zmq without another copy; zmq frees it when sent.
    zmq::message_t msg(bytes->data(), bytes->size(), [](void*, void* hint) { delete static_cast<Bytes*>(hint); }, bytes);
    try {
        if (!routing_id.empty() &&
            !sock.send(zmq::const_buffer(routing_id.data(), routing_id.size()), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
            return false;
        return sock.send(msg, zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t&) {
        return false;
    }
}

uint64_t PeerLink::rto_ms() const { return static_cast<uint64_t>(srtt_ms + 4 * rttvar_ms); }

uint64_t PeerLink::retransmit_after_ms() const {
    constexpr double kFloorBps = 16 * 1024;  // a poor commune link, before anything is measured
    const double rate = std::max(goodput_bps, kFloorBps);
    // Twice the time the bytes need at the measured rate: a peer committing a full window
    // (fsync, indexing) answers in bursts, and going back early resends the whole window.
    return backoff_ms + static_cast<uint64_t>(2000.0 * static_cast<double>(inflight_bytes) / rate);
}

void PeerLink::note_goodput(uint64_t bytes, uint64_t now, uint64_t since) {
    if (bytes == 0 || now <= since) return;
    const double bps = 1000.0 * static_cast<double>(bytes) / static_cast<double>(now - since);
    goodput_bps = goodput_bps == 0 ? bps : 0.8 * goodput_bps + 0.2 * bps;
}

void NodeImpl::wake_outbox(const std::string& agency, uint64_t urgency) {
    if (agency == m_config.agency) {
        m_self_has_more = true;
        return;
    }
    auto it = m_links.find(agency);
    if (it == m_links.end()) return;
    it->second.has_more = true;
    // Outbox keys sort by (3 - urgency, seq): a new entry of urgency 0 has the highest key of
    // the peer's outbox, but a more urgent one may sort before the cursor, which would skip it.
    if (urgency > 0) it->second.cursor.clear();
}

void NodeImpl::pump_all() {
    pump_self();
    for (auto& [agency, link] : m_links) {
        pump(link);
        pump_relays(link);
    }
}

void NodeImpl::pump(PeerLink& link) {
    const auto& lim = m_config.limits;
    if (!link.connected || !link.has_more || link.sync) return;
    if (link.inflight.size() >= lim.window_documents || link.inflight_bytes >= lim.window_bytes) return;
    // Read what fits in the window in one snapshot, skipping what is already in flight (the
    // cursor restarts from the top when an urgent document jumps the queue).
    struct Item {
        Bytes key;
        Hash32 id;
        Outgoing out;
    };
    std::vector<Item> items;
    bool exhausted = true;
    Bytes cursor = link.cursor;
    const uint64_t whole_limit = link.whole_limit(lim.chunk_threshold_bytes);
    m_store->env().read([&](const storage::ReadTxn& t) {
        size_t n = link.inflight.size(), bytes = link.inflight_bytes, scanned = 0;
        m_store->scan_outbox(t, link.record.identity.agency, cursor, [&](ByteView key, const Hash32& id) {
            if (n >= lim.window_documents || bytes >= lim.window_bytes || ++scanned > 4 * lim.window_documents) {
                exhausted = false;
                return false;
            }
            if (link.inflight.count(id) || link.retiring.count(id)) {
                cursor.assign(key.begin(), key.end());
                return true;
            }
            auto out = outgoing(t, id, whole_limit);
            if (!out) return true;  // cannot happen: outbox and documents change together
            ++n;
            bytes += out->size;
            items.push_back(Item{Bytes(key.begin(), key.end()), id, std::move(*out)});
            return true;
        });
        return 0;
    });
    link.cursor = std::move(cursor);
    const uint64_t now = m_clock->now_ms();
    for (auto& it : items) {
        const size_t size = it.out.size;
        // A large envelope is offered by its manifest; the receiver pulls the chunks (transfer.cpp).
        const size_t chunks = it.out.offer ? it.out.offer->hashes.size() : 0;
        const protocol::Frame frame = it.out.offer ? protocol::Frame(std::move(*it.out.offer))
                                                   : protocol::Frame(protocol::DeliverFrame{std::move(it.out.envelope)});
        if (!send_frame(*link.dealer, frame)) {
            link.has_more = true;
            return;  // socket full or link went down; resume from the cursor later
        }
        if (chunks > 0) link.offered[it.id].assign(chunks, 0);
        else link.bytes_sent += size;
        if (link.inflight.empty()) link.last_progress_ms = now;
        link.inflight.emplace(it.id, InFlight{it.key, size, now});
        link.inflight_bytes += size;
        link.cursor = std::move(it.key);
        m_log.debug("document_sent", {{"peer", link.record.identity.agency}, {"msg", hex_id(it.id)}});
    }
    link.has_more = !exhausted;
}

void NodeImpl::on_monitor_event(PeerLink& link) {
    zmq::message_t ev, addr;
    try {
        if (!link.monitor->recv(ev, zmq::recv_flags::dontwait)) return;
        if (ev.more()) (void)link.monitor->recv(addr, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
        return;
    }
    if (ev.size() < 6) return;
    uint16_t event = 0;
    std::memcpy(&event, ev.data(), 2);
    const std::string& agency = link.record.identity.agency;
    const uint64_t now = m_clock->now_ms();
    switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            link.connected = true;
            ++m_metrics.peers[agency].connects;
            link.reconnect_backoff_ms = 0;
            link.reconnect_at_ms = 0;
            link.last_contact_ms = now;
            link.last_error.clear();
            // Whatever was in flight on an earlier connection may be lost: start over from
            // the oldest pending entry. The recipient is idempotent.
            link.inflight.clear();
            link.inflight_bytes = 0;
            link.cursor.clear();
            link.has_more = true;
            link.backoff_ms = m_config.retry.initial_ms;
            link.next_ping_ms = now + m_config.heartbeat_ms;
            link.next_gossip_ms = now;
            link.relay_inflight.clear();
            link.offered.clear();
            link.next_forward_ms = now;
            m_log.info("peer_connected", {{"peer", agency}, {"endpoint", link.record.endpoint}});
            start_delivery_sync(link, now);
            link.resync.reset();
            link.resync_next_ms = 0;
            maybe_start_resync(link, now);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (link.connected) {
                m_log.warn("peer_disconnected", {{"peer", agency}, {"pending", std::to_string(link.inflight.size())}});
                link.down_since_ms = now;
            }
            link.connected = false;
            link.relay_inflight.clear();
            link.inflight.clear();
            link.inflight_bytes = 0;
            break;
        default: {
            // libzmq does not reconnect after a failed handshake; schedule it ourselves, with
            // capped exponential backoff and jitter, so a peer that adds us later is reached.
            link.connected = false;
            link.last_error = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                                  ? "CURVE handshake refused by the peer (is this node in its peer list, with the current key?)"
                              : event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                  ? "handshake failed: the endpoint does not speak the protocol (is it a lienthong node?)"
                                  : "handshake did not complete: no answer in time, or the connection broke; trying a fresh one";
            const uint64_t next = std::clamp(link.reconnect_backoff_ms * 2, m_config.retry.initial_ms, m_config.retry.max_ms);
            link.reconnect_backoff_ms = next;
            link.reconnect_at_ms = now + next / 2 + m_rng.between(0, next / 2);
            m_log.warn("handshake_failed", {{"peer", agency}, {"endpoint", link.record.endpoint}, {"error", link.last_error},
                                            {"retry_in_ms", std::to_string(link.reconnect_at_ms - now)}});
            break;
        }
    }
}

void NodeImpl::on_dealer_readable(PeerLink& link) {
    const std::string agency = link.record.identity.agency;
    for (size_t n = 0; n < m_config.limits.batch_documents; ++n) {
        zmq::message_t msg;
        size_t extra_parts = 0;
        try {
            if (!link.dealer->recv(msg, zmq::recv_flags::dontwait)) break;
            // Frames are one part; drain (never wait for) anything more a faulty peer sent.
            for (bool more = msg.more(); more && extra_parts < 64; ++extra_parts) {
                zmq::message_t junk;
                if (!link.dealer->recv(junk, zmq::recv_flags::dontwait)) break;
                more = junk.more();
            }
        } catch (const zmq::error_t&) {
            break;
        }
        auto it = m_links.find(agency);
        if (it == m_links.end()) return;
        PeerLink& l = it->second;
        l.last_contact_ms = m_clock->now_ms();
        auto frame = extra_parts > 0 ? Result<protocol::Frame>(make_error("frame: sent in more than one part"))
                                     : protocol::decode_frame(ByteView(msg.data<uint8_t>(), msg.size()),
                                                              m_config.limits.max_envelope_bytes);
        if (!frame.ok()) {
            log_refusal("frame_rejected", agency, "malformed_frame", "", frame.error());
            continue;
        }
        std::visit(
            [&](auto&& f) {
                using T = std::decay_t<decltype(f)>;
                if constexpr (std::is_same_v<T, protocol::AckFrame>) {
                    on_ack(l, std::move(f.envelope));
                } else if constexpr (std::is_same_v<T, protocol::RejectFrame>) {
                    on_reject(l, f);
                } else if constexpr (std::is_same_v<T, protocol::SyncFrame>) {
                    on_sync_answer(l, f);
                } else if constexpr (std::is_same_v<T, protocol::ResyncFrame>) {
                    on_resync_answer(l, f);
                } else if constexpr (std::is_same_v<T, protocol::ChunkWantFrame>) {
                    on_chunk_want(l, f);
                } else if constexpr (std::is_same_v<T, protocol::CustodyFrame>) {
                    on_custody(l, f);
                } else if constexpr (std::is_same_v<T, protocol::AuditHeadsFrame>) {
                    on_audit_heads(l, f);
                } else if constexpr (std::is_same_v<T, protocol::PongFrame>) {
                    // last_contact_ms already updated
                } else if constexpr (std::is_same_v<T, protocol::DirReconcileFrame> ||
                                     std::is_same_v<T, protocol::DirRecordsFrame>) {
                    dir_on_dealer_frame(l, protocol::Frame(std::move(f)));
                } else {
                    log_refusal("frame_rejected", agency, "unexpected_frame", "", "unexpected frame type on outgoing link");
                }
            },
            std::move(frame).value());
    }
}

// The peer refused something we sent it. A permanent refusal ends the delivery (to the peer,
// or to each recipient we handed the envelope to it for, as a relay): refused, with the reason,
// out of the outbox. Any other is noted on the delivery; the retransmission timer tries again.
void NodeImpl::on_reject(PeerLink& link, const protocol::RejectFrame& f) {
    const std::string agency = link.record.identity.agency;
    link.last_error = "peer refused a document: " + f.reason;
    uint64_t held = 0;
    if (m_refusals.allow("refused_by_peer/" + agency, m_clock->now_ms(), held))
        m_log.warn("document_refused_by_peer", {{"peer", agency}, {"msg", protocol::to_hex(f.message_id)},
                                                {"permanent", f.permanent ? "true" : "false"}, {"reason", f.reason},
                                                {"held_back", std::to_string(held)}});
    if (f.message_id.size() != 32) return;
    Hash32 id{};
    std::copy(f.message_id.begin(), f.message_id.end(), id.begin());
    const std::string err = link.last_error;
    if (!f.permanent) {
        // A relay that refused for now (its transfer quota full, its disk busy) is asked again
        // after the short relay timer, not the long silence an offer otherwise waits for.
        const uint64_t now = m_clock->now_ms();
        for (auto it = link.relay_inflight.lower_bound({id, std::string()}); it != link.relay_inflight.end() && it->first.first == id; ++it)
            it->second = RelayInFlight{now, false, it->second.bytes};
        m_batch.writes.push_back([this, id, agency, err](storage::WriteTxn& t) {
            return m_store->note_attempt(t, id, agency, err);
        });
        return;
    }
    std::vector<std::string> recipients{agency};
    for (auto it = link.relay_inflight.lower_bound({id, std::string()}); it != link.relay_inflight.end() && it->first.first == id; ++it)
        if (it->first.second != agency) recipients.push_back(it->first.second);
    // Each delivery refused for good, and for one we carried as a relay, the custody it frees.
    struct Refused {
        std::string recipient, from_hop;
        uint64_t bytes = 0;
    };
    auto refused = std::make_shared<std::vector<Refused>>();
    m_batch.writes.push_back([this, id, agency, recipients, err, refused](storage::WriteTxn& t) -> Status {
        refused->clear();
        LT_TRY(m_store->remove_forward(t, agency, id));  // a receipt we passed back, refused for good
        const uint64_t size = m_store->document_size(t, id).value_or(0);  // before a relay's copy goes
        for (const auto& r : recipients) {
            const auto tr = m_store->transit(t, id, r);
            LT_ASSIGN(const bool done, m_store->refuse_delivery(t, id, r, err));
            if (done) refused->push_back({r, tr ? tr->from_hop : std::string(), size});
            if (done) {
                auto a = audit_event("delivery_refused");
                a.msg = id;
                a.agency = r;
                if (r != agency) a.peer = agency;
                a.detail = err;
                LT_TRY(audit(t, a));
            }
        }
        return ok_status();
    });
    m_batch.after.push_back([this, id, agency, refused, reason = f.reason](bool ok, const std::string&) {
        if (!ok) return;
        auto it = m_links.find(agency);
        if (it == m_links.end()) return;
        auto& l = it->second;
        if (auto flight = l.inflight.find(id); flight != l.inflight.end()) {
            l.inflight_bytes -= flight->second.bytes;
            l.inflight.erase(flight);
        }
        l.offered.erase(id);
        for (const auto& [r, from_hop, bytes] : *refused) {
            if (!from_hop.empty()) release_custody(from_hop, bytes);
            l.relay_inflight.erase({id, r});
            m_log.warn("delivery_refused", {{"peer", agency}, {"to", r}, {"msg", hex_id(id)}, {"reason", reason},
                                            {"note", "refused for good: not sent again; see 'lienthong-admin show'"}});
        }
    });
}

void NodeImpl::on_ack(PeerLink& link, Bytes envelope) {
    const std::string agency = link.record.identity.agency;
    auto se = protocol::decode_envelope(envelope, m_limits);
    const auto refuse = [&](const std::string& kind, const std::string& why) {
        log_refusal("receipt_rejected", agency, kind, "", why);
    };
    if (!se.ok()) return refuse("malformed_receipt", se.error());
    if (se->env.kind != protocol::Kind::receipt) return refuse("malformed_receipt", "ack does not carry a receipt");
    if (m_applied_receipts.count(se->id)) {
        link.last_progress_ms = m_clock->now_ms();
        return;  // the same receipt again, answering a retransmitted duplicate
    }
    if (se->env.from != agency) return refuse("wrong_sender", "receipt signed by '" + se->env.from + "' arrived from '" + agency + "'");
    if (!verify_from(*se, agency, link.record.identity.sign_key)) return refuse("bad_signature", "receipt signature is invalid");
    auto receipt = protocol::parse_receipt(*se);
    if (!receipt.ok()) return refuse("malformed_receipt", receipt.error());
    const Hash32 receipt_id = se->id;
    // The receipt verified: what it names leaves the window now, so the next documents travel
    // while it is committed (`retiring` keeps them from being sent again meanwhile).
    std::vector<Hash32> named;
    for (const auto& e : receipt->entries)
        if (auto f = link.inflight.find(e.message_id); f != link.inflight.end()) {
            link.inflight_bytes -= f->second.bytes;
            link.retiring.insert(link.inflight.extract(f));
            named.push_back(e.message_id);
        }
    auto outcome = queue_receipt(agency, std::move(*se), std::move(receipt).value());
    m_batch.after.push_back([this, receipt_id, agency, outcome, named](bool ok, const std::string&) {
        auto it = m_links.find(agency);
        // What the receipt named leaves `retiring`. What the commit did not settle (it failed,
        // or the receipt did not match) goes back in flight, for the retransmission timer.
        std::map<Hash32, InFlight, HashLess> named_flights;
        if (it != m_links.end())
            for (const auto& id : named)
                if (auto f = it->second.retiring.find(id); f != it->second.retiring.end())
                    named_flights.insert(it->second.retiring.extract(f));
        const auto unsettled_back_in_flight = [&] {
            for (const auto& [id, flight] : named_flights)
                if (it->second.inflight.emplace(id, flight).second) it->second.inflight_bytes += flight.bytes;
        };
        if (!ok) return unsettled_back_in_flight();  // the receipt will come again when we retransmit
        if (m_applied_receipts.size() > 100000) m_applied_receipts.clear();
        m_applied_receipts.insert(receipt_id);
        if (it != m_links.end()) {
            auto& l = it->second;
            const uint64_t now = m_clock->now_ms();
            size_t acked_bytes = 0;
            for (const auto* ids : {&outcome->delivered, &outcome->known, &outcome->relayed})
                for (const auto& id : *ids) {
                    l.relay_inflight.erase({id, agency});  // it was handed to us as a relay for itself
                    l.offered.erase(id);
                    std::optional<InFlight> was;
                    if (auto f = named_flights.find(id); f != named_flights.end()) {
                        was = f->second;
                        named_flights.erase(f);
                    }
                    // In flight (again): sent on a new connection, or asked for by delivery sync.
                    if (auto f = l.inflight.find(id); f != l.inflight.end()) {
                        if (!was) was = f->second;
                        l.inflight_bytes -= f->second.bytes;
                        l.inflight.erase(f);
                    }
                    if (!was) continue;
                    acked_bytes += was->bytes;
                    const double sample = static_cast<double>(now - was->sent_ms);
                    m_metrics.receipt_seconds.observe(sample / 1000.0);
                    if (l.srtt_ms == 0) {
                        l.srtt_ms = sample;
                        l.rttvar_ms = sample / 2;
                    } else {
                        l.rttvar_ms = 0.75 * l.rttvar_ms + 0.25 * std::abs(l.srtt_ms - sample);
                        l.srtt_ms = 0.875 * l.srtt_ms + 0.125 * sample;
                    }
                }
            unsettled_back_in_flight();
            l.note_goodput(acked_bytes, now, l.last_progress_ms);
            l.last_progress_ms = now;
            l.backoff_ms = std::clamp(l.rto_ms(), m_config.retry.initial_ms, m_config.retry.max_ms);
            l.delivered += outcome->delivered.size();
        }
        m_counters.receipts += outcome->delivered.size();
        for (const auto& [hop, bytes] : outcome->released) release_custody(hop, bytes);
        for (const auto& id : outcome->delivered)
            m_log.info("delivered", {{"peer", agency}, {"msg", hex_id(id)}, {"receipt", protocol::short_id(receipt_id)}});
        for (const auto& id : outcome->relayed)
            m_log.info("relay_delivered", {{"peer", agency}, {"msg", hex_id(id)}, {"receipt", protocol::short_id(receipt_id)}});
        for (const auto& hop : outcome->forward_to)
            if (auto h = m_links.find(hop); h != m_links.end()) h->second.next_forward_ms = 0;
        log_receipt_misses(agency, receipt_id, *outcome);
    });
}

void NodeImpl::on_peer_timers(PeerLink& link, uint64_t now) {
    if (link.reconnect_at_ms && now >= link.reconnect_at_ms) {
        link.reconnect_at_ms = 0;
        try {
            link.dealer->disconnect(link.record.endpoint);
        } catch (const zmq::error_t&) {
            // already gone: zmq dropped the failed connection
        }
        try {
            link.dealer->connect(link.record.endpoint);
        } catch (const zmq::error_t& e) {
            link.last_error = std::string("cannot reconnect: ") + e.what();
        }
    }
    if (!link.connected) return;
    const std::string& agency = link.record.identity.agency;
    if (!link.inflight.empty() && now >= link.last_progress_ms + link.retransmit_after_ms()) {
        // No receipt for a whole backoff period: go back and resend from the oldest pending.
        m_log.warn("retransmit", {{"peer", agency},
                                  {"in_flight", std::to_string(link.inflight.size())},
                                  {"waited_ms", std::to_string(now - link.last_progress_ms)}});
        ++link.retries;
        // The rate measured before no longer holds (the link slowed, the peer stalled): halve it,
        // so the next window waits longer for its receipts and large envelopes go in chunks,
        // instead of the whole window crossing the slow link again and again.
        link.goodput_bps /= 2;
        for (const auto& [id, flight] : link.inflight) link.offered.erase(id);  // offered again, served again
        link.inflight.clear();
        link.inflight_bytes = 0;
        link.cursor.clear();
        link.has_more = true;
        const uint64_t next = std::min(std::max(link.backoff_ms, link.rto_ms()) * 2, m_config.retry.max_ms);
        link.backoff_ms = next / 2 + m_rng.between(0, next / 2);  // "equal jitter"
        link.last_progress_ms = now;
    }
    relay_timers(link, now);
    resync_timers(link, now);
    if (link.sync && now >= link.sync->started_ms + std::max<uint64_t>(2000, 4 * link.rto_ms())) {
        m_log.warn("delivery_sync_timeout", {{"peer", agency}, {"note", "no answer; sending the outbox"}});
        link.sync.reset();
    }
    if (now >= link.next_ping_ms) {
        link.next_ping_ms = now + m_config.heartbeat_ms;
        send_frame(*link.dealer, protocol::PingFrame{++link.ping_nonce});
    }
}

}  // namespace lienthong::node
