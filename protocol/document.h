// Documents: what the clerk sends, sealed so only the named recipients can read it.
//
// Sealing (seal_document):
//   content    = [ 1, sender, [recipients], created_ms, meta, body:bin, [[name, mime, data:bin]...] ]
//   meta       = [ subject, doc_type, number, signer, urgency:uint, confidentiality:uint,
//                  due_ms:uint (0 = none), reply_to:bin(0|32), [[key, value]...] ]
//   commitment = BLAKE2b-256(key = content_key, "lienthong/v1/commit" || 0 || content_hash)
//   payload    = [ nonce:bin(24), sender_box_key:bin(32), [[agency, wrapped_key:bin(48)]...],
//                  commitment:bin(32), ciphertext:bin ]
//   wrapped_key = crypto_box_easy_afternm(content_key, nonce, beforenm(recipient box key,
//                                         sender box secret))
// The content is encrypted once with a random content key (XChaCha20-Poly1305, additional
// data = the commitment); the key is wrapped for every recipient with crypto_box under the
// sender–recipient shared key, which each side computes once per peer (SharedKeyCache), so
// a document costs no X25519 operation on the hot path. The nonce is the document's random
// nonce: each shared key sees it once. The sender's box key travels in the payload, covered
// by the envelope signature, so a recipient (or, later, a rotated key) needs no lookup. The
// payload travels in a Kind::document envelope whose one Ed25519 signature covers the
// commitment, so it is at once the relay-checkable outer signature and the sender's
// signature over the plaintext: anyone given the envelope and the content key can check that
// the sender signed exactly this content (non-repudiation), while relays see only ciphertext.
// (Poly1305 alone does not commit to its key; the commitment does, so a sender cannot later
// claim the ciphertext meant something else.)
// The sender keeps its own copy readable by storing the content key, wrapped with its local
// storage key (wrap_local), next to the envelope.
// content_hash, which receipts also sign, is BLAKE2b-256("lienthong/v1/content" || 0 || content).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/envelope.h"

namespace lienthong::protocol {

constexpr size_t kMaxAttachments = 1000;
constexpr size_t kMaxTextField = 64 * 1024;

struct Attachment {
    std::string name;  // a plain file name: no '/', no '\\', not "." or ".."
    std::string mime;
    Bytes data;
};

struct DocumentMeta {
    std::string subject;
    std::string doc_type;
    std::string number;
    std::string signer;
    uint64_t urgency = 0;          // 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc
    uint64_t confidentiality = 0;  // 0 thường, 1 mật, 2 tối mật, 3 tuyệt mật
    uint64_t due_ms = 0;
    Bytes reply_to;  // empty, or the 32-byte id of the message this answers
    std::vector<std::pair<std::string, std::string>> extra;
};

struct DocumentContent {
    std::string sender;
    std::vector<std::string> recipients;
    uint64_t created_ms = 0;
    DocumentMeta meta;
    Bytes body;
    std::vector<Attachment> attachments;
};

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

struct OpenedDocument {
    DocumentContent content;
    Hash32 content_hash{};
    ContentKey content_key{};
};

// Checks what a sender may put in a document: names, sizes, UTF-8, recipients.
Status validate_content(const DocumentContent& c);
bool is_safe_file_name(std::string_view name);

struct SealedDocument {
    SignedEnvelope envelope;
    Hash32 content_hash{};   // what the recipients' receipts must sign
    ContentKey content_key{};  // keep (wrapped with wrap_local) to read the sent copy
};

// REQUIRES: recipient_keys holds one identity for each of c.recipients.
Result<SealedDocument> seal_document(const DocumentContent& c, const SecretIdentity& sender,
                                     const std::vector<PublicIdentity>& recipient_keys,
                                     SharedKeyCache* cache = nullptr);

// Opens a document envelope addressed to `me`. The caller has already verified the envelope
// signature (which covers the commitment). Checks the commitment, and that the sender,
// recipients and time inside match the envelope.
Result<OpenedDocument> open_document(const SignedEnvelope& se, const SecretIdentity& me,
                                     const EnvelopeLimits& limits = {}, SharedKeyCache* cache = nullptr);
// Opens a document with its content key: the sender's own copy, or an auditor checking
// evidence a recipient disclosed. Same checks as open_document.
Result<OpenedDocument> open_document_with_key(const SignedEnvelope& se, const ContentKey& key,
                                              const EnvelopeLimits& limits = {});

// The node's local storage key, derived from its box secret key; it never leaves the node.
using LocalKey = std::array<uint8_t, 32>;
LocalKey local_storage_key(const SecretIdentity& me);
// crypto_secretbox of a content key: nonce(24) || box(48).
Bytes wrap_local(const ContentKey& key, const LocalKey& local);
Result<ContentKey> unwrap_local(ByteView wrapped, const LocalKey& local);

}  // namespace lienthong::protocol
