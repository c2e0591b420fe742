// Resumable chunked transfer (issue 4): an envelope over limits.chunk_threshold_bytes is not
// sent whole. The sender offers its manifest — the size and the hash of each fixed-size chunk,
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
// Memory: the receiver holds no chunk beyond the frame being handled; the sender reads each
// chunk from LMDB as it is asked for. Putting the envelope together holds it once, as any
// delivery does (bounded by limits.max_envelope_bytes).
#include <algorithm>

#include "node/node_impl.h"

namespace lienthong::node {

namespace {
constexpr std::string_view kManifestDomain = "lienthong/v1/manifest";
constexpr std::string_view kChunkDomain = "lienthong/v1/chunk";
constexpr uint64_t kChunkSize = 64 * 1024;
constexpr size_t kChunkWindow = 4;              // chunks asked for and not yet arrived, per transfer
constexpr uint64_t kRequestTimeoutMs = 60000;   // asked for this long ago and not here: ask again
}  // namespace

// Sender: the manifest of an envelope too large to send whole.
protocol::OfferFrame NodeImpl::make_offer(const Hash32& id, ByteView envelope) const {
    protocol::OfferFrame f;
    f.id = id;
    f.total = envelope.size();
    f.chunk_size = kChunkSize;
    for (uint64_t off = 0; off < envelope.size(); off += kChunkSize)
        f.hashes.push_back(protocol::hash_domain(kChunkDomain, envelope.subspan(off, std::min(kChunkSize, envelope.size() - off))));
    f.signature = protocol::sign_domain(m_identity.sign_secret, kManifestDomain, f.manifest_body());
    return f;
}

// Sender (dealer side): the receiver asks for chunks.
void NodeImpl::on_chunk_want(PeerLink& link, const protocol::ChunkWantFrame& f) {
    const size_t n = std::min<size_t>(f.indices.size(), 64);
    for (size_t k = 0; k < n; ++k) {
        const uint32_t index = f.indices[k];
        auto bytes = m_store->env().read([&](const storage::ReadTxn& t) {
            return m_store->document_slice(t, f.id, uint64_t(index) * kChunkSize, kChunkSize);
        });
        if (!bytes || bytes->empty()) return;  // delivered and gone, or not ours
        link.chunk_bytes_sent += bytes->size();
        if (!send_frame(*link.dealer, protocol::ChunkFrame{f.id, index, std::move(*bytes)})) return;
    }
}

// Receiver (router side): an offer starts or resumes a transfer.
void NodeImpl::on_offer(const Bytes& rid, const std::string& peer, protocol::OfferFrame f) {
    const Bytes mid(f.id.begin(), f.id.end());
    const auto& key = m_links.at(peer).record.identity.sign_key;
    if (!protocol::verify_domain(key, kManifestDomain, f.manifest_body(), f.signature))
        return reject(rid, peer, "bad_signature", "the transfer manifest's signature does not verify with the peer's key", mid);
    if (f.total > m_config.limits.max_envelope_bytes)
        return reject(rid, peer, "too_large",
                      "offered envelope of " + std::to_string(f.total) + " bytes exceeds limits.max_envelope_bytes (" +
                          std::to_string(m_config.limits.max_envelope_bytes) + ")",
                      mid);
    // Held already: the receipt answers, as for a document sent again.
    if (answer_held(rid, f.id, "") || m_inbound_pending.count(f.id)) return;
    auto it = m_transfers.find(f.id);
    if (it != m_transfers.end() && (it->second.rec.from != peer || it->second.rec.hashes != f.hashes ||
                                    it->second.rec.total != f.total || it->second.rec.chunk_size != f.chunk_size)) {
        // A different manifest for the same id: start over with this one (the signature is
        // checked, and the envelope is verified when complete).
        const Hash32 id = f.id;
        m_batch.writes.push_back([this, id](storage::WriteTxn& t) { return m_store->remove_transfer(t, id); });
        m_transfers.erase(it);
        it = m_transfers.end();
    }
    if (it == m_transfers.end()) {
        Transfer tr;
        tr.rec.id = f.id;
        tr.rec.from = peer;
        tr.rec.total = f.total;
        tr.rec.chunk_size = f.chunk_size;
        tr.rec.hashes = std::move(f.hashes);
        tr.rec.started_ms = m_clock->now_ms();
        tr.have.assign(tr.rec.hashes.size(), false);
        m_batch.writes.push_back([this, rec = tr.rec](storage::WriteTxn& t) { return m_store->put_transfer(t, rec); });
        it = m_transfers.emplace(f.id, std::move(tr)).first;
        m_log.info("transfer_started", {{"peer", peer}, {"msg", hex_id(f.id)}, {"bytes", std::to_string(it->second.rec.total)},
                                        {"chunks", std::to_string(it->second.rec.hashes.size())}});
    } else {
        m_log.info("transfer_resumed", {{"peer", peer}, {"msg", hex_id(f.id)},
                                        {"have", std::to_string(it->second.have_count)},
                                        {"chunks", std::to_string(it->second.rec.hashes.size())}});
    }
    // A new offer means a new connection, or a sender that gave up waiting: what was asked
    // before is asked again.
    it->second.rid = rid;
    it->second.requested.clear();
    request_chunks(it->second);
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
    if (protocol::hash_domain(kChunkDomain, f.data) != tr.rec.hashes[f.index]) {
        ++m_counters.rejected["bad_chunk"];
        m_log.warn("chunk_rejected", {{"peer", peer}, {"msg", hex_id(f.id)}, {"index", std::to_string(f.index)},
                                      {"error", "chunk does not match its hash in the manifest"}});
        tr.requested.erase(f.index);
        return;
    }
    tr.rid = rid;
    tr.have[f.index] = true;
    ++tr.have_count;
    tr.requested.erase(f.index);
    tr.bytes_received += f.data.size();
    const Hash32 id = f.id;
    const uint32_t index = f.index;
    m_batch.writes.push_back([this, id, index, data = std::move(f.data)](storage::WriteTxn& t) {
        return m_store->put_chunk(t, id, index, data);
    });
    if (tr.have_count < tr.have.size()) {
        request_chunks(tr);
        return;
    }
    // The last chunk: once it is stored, put the envelope together and deliver it.
    tr.assembling = true;
    m_batch.after.push_back([this, id, peer](bool ok, const std::string&) {
        auto t = m_transfers.find(id);
        if (t == m_transfers.end()) return;
        if (!ok) {  // not stored: ask again
            t->second.assembling = false;
            return;
        }
        const auto count = static_cast<uint32_t>(t->second.have.size());
        auto envelope = m_store->env().read([&](const storage::ReadTxn& rt) { return m_store->assemble_chunks(rt, id, count); });
        const Bytes rid = t->second.rid;
        const uint64_t ms = m_clock->now_ms() - t->second.rec.started_ms;
        m_transfers.erase(t);
        m_batch.writes.push_back([this, id](storage::WriteTxn& wt) { return m_store->remove_transfer(wt, id); });
        if (!envelope) {
            m_log.error("transfer_failed", {{"peer", peer}, {"msg", hex_id(id)}, {"error", "stored chunks are incomplete"}});
            return;
        }
        m_log.info("transfer_complete", {{"peer", peer}, {"msg", hex_id(id)}, {"bytes", std::to_string(envelope->size())},
                                         {"ms", std::to_string(ms)}});
        if (m_links.count(peer)) on_deliver(rid, peer, std::move(*envelope));
    });
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
                }
            tr.rec = std::move(rec);
            m_transfers.emplace(tr.rec.id, std::move(tr));
        }
        return 0;
    });
}

void NodeImpl::transfer_timers(uint64_t now) {
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
        const uint64_t have_bytes = std::min<uint64_t>(tr.rec.total, uint64_t(tr.have_count) * tr.rec.chunk_size);
        const double secs = double(std::max<uint64_t>(1, now - tr.rec.started_ms)) / 1000.0;
        items.push_back({{"id", hex_id(id)},
                         {"from", tr.rec.from},
                         {"bytes", tr.rec.total},
                         {"have_bytes", have_bytes},
                         {"chunks", tr.rec.hashes.size()},
                         {"have_chunks", tr.have_count},
                         {"requested", tr.requested.size()},
                         {"started_ms", tr.rec.started_ms},
                         {"rate_bps", static_cast<uint64_t>(double(tr.bytes_received) / secs)}});
    }
    return nlohmann::json{{"ok", true}, {"transfers", items}};
}

}  // namespace lienthong::node
