#include "protocol/document.h"

#include <sodium.h>

#include <algorithm>
#include <set>

namespace lienthong::protocol {

namespace {
constexpr std::string_view kCommitDomain = "lienthong/v1/commit";
constexpr std::string_view kHashDomain = "lienthong/v1/content";
constexpr std::string_view kLocalDomain = "lienthong/v1/local-storage";
constexpr size_t kWrappedKeyBytes = crypto_box_MACBYTES + crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
static_assert(crypto_box_NONCEBYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(crypto_box_BEFORENMBYTES == 32);

std::optional<SharedKey> compute_shared(const BoxSecretKey& mine, const BoxPublicKey& theirs) {
    SharedKey k{};
    if (crypto_box_beforenm(k.data(), theirs.data(), mine.data()) != 0) return std::nullopt;
    return k;
}

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

// Commits to the content through its hash, so the content is hashed once for both.
Hash32 commitment_of(const ContentKey& key, const Hash32& content_hash) {
    Hash32 out{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, key.data(), key.size(), out.size());
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kCommitDomain.data()), kCommitDomain.size());
    const uint8_t sep = 0;
    crypto_generichash_update(&st, &sep, 1);
    crypto_generichash_update(&st, content_hash.data(), content_hash.size());
    crypto_generichash_final(&st, out.data(), out.size());
    return out;
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

SharedKeyCache::~SharedKeyCache() {
    for (auto& [pk, k] : m_keys)
        if (k) sodium_memzero(k->data(), k->size());
    sodium_memzero(m_mine.data(), m_mine.size());
}

const SharedKey* SharedKeyCache::get(const BoxSecretKey& mine, const BoxPublicKey& theirs) {
    if (mine != m_mine) {  // our key changed (rotation): forget everything
        for (auto& [pk, k] : m_keys)
            if (k) sodium_memzero(k->data(), k->size());
        m_keys.clear();
        m_mine = mine;
    }
    for (const auto& [pk, k] : m_keys)
        if (pk == theirs) return k ? &*k : nullptr;
    if (m_keys.size() >= 4096) m_keys.erase(m_keys.begin());
    m_keys.emplace_back(theirs, compute_shared(mine, theirs));
    return m_keys.back().second ? &*m_keys.back().second : nullptr;
}

Result<SealedDocument> seal_document(const DocumentContent& c, const SecretIdentity& sender,
                                     const std::vector<PublicIdentity>& recipient_keys, SharedKeyCache* cache) {
    LT_TRY(validate_content(c));
    if (c.sender != sender.pub.agency) return make_error("document sender is not this node's agency");
    SealedDocument out;
    Bytes content = encode_content(c);
    crypto_aead_xchacha20poly1305_ietf_keygen(out.content_key.data());
    out.content_hash = hash_domain(kHashDomain, content);
    const Hash32 commitment = commitment_of(out.content_key, out.content_hash);
    std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
    randombytes_buf(nonce.data(), nonce.size());
    Bytes ct(content.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct.data(), &ct_len, content.data(), content.size(),
                                               commitment.data(), commitment.size(), nullptr, nonce.data(),
                                               out.content_key.data());
    ct.resize(ct_len);
    sodium_memzero(content.data(), content.size());

    SharedKeyCache local;
    SharedKeyCache& keys = cache ? *cache : local;
    Writer w;
    w.array(5).bin(nonce).bin(sender.pub.box_key).array(c.recipients.size());
    for (const auto& r : c.recipients) {
        auto it = std::find_if(recipient_keys.begin(), recipient_keys.end(),
                               [&](const PublicIdentity& p) { return p.agency == r; });
        if (it == recipient_keys.end()) return make_error("no public key known for recipient '" + r + "'");
        const SharedKey* shared = keys.get(sender.box_secret, it->box_key);
        if (!shared) return make_error("recipient '" + r + "' has an unusable encryption key; check its identity line");
        std::array<uint8_t, kWrappedKeyBytes> wrapped{};
        crypto_box_easy_afternm(wrapped.data(), out.content_key.data(), out.content_key.size(), nonce.data(),
                                shared->data());
        w.array(2).str(r).bin(wrapped);
    }
    w.bin(commitment).bin(ct);

    Envelope env;
    env.kind = Kind::document;
    env.from = c.sender;
    env.to = c.recipients;
    env.created_ms = c.created_ms;
    env.payload = w.take();
    out.envelope = sign_envelope(std::move(env), sender.sign_secret);
    return out;
}

namespace {
struct ParsedPayload {
    std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
    BoxPublicKey sender_box_key{};
    std::vector<std::pair<std::string, std::array<uint8_t, kWrappedKeyBytes>>> wraps;
    Hash32 commitment{};
    ByteView ciphertext;
    Decoded decoded;  // owns what ciphertext points into
};

Result<ParsedPayload> parse_payload(const SignedEnvelope& se, const EnvelopeLimits& limits) {
    if (se.env.kind != Kind::document) return make_error("envelope is not a document");
    DecodeLimits dl;
    dl.max_bytes = dl.max_bin = limits.max_envelope_bytes;
    dl.max_array = kMaxRecipients;
    LT_ASSIGN(auto d, Decoded::parse(se.env.payload, "document payload", dl));
    ParsedPayload p;
    p.decoded = std::move(d);
    auto r = p.decoded.root();
    LT_ASSIGN(p.nonce, r.fixed<crypto_aead_xchacha20poly1305_ietf_NPUBBYTES>("nonce"));
    LT_ASSIGN(p.sender_box_key, r.fixed<32>("sender_box_key"));
    LT_ASSIGN(auto wraps, r.array("wrapped keys", kMaxRecipients));
    while (wraps.remaining() > 0) {
        LT_ASSIGN(auto wr, wraps.array("wrapped key", 2));
        LT_ASSIGN(auto agency, wr.str("agency", kMaxAgencyLength));
        LT_ASSIGN(auto wrapped, wr.fixed<kWrappedKeyBytes>("key"));
        LT_TRY(wr.finish());
        p.wraps.emplace_back(std::move(agency), wrapped);
    }
    LT_ASSIGN(p.commitment, r.fixed<32>("commitment"));
    LT_ASSIGN(p.ciphertext, r.bin("ciphertext", limits.max_envelope_bytes));
    LT_TRY(r.finish());
    if (p.wraps.size() != se.env.to.size()) return make_error("document payload: wrapped keys do not match the recipients");
    for (size_t i = 0; i < p.wraps.size(); ++i)
        if (p.wraps[i].first != se.env.to[i]) return make_error("document payload: wrapped keys do not match the recipients");
    return p;
}

Result<OpenedDocument> decrypt(const SignedEnvelope& se, const ParsedPayload& p, const ContentKey& key,
                               const EnvelopeLimits& limits) {
    if (p.ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) return make_error("document ciphertext is truncated");
    Bytes content(p.ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(content.data(), &len, nullptr, p.ciphertext.data(), p.ciphertext.size(),
                                                   p.commitment.data(), p.commitment.size(), p.nonce.data(),
                                                   key.data()) != 0)
        return make_error("document ciphertext failed authentication (tampered in transit, or the wrong key)");
    content.resize(len);
    OpenedDocument out;
    out.content_hash = hash_domain(kHashDomain, content);
    if (commitment_of(key, out.content_hash) != p.commitment)
        return make_error("document content does not match the commitment the sender signed");
    LT_ASSIGN(out.content, decode_content(content, limits));
    out.content_key = key;
    if (out.content.sender != se.env.from || out.content.recipients != se.env.to ||
        out.content.created_ms != se.env.created_ms)
        return make_error("document content does not match its envelope (sender, recipients or time)");
    return out;
}
}  // namespace

Result<OpenedDocument> open_document(const SignedEnvelope& se, const SecretIdentity& me, const EnvelopeLimits& limits,
                                     SharedKeyCache* cache) {
    LT_ASSIGN(auto p, parse_payload(se, limits));
    const auto mine = std::find_if(p.wraps.begin(), p.wraps.end(), [&](const auto& w) { return w.first == me.pub.agency; });
    if (mine == p.wraps.end()) return make_error("document has no key wrapped for this agency '" + me.pub.agency + "'");
    SharedKeyCache local;
    SharedKeyCache& keys = cache ? *cache : local;
    const SharedKey* shared = keys.get(me.box_secret, p.sender_box_key);
    if (!shared) return make_error("document names an unusable sender encryption key");
    ContentKey key{};
    if (crypto_box_open_easy_afternm(key.data(), mine->second.data(), mine->second.size(), p.nonce.data(),
                                     shared->data()) != 0)
        return make_error("document key cannot be unwrapped with this node's key (tampered, or the wrong key)");
    auto out = decrypt(se, p, key, limits);
    sodium_memzero(key.data(), key.size());
    return out;
}

Result<OpenedDocument> open_document_with_key(const SignedEnvelope& se, const ContentKey& key,
                                              const EnvelopeLimits& limits) {
    LT_ASSIGN(auto p, parse_payload(se, limits));
    return decrypt(se, p, key, limits);
}

LocalKey local_storage_key(const SecretIdentity& me) {
    LocalKey out{};
    crypto_generichash(out.data(), out.size(), reinterpret_cast<const uint8_t*>(kLocalDomain.data()), kLocalDomain.size(),
                       me.box_secret.data(), me.box_secret.size());
    return out;
}

Bytes wrap_local(const ContentKey& key, const LocalKey& local) {
    Bytes out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + key.size());
    randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, key.data(), key.size(), out.data(), local.data());
    return out;
}

Result<ContentKey> unwrap_local(ByteView wrapped, const LocalKey& local) {
    ContentKey key{};
    if (wrapped.size() != crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + key.size() ||
        crypto_secretbox_open_easy(key.data(), wrapped.data() + crypto_secretbox_NONCEBYTES,
                                   wrapped.size() - crypto_secretbox_NONCEBYTES, wrapped.data(), local.data()) != 0)
        return make_error("stored content key cannot be unwrapped (damaged, or the node's key changed)");
    return key;
}

}  // namespace lienthong::protocol
