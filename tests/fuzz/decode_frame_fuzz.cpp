// Fuzz target: decode_frame on an arbitrary single buffer (one ZeroMQ part: a canonical
// msgpack header, then the envelope bytes for Deliver and Ack).
// Invariants: anything accepted re-encodes to exactly the input; an envelope-carrying frame
// carries a non-empty envelope within the limit; a reject id is empty or 32 bytes.
#include "fuzz_target.h"

#include "protocol/frame.h"

using namespace lienthong::protocol;

namespace {
constexpr size_t kMaxEnvelope = 64 * 1024;

std::vector<uint8_t> seed(const Frame& f) {
    const Bytes b = encode_frame(f);
    return std::vector<uint8_t>(b.begin(), b.end());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView frame(data, size);
    auto f = decode_frame(frame, kMaxEnvelope);
    if (!f.ok()) {
        LT_FUZZ_CHECK(!f.error().empty());
        return 0;
    }
    const Bytes again = encode_frame(*f);
    LT_FUZZ_CHECK(again == Bytes(frame.begin(), frame.end()));
    if (const auto* d = std::get_if<DeliverFrame>(&*f))
        LT_FUZZ_CHECK(!d->envelope.empty() && d->envelope.size() <= kMaxEnvelope);
    if (const auto* a = std::get_if<AckFrame>(&*f))
        LT_FUZZ_CHECK(!a->envelope.empty() && a->envelope.size() <= kMaxEnvelope);
    if (const auto* r = std::get_if<RejectFrame>(&*f)) LT_FUZZ_CHECK(r->message_id.empty() || r->message_id.size() == 32);
    if (const auto* h = std::get_if<AuditHeadsFrame>(&*f)) LT_FUZZ_CHECK(h->heads.size() <= kMaxAuditHeadsInFrame);
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    const Bytes env = {0x93, 0x01, 0xc4, 0x00, 0xc4, 0x00};
    return {
        seed(DeliverFrame{env}),
        seed(AckFrame{Bytes(200, 0x42)}),
        seed(RejectFrame{Bytes(32, 0xab), "chữ ký không hợp lệ"}),
        seed(RejectFrame{{}, "malformed"}),
        seed(PingFrame{0x0123456789abcdefull}),
        seed(PongFrame{7}),
        seed(DirWantFrame{{Hash32{}}}),
        seed(DirRecordsFrame{{{DirRecordKind::cross_trust, Bytes(40, 0x11)}}}),
        seed(DirReconcileFrame{Bytes{0x92, 0x01, 0x90}}),
        seed(RelayFrame{"000.00.00.P01", 3, 1, env}),
        seed(CustodyFrame{Hash32{}, "000.00.00.P01"}),
        seed(SyncFrame{1764000000000ull, Bytes{0x92, 0x01, 0x90}}),
        seed(ReceiptWantFrame{{Hash32{}}}),
        seed(ResyncFrame{1764000000000ull, Bytes{0x92, 0x01, 0x90}}),
        seed(RedeliverWantFrame{{Hash32{}}}),
        seed(OfferFrame{Hash32{}, 70000, 65536, {Hash32{}, Hash32{}}, Signature{}}),
        seed(RelayOfferFrame{"000.00.00.P01", 2, 0, OfferFrame{Hash32{}, 10, 65536, {Hash32{}}, Signature{}}}),
        seed(ChunkWantFrame{Hash32{}, {0, 1, 2}}),
        seed(ChunkFrame{Hash32{}, 1, Bytes(100, 0x5a)}),
        seed(AuditHeadFrame{AuditHead{"000.00.31.H14", 42, Hash32{}, 1764000000000ull, Signature{}}}),
        seed(AuditHeadsWantFrame{}),
        seed(AuditHeadsFrame{{AuditHead{"000.00.31.H14", 1, Hash32{}, 1, Signature{}},
                              AuditHead{"000.00.31.H14", 2, Hash32{}, 2, Signature{}}}}),
    };
}
