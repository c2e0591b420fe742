// Documents: what the clerk sends, sealed so only the named recipients can read it.
//
// Sealing (seal_document):
//   content   = [ 1, sender, [recipients], created_ms, meta, body:bin, [[name, mime, data:bin]...] ]
//   meta      = [ subject, doc_type, number, signer, urgency:uint, confidentiality:uint,
//                 due_ms:uint (0 = none), reply_to:bin(0|32), [[key, value]...] ]
//   plaintext = [ content:bin, signature:bin(64) ]   signature by the sender over
//               "lienthong/v1/document-content" || 0 || content   (non-repudiation)
//   payload   = [ nonce:bin(24), [[agency, wrapped_key:bin(80)]...], ciphertext:bin ]
// The plaintext is encrypted once with a random key (XChaCha20-Poly1305, additional data
// "lienthong/v1/document"); that key is wrapped with crypto_box_seal for every recipient and
// for the sender itself (so the sender can read its own sent copy). The payload travels in a
// Kind::document envelope signed by the sender, so relays can reject forgeries unread.
// The document hash that receipts sign is BLAKE2b-256("lienthong/v1/content" || 0 || content).
#pragma once

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

struct OpenedDocument {
    DocumentContent content;
    Hash32 content_hash{};
    bool content_signature_valid = false;
};

// Checks what a sender may put in a document: names, sizes, UTF-8, recipients.
Status validate_content(const DocumentContent& c);
bool is_safe_file_name(std::string_view name);

struct SealedDocument {
    SignedEnvelope envelope;
    Hash32 content_hash{};  // what the recipients' receipts must sign
};

// REQUIRES: recipient_keys holds one identity for each of c.recipients.
Result<SealedDocument> seal_document(const DocumentContent& c, const SecretIdentity& sender,
                                     const std::vector<PublicIdentity>& recipient_keys);

// Opens a document envelope addressed to (or sent by) `me`. The caller has already verified
// the envelope signature. Checks the inner signature, and that the inner sender/recipients
// match the envelope, so a recipient cannot be shown a document re-wrapped by someone else.
Result<OpenedDocument> open_document(const SignedEnvelope& se, const SecretIdentity& me,
                                     const SignPublicKey& sender_key,
                                     const EnvelopeLimits& limits = {});

}  // namespace lienthong::protocol
