#include "protocol/sealed.h"

#include <sodium.h>

#include <algorithm>

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

struct ParsedPayload {
    std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
    BoxPublicKey sender_box_key{};
    std::vector<std::pair<std::string, std::array<uint8_t, kWrappedKeyBytes>>> wraps;
    Hash32 commitment{};
    ByteView ciphertext;
    Decoded decoded;  // ciphertext points into se.env.payload, which it was read from
};

Result<ParsedPayload> parse_payload(Kind kind, const SignedEnvelope& se, const EnvelopeLimits& limits) {
    if (se.env.kind != kind)
        return make_error("envelope is a " + std::string(kind_name(se.env.kind)) + ", not a " +
                          std::string(kind_name(kind)));
    DecodeLimits dl;
    dl.max_bytes = dl.max_bin = limits.max_envelope_bytes;
    dl.max_array = kMaxRecipients;
    LT_ASSIGN(auto d, Decoded::parse(se.env.payload, "sealed payload", dl));
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
    if (p.wraps.size() != se.env.to.size()) return make_error("sealed payload: wrapped keys do not match the recipients");
    for (size_t i = 0; i < p.wraps.size(); ++i)
        if (p.wraps[i].first != se.env.to[i]) return make_error("sealed payload: wrapped keys do not match the recipients");
    return p;
}

}  // namespace

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

Result<Sealed> seal(Kind kind, Bytes plaintext, const std::vector<std::string>& to, uint64_t created_ms,
                    const SecretIdentity& sender, const std::vector<PublicIdentity>& recipient_keys,
                    SharedKeyCache* cache) {
    if (to.empty() || to.size() > kMaxRecipients)
        return make_error("a sealed message needs 1 to " + std::to_string(kMaxRecipients) + " recipients");
    Sealed out;
    crypto_aead_xchacha20poly1305_ietf_keygen(out.content_key.data());
    out.content_hash = hash_domain(kHashDomain, plaintext);
    const Hash32 commitment = commitment_of(out.content_key, out.content_hash);
    std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
    randombytes_buf(nonce.data(), nonce.size());
    Bytes ct(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct.data(), &ct_len, plaintext.data(), plaintext.size(),
                                               commitment.data(), commitment.size(), nullptr, nonce.data(),
                                               out.content_key.data());
    ct.resize(ct_len);
    sodium_memzero(plaintext.data(), plaintext.size());
    Bytes().swap(plaintext);

    SharedKeyCache local;
    SharedKeyCache& keys = cache ? *cache : local;
    Writer w;
    w.reserve(ct.size() + 128 + to.size() * (kWrappedKeyBytes + 48));
    w.array(5).bin(nonce).bin(sender.pub.box_key).array(to.size());
    for (const auto& r : to) {
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
    Bytes().swap(ct);  // copied into the payload

    Envelope env;
    env.kind = kind;
    env.from = sender.pub.agency;
    env.to = to;
    env.created_ms = created_ms;
    env.payload = w.take();
    out.envelope = sign_envelope(std::move(env), sender.sign_secret);
    return out;
}


namespace {
Result<Unsealed> decrypt(const ParsedPayload& p, const ContentKey& key) {
    if (p.ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) return make_error("sealed ciphertext is truncated");
    Unsealed out;
    out.plaintext.resize(p.ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.plaintext.data(), &len, nullptr, p.ciphertext.data(),
                                                   p.ciphertext.size(), p.commitment.data(), p.commitment.size(),
                                                   p.nonce.data(), key.data()) != 0)
        return make_error("ciphertext failed authentication (tampered in transit, or the wrong key)");
    out.plaintext.resize(len);
    out.content_hash = hash_domain(kHashDomain, out.plaintext);
    if (commitment_of(key, out.content_hash) != p.commitment)
        return make_error("content does not match the commitment the sender signed");
    out.content_key = key;
    return out;
}
}  // namespace

Result<Unsealed> unseal(Kind kind, const SignedEnvelope& se, const SecretIdentity& me, const EnvelopeLimits& limits,
                        SharedKeyCache* cache) {
    LT_ASSIGN(auto p, parse_payload(kind, se, limits));
    const auto mine = std::find_if(p.wraps.begin(), p.wraps.end(), [&](const auto& w) { return w.first == me.pub.agency; });
    if (mine == p.wraps.end()) return make_error("message has no key wrapped for this agency '" + me.pub.agency + "'");
    SharedKeyCache local;
    SharedKeyCache& keys = cache ? *cache : local;
    const SharedKey* shared = keys.get(me.box_secret, p.sender_box_key);
    if (!shared) return make_error("the envelope names an unusable sender encryption key");
    ContentKey key{};
    if (crypto_box_open_easy_afternm(key.data(), mine->second.data(), mine->second.size(), p.nonce.data(),
                                     shared->data()) != 0)
        return make_error("content key cannot be unwrapped with this node's key (tampered, or the wrong key)");
    auto out = decrypt(p, key);
    sodium_memzero(key.data(), key.size());
    return out;
}

Result<Unsealed> unseal_with_key(Kind kind, const SignedEnvelope& se, const ContentKey& key,
                                 const EnvelopeLimits& limits) {
    LT_ASSIGN(auto p, parse_payload(kind, se, limits));
    return decrypt(p, key);
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
