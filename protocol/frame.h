// Peer-link frames: what two connected nodes say to each other over ZeroMQ.
//
// A ZeroMQ message is one or two frames: a small header, then, for frames that carry an
// envelope, the envelope's wire bytes untouched (no copy into the header).
//   header = [ type : uint, ...fields ]
//   Deliver  [1]                        + envelope   sender → recipient: please take custody
//   Ack      [2]                        + envelope   recipient → sender: the signed receipt
//   Reject   [3, message_id:bin(32)|bin(0), reason:str]   why an envelope was refused
//   Ping     [4, nonce:uint]            liveness probe from the connecting side
//   Pong     [5, nonce:uint]            answer to Ping
// Decoding never throws; anything malformed is an error the caller counts against the peer.
#pragma once

#include <variant>

#include "protocol/codec.h"

namespace lienthong::protocol {

struct DeliverFrame {
    Bytes envelope;
};
struct AckFrame {
    Bytes envelope;
};
struct RejectFrame {
    Bytes message_id;  // empty when the envelope could not even be parsed
    std::string reason;
};
struct PingFrame {
    uint64_t nonce = 0;
};
struct PongFrame {
    uint64_t nonce = 0;
};

using Frame = std::variant<DeliverFrame, AckFrame, RejectFrame, PingFrame, PongFrame>;

struct EncodedFrame {
    Bytes header;
    std::optional<Bytes> body;
};

EncodedFrame encode_frame(const Frame& f);
// `body` is the second ZeroMQ frame, if there was one.
Result<Frame> decode_frame(ByteView header, std::optional<ByteView> body, size_t max_envelope_bytes);

}  // namespace lienthong::protocol
