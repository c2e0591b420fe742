// Files of armored trust records (trust_file.h).
#include "protocol/trust_file.h"

namespace lienthong::protocol {

namespace {

template <class R>
Result<TrustRecord> decode_as(ByteView data) {
    auto r = R::decode(data);
    if (!r.ok()) return make_error("malformed: " + r.error());
    return TrustRecord(std::move(r).value());
}

Result<TrustRecord> decode_block(const ArmorBlock& b) {
    if (b.label == IssuerRecord::kLabel) return decode_as<IssuerRecord>(b.data);
    if (b.label == NodeRecord::kLabel) return decode_as<NodeRecord>(b.data);
    if (b.label == EnrollmentRequest::kLabel) return decode_as<EnrollmentRequest>(b.data);
    if (b.label == Revocation::kLabel) return decode_as<Revocation>(b.data);
    if (b.label == CrossTrust::kLabel) return decode_as<CrossTrust>(b.data);
    return make_error("not a trust record: '" + b.label + "' block");
}

}  // namespace

Result<std::vector<TrustFileBlock>> read_trust_file(std::string_view text) {
    LT_ASSIGN(auto blocks, dearmor_all(text));
    std::vector<TrustFileBlock> out;
    out.reserve(blocks.size());
    for (const auto& b : blocks) out.push_back({b.label, decode_block(b)});
    return out;
}

}  // namespace lienthong::protocol
