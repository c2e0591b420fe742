// Sealed payloads: content only the named recipients can read, under one sender signature.
// Documents (document.h) and status reports (status.h) are both sealed this way; only the
// plaintext they carry differs.
//
//   payload     = [ nonce:bin(24), sender_box_key:bin(32), [[agency, wrapped_key:bin(48)]...],
//                   commitment:bin(32), ciphertext:bin ]
//   commitment  = BLAKE2b-256(key = content_key, "lienthong/v1/commit" || 0 || content_hash)
//   content_hash = BLAKE2b-256("lienthong/v1/content" || 0 || plaintext)
//   wrapped_key = crypto_box_easy_afternm(content_key, nonce, beforenm(recipient box key,
//                                         sender box secret))
// The plaintext is encrypted once with a random content key (XChaCha20-Poly1305, additional
// data = the commitment); the key is wrapped for every recipient with crypto_box under the
// sender–recipient shared key, which each side computes once per peer (SharedKeyCache), so a
// message costs no X25519 operation on the hot path. The nonce is the message's random
// nonce: each shared key sees it once. The sender's box key travels in the payload, covered
// by the envelope signature, so a recipient (or, later, a rotated key) needs no lookup. The
// envelope's one Ed25519 signature covers the commitment, so it is at once the
// relay-checkable outer signature and the sender's signature over the plaintext: anyone
// given the envelope and the content key can check that the sender signed exactly this
// plaintext (non-repudiation), while relays see only ciphertext. (Poly1305 alone does not
// commit to its key; the commitment does, so a sender cannot later claim the ciphertext
// meant something else.) The sender keeps its own copy readable by storing the content key,
// wrapped with its local storage key (wrap_local), next to the envelope.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "protocol/envelope.h"

namespace lienthong::protocol {

using ContentKey = std::array<uint8_t, 32>;
using SharedKey = std::array<uint8_t, 32>;

// Remembers crypto_box_beforenm(their public key, my secret key) per peer key: one X25519
// operation per peer instead of one per document. Not thread-safe; one per thread.
class SharedKeyCache {
public:
    ~SharedKeyCache();
    // nullptr if `theirs` is not a usable key (a low-order point): never encrypt to it.
    const SharedKey* get(const BoxSecretKey& mine, const BoxPublicKey& theirs);

private:
    BoxSecretKey m_mine{};
    std::vector<std::pair<BoxPublicKey, std::optional<SharedKey>>> m_keys;  // few peers: a flat list is fastest
};

struct Sealed {
    SignedEnvelope envelope;
    Hash32 content_hash{};     // what the recipients' receipts must sign
    ContentKey content_key{};  // keep (wrapped with wrap_local) to read the sent copy
};

struct Unsealed {
    Bytes plaintext;
    Hash32 content_hash{};
    ContentKey content_key{};
};

// Seals `plaintext` into a `kind` envelope from sender to `to`. The plaintext is wiped and
// freed once encrypted, so a large document is not held twice while the envelope is built.
// REQUIRES: recipient_keys holds one identity for each agency in `to`.
Result<Sealed> seal(Kind kind, Bytes plaintext, const std::vector<std::string>& to, uint64_t created_ms,
                    const SecretIdentity& sender, const std::vector<PublicIdentity>& recipient_keys,
                    SharedKeyCache* cache = nullptr);
// Opens a sealed envelope of `kind` addressed to `me`. The caller has already verified the
// envelope signature (which covers the commitment). Checks the commitment.
Result<Unsealed> unseal(Kind kind, const SignedEnvelope& se, const SecretIdentity& me,
                        const EnvelopeLimits& limits = {}, SharedKeyCache* cache = nullptr);
// Opens with the content key: the sender's own copy, or an auditor checking evidence a
// recipient disclosed.
Result<Unsealed> unseal_with_key(Kind kind, const SignedEnvelope& se, const ContentKey& key,
                                 const EnvelopeLimits& limits = {});

// The node's local storage key, derived from its box secret key; it never leaves the node.
using LocalKey = std::array<uint8_t, 32>;
LocalKey local_storage_key(const SecretIdentity& me);
// crypto_secretbox of a content key: nonce(24) || box(48).
Bytes wrap_local(const ContentKey& key, const LocalKey& local);
Result<ContentKey> unwrap_local(ByteView wrapped, const LocalKey& local);

}  // namespace lienthong::protocol
