#include "protocol/frame.h"

#include <algorithm>

namespace lienthong::protocol {

namespace {
enum class FrameType : uint64_t {
    deliver = 1, ack = 2, reject = 3, ping = 4, pong = 5, dir_want = 8, dir_records = 9,
    dir_reconcile = 10, relay = 11, custody = 12, sync = 13, receipt_want = 14,
    offer = 15, chunk_want = 16, chunk = 17, relay_offer = 18,
    audit_head = 19, audit_heads_want = 20, audit_heads = 21, resync = 22, redeliver_want = 23
};
constexpr size_t kMaxRecordWire = 4096;

Bytes with_ids(uint64_t type, const std::vector<Hash32>& ids) {
    Writer w;
    w.array(1).u64(type);
    Writer body;
    body.array(1).array(ids.size());
    for (const auto& id : ids) body.bin(id);
    w.raw(body.take());
    return w.take();
}

Result<std::vector<Hash32>> read_ids(ByteView rest) {
    DecodeLimits dl;
    dl.max_bytes = kMaxDirectoryItems * 40 + 64;
    dl.max_array = kMaxDirectoryItems;
    dl.max_bin = 32;
    dl.max_depth = 3;
    LT_ASSIGN(auto d, Decoded::parse(rest, "directory ids", dl));
    auto r = d.root();
    LT_ASSIGN(auto list, r.array("ids", kMaxDirectoryItems));
    std::vector<Hash32> out;
    while (list.remaining() > 0) {
        LT_ASSIGN(auto id, list.fixed<32>("id"));
        out.push_back(id);
    }
    LT_TRY(r.finish());
    return out;
}

Result<std::vector<AuditHead>> read_audit_heads(ByteView rest) {
    DecodeLimits dl;
    dl.max_bytes = kMaxAuditHeadsInFrame * 512 + 64;
    dl.max_array = kMaxAuditHeadsInFrame;
    dl.max_bin = 512;
    dl.max_depth = 3;
    LT_ASSIGN(auto d, Decoded::parse(rest, "audit heads", dl));
    auto r = d.root();
    LT_ASSIGN(auto list, r.array("heads", kMaxAuditHeadsInFrame));
    std::vector<AuditHead> out;
    while (list.remaining() > 0) {
        LT_ASSIGN(auto b, list.bin("head", 512));
        LT_ASSIGN(auto h, decode_audit_head(b));
        out.push_back(std::move(h));
    }
    LT_TRY(r.finish());
    return out;
}

Result<OfferFrame> read_offer(OfferFrame f, ByteView rest) {
    DecodeLimits dl;
    dl.max_bytes = kMaxChunks * 34 + 128;
    dl.max_array = kMaxChunks;
    dl.max_bin = 64;
    dl.max_depth = 3;
    LT_ASSIGN(auto d, Decoded::parse(rest, "offer manifest", dl));
    auto r = d.root();
    LT_ASSIGN(auto list, r.array("hashes", kMaxChunks));
    while (list.remaining() > 0) {
        LT_ASSIGN(auto h, list.fixed<32>("hash"));
        f.hashes.push_back(h);
    }
    LT_ASSIGN(f.signature, r.fixed<64>("signature"));
    LT_TRY(r.finish());
    if (f.chunk_size == 0 || f.total == 0) return make_error("offer: total and chunk_size must be positive");
    if (f.chunk_size > kMaxChunkSize)
        return make_error("offer: chunk_size " + std::to_string(f.chunk_size) + " is over the limit of " +
                          std::to_string(kMaxChunkSize));
    if (f.hashes.size() != chunk_count(f.total, f.chunk_size))
        return make_error("offer: " + std::to_string(f.hashes.size()) + " chunk hashes for " + std::to_string(f.total) +
                          " bytes in chunks of " + std::to_string(f.chunk_size));
    return f;
}

// The header fields a relayed envelope or relayed offer carries: [to, hops_left, urgency].
Status read_relay_header(ArrayReader& r, std::string& to, uint64_t& hops_left, uint64_t& urgency) {
    LT_ASSIGN(to, r.str("to", kMaxAgencyLength));
    LT_TRY(check_agency(to, "to"));
    LT_ASSIGN(hops_left, r.u64("hops_left"));
    if (hops_left == 0 || hops_left > kMaxRelayHops)
        return make_error("frame header: field 'hops_left' must be 1 to " + std::to_string(kMaxRelayHops));
    LT_ASSIGN(urgency, r.u64("urgency"));
    if (urgency > 3) return make_error("frame header: field 'urgency' must be 0 to 3");
    return ok_status();
}

Result<std::vector<uint32_t>> read_indices(ByteView rest) {
    DecodeLimits dl;
    dl.max_bytes = kMaxChunks * 6 + 64;
    dl.max_array = kMaxChunks;
    dl.max_depth = 3;
    LT_ASSIGN(auto d, Decoded::parse(rest, "chunk indices", dl));
    auto r = d.root();
    LT_ASSIGN(auto list, r.array("indices", kMaxChunks));
    std::vector<uint32_t> out;
    while (list.remaining() > 0) {
        LT_ASSIGN(auto i, list.u64("index"));
        if (i >= kMaxChunks) return make_error("chunk indices: index " + std::to_string(i) + " is out of range");
        out.push_back(static_cast<uint32_t>(i));
    }
    LT_TRY(r.finish());
    return out;
}

Result<DirRecordsFrame> read_records(ByteView rest) {
    DecodeLimits dl;
    dl.max_bytes = kMaxDirectoryItems * (kMaxRecordWire + 16);
    dl.max_array = kMaxDirectoryItems;
    dl.max_bin = kMaxRecordWire;
    dl.max_depth = 4;
    LT_ASSIGN(auto d, Decoded::parse(rest, "directory records", dl));
    auto r = d.root();
    LT_ASSIGN(auto list, r.array("records", kMaxDirectoryItems));
    DirRecordsFrame f;
    while (list.remaining() > 0) {
        LT_ASSIGN(auto item, list.array("record", 2));
        LT_ASSIGN(auto kind, item.u64("record kind"));
        if (kind < 1 || kind > 4) return make_error("directory records: unknown record kind " + std::to_string(kind));
        LT_ASSIGN(auto wire, item.bin("record", kMaxRecordWire));
        LT_TRY(item.finish());
        f.records.emplace_back(static_cast<DirRecordKind>(kind), Bytes(wire.begin(), wire.end()));
    }
    LT_TRY(r.finish());
    return f;
}

Bytes with_envelope(uint64_t type, const Bytes& envelope) {
    Writer w;
    w.array(1).u64(type).raw(envelope);
    return w.take();
}

struct Encoder {
    Bytes operator()(const DeliverFrame& f) const { return with_envelope(1, f.envelope); }
    Bytes operator()(const AckFrame& f) const { return with_envelope(2, f.envelope); }
    Bytes operator()(const RejectFrame& f) const {
        if (!f.permanent) return Writer().array(3).u64(3).bin(f.message_id).str(f.reason).take();
        return Writer().array(4).u64(3).bin(f.message_id).str(f.reason).boolean(true).take();
    }
    Bytes operator()(const PingFrame& f) const { return Writer().array(2).u64(4).u64(f.nonce).take(); }
    Bytes operator()(const PongFrame& f) const { return Writer().array(2).u64(5).u64(f.nonce).take(); }
    Bytes operator()(const DirWantFrame& f) const { return with_ids(8, f.ids); }
    Bytes operator()(const DirReconcileFrame& f) const { return with_envelope(10, f.message); }
    Bytes operator()(const RelayFrame& f) const {
        Writer w;
        w.array(4).u64(11).str(f.to).u64(f.hops_left).u64(f.urgency).raw(f.envelope);
        return w.take();
    }
    Bytes operator()(const SyncFrame& f) const {
        Writer w;
        w.array(2).u64(13).u64(f.since_ms).raw(f.message);
        return w.take();
    }
    Bytes operator()(const ReceiptWantFrame& f) const { return with_ids(14, f.ids); }
    Bytes operator()(const ResyncFrame& f) const {
        Writer w;
        w.array(2).u64(22).u64(f.since_ms).raw(f.message);
        return w.take();
    }
    Bytes operator()(const RedeliverWantFrame& f) const { return with_ids(23, f.ids); }
    Bytes operator()(const OfferFrame& f) const {
        Writer w;
        w.array(4).u64(15).bin(f.id).u64(f.total).u64(f.chunk_size);
        w.raw(offer_body(f));
        return w.take();
    }
    Bytes operator()(const RelayOfferFrame& f) const {
        Writer w;
        w.array(7).u64(18).str(f.to).u64(f.hops_left).u64(f.urgency);
        w.bin(f.offer.id).u64(f.offer.total).u64(f.offer.chunk_size);
        w.raw(offer_body(f.offer));
        return w.take();
    }
    static Bytes offer_body(const OfferFrame& f) {
        Writer body;
        body.array(2).array(f.hashes.size());
        for (const auto& h : f.hashes) body.bin(h);
        body.bin(f.signature);
        return body.take();
    }
    Bytes operator()(const ChunkWantFrame& f) const {
        Writer w;
        w.array(2).u64(16).bin(f.id);
        Writer body;
        body.array(1).array(f.indices.size());
        for (const auto i : f.indices) body.u64(i);
        w.raw(body.take());
        return w.take();
    }
    Bytes operator()(const ChunkFrame& f) const {
        Writer w;
        w.array(3).u64(17).bin(f.id).u64(f.index).raw(f.data);
        return w.take();
    }
    Bytes operator()(const CustodyFrame& f) const { return Writer().array(3).u64(12).bin(f.id).str(f.to).take(); }
    Bytes operator()(const AuditHeadFrame& f) const {
        Writer w;
        w.array(1).u64(19).raw(encode_audit_head(f.head));
        return w.take();
    }
    Bytes operator()(const AuditHeadsWantFrame&) const { return Writer().array(1).u64(20).take(); }
    Bytes operator()(const AuditHeadsFrame& f) const {
        Writer w;
        w.array(1).u64(21);
        Writer body;
        body.array(1).array(f.heads.size());
        for (const auto& h : f.heads) body.bin(encode_audit_head(h));
        w.raw(body.take());
        return w.take();
    }
    Bytes operator()(const DirRecordsFrame& f) const {
        Writer w;
        w.array(1).u64(9);
        Writer body;
        body.array(1).array(f.records.size());
        for (const auto& [kind, wire] : f.records) body.array(2).u64(static_cast<uint64_t>(kind)).bin(wire);
        w.raw(body.take());
        return w.take();
    }
};
}  // namespace

Bytes encode_frame(const Frame& f) { return std::visit(Encoder{}, f); }

Bytes OfferFrame::manifest_body() const {
    Writer w;
    w.array(4).bin(id).u64(total).u64(chunk_size).array(hashes.size());
    for (const auto& h : hashes) w.bin(h);
    return w.take();
}

namespace {
constexpr std::string_view kManifestDomain = "lienthong/v1/manifest";
constexpr std::string_view kChunkDomain = "lienthong/v1/chunk";
}  // namespace

Hash32 chunk_hash(ByteView chunk) { return hash_domain(kChunkDomain, chunk); }

uint64_t chunk_count(uint64_t total, uint64_t chunk_size) {
    return total / chunk_size + (total % chunk_size != 0 ? 1 : 0);
}

OfferFrame make_manifest(const SignSecretKey& sk, const Hash32& id, ByteView envelope, uint64_t chunk_size) {
    OfferFrame f;
    f.id = id;
    f.total = envelope.size();
    f.chunk_size = chunk_size;
    for (uint64_t off = 0; off < envelope.size(); off += chunk_size)
        f.hashes.push_back(chunk_hash(envelope.subspan(off, std::min(chunk_size, envelope.size() - off))));
    f.signature = sign_domain(sk, kManifestDomain, f.manifest_body());
    return f;
}

bool verify_manifest(const SignPublicKey& pk, const OfferFrame& f) {
    return verify_domain(pk, kManifestDomain, f.manifest_body(), f.signature);
}

Result<Frame> decode_frame(ByteView frame, size_t max_envelope_bytes) {
    DecodeLimits dl;
    dl.max_bytes = max_envelope_bytes + 4096;
    dl.max_bin = 32;
    dl.max_str = 1024;
    dl.max_array = 8;
    dl.max_depth = 2;
    if (frame.size() > dl.max_bytes)
        return make_error("frame: " + std::to_string(frame.size()) + " bytes exceeds the limit of " +
                          std::to_string(dl.max_bytes));
    size_t header_len = 0;
    LT_ASSIGN(auto d, Decoded::parse_prefix(frame, "frame header", dl, header_len));
    auto r = d.root();
    LT_ASSIGN(auto type, r.u64("type"));
    const ByteView rest = frame.subspan(header_len);
    const bool wants_envelope = type == 1 || type == 2 || type == 8 || type == 9 || type == 10 || type == 11 ||
                                type == 13 || type == 14 || type == 15 || type == 16 || type == 17 || type == 18 ||
                                type == 19 || type == 21 || type == 22 || type == 23;
    if (wants_envelope && rest.empty()) return make_error("frame: body is missing");
    if (!wants_envelope && !rest.empty()) return make_error("frame: unexpected bytes after the header");
    if (rest.size() > max_envelope_bytes)
        return make_error("frame: envelope of " + std::to_string(rest.size()) + " bytes exceeds the limit of " +
                          std::to_string(max_envelope_bytes));
    Frame out;
    switch (static_cast<FrameType>(type)) {
        case FrameType::deliver: out = DeliverFrame{Bytes(rest.begin(), rest.end())}; break;
        case FrameType::ack: out = AckFrame{Bytes(rest.begin(), rest.end())}; break;
        case FrameType::reject: {
            RejectFrame f;
            LT_ASSIGN(auto id, r.bin("message_id", 32));
            if (!id.empty() && id.size() != 32)
                return make_error("frame header: field 'message_id' must be 32 bytes or empty");
            f.message_id.assign(id.begin(), id.end());
            LT_ASSIGN(f.reason, r.str("reason", 1024));
            if (r.remaining() > 0) {
                LT_ASSIGN(f.permanent, r.boolean("permanent"));
                if (!f.permanent) return make_error("frame header: field 'permanent' is written only when true");
            }
            out = std::move(f);
            break;
        }
        case FrameType::ping: {
            LT_ASSIGN(auto n, r.u64("nonce"));
            out = PingFrame{n};
            break;
        }
        case FrameType::pong: {
            LT_ASSIGN(auto n, r.u64("nonce"));
            out = PongFrame{n};
            break;
        }
        case FrameType::dir_want: {
            LT_ASSIGN(auto ids, read_ids(rest));
            out = DirWantFrame{std::move(ids)};
            break;
        }
        case FrameType::dir_records: {
            LT_ASSIGN(auto recs, read_records(rest));
            out = std::move(recs);
            break;
        }
        case FrameType::dir_reconcile: out = DirReconcileFrame{Bytes(rest.begin(), rest.end())}; break;
        case FrameType::relay: {
            RelayFrame f;
            LT_TRY(read_relay_header(r, f.to, f.hops_left, f.urgency));
            f.envelope.assign(rest.begin(), rest.end());
            out = std::move(f);
            break;
        }
        case FrameType::relay_offer: {
            RelayOfferFrame f;
            LT_TRY(read_relay_header(r, f.to, f.hops_left, f.urgency));
            LT_ASSIGN(f.offer.id, r.fixed<32>("id"));
            LT_ASSIGN(f.offer.total, r.u64("total"));
            LT_ASSIGN(f.offer.chunk_size, r.u64("chunk_size"));
            LT_ASSIGN(f.offer, read_offer(std::move(f.offer), rest));
            out = std::move(f);
            break;
        }
        case FrameType::sync: {
            SyncFrame f;
            LT_ASSIGN(f.since_ms, r.u64("since_ms"));
            f.message.assign(rest.begin(), rest.end());
            out = std::move(f);
            break;
        }
        case FrameType::receipt_want: {
            LT_ASSIGN(auto ids, read_ids(rest));
            out = ReceiptWantFrame{std::move(ids)};
            break;
        }
        case FrameType::resync: {
            ResyncFrame f;
            LT_ASSIGN(f.since_ms, r.u64("since_ms"));
            f.message.assign(rest.begin(), rest.end());
            out = std::move(f);
            break;
        }
        case FrameType::redeliver_want: {
            LT_ASSIGN(auto ids, read_ids(rest));
            out = RedeliverWantFrame{std::move(ids)};
            break;
        }
        case FrameType::offer: {
            OfferFrame f;
            LT_ASSIGN(f.id, r.fixed<32>("id"));
            LT_ASSIGN(f.total, r.u64("total"));
            LT_ASSIGN(f.chunk_size, r.u64("chunk_size"));
            LT_ASSIGN(out, read_offer(std::move(f), rest));
            break;
        }
        case FrameType::chunk_want: {
            ChunkWantFrame f;
            LT_ASSIGN(f.id, r.fixed<32>("id"));
            LT_ASSIGN(f.indices, read_indices(rest));
            out = std::move(f);
            break;
        }
        case FrameType::chunk: {
            ChunkFrame f;
            LT_ASSIGN(f.id, r.fixed<32>("id"));
            LT_ASSIGN(auto index, r.u64("index"));
            if (index >= kMaxChunks) return make_error("frame header: field 'index' is out of range");
            f.index = static_cast<uint32_t>(index);
            f.data.assign(rest.begin(), rest.end());
            out = std::move(f);
            break;
        }
        case FrameType::custody: {
            CustodyFrame f;
            LT_ASSIGN(f.id, r.fixed<32>("id"));
            LT_ASSIGN(f.to, r.str("to", kMaxAgencyLength));
            if (!f.to.empty()) LT_TRY(check_agency(f.to, "to"));
            out = std::move(f);
            break;
        }
        case FrameType::audit_head: {
            LT_ASSIGN(auto h, decode_audit_head(rest));
            out = AuditHeadFrame{std::move(h)};
            break;
        }
        case FrameType::audit_heads_want: out = AuditHeadsWantFrame{}; break;
        case FrameType::audit_heads: {
            LT_ASSIGN(auto heads, read_audit_heads(rest));
            out = AuditHeadsFrame{std::move(heads)};
            break;
        }
        default: return make_error("frame: unknown type " + std::to_string(type));
    }
    LT_TRY(r.finish());
    return out;
}

}  // namespace lienthong::protocol
