// Resumable chunked transfer (issue 4): an envelope over limits.chunk_threshold_bytes is not
// sent whole on a slow link (PeerLink::whole_limit). The sender offers its manifest — the size and the hash of each fixed-size chunk,
// signed — and the receiver pulls the chunks it lacks, a bounded window at a time, storing each
// in LMDB as it arrives. A transfer broken by a cut link or a restart of either side resumes
// from the chunks already stored: the sender offers again (on reconnect, or when its own
// timer gives up waiting), and the receiver asks only for what it lacks. When every chunk is
// stored the envelope is put together and delivered as if it had come whole (verified,
// opened, committed, answered with the signed receipt), and its chunks are deleted in the
// same commit.
//
//   sender                                   receiver
//   Offer{id, total, chunk_size, hashes, sig} →  verify sig (the link's key); resume or start
//                                           ←  ChunkWant{id, [indices]}  (window kChunkWindow)
//   Chunk{id, i, bytes} ...                  →  hash checked, stored; more wanted as they land
//                                           ←  Ack (the receipt), once all are in
// A relay receives a large envelope the same way (RelayOffer: the relay header and the
// manifest) and takes custody once it is whole and verified (relay.cpp, carry); it carries it
// on by offering it in turn. The chunks are stored once, by message id, however many
// recipients the relay carries the document for, and a relay that already holds the envelope
// takes custody for another recipient without pulling it again.
// Memory: the receiver holds no chunk beyond the frame being handled; the sender hashes the
// manifest from LMDB's mapped pages and reads each chunk as it is asked for. Putting the
// envelope together holds it once, as any delivery does (bounded by limits.max_envelope_bytes).
// Bounds, against a peer with a valid key (issue 15): every chunk must have exactly the size
// the manifest gives it (so the sum is the manifest's total, itself within the envelope
// limit); a peer holds at most limits.transfers_per_peer transfers and
// limits.transfer_bytes_per_peer bytes open here; a transfer idle for limits.transfer_idle_ms
// is dropped with its chunks; a transfer under way from one peer is not reset by another's
// offer. At the sender, ChunkWant is served only for envelopes offered on that link, each
// chunk at most kMaxServes times per offer.
#include <algorithm>

#include "node/node_impl.h"

namespace lienthong::node {

namespace {
constexpr uint64_t kChunkSize = 64 * 1024;
constexpr size_t kChunkWindow = 4;              // chunks asked for and not yet arrived, per transfer
constexpr uint64_t kRequestTimeoutMs = 60000;   // asked for this long ago and not here: ask again
constexpr uint8_t kMaxServes = 4;               // times one chunk is served per offer
}  // namespace

// Chunks exist for slow links, where a cut costs minutes of resending. They cost a fast link
// twice the writes at the receiver and a round trip per window, so a link whose measured
// goodput carries an envelope in under a second gets it whole, up to kMaxWholeBytes (a whole
// envelope is held in memory at both ends). Until goodput is measured, the threshold decides.
uint64_t PeerLink::whole_limit(uint64_t chunk_threshold) const {
    constexpr uint64_t kMaxWholeBytes = 16ull << 20;
    const auto per_second = static_cast<uint64_t>(goodput_bps);
    return std::max(chunk_threshold, std::min(per_second, kMaxWholeBytes));
}

// Sender: what to send for stored envelope `id`, its bytes or (when larger than
// `whole_limit`) its manifest.
std::optional<Outgoing> NodeImpl::outgoing(const storage::ReadTxn& t, const Hash32& id, uint64_t whole_limit) const {
    Outgoing out;
    const bool stored = m_store->with_document(t, id, [&](ByteView envelope) {
        out.size = envelope.size();
        if (envelope.size() > whole_limit)
            out.offer = protocol::make_manifest(m_identity.sign_secret, id, envelope, kChunkSize);
        else
            out.envelope.assign(envelope.begin(), envelope.end());
    });
    if (!stored) return std::nullopt;
    return out;
}

// Sender (dealer side): the receiver asks for chunks.
void NodeImpl::on_chunk_want(PeerLink& link, const protocol::ChunkWantFrame& f) {
    // A relay pulling chunks has the offer in hand: no need to offer again yet.
    const uint64_t now = m_clock->now_ms();
    for (auto it = link.relay_inflight.lower_bound({f.id, std::string()}); it != link.relay_inflight.end() && it->first.first == f.id; ++it)
        it->second.heard_ms = now;
    const std::string& agency = link.record.identity.agency;
    auto offer = link.offered.find(f.id);
    if (offer == link.offered.end())
        return log_refusal("chunk_want_refused", agency, "unoffered_chunks", hex_id(f.id),
                           "chunks asked for an envelope not offered on this link");
    const size_t n = std::min<size_t>(f.indices.size(), 64);
    for (size_t k = 0; k < n; ++k) {
        const uint32_t index = f.indices[k];
        if (index >= offer->second.size()) continue;
        if (offer->second[index] >= kMaxServes) {
            log_refusal("chunk_want_refused", agency, "chunk_served_too_often", hex_id(f.id),
                        "chunk " + std::to_string(index) + " was served " + std::to_string(kMaxServes) +
                            " times since the offer; it is offered again after the retransmission timer");
            continue;
        }
        ++offer->second[index];
        auto bytes = m_store->env().read([&](const storage::ReadTxn& t) {
            return m_store->document_slice(t, f.id, uint64_t(index) * kChunkSize, kChunkSize);
        });
        if (!bytes || bytes->empty()) return;  // delivered and gone, or not ours
        link.chunk_bytes_sent += bytes->size();
        link.bytes_sent += bytes->size();
        if (!send_frame(*link.dealer, protocol::ChunkFrame{f.id, index, std::move(*bytes)})) return;
    }
}

// Receiver (router side): whether an offer is refused (answered with Reject): a manifest not
// signed by the peer, an envelope over our limit, a transfer of it under way from another
// peer, or a peer over its quota of open transfers.
bool NodeImpl::offer_refused(const Bytes& rid, const std::string& peer, const protocol::OfferFrame& f) {
    const auto& lim = m_config.limits;
    const Bytes mid(f.id.begin(), f.id.end());
    const auto& key = m_links.at(peer).record.identity.sign_key;
    if (!protocol::verify_manifest(key, f)) {
        reject(rid, peer, "bad_signature", "the transfer manifest's signature does not verify with the peer's key", mid);
        return true;
    }
    if (f.total > lim.max_envelope_bytes) {
        reject(rid, peer, "too_large",
               "offered envelope of " + std::to_string(f.total) + " bytes exceeds limits.max_envelope_bytes (" +
                   std::to_string(lim.max_envelope_bytes) + ")",
               mid, true);
        return true;
    }
    const uint64_t now = m_clock->now_ms();
    if (auto it = m_transfers.find(f.id); it != m_transfers.end()) {
        const Transfer& tr = it->second;
        if (tr.rec.from == peer || now >= tr.last_activity_ms + lim.transfer_idle_ms) return false;
        reject(rid, peer, "transfer_busy",
               "this envelope is being transferred from " + tr.rec.from + " already; offer it again later", mid);
        return true;
    }
    size_t open = 0;
    uint64_t bytes = 0;
    for (const auto& [id, tr] : m_transfers)
        if (tr.rec.from == peer) {
            ++open;
            bytes += tr.rec.total;
        }
    if (open >= lim.transfers_per_peer || bytes + f.total > lim.transfer_bytes_per_peer) {
        reject(rid, peer, "transfer_quota",
               "the peer has " + std::to_string(open) + " transfers (" + std::to_string(bytes) +
                   " bytes) open here, the most limits.transfers_per_peer and limits.transfer_bytes_per_peer allow; "
                   "offer it again when one has finished",
               mid);
        return true;
    }
    return false;
}

// Receiver (router side): an offer of a document addressed to us starts or resumes a transfer.
void NodeImpl::on_offer(const Bytes& rid, const std::string& peer, protocol::OfferFrame f) {
    if (offer_refused(rid, peer, f)) return;
    // Held already: the receipt answers, as for a document sent again.
    if (answer_held(rid, f.id, "") || m_inbound_pending.count(f.id)) return;
    Transfer& tr = open_transfer(rid, peer, std::move(f));
    tr.deliver_here = true;
    // An offer again means a new connection, or a sender that gave up waiting: what was asked
    // before is asked again.
    tr.requested.clear();
    continue_transfer(tr);
}

// Relay (router side): an offer of a large envelope to carry on to `f.to`.
void NodeImpl::on_relay_offer(const Bytes& rid, const std::string& peer, protocol::RelayOfferFrame f) {
    if (f.to == m_config.agency) return on_offer(rid, peer, std::move(f.offer));
    if (offer_refused(rid, peer, f.offer)) return;
    const Hash32 id = f.offer.id;
    const Bytes mid(id.begin(), id.end());
    bool ours = false, stored = false, held = false;
    std::optional<Result<protocol::SignedEnvelope>> decoded;
    m_store->env().read([&](const storage::ReadTxn& t) {
        ours = m_store->sent_record(t, id).has_value();
        held = m_store->transit(t, id, f.to).has_value();
        if (!ours && !held)
            stored = m_store->with_document(t, id, [&](ByteView wire) { decoded = protocol::decode_envelope(wire, m_limits); });
        return 0;
    });
    if (ours) return reject(rid, peer, "relay_loop", "the envelope came back to its sender: check the relay routes", mid);
    // Carried for this recipient already (perhaps delivered, its bytes gone): custody again,
    // without pulling megabytes to find that out.
    if (held) {
        send_frame(*m_router, protocol::CustodyFrame{id, f.to}, rid);
        return;
    }
    if (stored) {
        // We hold these bytes already (carried for another recipient, or received): custody
        // from them, or custody again if we hold it for this recipient too.
        auto& se = *decoded;
        if (!se.ok()) return reject(rid, peer, "malformed_envelope", se.error(), mid);
        return carry(rid, peer, std::make_shared<const protocol::SignedEnvelope>(std::move(se).value()), f.to,
                     RelayTarget{f.hops_left, f.urgency});
    }
    // Nowhere to take it: refuse before pulling megabytes.
    if (auto why = relay_route_refusal(peer, f.to, f.hops_left); !why.empty()) return reject(rid, peer, "no_route", why, mid);
    // The same envelope for one more recipient, on the connection it is arriving on: the
    // chunks asked for are on their way. Otherwise, as for an offer again, ask again.
    auto existing = m_transfers.find(id);
    const bool another_recipient = existing != m_transfers.end() && existing->second.rid == rid &&
                                   existing->second.rec.from == peer && !existing->second.relay_to.count(f.to);
    Transfer& tr = open_transfer(rid, peer, std::move(f.offer));
    tr.relay_to[f.to] = RelayTarget{f.hops_left, f.urgency};
    if (!another_recipient) tr.requested.clear();
    continue_transfer(tr);
}

// The transfer an offer starts or resumes (its signature and size already checked).
Transfer& NodeImpl::open_transfer(const Bytes& rid, const std::string& peer, protocol::OfferFrame f) {
    auto it = m_transfers.find(f.id);
    if (it != m_transfers.end() && (it->second.rec.from != peer || it->second.rec.hashes != f.hashes ||
                                    it->second.rec.total != f.total || it->second.rec.chunk_size != f.chunk_size)) {
        // A different manifest for the same id, or another sender once the first has gone idle
        // (offer_refused): start over with this one (the signature is checked, and the envelope
        // is verified when complete). What it was for stays: those recipients are served by
        // these bytes as well.
        const Hash32 id = f.id;
        m_batch.writes.push_back([this, id](storage::WriteTxn& t) { return m_store->remove_transfer(t, id); });
        Transfer fresh;
        fresh.deliver_here = it->second.deliver_here;
        fresh.relay_to = std::move(it->second.relay_to);
        it->second = std::move(fresh);
    }
    if (it == m_transfers.end()) it = m_transfers.emplace(f.id, Transfer{}).first;
    Transfer& tr = it->second;
    if (tr.have.empty()) {
        tr.rec.id = f.id;
        tr.rec.from = peer;
        tr.rec.total = f.total;
        tr.rec.chunk_size = f.chunk_size;
        tr.rec.hashes = std::move(f.hashes);
        tr.rec.started_ms = m_clock->now_ms();
        tr.have.assign(tr.rec.hashes.size(), false);
        m_batch.writes.push_back([this, rec = tr.rec](storage::WriteTxn& t) { return m_store->put_transfer(t, rec); });
        m_log.info("transfer_started", {{"peer", peer}, {"msg", hex_id(f.id)}, {"bytes", std::to_string(tr.rec.total)},
                                        {"chunks", std::to_string(tr.rec.hashes.size())}});
    } else {
        m_log.info("transfer_resumed", {{"peer", peer}, {"msg", hex_id(f.id)}, {"have", std::to_string(tr.have_count)},
                                        {"chunks", std::to_string(tr.rec.hashes.size())}});
    }
    tr.rid = rid;
    tr.last_activity_ms = m_clock->now_ms();
    return tr;
}

// Asks for what is missing, or, when every chunk is stored already (a restart between the
// last chunk's commit and the delivery), finishes the transfer.
void NodeImpl::continue_transfer(Transfer& tr) {
    if (tr.assembling) return;
    if (tr.have_count < tr.have.size()) return request_chunks(tr);
    tr.assembling = true;
    finish_transfer(tr.rec.id);
}

void NodeImpl::request_chunks(Transfer& tr) {
    if (tr.rid.empty() || tr.assembling) return;
    std::vector<uint32_t> want;
    for (uint32_t i = 0; i < tr.have.size() && tr.requested.size() + want.size() < kChunkWindow; ++i)
        if (!tr.have[i] && !tr.requested.count(i)) want.push_back(i);
    if (want.empty()) return;
    const uint64_t now = m_clock->now_ms();
    for (auto i : want) tr.requested[i] = now;
    send_frame(*m_router, protocol::ChunkWantFrame{tr.rec.id, std::move(want)}, tr.rid);
}

// Receiver (router side): one chunk.
void NodeImpl::on_chunk(const Bytes& rid, const std::string& peer, protocol::ChunkFrame f) {
    auto it = m_transfers.find(f.id);
    if (it == m_transfers.end() || it->second.rec.from != peer) return;  // finished, or not asked for
    Transfer& tr = it->second;
    if (f.index >= tr.have.size() || tr.have[f.index]) return;
    if (const uint64_t expected = tr.rec.chunk_bytes(f.index); f.data.size() != expected) {
        log_refusal("chunk_rejected", peer, "bad_chunk", hex_id(f.id),
                    "chunk of " + std::to_string(f.data.size()) + " bytes where the manifest gives " +
                        std::to_string(expected),
                    {{"index", std::to_string(f.index)}});
        tr.requested.erase(f.index);
        return;
    }
    if (protocol::chunk_hash(f.data) != tr.rec.hashes[f.index]) {
        log_refusal("chunk_rejected", peer, "bad_chunk", hex_id(f.id), "chunk does not match its hash in the manifest",
                    {{"index", std::to_string(f.index)}});
        tr.requested.erase(f.index);
        return;
    }
    tr.rid = rid;
    tr.last_activity_ms = m_clock->now_ms();
    tr.have[f.index] = true;
    ++tr.have_count;
    tr.requested.erase(f.index);
    tr.bytes_received += f.data.size();
    const Hash32 id = f.id;
    const uint32_t index = f.index;
    m_batch.writes.push_back([this, id, index, data = std::move(f.data)](storage::WriteTxn& t) {
        return m_store->put_chunk(t, id, index, data);
    });
    m_batch.after.push_back([this, id](bool ok, const std::string&) {
        if (auto t = m_transfers.find(id); ok && t != m_transfers.end()) ++t->second.stored_count;
    });
    if (tr.have_count < tr.have.size()) {
        request_chunks(tr);
        return;
    }
    // The last chunk: once it is stored, put the envelope together and deliver it.
    tr.assembling = true;
    m_batch.after.push_back([this, id](bool ok, const std::string&) {
        auto t = m_transfers.find(id);
        if (t == m_transfers.end()) return;
        if (!ok) {  // not stored: ask again
            t->second.assembling = false;
            return;
        }
        finish_transfer(id);
    });
}

// Every chunk of `id` is stored: the envelope is put together, delivered here and/or taken
// into custody for each recipient it was offered to us for as a relay, and its chunks deleted
// in the same commit.
void NodeImpl::finish_transfer(const Hash32& id) {
    auto t = m_transfers.find(id);
    if (t == m_transfers.end()) return;
    Transfer& tr = t->second;
    if (!tr.deliver_here && tr.relay_to.empty()) {  // loaded after a restart: wait for the offer
        tr.assembling = false;
        return;
    }
    auto envelope = m_store->env().read([&](const storage::ReadTxn& rt) { return m_store->assemble_chunks(rt, tr.rec); });
    const Bytes rid = tr.rid;
    const std::string peer = tr.rec.from;
    const bool deliver_here = tr.deliver_here;
    const auto relay_to = std::move(tr.relay_to);
    const uint64_t ms = m_clock->now_ms() - tr.rec.started_ms;
    m_transfers.erase(t);
    m_batch.writes.push_back([this, id](storage::WriteTxn& wt) { return m_store->remove_transfer(wt, id); });
    if (!envelope) {
        m_log.error("transfer_failed", {{"peer", peer}, {"msg", hex_id(id)}, {"error", "stored chunks are incomplete; the sender offers again"}});
        return;
    }
    m_log.info("transfer_complete", {{"peer", peer}, {"msg", hex_id(id)}, {"bytes", std::to_string(envelope->size())},
                                     {"ms", std::to_string(ms)}});
    if (!m_links.count(peer)) return;
    if (!relay_to.empty()) {
        auto se = protocol::decode_envelope(*envelope, m_limits);
        if (!se.ok()) {
            reject(rid, peer, "malformed_envelope", se.error(), Bytes(id.begin(), id.end()));
        } else {
            auto shared = std::make_shared<const protocol::SignedEnvelope>(std::move(se).value());
            if (shared->id != id)
                reject(rid, peer, "malformed_envelope", "the chunks put together are another envelope than the one offered",
                       Bytes(id.begin(), id.end()));
            else
                for (const auto& [to, target] : relay_to) carry(rid, peer, shared, to, target);
        }
    }
    if (deliver_here) on_deliver(rid, peer, std::move(*envelope));
}

// Transfers interrupted by a restart: their chunks are in LMDB; the sender offers again.
void NodeImpl::load_transfers() {
    m_store->env().read([&](const storage::ReadTxn& t) {
        for (auto& rec : m_store->transfers(t)) {
            Transfer tr;
            tr.have.assign(rec.hashes.size(), false);
            for (auto i : m_store->chunk_indices(t, rec.id))
                if (i < tr.have.size() && !tr.have[i]) {
                    tr.have[i] = true;
                    ++tr.have_count;
                    ++tr.stored_count;
                }
            tr.rec = std::move(rec);
            tr.last_activity_ms = m_clock->now_ms();  // the sender has transfer_idle_ms to offer again
            m_transfers.emplace(tr.rec.id, std::move(tr));
        }
        return 0;
    });
}

void NodeImpl::drop_transfer(const Hash32& id, std::string_view why) {
    auto it = m_transfers.find(id);
    if (it == m_transfers.end()) return;
    m_log.info("transfer_dropped", {{"peer", it->second.rec.from}, {"msg", hex_id(id)},
                                    {"have", std::to_string(it->second.stored_count)}, {"reason", why}});
    m_transfers.erase(it);
    m_batch.writes.push_back([this, id](storage::WriteTxn& t) { return m_store->remove_transfer(t, id); });
}

void NodeImpl::transfer_timers(uint64_t now) {
    std::vector<Hash32> idle;
    for (const auto& [id, tr] : m_transfers)
        if (!tr.assembling && now >= tr.last_activity_ms + m_config.limits.transfer_idle_ms) idle.push_back(id);
    for (const auto& id : idle) drop_transfer(id, "no offer or chunk for limits.transfer_idle_ms");
    for (auto& [id, tr] : m_transfers) {
        bool expired = false;
        for (auto r = tr.requested.begin(); r != tr.requested.end();)
            if (now >= r->second + kRequestTimeoutMs) {
                r = tr.requested.erase(r);
                expired = true;
            } else {
                ++r;
            }
        if (expired) request_chunks(tr);
    }
}

nlohmann::json NodeImpl::api_transfers() {
    const uint64_t now = m_clock->now_ms();
    nlohmann::json items = nlohmann::json::array();
    for (const auto& [id, tr] : m_transfers) {
        // What is committed: a crash now resumes from there.
        const uint64_t have_bytes = std::min<uint64_t>(tr.rec.total, uint64_t(tr.stored_count) * tr.rec.chunk_size);
        const double secs = double(std::max<uint64_t>(1, now - tr.rec.started_ms)) / 1000.0;
        items.push_back({{"id", hex_id(id)},
                         {"from", tr.rec.from},
                         {"bytes", tr.rec.total},
                         {"have_bytes", have_bytes},
                         {"chunks", tr.rec.hashes.size()},
                         {"have_chunks", tr.stored_count},
                         {"requested", tr.requested.size()},
                         {"started_ms", tr.rec.started_ms},
                         {"rate_bps", static_cast<uint64_t>(double(tr.bytes_received) / secs)}});
    }
    return nlohmann::json{{"ok", true}, {"transfers", items}};
}

}  // namespace lienthong::node
