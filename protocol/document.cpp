#include "protocol/document.h"

#include <sodium.h>

#include <algorithm>
#include <set>

namespace lienthong::protocol {

namespace {
constexpr std::string_view kContentDomain = "lienthong/v1/document-content";
constexpr std::string_view kHashDomain = "lienthong/v1/content";
constexpr std::string_view kAead = "lienthong/v1/document";
constexpr size_t kWrappedKeyBytes = crypto_box_SEALBYTES + crypto_aead_xchacha20poly1305_ietf_KEYBYTES;

Bytes encode_content(const DocumentContent& c) {
    Writer w;
    w.array(7).u64(1).str(c.sender).array(c.recipients.size());
    for (const auto& r : c.recipients) w.str(r);
    w.u64(c.created_ms);
    const auto& m = c.meta;
    w.array(9).str(m.subject).str(m.doc_type).str(m.number).str(m.signer).u64(m.urgency)
        .u64(m.confidentiality).u64(m.due_ms).bin(m.reply_to).array(m.extra.size());
    for (const auto& [k, v] : m.extra) w.array(2).str(k).str(v);
    w.bin(c.body).array(c.attachments.size());
    for (const auto& a : c.attachments) w.array(3).str(a.name).str(a.mime).bin(a.data);
    return w.take();
}

Result<DocumentContent> decode_content(ByteView bytes, const EnvelopeLimits& limits) {
    DecodeLimits dl;
    dl.max_bytes = dl.max_bin = limits.max_envelope_bytes;
    dl.max_array = kMaxAttachments;
    LT_ASSIGN(auto d, Decoded::parse(bytes, "document content", dl));
    auto r = d.root();
    LT_ASSIGN(auto version, r.u64("version"));
    if (version != 1) return make_error("document content: unsupported version " + std::to_string(version));
    DocumentContent c;
    LT_ASSIGN(c.sender, r.str("sender", kMaxAgencyLength));
    LT_ASSIGN(auto rs, r.array("recipients", kMaxRecipients));
    while (rs.remaining() > 0) {
        LT_ASSIGN(auto a, rs.str("recipient", kMaxAgencyLength));
        c.recipients.push_back(std::move(a));
    }
    LT_ASSIGN(c.created_ms, r.u64("created_ms"));
    LT_ASSIGN(auto m, r.array("meta", 9));
    LT_ASSIGN(c.meta.subject, m.str("subject", kMaxTextField));
    LT_ASSIGN(c.meta.doc_type, m.str("doc_type", kMaxTextField));
    LT_ASSIGN(c.meta.number, m.str("number", kMaxTextField));
    LT_ASSIGN(c.meta.signer, m.str("signer", kMaxTextField));
    LT_ASSIGN(c.meta.urgency, m.u64("urgency"));
    LT_ASSIGN(c.meta.confidentiality, m.u64("confidentiality"));
    LT_ASSIGN(c.meta.due_ms, m.u64("due_ms"));
    LT_ASSIGN(auto reply, m.bin("reply_to", 32));
    c.meta.reply_to.assign(reply.begin(), reply.end());
    LT_ASSIGN(auto extra, m.array("extra", kMaxAttachments));
    while (extra.remaining() > 0) {
        LT_ASSIGN(auto kv, extra.array("extra entry", 2));
        LT_ASSIGN(auto k, kv.str("key", kMaxTextField));
        LT_ASSIGN(auto v, kv.str("value", kMaxTextField));
        LT_TRY(kv.finish());
        c.meta.extra.emplace_back(std::move(k), std::move(v));
    }
    LT_TRY(m.finish());
    LT_ASSIGN(auto body, r.bin("body", limits.max_envelope_bytes));
    c.body.assign(body.begin(), body.end());
    LT_ASSIGN(auto atts, r.array("attachments", kMaxAttachments));
    while (atts.remaining() > 0) {
        LT_ASSIGN(auto ar, atts.array("attachment", 3));
        Attachment a;
        LT_ASSIGN(a.name, ar.str("name", 255));
        LT_ASSIGN(a.mime, ar.str("mime", 255));
        LT_ASSIGN(auto data, ar.bin("data", limits.max_envelope_bytes));
        a.data.assign(data.begin(), data.end());
        LT_TRY(ar.finish());
        c.attachments.push_back(std::move(a));
    }
    LT_TRY(r.finish());
    LT_TRY(validate_content(c));
    return c;
}
}  // namespace

bool is_safe_file_name(std::string_view name) {
    if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
    if (!is_valid_utf8(name)) return false;
    return std::none_of(name.begin(), name.end(), [](char ch) {
        return ch == '/' || ch == '\\' || ch == '\0' || static_cast<unsigned char>(ch) < 0x20;
    });
}

Status validate_content(const DocumentContent& c) {
    LT_TRY(check_agency(c.sender, "sender"));
    if (c.recipients.empty()) return make_error("document has no recipients; give at least one --to");
    if (c.recipients.size() > kMaxRecipients)
        return make_error("document has more than " + std::to_string(kMaxRecipients) + " recipients");
    std::set<std::string> seen;
    for (const auto& r : c.recipients) {
        LT_TRY(check_agency(r, "recipient"));
        if (r == c.sender) return make_error("recipient '" + r + "' is the sender itself");
        if (!seen.insert(r).second) return make_error("recipient '" + r + "' is listed twice");
    }
    const auto& m = c.meta;
    for (const auto* s : {&m.subject, &m.doc_type, &m.number, &m.signer}) {
        if (!is_valid_utf8(*s)) return make_error("document metadata contains invalid UTF-8");
        if (s->size() > kMaxTextField) return make_error("document metadata field is too long");
    }
    if (m.urgency > 3) return make_error("urgency must be 0-3 (0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc)");
    if (m.confidentiality > 3)
        return make_error("confidentiality must be 0-3 (0 thường, 1 mật, 2 tối mật, 3 tuyệt mật)");
    if (!m.reply_to.empty() && m.reply_to.size() != 32)
        return make_error("reply_to must be a 32-byte message id");
    if (c.attachments.size() > kMaxAttachments) return make_error("too many attachments");
    std::set<std::string> names;
    for (const auto& a : c.attachments) {
        if (!is_safe_file_name(a.name))
            return make_error("attachment name '" + a.name.substr(0, 80) +
                              "' is not a plain file name");
        if (!names.insert(a.name).second)
            return make_error("attachment name '" + a.name + "' is used twice");
        if (!is_valid_utf8(a.mime) || a.mime.size() > 255)
            return make_error("attachment '" + a.name + "' has an invalid MIME type");
    }
    return ok_status();
}

Result<SealedDocument> seal_document(const DocumentContent& c, const SecretIdentity& sender,
                                     const std::vector<PublicIdentity>& recipient_keys) {
    LT_TRY(validate_content(c));
    if (c.sender != sender.pub.agency) return make_error("document sender is not this node's agency");
    const Bytes content = encode_content(c);
    const Signature inner_sig = sign_domain(sender.sign_secret, kContentDomain, content);
    Bytes plaintext;
    {
        Writer w;
        w.array(2).bin(content).bin(inner_sig);
        plaintext = w.take();
    }
    std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_KEYBYTES> key{};
    crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
    std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
    randombytes_buf(nonce.data(), nonce.size());
    Bytes ct(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        ct.data(), &ct_len, plaintext.data(), plaintext.size(),
        reinterpret_cast<const uint8_t*>(kAead.data()), kAead.size(), nullptr, nonce.data(), key.data());
    ct.resize(ct_len);
    sodium_memzero(plaintext.data(), plaintext.size());

    std::vector<const PublicIdentity*> wrap_for{&sender.pub};
    for (const auto& r : c.recipients) {
        auto it = std::find_if(recipient_keys.begin(), recipient_keys.end(),
                               [&](const PublicIdentity& p) { return p.agency == r; });
        if (it == recipient_keys.end()) return make_error("no public key known for recipient '" + r + "'");
        wrap_for.push_back(&*it);
    }
    Writer w;
    w.array(3).bin(nonce).array(wrap_for.size());
    for (const auto* p : wrap_for) {
        std::array<uint8_t, kWrappedKeyBytes> wrapped{};
        crypto_box_seal(wrapped.data(), key.data(), key.size(), p->box_key.data());
        w.array(2).str(p->agency).bin(wrapped);
    }
    w.bin(ct);
    sodium_memzero(key.data(), key.size());

    Envelope env;
    env.kind = Kind::document;
    env.from = c.sender;
    env.to = c.recipients;
    env.created_ms = c.created_ms;
    env.payload = w.take();
    SealedDocument out;
    out.envelope = sign_envelope(std::move(env), sender.sign_secret);
    out.content_hash = hash_domain(kHashDomain, content);
    return out;
}

Result<OpenedDocument> open_document(const SignedEnvelope& se, const SecretIdentity& me,
                                     const SignPublicKey& sender_key, const EnvelopeLimits& limits) {
    if (se.env.kind != Kind::document) return make_error("envelope is not a document");
    DecodeLimits dl;
    dl.max_bytes = dl.max_bin = limits.max_envelope_bytes;
    dl.max_array = kMaxRecipients + 1;
    LT_ASSIGN(auto d, Decoded::parse(se.env.payload, "document payload", dl));
    auto r = d.root();
    LT_ASSIGN(auto nonce, r.fixed<crypto_aead_xchacha20poly1305_ietf_NPUBBYTES>("nonce"));
    LT_ASSIGN(auto wraps, r.array("wrapped keys", kMaxRecipients + 1));
    std::optional<std::array<uint8_t, kWrappedKeyBytes>> mine;
    while (wraps.remaining() > 0) {
        LT_ASSIGN(auto wr, wraps.array("wrapped key", 2));
        LT_ASSIGN(auto agency, wr.str("agency", kMaxAgencyLength));
        LT_ASSIGN(auto wrapped, wr.fixed<kWrappedKeyBytes>("key"));
        LT_TRY(wr.finish());
        if (agency == me.pub.agency) mine = wrapped;
    }
    LT_ASSIGN(auto ct, r.bin("ciphertext", limits.max_envelope_bytes));
    LT_TRY(r.finish());
    if (!mine) return make_error("document has no key wrapped for this agency '" + me.pub.agency + "'");
    std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_KEYBYTES> key{};
    if (crypto_box_seal_open(key.data(), mine->data(), mine->size(), me.pub.box_key.data(),
                             me.box_secret.data()) != 0)
        return make_error("document key cannot be unwrapped with this node's key (tampered or wrong key)");
    if (ct.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) return make_error("document ciphertext is truncated");
    Bytes plaintext(ct.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long pt_len = 0;
    const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
        plaintext.data(), &pt_len, nullptr, ct.data(), ct.size(),
        reinterpret_cast<const uint8_t*>(kAead.data()), kAead.size(), nonce.data(), key.data());
    sodium_memzero(key.data(), key.size());
    if (rc != 0) return make_error("document ciphertext failed authentication (tampered in transit)");
    plaintext.resize(pt_len);

    LT_ASSIGN(auto pd, Decoded::parse(plaintext, "document plaintext", dl));
    auto pr = pd.root();
    LT_ASSIGN(auto content_bytes, pr.bin("content", limits.max_envelope_bytes));
    LT_ASSIGN(auto inner_sig, pr.fixed<64>("content signature"));
    LT_TRY(pr.finish());
    OpenedDocument out;
    LT_ASSIGN(out.content, decode_content(content_bytes, limits));
    out.content_hash = hash_domain(kHashDomain, content_bytes);
    out.content_signature_valid = verify_domain(sender_key, kContentDomain, content_bytes, inner_sig);
    if (out.content.sender != se.env.from || out.content.recipients != se.env.to ||
        out.content.created_ms != se.env.created_ms)
        return make_error("document content does not match its envelope (sender, recipients or time)");
    return out;
}

}  // namespace lienthong::protocol
