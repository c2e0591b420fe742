#include "protocol/frame.h"

namespace lienthong::protocol {

namespace {
enum class FrameType : uint64_t { deliver = 1, ack = 2, reject = 3, ping = 4, pong = 5 };

Bytes with_envelope(uint64_t type, const Bytes& envelope) {
    Writer w;
    w.array(1).u64(type).raw(envelope);
    return w.take();
}

struct Encoder {
    Bytes operator()(const DeliverFrame& f) const { return with_envelope(1, f.envelope); }
    Bytes operator()(const AckFrame& f) const { return with_envelope(2, f.envelope); }
    Bytes operator()(const RejectFrame& f) const {
        return Writer().array(3).u64(3).bin(f.message_id).str(f.reason).take();
    }
    Bytes operator()(const PingFrame& f) const { return Writer().array(2).u64(4).u64(f.nonce).take(); }
    Bytes operator()(const PongFrame& f) const { return Writer().array(2).u64(5).u64(f.nonce).take(); }
};
}  // namespace

Bytes encode_frame(const Frame& f) { return std::visit(Encoder{}, f); }

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
    const bool wants_envelope = type == 1 || type == 2;
    if (wants_envelope && rest.empty()) return make_error("frame: envelope is missing");
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
