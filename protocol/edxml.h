// edXML codec: official documents and processing status messages in the Vietnamese
// document-exchange format (QCVN 102:2016, namespace kNamespace), read into plain structs and
// written back.
//
// parse() takes untrusted bytes (a DMS drop folder, another federation's gateway) and either
// returns the whole message or refuses it with one error naming the element, the line where
// libxml2 knows it, and the problem. It never throws, never prints, never touches the network
// and never expands entities: a DOCTYPE is refused outright, input above kMaxInputBytes too.
//
// What parse() checks, beyond well-formed, namespace-well-formed UTF-8 XML:
//   document: From and at least one To, each with an OrganId; a DocumentId; PromulgationDate
//             a real calendar date (YYYY/MM/DD); DueDate, ResponseFor/PromulgationDate and
//             TraceHeader/Timestamp real dates when given; BussinessDocType 0..3; every
//             manifest Reference has a decodable AttachmentEncoded/Attachment with the same
//             ContentId. The two may disagree on ContentType: the national EdXML library zips
//             every attachment that is not pdf, doc(x), xls(x) or zip and labels the encoded
//             part application/zip while the manifest keeps the caller's type; both are kept
//             (content_type, encoded_content_type). Name and Description must still agree.
//   status:   From, ResponseFor with a DocumentId, a known StatusCode (kStatusCodes) and a
//             real Timestamp (YYYY/MM/DD HH:MM:SS).
// Identifiers (OrganId, DocumentId, Code) are opaque: real DocumentIds embed impossible dates
// such as 2014/02/30, so they are never interpreted. Dates are kept as the text given.
// Element order inside a parent does not matter; unknown elements are ignored; a single-valued
// element given twice is refused (which one would be the truth?). Text is trimmed of
// surrounding whitespace except Content and Description, which are kept verbatim.
// Attachments are base64-decoded; a zip stays zipped here: bytes are bytes (edxml_zip.h
// unzips a part the way the national library's reader does).
//
// Informational oddities of real files are accepted and listed by oddities(), never refused:
// a TraceHeader OrganId of literally "null", a DueDate before the PromulgationDate, a
// <Signature> in the edXML namespace (or any other) instead of XML-DSig's, the ContentType
// disagreement above.
//
// write() produces the structure and namespace layout of the samples: edXML root in the
// default namespace, edXMLEnvelope declaring the edXML prefix (edXMLHeader with MessageHeader,
// TraceHeaderList and Bussiness; edXMLBody with edXMLManifest), then AttachmentEncoded with one
// base64 Attachment per manifest Reference. write() is for documents made natively (no
// issuer's signature to keep): an imported file travels and is exported as its own bytes,
// so the XML-DSig <Signature> in its edXMLHeader survives (edxml_dsig.h checks it).
//
// Thread safety: parse() and write() keep no shared state; call them from any thread.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/official.h"
#include "protocol/result.h"

namespace lienthong::protocol::edxml {

inline constexpr std::string_view kNamespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
// Larger input is refused before libxml2 sees it.
inline constexpr size_t kMaxInputBytes = 256u << 20;
// 01 arrived, 02 rejected, 03 accepted/registered, 04 assigned, 05 processing, 06 completed,
// 13 recall requested, 15 update/recall accepted, 16 update/recall rejected.
inline constexpr std::string_view kStatusCodes[] = {"01", "02", "03", "04", "05",
                                                    "06", "13", "15", "16"};

using protocol::Business;
using protocol::BusinessDocType;
using protocol::BusinessDocumentInfo;
using protocol::Code;
using protocol::DocumentType;
using protocol::Organization;
using protocol::OtherInfo;
using protocol::PromulgationInfo;
using protocol::ReplacementInfo;
using protocol::ResponseFor;
using protocol::SignerInfo;
using protocol::StaffInfo;

// Where parse() found the edXMLHeader's <Signature>, if any.
enum class SignaturePlace {
    Absent,
    XmlDsig,         // in http://www.w3.org/2000/09/xmldsig#, as the standard says
    OtherNamespace,  // e.g. the edXML namespace, as the SDK's samples have it: not XML-DSig
};

struct TraceHeader {
    std::string organ_id;
    std::string timestamp;  // YYYY/MM/DD HH:MM:SS
    bool operator==(const TraceHeader&) const = default;
};

struct Attachment {
    std::string content_id;  // "cid:209": links the manifest Reference to its data
    std::string name, content_type, description;  // content_type: the manifest's
    Bytes data;  // decoded
    // AttachmentEncoded's ContentType when it differs from the manifest's, else "".
    std::string encoded_content_type{};
    bool operator==(const Attachment&) const = default;
};

struct Document {
    Organization from;
    std::vector<Organization> to;
    std::string document_id;  // opaque; unique only per sender
    Code code;
    PromulgationInfo promulgation;
    DocumentType type;
    std::string subject, content;
    SignerInfo signer;
    std::string due_date;  // YYYY/MM/DD or empty
    std::string priority;  // <OtherInfo><Priority>: 0 thường … 3 hỏa tốc, as given
    OtherInfo other;
    std::vector<ResponseFor> response_for;  // a revocation or reply names what it answers
    std::string steering_type;
    std::vector<std::string> to_places;
    std::vector<TraceHeader> traces;
    std::optional<Business> business;
    std::vector<Attachment> attachments;  // in manifest order
    SignaturePlace signature = SignaturePlace::Absent;
    bool operator==(const Document&) const = default;
};

struct Status {
    Organization from;
    ResponseFor response_for;
    StaffInfo staff;
    std::string status_code;  // one of kStatusCodes
    std::string description;
    std::string timestamp;  // YYYY/MM/DD HH:MM:SS
    SignaturePlace signature = SignaturePlace::Absent;
    bool operator==(const Status&) const = default;
};


using Message = std::variant<Document, Status>;

// Reads an edXML message. A MessageHeader holding a StatusCode is a Status; any other is a
// Document. The error names the element, the line where known, and what is wrong.
Result<Message> parse(ByteView xml);

// Writes well-formed UTF-8 edXML. Empty optional fields are left out. Text that is not valid
// UTF-8 or holds characters XML cannot carry is written with U+FFFD in their place, so the
// output is always well-formed; parse() never produces such text.
Bytes write(const Document& doc);
Bytes write(const Status& status);

// What is unusual but accepted in `doc`, one line each for people ("TraceHeader 2 has
// OrganId 'null'"); empty for an ordinary file.
std::vector<std::string> oddities(const Document& doc);
std::vector<std::string> oddities(const Status& status);

// True for YYYY/MM/DD naming a real calendar date.
bool is_edxml_date(std::string_view s);
// True for YYYY/MM/DD HH:MM:SS naming a real date and time of day.
bool is_edxml_timestamp(std::string_view s);

}  // namespace lienthong::protocol::edxml
