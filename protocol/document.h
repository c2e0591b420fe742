// Documents: what the clerk sends, sealed so only the named recipients can read it.
//
// A document is sealed (sealed.h) in a Kind::document envelope; its plaintext is the content:
//   content = [ 2, sender, [recipients], created_ms, meta, body:bin,
//               [[name, mime, data:bin, description]...] ]
//   meta    = [ document_id, subject, [type, type_detail, type_name], [code_number, code_notation],
//               [competence, position, full_name], urgency:uint, confidentiality:uint,
//               due_ms:uint (0 = none), [promulgation place, date], from:Organization,
//               [to:Organization...], [sphere, typer_notation, promulgation_amount, page_amount,
//               direction, [appendix...]], steering_type, [to_place...], [ResponseFor...],
//               Business, acts_on:bin(0|32), reply_to:bin(0|32), [[key, value]...] ]
// An imported edXML document appends edxml:bin, the file exactly as the document system gave
// it (eight elements instead of seven): the recipient exports those bytes, so the issuer's
// XML-DSig signature and every field we do not model survive. Its attachments then carry
// name, mime and description but no data (the data is in the edXML, once): the recipient
// fills them from it (edxml_convert.h, complete_from_edxml). A native document has no edxml
// and encodes exactly as before.
// (Organization, ResponseFor and Business as in official_codec.h.) Version 1 (a flat meta
// of nine fields) was never deployed and is refused.
// The sender's signature over the envelope covers the commitment to the content hash, so it
// signs this plaintext; receipts sign content_hash too.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/envelope.h"
#include "protocol/official.h"
#include "protocol/official_codec.h"
#include "protocol/sealed.h"

namespace lienthong::protocol {

constexpr size_t kMaxAttachments = 1000;
constexpr uint64_t kContentVersion = 2;

struct Attachment {
    std::string name;  // a plain file name: no '/', no '\\', not "." or ".."
    std::string mime;
    Bytes data;
    std::string description{};  // edXML <Attachment><Description>; may be empty
    // Not on the wire: filled from the carried edXML. The AttachmentEncoded ContentType when it
    // differs from the manifest's (mime), as the national library writes a zipped part.
    std::string encoded_mime{};
};

// Everything a document says about itself besides its body and attachments. The first
// fields are what every document has; the rest carry the edXML MessageHeader (official.h) so
// an imported document travels and is exported with the same fields.
struct DocumentMeta {
    std::string document_id;  // the sender's business id (edXML DocumentId); unique per sender only
    std::string subject;      // trích yếu
    DocumentType type;        // loại văn bản: code, detail, name (Công văn, Quyết định …)
    Code code;                // số, ký hiệu
    SignerInfo signer;
    uint64_t urgency = 0;          // 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc
    uint64_t confidentiality = 0;  // 0 thường, 1 mật, 2 tối mật, 3 tuyệt mật
    uint64_t due_ms = 0;           // 0 = no deadline
    PromulgationInfo promulgation;
    Organization from;             // the sending agency as printed on the document
    std::vector<Organization> to;  // the addressees as printed (may list more than receive it)
    OtherInfo other;
    std::string steering_type;
    std::vector<std::string> to_places;
    std::vector<ResponseFor> response_for;
    // Business lifecycle (edXML Bussiness): New, or Revoke/Update/Replace of the document
    // whose message id is acts_on.
    Business business;
    Bytes acts_on;   // empty for New, else the 32-byte message id it acts on
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
    Bytes edxml;  // the imported edXML as given, or empty (native document)
};

struct OpenedDocument {
    DocumentContent content;
    Hash32 content_hash{};
    ContentKey content_key{};
};

// Checks what a sender may put in a document: names, sizes, UTF-8, recipients, lifecycle.
Status validate_content(const DocumentContent& c);
Status validate_meta(const DocumentMeta& m);
// The canonical plaintext that is sealed (layout above); decode also validates.
Bytes encode_content(const DocumentContent& c);
Result<DocumentContent> decode_content(ByteView bytes, const EnvelopeLimits& limits = {});
// Whether an attachment name can be written as one file on Linux and on Windows, where the
// recipients' document systems run: UTF-8, 1-255 bytes, not "." or "..", no control
// character, none of / \ : * ? " < > |, no trailing dot or space (Windows drops them), and
// not a Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$, CONOUT$, also with
// an extension or the superscript digits ¹ ² ³), whatever the case. Every path a name comes in
// by (the local API, edXML, the wire) refuses the others: a document system writing "CON.txt"
// opens a device, "C:x" a drive, "a.txt:s" an alternate stream.
bool is_safe_file_name(std::string_view name);
// Why `name` is not safe ("is a Windows device name …"), or "" when it is.
std::string file_name_problem(std::string_view name);

using SealedDocument = Sealed;

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

}  // namespace lienthong::protocol
