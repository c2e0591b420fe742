#include "protocol/receipt.h"

namespace lienthong::protocol {

SignedEnvelope make_receipt(const Receipt& r, const SecretIdentity& recipient,
                            const std::string& original_sender) {
    Writer w;
    w.array(4).bin(r.message_id).bin(r.document_hash).str(r.recipient).u64(r.received_ms);
    Envelope env;
    env.kind = Kind::receipt;
    env.from = recipient.pub.agency;
    env.to = {original_sender};
    env.created_ms = r.received_ms;
    env.payload = w.take();
    return sign_envelope(std::move(env), recipient.sign_secret);
}

Result<Receipt> parse_receipt(const SignedEnvelope& se) {
    if (se.env.kind != Kind::receipt) return make_error("envelope is not a receipt");
    DecodeLimits dl;
    dl.max_bytes = 1024;
    LT_ASSIGN(auto d, Decoded::parse(se.env.payload, "receipt", dl));
    auto r = d.root();
    Receipt out;
    LT_ASSIGN(out.message_id, r.fixed<32>("message_id"));
    LT_ASSIGN(out.document_hash, r.fixed<32>("document_hash"));
    LT_ASSIGN(out.recipient, r.str("recipient", kMaxAgencyLength));
    LT_ASSIGN(out.received_ms, r.u64("received_ms"));
    LT_TRY(r.finish());
    if (out.recipient != se.env.from) return make_error("receipt recipient does not match its signer");
    if (se.env.to.size() != 1) return make_error("receipt must be addressed to exactly one sender");
    return out;
}

}  // namespace lienthong::protocol
