// Fuzz target: decode_frame on an arbitrary header and optional envelope part.
// Input layout: byte 0 bit 0 = an envelope part is present; byte 1 = header length; then the
// header; the rest is the envelope part. Invariant: anything accepted re-encodes exactly.
#include "fuzz_target.h"

#include "protocol/frame.h"

using namespace lienthong::protocol;

namespace {
constexpr size_t kMaxEnvelope = 64 * 1024;

std::vector<uint8_t> pack(const EncodedFrame& f) {
    std::vector<uint8_t> out;
    out.push_back(f.body ? 1 : 0);
    out.push_back(static_cast<uint8_t>(f.header.size()));
    out.insert(out.end(), f.header.begin(), f.header.end());
    if (f.body) out.insert(out.end(), f.body->begin(), f.body->end());
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const bool has_body = data[0] & 1;
    const size_t header_len = std::min<size_t>(data[1], size - 2);
    const ByteView header(data + 2, header_len);
    std::optional<ByteView> body;
    if (has_body) body = ByteView(data + 2 + header_len, size - 2 - header_len);
    auto f = decode_frame(header, body, kMaxEnvelope);
    if (!f.ok()) {
        LT_FUZZ_CHECK(!f.error().empty());
        return 0;
    }
    const auto again = encode_frame(*f);
    LT_FUZZ_CHECK(again.header == Bytes(header.begin(), header.end()));
    LT_FUZZ_CHECK(again.body.has_value() == has_body);
    if (has_body) LT_FUZZ_CHECK(*again.body == Bytes(body->begin(), body->end()));
    if (const auto* r = std::get_if<RejectFrame>(&*f))
        LT_FUZZ_CHECK(r->message_id.empty() || r->message_id.size() == 32);
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    const Bytes env = {0x93, 0x01, 0xc4, 0x00, 0xc4, 0x00};
    return {
        pack(encode_frame(DeliverFrame{env})),
        pack(encode_frame(AckFrame{Bytes(200, 0x42)})),
        pack(encode_frame(RejectFrame{Bytes(32, 0xab), "chữ ký không hợp lệ"})),
        pack(encode_frame(RejectFrame{{}, "malformed"})),
        pack(encode_frame(PingFrame{0x0123456789abcdefull})),
        pack(encode_frame(PongFrame{7})),
    };
}
