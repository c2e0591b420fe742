#include "protocol/envelope.h"

namespace lienthong::protocol {

namespace {
constexpr std::string_view kIdDomain = "lienthong/v1/id";
constexpr uint64_t kVersion = 1;

Bytes encode_body(const Envelope& e) {
    Writer w;
    w.reserve(e.payload.size() + 64 + e.to.size() * 32);
    w.array(5).u64(static_cast<uint64_t>(e.kind)).str(e.from).array(e.to.size());
    for (const auto& t : e.to) w.str(t);
    w.u64(e.created_ms).bin(e.payload);
    return w.take();
}
}  // namespace

std::string_view kind_domain(Kind kind) {
    switch (kind) {
        case Kind::document: return "lienthong/v1/document";
        case Kind::receipt: return "lienthong/v1/receipt";
        case Kind::status: return "lienthong/v1/status";
    }
    return "lienthong/v1/unknown";
}

std::string_view kind_name(Kind kind) {
    switch (kind) {
        case Kind::document: return "document";
        case Kind::receipt: return "receipt";
        case Kind::status: return "status";
    }
    return "unknown";
}

SignedEnvelope sign_envelope(Envelope env, const SignSecretKey& sk) {
    SignedEnvelope se;
    Bytes body = encode_body(env);
    se.id = hash_domain(kIdDomain, body);
    se.signature = sign_domain(sk, kind_domain(env.kind), se.id);
    Writer w;
    w.reserve(body.size() + 96);
    w.array(3).u64(kVersion).bin(body).bin(se.signature);
    se.wire = w.take();
    se.env = std::move(env);
    return se;
}

Result<SignedEnvelope> decode_envelope(ByteView wire, const EnvelopeLimits& limits) {
    DecodeLimits dl;
    dl.max_bytes = limits.max_envelope_bytes;
    dl.max_bin = limits.max_envelope_bytes;
    dl.max_array = 3;
    LT_ASSIGN(auto outer, Decoded::parse(wire, "envelope", dl));
    auto r = outer.root();
    LT_ASSIGN(auto version, r.u64("version"));
    if (version != kVersion)
        return make_error("envelope: version " + std::to_string(version) +
                          " is not supported (this node speaks 1); upgrade the older node");
    LT_ASSIGN(auto body, r.bin("body", limits.max_envelope_bytes));
    LT_ASSIGN(auto sig, r.fixed<64>("signature"));
    LT_TRY(r.finish());

    dl.max_array = kMaxRecipients;
    LT_ASSIGN(auto inner, Decoded::parse(body, "envelope body", dl));
    auto b = inner.root();
    SignedEnvelope se;
    LT_ASSIGN(auto kind, b.u64("kind"));
    if (kind < static_cast<uint64_t>(Kind::document) || kind > static_cast<uint64_t>(Kind::status))
        return make_error("envelope body: unknown kind " + std::to_string(kind));
    se.env.kind = static_cast<Kind>(kind);
    LT_ASSIGN(se.env.from, b.str("from", kMaxAgencyLength));
    LT_TRY(check_agency(se.env.from, "envelope sender"));
    LT_ASSIGN(auto to, b.array("to", kMaxRecipients));
    if (to.size() == 0) return make_error("envelope body: no recipients");
    while (to.remaining() > 0) {
        LT_ASSIGN(auto t, to.str("recipient", kMaxAgencyLength));
        LT_TRY(check_agency(t, "envelope recipient"));
        se.env.to.push_back(std::move(t));
    }
    LT_ASSIGN(se.env.created_ms, b.u64("created_ms"));
    LT_ASSIGN(auto payload, b.bin("payload", limits.max_envelope_bytes));
    se.env.payload.assign(payload.begin(), payload.end());
    LT_TRY(b.finish());
    se.id = hash_domain(kIdDomain, body);
    se.signature = sig;
    se.wire.assign(wire.begin(), wire.end());
    return se;
}

bool verify_envelope(const SignedEnvelope& se, const SignPublicKey& sender_key) {
    return verify_domain(sender_key, kind_domain(se.env.kind), se.id, se.signature);
}

std::string short_id(const Hash32& id) { return to_hex(ByteView(id.data(), 8)); }

}  // namespace lienthong::protocol
