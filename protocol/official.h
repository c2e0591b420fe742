// The official-document model (văn bản): what an agency's document carries besides its body
// and attachments, modelled on the MessageHeader of edXML (QCVN 102:2016) so that a document
// imported from a DMS travels and is exported again with the same fields. Plain structs: the
// canonical encoding is in document.cpp (DocumentMeta), the XML one in edxml_*.cpp.
//
// Text is UTF-8 as given; identifiers (OrganId, DocumentId, codes) are opaque strings: real
// ones embed impossible dates, so they are never interpreted. Dates are edXML text
// (YYYY/MM/DD) except where a field says _ms.
#pragma once

#include <string>
#include <string_view>
#include <optional>
#include <vector>

namespace lienthong::protocol {

struct Organization {  // <From>, <To>
    std::string organ_id, organization_in_charge, organ_name, organ_add, email, telephone, fax,
        website;
    bool operator==(const Organization&) const = default;
};

struct StaffInfo {
    std::string department, staff, email, mobile;
    bool operator==(const StaffInfo&) const = default;
};

struct Code {  // <Code><CodeNumber>7816</CodeNumber><CodeNotation>VPCP-TTĐT</CodeNotation>
    std::string code_number, code_notation;
    bool operator==(const Code&) const = default;
};

struct PromulgationInfo {
    std::string place;
    std::string date;  // <PromulgationDate>, YYYY/MM/DD
    bool operator==(const PromulgationInfo&) const = default;
};

struct DocumentType {
    std::string type, type_detail, type_name;
    bool operator==(const DocumentType&) const = default;
};

struct SignerInfo {
    std::string competence, position, full_name;
    bool operator==(const SignerInfo&) const = default;
};

struct OtherInfo {
    std::string sphere_of_promulgation, typer_notation, promulgation_amount, page_amount,
        direction;
    std::vector<std::string> appendixes;  // <Appendixes><Appendix>…
    bool operator==(const OtherInfo&) const = default;
};

// The document a status answers, or (in a document) the one it replies to or revokes.
struct ResponseFor {
    std::string organ_id, code, promulgation_date, document_id;
    bool operator==(const ResponseFor&) const = default;
};


enum class BusinessDocType { New = 0, Revoke = 1, Update = 2, Replace = 3 };

// <BussinessDocumentInfo> of an update (type 2): what changed and for whom.
struct BusinessDocumentInfo {
    struct Receiver {
        std::string organ_id, receiver_type;
        bool operator==(const Receiver&) const = default;
    };
    std::string document_info, document_receiver;
    std::vector<Receiver> receivers;  // <ReceiverList><Receiver>…
    bool operator==(const BusinessDocumentInfo&) const = default;
};

// <ReplacementInfoList><ReplacementInfo> of a replacement (type 3): which earlier document is
// replaced, at which agencies.
struct ReplacementInfo {
    std::string document_id;
    std::vector<std::string> organ_ids;  // <OrganIdList><OrganId>…
    bool operator==(const ReplacementInfo&) const = default;
};

struct Business {             // <Bussiness>, spelled so in the standard
    std::string document_id;  // optional: revocations in the wild omit it
    BusinessDocType business_doc_type = BusinessDocType::New;
    std::string reason;  // <BussinessDocReason>
    std::string paper;
    StaffInfo staff;
    std::optional<BusinessDocumentInfo> document_info;
    std::vector<ReplacementInfo> replacements;
    bool operator==(const Business&) const = default;
};

inline std::string_view business_doc_type_name(BusinessDocType t) {
    switch (t) {
        case BusinessDocType::New: return "new";
        case BusinessDocType::Revoke: return "revoke";
        case BusinessDocType::Update: return "update";
        case BusinessDocType::Replace: return "replace";
    }
    return "?";
}

}  // namespace lienthong::protocol
