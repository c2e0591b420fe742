// Fuzz target: open_document (as a recipient with a fixed key) and open_document_with_key.
// Byte 0 chooses what the rest of the input is:
//   even: the wire bytes of an envelope, decoded and then opened (the path a relay-delivered
//         document takes; mutations mostly stop at authentication, as they must);
//   odd:  the document content plaintext, which the target commits to, encrypts and wraps for
//         the recipient exactly as seal_document does, so the mutations reach the content
//         decoder and validate_content behind the AEAD and the commitment check.
// Invariants: never crashes; an opened document passes validate_content, matches its envelope,
// and open_document and open_document_with_key agree.
#include "fuzz_target.h"

#include <cstdlib>
#include <sodium.h>

#include <cstring>

#include "protocol/document.h"

using namespace lienthong::protocol;

namespace {
SecretIdentity fixed_identity(const char* agency, uint8_t s) {
    SecretIdentity id;
    id.pub.agency = agency;
    uint8_t seed[32];
    std::memset(seed, s, sizeof seed);
    crypto_sign_seed_keypair(id.pub.sign_key.data(), id.sign_secret.data(), seed);
    crypto_box_seed_keypair(id.pub.box_key.data(), id.box_secret.data(), seed);
    return id;
}
const SecretIdentity& sender() {
    static const auto id = fixed_identity("000.00.31.H14", 1);
    return id;
}
const SecretIdentity& me() {
    static const auto id = fixed_identity("000.00.00.H41", 2);
    return id;
}
constexpr uint64_t kCreated = 1764201600000ull;

ContentKey fixed_key() {
    ContentKey key{};
    key.fill(0x33);
    return key;
}

// The documented commitment (document.h), written out here so it does not depend on internals:
// BLAKE2b-256(key = content key, "lienthong/v1/commit" || 0 || content_hash), with
// content_hash = BLAKE2b-256("lienthong/v1/content" || 0 || content).
std::array<uint8_t, 32> commitment_of(const ContentKey& key, ByteView content) {
    const std::string_view hash_domain = "lienthong/v1/content", commit_domain = "lienthong/v1/commit";
    const uint8_t zero = 0;
    std::array<uint8_t, 32> h{}, out{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, h.size());
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(hash_domain.data()), hash_domain.size());
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, content.data(), content.size());
    crypto_generichash_final(&st, h.data(), h.size());
    crypto_generichash_init(&st, key.data(), key.size(), out.size());
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(commit_domain.data()), commit_domain.size());
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, h.data(), h.size());
    crypto_generichash_final(&st, out.data(), out.size());
    return out;
}

// The envelope seal_document would produce around `plaintext`, with a fixed key and nonce.
SignedEnvelope wrap_plaintext(ByteView plaintext) {
    const ContentKey key = fixed_key();
    std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
    nonce.fill(0x44);
    const auto commitment = commitment_of(key, plaintext);
    Bytes ct(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct.data(), &ct_len, plaintext.data(), plaintext.size(),
                                               commitment.data(), commitment.size(), nullptr, nonce.data(),
                                               key.data());
    ct.resize(ct_len);
    std::array<uint8_t, crypto_box_MACBYTES + sizeof key> wrapped{};
    if (crypto_box_easy(wrapped.data(), key.data(), key.size(), nonce.data(), me().pub.box_key.data(),
                        sender().box_secret.data()) != 0)
        std::abort();
    Envelope env;
    env.kind = Kind::document;
    env.from = sender().pub.agency;
    env.to = {me().pub.agency};
    env.created_ms = kCreated;
    env.payload = Writer().array(5).bin(nonce).bin(sender().pub.box_key).array(1).array(2).str(me().pub.agency)
                      .bin(wrapped).bin(commitment).bin(ct).take();
    return sign_envelope(std::move(env), sender().sign_secret);
}

void check_opened(const SignedEnvelope& se) {
    auto opened = open_document(se, me());
    if (!opened.ok()) {
        LT_FUZZ_CHECK(!opened.error().empty());
        // With the fixed key the wrap_plaintext path uses: must not crash either.
        auto with_key = open_document_with_key(se, fixed_key());
        if (!with_key.ok()) LT_FUZZ_CHECK(!with_key.error().empty());
        return;
    }
    LT_FUZZ_CHECK(validate_content(opened->content).ok());
    LT_FUZZ_CHECK(opened->content.sender == se.env.from);
    LT_FUZZ_CHECK(opened->content.recipients == se.env.to);
    LT_FUZZ_CHECK(opened->content.created_ms == se.env.created_ms);
    // An auditor given the content key sees the same document.
    auto audited = open_document_with_key(se, opened->content_key);
    LT_FUZZ_CHECK(audited.ok());
    LT_FUZZ_CHECK(audited->content_hash == opened->content_hash);
}

// The content's canonical plaintext (document.h).
Bytes plaintext_of(const DocumentContent& c) { return encode_content(c); }

DocumentContent sample_content() {
    DocumentContent c;
    c.sender = sender().pub.agency;
    c.recipients = {me().pub.agency};
    c.created_ms = kCreated;
    c.meta.subject = "Công văn Hỏa tốc Đắk Nông";
    c.meta.type.type_name = "Công văn";
    c.meta.code = {"12", "UBND"};
    c.meta.signer.full_name = "Nguyễn Văn A";
    c.meta.to = {{"28.22.H17", "", "UBND huyện", "", "", "", "", ""}};
    c.meta.urgency = 3;
    c.meta.reply_to = Bytes(32, 9);
    c.meta.extra = {{"k", "v"}};
    c.body = {'b', 'o', 'd', 'y'};
    c.attachments = {{"a.pdf", "application/pdf", Bytes(40, 1), "x"}, {"b.txt", "text/plain", {}, {}}};
    return c;
}

std::vector<uint8_t> tagged(uint8_t tag, const Bytes& b) {
    std::vector<uint8_t> out(b.size() + 1);
    out[0] = tag;
    std::copy(b.begin(), b.end(), out.begin() + 1);
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool sodium_ready = sodium_init() >= 0;
    LT_FUZZ_CHECK(sodium_ready);
    if (size < 1 || size > (1u << 20)) return 0;
    const ByteView rest(data + 1, size - 1);
    if ((data[0] & 1) == 0) {
        auto se = decode_envelope(rest);
        if (se.ok()) check_opened(*se);
    } else {
        check_opened(wrap_plaintext(rest));
    }
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    std::vector<std::vector<uint8_t>> out;
    auto c = sample_content();
    auto sealed = seal_document(c, sender(), {me().pub});
    if (sealed.ok()) out.push_back(tagged(0, sealed->envelope.wire));
    out.push_back(tagged(1, plaintext_of(c)));
    // The same plaintext sealed by wrap_plaintext, as envelope bytes: mutations of it that keep
    // the ciphertext intact reach the payload parser and the envelope consistency checks.
    const auto wrapped = wrap_plaintext(plaintext_of(c));
    // The seeds must reach the content decoder: if the target's idea of the format drifts
    // from seal_document's, this fails instead of fuzzing nothing but authentication errors.
    LT_FUZZ_CHECK(open_document(wrapped, me()).ok());
    if (sealed.ok()) LT_FUZZ_CHECK(open_document(sealed->envelope, me()).ok());
    out.push_back(tagged(0, wrapped.wire));
    auto minimal = c;
    minimal.meta = {};
    minimal.attachments.clear();
    minimal.body.clear();
    out.push_back(tagged(1, plaintext_of(minimal)));
    auto sealed_min = seal_document(minimal, sender(), {me().pub});
    if (sealed_min.ok()) out.push_back(tagged(0, sealed_min->envelope.wire));
    return out;
}
