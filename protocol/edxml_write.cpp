// edXML writing with libxml2's tree API, in the namespace layout of the samples: the root in
// the default namespace, the edXML prefix declared on edXMLEnvelope, AttachmentEncoded back in
// the default namespace with ContentTransferEncoded declaring the prefix for itself.
#include <libxml/chvalid.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlstring.h>
#include <sodium.h>

#include <memory>
#include <mutex>

#include "protocol/edxml.h"

namespace lienthong::protocol::edxml {
namespace {

const xmlChar* x(const char* s) {
    return reinterpret_cast<const xmlChar*>(s);
}

// `s` as XML can carry it: each byte sequence that is not valid UTF-8, and each character XML
// 1.0 forbids (most C0 controls, U+FFFE, U+FFFF), becomes U+FFFD.
std::string xml_safe(std::string_view s) {
    bool clean = is_valid_utf8(s);
    for (size_t i = 0; clean && i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        clean = c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
    }
    if (clean && s.find("\xEF\xBF\xBE") == std::string_view::npos &&
        s.find("\xEF\xBF\xBF") == std::string_view::npos)
        return std::string(s);

    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        int len = static_cast<int>(std::min<size_t>(4, s.size() - i));
        int c = xmlGetUTF8Char(reinterpret_cast<const unsigned char*>(s.data() + i), &len);
        if (c < 0 || len <= 0 || !is_valid_utf8(s.substr(i, size_t(len))) ||
            !xmlIsCharQ(static_cast<unsigned int>(c))) {
            out += "\xEF\xBF\xBD";
            i += (c < 0 || len <= 0) ? 1 : size_t(len);
        } else {
            out.append(s.substr(i, size_t(len)));
            i += size_t(len);
        }
    }
    return out;
}

class Writer {
  public:
    Writer() {
        static std::once_flag init;
        std::call_once(init, [] { xmlInitParser(); });
        m_doc.reset(xmlNewDoc(x("1.0")));
        m_root = xmlNewDocNode(m_doc.get(), nullptr, x("edXML"), nullptr);
        xmlDocSetRootElement(m_doc.get(), m_root);
        m_default = xmlNewNs(m_root, x(kNamespace.data()), nullptr);
        xmlSetNs(m_root, m_default);
        m_envelope = xmlNewChild(m_root, nullptr, x("edXMLEnvelope"), nullptr);
        m_prefixed = xmlNewNs(m_envelope, x(kNamespace.data()), x("edXML"));
        xmlSetNs(m_envelope, m_prefixed);
        m_header = node(m_envelope, "edXMLHeader");
    }

    xmlNode* header() const { return m_header; }
    xmlNode* envelope() const { return m_envelope; }
    xmlNode* root() const { return m_root; }
    xmlNs* default_ns() const { return m_default; }

    // A prefixed edXML element.
    xmlNode* node(xmlNode* parent, const char* name) {
        return xmlNewChild(parent, m_prefixed, x(name), nullptr);
    }
    // A text element, always written.
    xmlNode* text(xmlNode* parent, const char* name, std::string_view value, xmlNs* ns = nullptr) {
        return xmlNewTextChild(parent, ns ? ns : m_prefixed, x(name), x(xml_safe(value).c_str()));
    }
    // A text element, written only when it has a value.
    void opt(xmlNode* parent, const char* name, std::string_view value) {
        if (!value.empty()) text(parent, name, value);
    }

    Bytes dump() {
        struct Sink {  // output errors (out of memory only) must not reach stderr
            static void ignore(void*, xmlErrorPtr) {}
        };
        xmlStructuredErrorFunc prev_fn = xmlStructuredError;
        void* prev_ctx = xmlStructuredErrorContext;
        xmlSetStructuredErrorFunc(nullptr, Sink::ignore);
        xmlChar* mem = nullptr;
        int size = 0;
        xmlDocDumpFormatMemoryEnc(m_doc.get(), &mem, &size, "UTF-8", 1);
        xmlSetStructuredErrorFunc(prev_ctx, prev_fn);
        Bytes out;
        if (mem && size > 0) out.assign(mem, mem + size);
        xmlFree(mem);
        return out;
    }

  private:
    struct DocFree {
        void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
    };
    std::unique_ptr<xmlDoc, DocFree> m_doc;
    xmlNode* m_root = nullptr;
    xmlNode* m_envelope = nullptr;
    xmlNode* m_header = nullptr;
    xmlNs* m_default = nullptr;
    xmlNs* m_prefixed = nullptr;
};

void write_organization(Writer& w, xmlNode* parent, const char* name, const Organization& o) {
    xmlNode* n = w.node(parent, name);
    w.text(n, "OrganId", o.organ_id);
    w.opt(n, "OrganizationInCharge", o.organization_in_charge);
    w.opt(n, "OrganName", o.organ_name);
    w.opt(n, "OrganAdd", o.organ_add);
    w.opt(n, "Email", o.email);
    w.opt(n, "Telephone", o.telephone);
    w.opt(n, "Fax", o.fax);
    w.opt(n, "Website", o.website);
}

void write_staff(Writer& w, xmlNode* parent, const StaffInfo& s) {
    if (s == StaffInfo{}) return;
    xmlNode* n = w.node(parent, "StaffInfo");
    w.opt(n, "Department", s.department);
    w.opt(n, "Staff", s.staff);
    w.opt(n, "Email", s.email);
    w.opt(n, "Mobile", s.mobile);
}

void write_response_for(Writer& w, xmlNode* parent, const ResponseFor& r) {
    xmlNode* n = w.node(parent, "ResponseFor");
    w.opt(n, "OrganId", r.organ_id);
    w.opt(n, "Code", r.code);
    w.opt(n, "DocumentId", r.document_id);
    w.opt(n, "PromulgationDate", r.promulgation_date);
}

void write_list(Writer& w, xmlNode* parent, const char* list_name, const char* item_name,
                const std::vector<std::string>& items) {
    if (items.empty()) return;
    xmlNode* n = w.node(parent, list_name);
    for (const auto& item : items) w.text(n, item_name, item);
}

void write_business(Writer& w, xmlNode* parent, const Business& b) {
    xmlNode* n = w.node(parent, "Bussiness");
    w.opt(n, "DocumentId", b.document_id);
    w.text(n, "BussinessDocType", std::to_string(static_cast<int>(b.business_doc_type)));
    w.opt(n, "BussinessDocReason", b.reason);
    w.opt(n, "Paper", b.paper);
    write_staff(w, n, b.staff);
    if (b.document_info) {
        const auto& d = *b.document_info;
        xmlNode* info = w.node(n, "BussinessDocumentInfo");
        w.opt(info, "DocumentInfo", d.document_info);
        w.opt(info, "DocumentReceiver", d.document_receiver);
        if (!d.receivers.empty()) {
            xmlNode* list = w.node(info, "ReceiverList");
            for (const auto& r : d.receivers) {
                xmlNode* rn = w.node(list, "Receiver");
                w.opt(rn, "OrganId", r.organ_id);
                w.opt(rn, "ReceiverType", r.receiver_type);
            }
        }
    }
    if (!b.replacements.empty()) {
        xmlNode* list = w.node(n, "ReplacementInfoList");
        for (const auto& r : b.replacements) {
            xmlNode* rn = w.node(list, "ReplacementInfo");
            w.opt(rn, "DocumentId", r.document_id);
            write_list(w, rn, "OrganIdList", "OrganId", r.organ_ids);
        }
    }
}

void write_attachments(Writer& w, const std::vector<Attachment>& attachments) {
    if (attachments.empty()) return;
    xmlNode* manifest = w.node(w.node(w.envelope(), "edXMLBody"), "edXMLManifest");
    xmlSetProp(manifest, x("version"), x("1.0"));
    for (const auto& a : attachments) {
        xmlNode* ref = w.node(manifest, "Reference");
        w.text(ref, "ContentId", a.content_id);
        w.opt(ref, "ContentType", a.content_type);
        w.opt(ref, "Description", a.description);
        w.opt(ref, "AttachmentName", a.name);
    }
    xmlNs* dflt = w.default_ns();
    xmlNode* encoded = xmlNewChild(w.root(), dflt, x("AttachmentEncoded"), nullptr);
    for (const auto& a : attachments) {
        xmlNode* att = xmlNewChild(encoded, dflt, x("Attachment"), nullptr);
        w.text(att, "ContentId", a.content_id, dflt);
        if (!a.name.empty()) w.text(att, "AttachmentName", a.name, dflt);
        if (!a.description.empty()) w.text(att, "Description", a.description, dflt);
        const std::string& type = a.encoded_content_type.empty() ? a.content_type : a.encoded_content_type;
        if (!type.empty()) w.text(att, "ContentType", type, dflt);
        std::string b64(sodium_base64_encoded_len(a.data.size(), sodium_base64_VARIANT_ORIGINAL),
                        '\0');
        sodium_bin2base64(b64.data(), b64.size(), a.data.data(), a.data.size(),
                          sodium_base64_VARIANT_ORIGINAL);
        b64.resize(b64.size() - 1);  // the terminating NUL
        xmlNode* data = xmlNewTextChild(att, nullptr, x("ContentTransferEncoded"), x(b64.c_str()));
        xmlSetNs(data, xmlNewNs(data, x(kNamespace.data()), x("edXML")));
    }
}

}  // namespace

Bytes write(const Document& d) {
    Writer w;
    xmlNode* mh = w.node(w.header(), "MessageHeader");
    write_organization(w, mh, "From", d.from);
    for (const auto& to : d.to) write_organization(w, mh, "To", to);
    w.text(mh, "DocumentId", d.document_id);
    if (d.code != Code{}) {
        xmlNode* n = w.node(mh, "Code");
        w.opt(n, "CodeNumber", d.code.code_number);
        w.opt(n, "CodeNotation", d.code.code_notation);
    }
    xmlNode* prom = w.node(mh, "PromulgationInfo");
    w.opt(prom, "Place", d.promulgation.place);
    w.text(prom, "PromulgationDate", d.promulgation.date);
    if (d.type != DocumentType{}) {
        xmlNode* n = w.node(mh, "DocumentType");
        w.opt(n, "Type", d.type.type);
        w.opt(n, "TypeDetail", d.type.type_detail);
        w.opt(n, "TypeName", d.type.type_name);
    }
    w.opt(mh, "Subject", d.subject);
    w.opt(mh, "Content", d.content);
    if (d.signer != SignerInfo{}) {
        xmlNode* n = w.node(mh, "SignerInfo");
        w.opt(n, "Competence", d.signer.competence);
        w.opt(n, "Position", d.signer.position);
        w.opt(n, "FullName", d.signer.full_name);
    }
    w.opt(mh, "DueDate", d.due_date);
    if (d.other != OtherInfo{} || !d.priority.empty()) {  // Priority lives in OtherInfo
        xmlNode* n = w.node(mh, "OtherInfo");
        w.opt(n, "Priority", d.priority);
        w.opt(n, "SphereOfPromulgation", d.other.sphere_of_promulgation);
        w.opt(n, "TyperNotation", d.other.typer_notation);
        w.opt(n, "PromulgationAmount", d.other.promulgation_amount);
        w.opt(n, "PageAmount", d.other.page_amount);
        w.opt(n, "Direction", d.other.direction);
        write_list(w, n, "Appendixes", "Appendix", d.other.appendixes);
    }
    for (const auto& r : d.response_for) write_response_for(w, mh, r);
    w.opt(mh, "SteeringType", d.steering_type);
    write_list(w, mh, "ToPlaces", "Place", d.to_places);

    if (!d.traces.empty() || d.business) {
        xmlNode* list = w.node(w.header(), "TraceHeaderList");
        for (const auto& t : d.traces) {
            xmlNode* n = w.node(list, "TraceHeader");
            w.opt(n, "OrganId", t.organ_id);
            w.opt(n, "Timestamp", t.timestamp);
        }
        if (d.business) write_business(w, list, *d.business);
    }
    write_attachments(w, d.attachments);
    return w.dump();
}

Bytes write(const Status& s) {
    Writer w;
    xmlNode* mh = w.node(w.header(), "MessageHeader");
    write_organization(w, mh, "From", s.from);
    write_response_for(w, mh, s.response_for);
    write_staff(w, mh, s.staff);
    w.text(mh, "StatusCode", s.status_code);
    w.opt(mh, "Description", s.description);
    w.text(mh, "Timestamp", s.timestamp);
    return w.dump();
}

}  // namespace lienthong::protocol::edxml
