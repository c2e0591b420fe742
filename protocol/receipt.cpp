#include "protocol/receipt.h"

namespace lienthong::protocol {

SignedEnvelope make_receipt(const Receipt& r, const SecretIdentity& recipient,
                            const std::string& original_sender) {
    Writer w;
    w.array(3).str(r.recipient).u64(r.received_ms).array(r.entries.size());
    for (const auto& e : r.entries) w.array(2).bin(e.message_id).bin(e.document_hash);
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
    dl.max_bytes = 64 + kMaxReceiptEntries * 72;
    dl.max_array = kMaxReceiptEntries;
    LT_ASSIGN(auto d, Decoded::parse(se.env.payload, "receipt", dl));
    auto r = d.root();
    Receipt out;
    LT_ASSIGN(out.recipient, r.str("recipient", kMaxAgencyLength));
    LT_ASSIGN(out.received_ms, r.u64("received_ms"));
    LT_ASSIGN(auto entries, r.array("entries", kMaxReceiptEntries));
    if (entries.size() == 0) return make_error("receipt: lists no documents");
    while (entries.remaining() > 0) {
        LT_ASSIGN(auto er, entries.array("entry", 2));
        ReceiptEntry e;
        LT_ASSIGN(e.message_id, er.fixed<32>("message_id"));
        LT_ASSIGN(e.document_hash, er.fixed<32>("document_hash"));
        LT_TRY(er.finish());
        out.entries.push_back(e);
    }
    LT_TRY(r.finish());
    if (out.recipient != se.env.from) return make_error("receipt: recipient does not match its signer");
    if (se.env.to.size() != 1) return make_error("receipt: must be addressed to exactly one sender");
    if (out.received_ms != se.env.created_ms) return make_error("receipt: time does not match its envelope");
    return out;
}

}  // namespace lienthong::protocol
