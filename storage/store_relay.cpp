// Store operations for relays, reconciliation on reconnect and chunked transfer (transit,
// forward, transfers and chunks tables; layouts in store.h).
#include <algorithm>

#include "protocol/codec.h"
#include "protocol/frame.h"
#include "storage/store.h"
#include "storage/store_keys.h"

namespace lienthong::storage {

using protocol::Decoded;
using protocol::Writer;
using namespace keys;

namespace {

Bytes encode(const TransitRecord& r) {
    return Writer()
        .array(10)
        .str(r.from_hop)
        .str(r.origin)
        .u64(r.received_ms)
        .u64(r.seq)
        .u64(r.urgency)
        .u64(r.delivered ? 1 : r.refused ? 2 : 0)
        .bin(r.receipt_id ? ByteView(*r.receipt_id) : ByteView())
        .u64(r.hops_left)
        .str(r.via)
        .u64(r.custody_ms)
        .take();
}

Result<TransitRecord> decode_transit(const Hash32& id, std::string to, ByteView v) {
    LT_ASSIGN(auto d, Decoded::parse(v, "transit record"));
    auto r = d.root();
    TransitRecord out;
    out.id = id;
    out.to = std::move(to);
    LT_ASSIGN(out.from_hop, r.str("from_hop", protocol::kMaxAgencyLength));
    LT_ASSIGN(out.origin, r.str("origin", protocol::kMaxAgencyLength));
    LT_ASSIGN(out.received_ms, r.u64("received_ms"));
    LT_ASSIGN(out.seq, r.u64("seq"));
    LT_ASSIGN(out.urgency, r.u64("urgency"));
    LT_ASSIGN(auto state, r.u64("state"));
    out.delivered = state == 1;
    out.refused = state == 2;
    LT_ASSIGN(auto rid, r.bin("receipt_id", 32));
    if (rid.size() == 32) out.receipt_id = to_hash(rid);
    LT_ASSIGN(out.hops_left, r.u64("hops_left"));
    if (r.remaining() > 0) {  // records written before issue 16 end here
        LT_ASSIGN(out.via, r.str("via", protocol::kMaxAgencyLength));
        LT_ASSIGN(out.custody_ms, r.u64("custody_ms"));
    }
    return out;
}

}  // namespace

uint64_t TransferRecord::chunk_bytes(uint32_t index) const {
    const uint64_t start = uint64_t(index) * chunk_size;
    if (index >= hashes.size() || start >= total) return 0;
    return std::min(chunk_size, total - start);
}

namespace {

Bytes encode(const TransferRecord& r) {
    Writer w;
    w.array(5).str(r.from).u64(r.total).u64(r.chunk_size).array(r.hashes.size());
    for (const auto& h : r.hashes) w.bin(h);
    w.u64(r.started_ms);
    return w.take();
}

Result<TransferRecord> decode_transfer(const Hash32& id, ByteView v) {
    protocol::DecodeLimits l;
    l.max_array = 1u << 20;
    LT_ASSIGN(auto d, Decoded::parse(v, "transfer record", l));
    auto r = d.root();
    TransferRecord out;
    out.id = id;
    LT_ASSIGN(out.from, r.str("from", protocol::kMaxAgencyLength));
    LT_ASSIGN(out.total, r.u64("total"));
    LT_ASSIGN(out.chunk_size, r.u64("chunk_size"));
    LT_ASSIGN(auto list, r.array("hashes", 1u << 20));
    while (list.remaining() > 0) {
        LT_ASSIGN(auto h, list.fixed<32>("hash"));
        out.hashes.push_back(h);
    }
    LT_ASSIGN(out.started_ms, r.u64("started_ms"));
    // The manifest's rules (protocol/frame.h), so chunk_bytes() and assembly can trust it.
    if (out.total == 0 || out.chunk_size == 0 || out.chunk_size > protocol::kMaxChunkSize ||
        out.hashes.size() != protocol::chunk_count(out.total, out.chunk_size))
        return make_error("transfer record's sizes do not agree with its chunk hashes");
    return out;
}

Bytes chunk_key(const Hash32& id, uint32_t index) {
    Bytes k(id.begin(), id.end());
    for (int s = 24; s >= 0; s -= 8) k.push_back(static_cast<uint8_t>(index >> s));
    return k;
}

Bytes forward_key(const std::string& hop, const Hash32& receipt_id) {
    Bytes k(hop.begin(), hop.end());
    k.push_back(0);
    k.insert(k.end(), receipt_id.begin(), receipt_id.end());
    return k;
}

}  // namespace

Result<bool> Store::add_transit(WriteTxn& t, TransitRecord& rec, ByteView envelope) {
    const Bytes key = id_agency_key(rec.id, rec.to);
    if (t.get(m_transit, key)) return false;
    LT_ASSIGN(rec.seq, next_seq(t));
    LT_TRY(store_envelope(t, rec.id, envelope));
    LT_TRY(t.put_last(m_outbox, outbox_key(rec.to, rec.urgency, rec.seq), rec.id));
    LT_TRY(t.put(m_transit, key, encode(rec)));
    return true;
}

Result<bool> Store::transit_custody(WriteTxn& t, const Hash32& id, const std::string& to, const std::string& via,
                                    uint64_t now_ms) {
    const Bytes key = id_agency_key(id, to);
    auto raw = t.get(m_transit, key);
    if (!raw) return false;
    LT_ASSIGN(auto rec, decode_transit(id, to, *raw));
    if (rec.delivered || rec.refused || rec.custody_ms != 0) return false;
    rec.via = via;
    rec.custody_ms = now_ms;
    LT_TRY(t.put(m_transit, key, encode(rec)));
    LT_TRY(t.del(m_outbox, outbox_key(to, rec.urgency, rec.seq)));
    return true;
}

Result<bool> Store::refuse_transit(WriteTxn& t, const Hash32& id, const std::string& to) {
    const Bytes key = id_agency_key(id, to);
    auto raw = t.get(m_transit, key);
    if (!raw) return false;
    LT_ASSIGN(auto rec, decode_transit(id, to, *raw));
    if (rec.delivered || rec.refused) return false;
    rec.refused = true;
    LT_TRY(t.put(m_transit, key, encode(rec)));
    LT_TRY(t.del(m_outbox, outbox_key(to, rec.urgency, rec.seq)));
    LT_TRY(drop_carried_envelope(t, id));
    return true;
}

Result<bool> Store::complete_transit(WriteTxn& t, const Hash32& id, const std::string& to,
                                     const Hash32& receipt_id) {
    const Bytes key = id_agency_key(id, to);
    auto raw = t.get(m_transit, key);
    if (!raw) return false;
    LT_ASSIGN(auto rec, decode_transit(id, to, *raw));
    if (rec.delivered) return false;
    rec.refused = false;  // a receipt outweighs a relay's refusal
    rec.delivered = true;
    rec.receipt_id = receipt_id;
    LT_TRY(t.put(m_transit, key, encode(rec)));
    LT_TRY(t.del(m_outbox, outbox_key(to, rec.urgency, rec.seq)));
    LT_TRY(drop_carried_envelope(t, id));
    return true;
}

Status Store::drop_carried_envelope(WriteTxn& t, const Hash32& id) {
    if (sent_record(t, id) || inbox_record(t, id)) return ok_status();
    for (const auto& tr : transits(t, id))
        if (!tr.delivered && !tr.refused) return ok_status();
    const auto n = number_of(t, id);
    if (!n) return ok_status();
    return t.del(m_documents, number_key(*n));
}

Status Store::add_forward(WriteTxn& t, const std::string& hop, const Hash32& receipt_id) {
    return t.put(m_forward, forward_key(hop, receipt_id), ByteView());
}

Status Store::remove_forward(WriteTxn& t, const std::string& hop, const Hash32& receipt_id) {
    return t.del(m_forward, forward_key(hop, receipt_id));
}

std::optional<TransitRecord> Store::transit(const ReadTxn& t, const Hash32& id, const std::string& to) const {
    auto v = t.get(m_transit, id_agency_key(id, to));
    if (!v) return std::nullopt;
    auto r = decode_transit(id, to, *v);
    if (!r.ok()) return std::nullopt;
    return std::move(r).value();
}

std::vector<TransitRecord> Store::transits(const ReadTxn& t, const Hash32& id) const {
    std::vector<TransitRecord> out;
    t.scan_prefix(m_transit, id, [&](ByteView k, ByteView v) {
        auto r = decode_transit(id, std::string(k.begin() + 32, k.end()), v);
        if (r.ok()) out.push_back(std::move(r).value());
        return true;
    });
    return out;
}

std::optional<std::vector<TimedId>> Store::sent_to_since(const ReadTxn& t, const std::string& agency, uint64_t from_seq,
                                                         uint64_t since_ms, size_t max) const {
    std::vector<TimedId> out;
    bool more = false;
    t.scan(m_sent, be64(from_seq), [&](ByteView, ByteView idv) {
        const Hash32 id = to_hash(idv);
        auto rec = sent_record(t, id);
        if (!rec || rec->created_ms < since_ms ||
            std::find(rec->recipients.begin(), rec->recipients.end(), agency) == rec->recipients.end())
            return true;
        if (out.size() >= max) {
            more = true;
            return false;
        }
        out.push_back({rec->created_ms, id});
        return true;
    });
    if (more) return std::nullopt;
    return out;
}

// Received from `sender`, newest first, back to `stop_received_ms` (our time), created at or
// after `min_created_ms`; nullopt when more than `max` or more than `scan_budget` looked at.
std::optional<std::vector<TimedId>> Store::scan_received(const ReadTxn& t, const std::string& sender,
                                                         uint64_t stop_received_ms, uint64_t min_created_ms, size_t max,
                                                         size_t scan_budget) const {
    std::vector<TimedId> out;
    bool more = false;
    size_t scanned = 0;
    t.scan_reverse(m_inbox, [&](ByteView, ByteView idv) {
        if (++scanned > scan_budget) {
            more = true;
            return false;
        }
        auto rec = inbox_record(t, to_hash(idv));
        if (!rec) return true;
        if (rec->received_ms < stop_received_ms) return false;
        if (rec->sender != sender || rec->created_ms < min_created_ms) return true;
        if (out.size() >= max) {
            more = true;
            return false;
        }
        out.push_back({rec->created_ms, rec->id});
        return true;
    });
    if (more) return std::nullopt;
    return out;
}

std::optional<std::vector<TimedId>> Store::received_from_since(const ReadTxn& t, const std::string& sender,
                                                               uint64_t since_ms, uint64_t skew_ms, size_t max,
                                                               size_t scan_budget) const {
    return scan_received(t, sender, since_ms > skew_ms ? since_ms - skew_ms : 0, since_ms, max, scan_budget);
}

std::optional<std::vector<TimedId>> Store::received_since(const ReadTxn& t, const std::string& sender,
                                                          uint64_t received_since_ms, size_t max, size_t scan_budget) const {
    return scan_received(t, sender, received_since_ms, 0, max, scan_budget);
}

std::optional<std::vector<TimedId>> Store::delivered_since(const ReadTxn& t, const std::string& agency,
                                                           uint64_t acked_since_ms, uint64_t created_since_ms, size_t max,
                                                           size_t scan_budget) const {
    std::vector<TimedId> out;
    bool more = false;
    size_t scanned = 0;
    t.scan_reverse(m_sent, [&](ByteView, ByteView idv) {
        if (++scanned > scan_budget) {
            more = true;
            return false;
        }
        const Hash32 id = to_hash(idv);
        auto rec = sent_record(t, id);
        if (!rec) return true;
        if (rec->created_ms < created_since_ms) return false;
        auto d = delivery(t, id, agency);
        if (!d || d->state == DeliveryState::refused) return true;
        if (d->state == DeliveryState::delivered && d->acked_ms < acked_since_ms) return true;
        if (out.size() >= max) {
            more = true;
            return false;
        }
        out.push_back({rec->created_ms, id});
        return true;
    });
    if (more) return std::nullopt;
    return out;
}

std::set<std::string> Store::transit_destinations(const ReadTxn& t) const {
    std::set<std::string> out;
    t.scan_prefix(m_transit, ByteView(), [&](ByteView k, ByteView v) {
        if (k.size() <= 32) return true;
        auto r = decode_transit(to_hash(k.first(32)), std::string(k.begin() + 32, k.end()), v);
        if (r.ok() && !r->delivered && !r->refused && r->custody_ms == 0) out.insert(r->to);
        return true;
    });
    return out;
}

std::map<std::string, CustodyUsage> Store::custody_usage(const ReadTxn& t) const {
    std::map<std::string, CustodyUsage> out;
    t.scan_prefix(m_transit, ByteView(), [&](ByteView k, ByteView v) {
        if (k.size() <= 32) return true;
        const Hash32 id = to_hash(k.first(32));
        auto r = decode_transit(id, std::string(k.begin() + 32, k.end()), v);
        if (!r.ok() || r->delivered || r->refused) return true;
        auto& u = out[r->from_hop];
        ++u.count;
        u.bytes += document_size(t, id).value_or(0);
        return true;
    });
    return out;
}

std::vector<TransitRecord> Store::pending_transits_before(const ReadTxn& t, uint64_t before_ms, size_t max) const {
    std::vector<TransitRecord> out;
    t.scan_prefix(m_transit, ByteView(), [&](ByteView k, ByteView v) {
        if (k.size() <= 32) return true;
        auto r = decode_transit(to_hash(k.first(32)), std::string(k.begin() + 32, k.end()), v);
        if (r.ok() && !r->delivered && !r->refused && r->received_ms < before_ms) out.push_back(std::move(r).value());
        return out.size() < max;
    });
    return out;
}

std::vector<Hash32> Store::forwards(const ReadTxn& t, const std::string& hop, size_t max) const {
    std::vector<Hash32> out;
    Bytes prefix(hop.begin(), hop.end());
    prefix.push_back(0);
    t.scan_prefix(m_forward, prefix, [&](ByteView k, ByteView) {
        if (k.size() == prefix.size() + 32) out.push_back(to_hash(k.subspan(prefix.size())));
        return out.size() < max;
    });
    return out;
}

Status Store::put_transfer(WriteTxn& t, const TransferRecord& rec) {
    return t.put(m_transfers, rec.id, encode(rec));
}

Status Store::put_chunk(WriteTxn& t, const Hash32& id, uint32_t index, ByteView bytes) {
    return t.put(m_chunks, chunk_key(id, index), bytes);
}

Status Store::remove_transfer(WriteTxn& t, const Hash32& id) {
    std::vector<Bytes> keys;
    t.scan_prefix(m_chunks, id, [&](ByteView k, ByteView) {
        keys.emplace_back(k.begin(), k.end());
        return true;
    });
    for (const auto& k : keys) LT_TRY(t.del(m_chunks, k));
    return t.del(m_transfers, id);
}

std::vector<TransferRecord> Store::transfers(const ReadTxn& t) const {
    std::vector<TransferRecord> out;
    t.scan_prefix(m_transfers, ByteView(), [&](ByteView k, ByteView v) {
        if (k.size() != 32) return true;
        if (auto r = decode_transfer(to_hash(k), v); r.ok()) out.push_back(std::move(r).value());
        return true;
    });
    return out;
}

std::vector<uint32_t> Store::chunk_indices(const ReadTxn& t, const Hash32& id) const {
    std::vector<uint32_t> out;
    t.scan_prefix(m_chunks, id, [&](ByteView k, ByteView) {
        if (k.size() == 36) out.push_back((uint32_t(k[32]) << 24) | (uint32_t(k[33]) << 16) | (uint32_t(k[34]) << 8) | k[35]);
        return true;
    });
    return out;
}

std::optional<Bytes> Store::assemble_chunks(const ReadTxn& t, const TransferRecord& rec) const {
    Bytes out;
    out.reserve(rec.total);  // at most total bytes are appended: each chunk has its exact size
    uint32_t next = 0;
    bool sizes_ok = true;
    t.scan_prefix(m_chunks, rec.id, [&](ByteView k, ByteView v) {
        if (k.size() != 36) return true;
        const uint32_t index = (uint32_t(k[32]) << 24) | (uint32_t(k[33]) << 16) | (uint32_t(k[34]) << 8) | k[35];
        if (index != next) return false;
        if (v.size() != rec.chunk_bytes(index)) return sizes_ok = false;
        out.insert(out.end(), v.begin(), v.end());
        ++next;
        return true;
    });
    if (!sizes_ok || next != rec.hashes.size() || out.size() != rec.total) return std::nullopt;
    return out;
}

}  // namespace lienthong::storage
