#include "protocol/frame.h"

namespace lienthong::protocol {

namespace {
enum class FrameType : uint64_t { deliver = 1, ack = 2, reject = 3, ping = 4, pong = 5 };

struct Encoder {
    EncodedFrame operator()(const DeliverFrame& f) const {
        return {Writer().array(1).u64(1).take(), f.envelope};
    }
    EncodedFrame operator()(const AckFrame& f) const {
        return {Writer().array(1).u64(2).take(), f.envelope};
    }
    EncodedFrame operator()(const RejectFrame& f) const {
        return {Writer().array(3).u64(3).bin(f.message_id).str(f.reason).take(), std::nullopt};
    }
    EncodedFrame operator()(const PingFrame& f) const {
        return {Writer().array(2).u64(4).u64(f.nonce).take(), std::nullopt};
    }
    EncodedFrame operator()(const PongFrame& f) const {
        return {Writer().array(2).u64(5).u64(f.nonce).take(), std::nullopt};
    }
};
}  // namespace

EncodedFrame encode_frame(const Frame& f) { return std::visit(Encoder{}, f); }

Result<Frame> decode_frame(ByteView header, std::optional<ByteView> body, size_t max_envelope_bytes) {
    DecodeLimits dl;
    dl.max_bytes = 4096;
    dl.max_array = 8;
    LT_ASSIGN(auto d, Decoded::parse(header, "frame header", dl));
    auto r = d.root();
    LT_ASSIGN(auto type, r.u64("type"));
    const bool wants_body = type == 1 || type == 2;
    if (wants_body && !body) return make_error("frame: envelope part is missing");
    if (!wants_body && body) return make_error("frame: unexpected extra part");
    if (body && body->size() > max_envelope_bytes)
        return make_error("frame: envelope of " + std::to_string(body->size()) +
                          " bytes exceeds the limit of " + std::to_string(max_envelope_bytes));
    Frame out;
    switch (static_cast<FrameType>(type)) {
        case FrameType::deliver: out = DeliverFrame{Bytes(body->begin(), body->end())}; break;
        case FrameType::ack: out = AckFrame{Bytes(body->begin(), body->end())}; break;
        case FrameType::reject: {
            RejectFrame f;
            LT_ASSIGN(auto id, r.bin("message_id", 32));
            if (!id.empty() && id.size() != 32)
                return make_error("frame: reject message_id must be 32 bytes or empty, not " +
                                  std::to_string(id.size()));
            f.message_id.assign(id.begin(), id.end());
            LT_ASSIGN(f.reason, r.str("reason", 1024));
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
        default: return make_error("frame: unknown type " + std::to_string(type));
    }
    LT_TRY(r.finish());
    return out;
}

}  // namespace lienthong::protocol
