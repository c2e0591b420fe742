// edXML reading: libxml2 builds the tree (no network, no DTD, no entity expansion, errors
// collected instead of printed), then a walk over that tree fills the structs and checks what
// protocol/edxml.h promises.
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <sodium.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <mutex>

#include "protocol/edxml.h"

namespace lienthong::protocol::edxml {
namespace {

const xmlChar* ns_href() {
    return reinterpret_cast<const xmlChar*>(kNamespace.data());
}
const char* cstr(const xmlChar* s) {
    return reinterpret_cast<const char*>(s);
}

// ---- dates ----------------------------------------------------------------------------------

bool read_number(std::string_view s, size_t pos, size_t len, int& out) {
    if (pos + len > s.size()) return false;
    for (size_t i = pos; i < pos + len; ++i)
        if (s[i] < '0' || s[i] > '9') return false;
    return std::from_chars(s.data() + pos, s.data() + pos + len, out).ec == std::errc{};
}

}  // namespace

bool is_edxml_date(std::string_view s) {
    int y = 0, m = 0, d = 0;
    if (s.size() != 10 || s[4] != '/' || s[7] != '/') return false;
    if (!read_number(s, 0, 4, y) || !read_number(s, 5, 2, m) || !read_number(s, 8, 2, d))
        return false;
    using namespace std::chrono;
    return y >= 1 && year_month_day{year{y}, month{unsigned(m)}, day{unsigned(d)}}.ok();
}

bool is_edxml_timestamp(std::string_view s) {
    int h = 0, mi = 0, sec = 0;
    if (s.size() != 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':') return false;
    if (!is_edxml_date(s.substr(0, 10))) return false;
    if (!read_number(s, 11, 2, h) || !read_number(s, 14, 2, mi) || !read_number(s, 17, 2, sec))
        return false;
    return h <= 23 && mi <= 59 && sec <= 59;
}

namespace {

// ---- libxml2 plumbing -----------------------------------------------------------------------

// Collects libxml2's errors for one parse. Only the first is reported (later ones are usually
// consequences of it), with the count of the rest.
struct ErrorSink {
    xmlParserCtxtPtr ctxt = nullptr;
    std::string first;
    int count = 0;

    void add(std::string message) {
        if (count++ == 0) first = std::move(message);
    }
    std::string report() const {
        std::string out = "edXML is not well-formed: " + first;
        if (count > 1) out += " (and " + std::to_string(count - 1) + " more error(s) after it)";
        return out;
    }
};

std::string trim_copy(std::string_view s) {
    const char* ws = " \t\r\n";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

void on_xml_error(void* data, xmlErrorPtr err) {
    auto* sink = static_cast<ErrorSink*>(data);
    if (!sink || !err || err->level < XML_ERR_ERROR) return;  // warnings do not refuse
    std::string where;
    if (err->line > 0) {
        where = "line " + std::to_string(err->line);
        if (err->int2 > 0) where += ", column " + std::to_string(err->int2);
    }
    // While the tree is being built, ctxt->node is the innermost open element: the element
    // whose content held the fault (or the parent of a start tag that held it).
    if (sink->ctxt && err->ctxt == sink->ctxt && sink->ctxt->node &&
        sink->ctxt->node->type == XML_ELEMENT_NODE) {
        where += std::string(where.empty() ? "" : ", ") + "inside <" +
                 cstr(sink->ctxt->node->name) + ">";
    }
    std::string message = trim_copy(err->message ? err->message : "unknown libxml2 error");
    for (char& c : message)
        if (c == '\n') c = ' ';
    if (err->domain == XML_FROM_NAMESPACE) message = "namespace error: " + message;
    sink->add(where.empty() ? message : where + ": " + message);
}

// A DOCTYPE could declare entities (billion laughs) or pull an external DTD; edXML has no use
// for one, so the parse stops at the first sign of it.
void on_doctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
    auto ctxt = static_cast<xmlParserCtxtPtr>(ctx);
    auto* sink = static_cast<ErrorSink*>(ctxt->_private);
    int line = ctxt->input ? ctxt->input->line : 0;
    sink->add("line " + std::to_string(line) +
              ": a DOCTYPE is not allowed in edXML (it could declare entities); remove it");
    xmlStopParser(ctxt);
}

// Routes this thread's libxml2 errors to `sink` for the guard's lifetime (libxml2 keeps the
// handler per thread), then restores whatever was there.
class ErrorCapture {
  public:
    explicit ErrorCapture(ErrorSink* sink)
        : m_prev_fn(xmlStructuredError), m_prev_ctx(xmlStructuredErrorContext) {
        xmlSetStructuredErrorFunc(sink, on_xml_error);
    }
    ~ErrorCapture() { xmlSetStructuredErrorFunc(m_prev_ctx, m_prev_fn); }
    ErrorCapture(const ErrorCapture&) = delete;
    ErrorCapture& operator=(const ErrorCapture&) = delete;

  private:
    xmlStructuredErrorFunc m_prev_fn;
    void* m_prev_ctx;
};

struct DocFree {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct CtxtFree {
    void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

// Names bytes that precede the first '<' (after a UTF-8 BOM), such as the "1212" a transport
// once left in front of a real file; "" when the input starts as XML should.
std::string stray_prefix_hint(ByteView xml) {
    std::string_view s = as_chars(xml);
    if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
    size_t lt = s.find('<');
    size_t n = lt == std::string_view::npos ? s.size() : lt;
    if (n == 0) return {};
    std::string shown;
    for (size_t i = 0; i < n && i < 16; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            shown += static_cast<char>(c);
        } else {
            char buf[8];
            snprintf(buf, sizeof buf, "\\x%02X", c);
            shown += buf;
        }
    }
    if (n > 16) shown += "...";
    return "; the input starts with " + std::to_string(n) + " byte(s) before the first '<' (\"" +
           shown + "\"), likely a transport artifact: the sender must send the XML alone";
}

// ---- tree walk ------------------------------------------------------------------------------

std::string tag(const xmlNode* n) {
    return "<" + std::string(cstr(n->name)) + ">";
}
std::string at(const xmlNode* n) {
    return tag(n) + " (line " + std::to_string(xmlGetLineNo(n)) + ")";
}
Error fail(std::string message) {
    return make_error("edXML: " + std::move(message));
}

bool is_edxml_element(const xmlNode* n) {
    return n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, ns_href());
}

bool named(const xmlNode* n, const char* name) {
    return is_edxml_element(n) && xmlStrEqual(n->name, reinterpret_cast<const xmlChar*>(name));
}

std::vector<xmlNode*> all(const xmlNode* parent, const char* name) {
    std::vector<xmlNode*> out;
    for (xmlNode* c = parent->children; c; c = c->next)
        if (named(c, name)) out.push_back(c);
    return out;
}

// The one child `name` of `parent`, nullptr if absent; twice is an error.
Result<xmlNode*> one(const xmlNode* parent, const char* name) {
    auto found = all(parent, name);
    if (found.size() > 1)
        return fail(at(parent) + " holds <" + name + "> twice (lines " +
                    std::to_string(xmlGetLineNo(found[0])) + " and " +
                    std::to_string(xmlGetLineNo(found[1])) + "); send one");
    return found.empty() ? nullptr : found[0];
}

Result<xmlNode*> required(const xmlNode* parent, const char* name, std::string_view why) {
    LT_ASSIGN(xmlNode * n, one(parent, name));
    if (!n) return fail(at(parent) + " has no <" + name + ">: " + std::string(why));
    return n;
}

enum class Trim { Yes, No };

Result<std::string> text_of(const xmlNode* n, Trim trim = Trim::Yes) {
    std::string out;
    for (const xmlNode* c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (c->content) out += cstr(c->content);
        } else if (c->type == XML_ELEMENT_NODE) {
            return fail(at(n) + " must hold text, not the element " + tag(c));
        }
    }
    if (!is_valid_utf8(out)) return fail(at(n) + " is not valid UTF-8");
    return trim == Trim::Yes ? trim_copy(out) : out;
}

// Text of the child `name`, "" when absent.
Result<std::string> field(const xmlNode* parent, const char* name, Trim trim = Trim::Yes) {
    LT_ASSIGN(xmlNode * n, one(parent, name));
    if (!n) return std::string();
    return text_of(n, trim);
}

Result<std::string> required_field(const xmlNode* parent, const char* name, std::string_view why) {
    LT_ASSIGN(xmlNode * n, required(parent, name, why));
    LT_ASSIGN(std::string value, text_of(n));
    if (value.empty()) return fail(at(n) + " is empty: " + std::string(why));
    return value;
}

// A date (or timestamp) child: "" when absent or empty, else it must be a real one.
Result<std::string> date_field(const xmlNode* parent, const char* name, bool with_time) {
    LT_ASSIGN(xmlNode * n, one(parent, name));
    if (!n) return std::string();
    LT_ASSIGN(std::string value, text_of(n));
    if (value.empty()) return value;
    if (with_time ? !is_edxml_timestamp(value) : !is_edxml_date(value))
        return fail(at(n) + " is '" + value + "', not a real " +
                    (with_time ? "date and time YYYY/MM/DD HH:MM:SS" : "date YYYY/MM/DD"));
    return value;
}

Result<std::vector<std::string>> list(const xmlNode* parent, const char* list_name,
                                      const char* item_name) {
    std::vector<std::string> out;
    LT_ASSIGN(xmlNode * l, one(parent, list_name));
    if (!l) return out;
    for (xmlNode* item : all(l, item_name)) {
        LT_ASSIGN(std::string v, text_of(item));
        out.push_back(std::move(v));
    }
    return out;
}

Result<Organization> organization(const xmlNode* n) {
    Organization o;
    LT_ASSIGN(o.organ_id, required_field(n, "OrganId", "every agency is named by its OrganId"));
    LT_ASSIGN(o.organization_in_charge, field(n, "OrganizationInCharge"));
    LT_ASSIGN(o.organ_name, field(n, "OrganName"));
    LT_ASSIGN(o.organ_add, field(n, "OrganAdd"));
    LT_ASSIGN(o.email, field(n, "Email"));
    LT_ASSIGN(o.telephone, field(n, "Telephone"));
    LT_ASSIGN(o.fax, field(n, "Fax"));
    LT_ASSIGN(o.website, field(n, "Website"));
    return o;
}

Result<StaffInfo> staff_info(const xmlNode* parent) {
    StaffInfo s;
    LT_ASSIGN(xmlNode * n, one(parent, "StaffInfo"));
    if (!n) return s;
    LT_ASSIGN(s.department, field(n, "Department"));
    LT_ASSIGN(s.staff, field(n, "Staff"));
    LT_ASSIGN(s.email, field(n, "Email"));
    LT_ASSIGN(s.mobile, field(n, "Mobile"));
    return s;
}

Result<ResponseFor> response_for(const xmlNode* n) {
    ResponseFor r;
    LT_ASSIGN(r.organ_id, field(n, "OrganId"));
    LT_ASSIGN(r.code, field(n, "Code"));
    LT_ASSIGN(r.promulgation_date, date_field(n, "PromulgationDate", false));
    LT_ASSIGN(r.document_id, field(n, "DocumentId"));
    return r;
}

Result<Business> business(const xmlNode* n) {
    Business b;
    LT_ASSIGN(b.document_id, field(n, "DocumentId"));
    LT_ASSIGN(xmlNode * type_node,
              required(n, "BussinessDocType", "0 new, 1 revoke, 2 update or 3 replace"));
    LT_ASSIGN(std::string type, text_of(type_node));
    if (type.size() != 1 || type[0] < '0' || type[0] > '3')
        return fail(at(type_node) + " is '" + type +
                    "'; expected 0 (new), 1 (revoke), 2 (update) or 3 (replace)");
    b.business_doc_type = static_cast<BusinessDocType>(type[0] - '0');
    LT_ASSIGN(b.reason, field(n, "BussinessDocReason"));
    LT_ASSIGN(b.paper, field(n, "Paper"));
    LT_ASSIGN(b.staff, staff_info(n));

    LT_ASSIGN(xmlNode * info, one(n, "BussinessDocumentInfo"));
    if (info) {
        BusinessDocumentInfo d;
        LT_ASSIGN(d.document_info, field(info, "DocumentInfo"));
        LT_ASSIGN(d.document_receiver, field(info, "DocumentReceiver"));
        LT_ASSIGN(xmlNode * receivers, one(info, "ReceiverList"));
        if (receivers) {
            for (xmlNode* r : all(receivers, "Receiver")) {
                BusinessDocumentInfo::Receiver rec;
                LT_ASSIGN(rec.organ_id, field(r, "OrganId"));
                LT_ASSIGN(rec.receiver_type, field(r, "ReceiverType"));
                d.receivers.push_back(std::move(rec));
            }
        }
        b.document_info = std::move(d);
    }

    LT_ASSIGN(xmlNode * replacements, one(n, "ReplacementInfoList"));
    if (replacements) {
        for (xmlNode* r : all(replacements, "ReplacementInfo")) {
            ReplacementInfo info_r;
            LT_ASSIGN(info_r.document_id, field(r, "DocumentId"));
            LT_ASSIGN(info_r.organ_ids, list(r, "OrganIdList", "OrganId"));
            b.replacements.push_back(std::move(info_r));
        }
    }
    return b;
}

Result<Bytes> decode_base64(const xmlNode* n, const std::string& content_id) {
    LT_ASSIGN(std::string text, text_of(n, Trim::No));  // empty: a zero-byte file
    Bytes out(text.size() / 4 * 3 + 3);
    size_t len = 0;
    const char* end = nullptr;
    int rc = sodium_base642bin(out.data(), out.size(), text.data(), text.size(), " \t\r\n", &len,
                               &end, sodium_base64_VARIANT_ORIGINAL);
    if (rc != 0 || end != text.data() + text.size()) {
        std::string why = "bad length or padding";
        if (rc == 0 && end) {
            size_t off = static_cast<size_t>(end - text.data());
            std::string shown = text.substr(off, 12);
            why = "not base64 from character " + std::to_string(off) + " (\"" + shown + "\")";
        }
        return fail("attachment " + content_id + ": " + at(n) + " is not valid base64: " + why);
    }
    out.resize(len);
    return out;
}

// Fills `into` from `value`, or checks that two non-empty values agree.
lienthong::Status merge_field(std::string& into, const std::string& value, const char* name,
                              const std::string& content_id) {
    if (value.empty() || into == value) return ok_status();
    if (into.empty()) {
        into = value;
        return ok_status();
    }
    return fail("attachment " + content_id + ": <" + name + "> is '" + into +
                "' in the manifest but '" + value + "' in AttachmentEncoded");
}

// Manifest References (in edXMLBody) joined with the AttachmentEncoded entries that carry
// their data, matched by ContentId.
Result<std::vector<Attachment>> attachments(const xmlNode* root, const xmlNode* envelope) {
    struct Entry {
        Attachment a;
        const xmlNode* node;
        const xmlNode* data = nullptr;
    };
    std::vector<Entry> entries;
    auto find = [&](const std::string& cid) -> Entry* {
        for (auto& e : entries)
            if (e.a.content_id == cid) return &e;
        return nullptr;
    };
    auto read_common = [](const xmlNode* n, Attachment& a) -> lienthong::Status {
        LT_ASSIGN(a.content_id, required_field(n, "ContentId", "it links data to the manifest"));
        LT_ASSIGN(a.name, field(n, "AttachmentName"));
        LT_ASSIGN(a.content_type, field(n, "ContentType"));
        LT_ASSIGN(a.description, field(n, "Description"));
        return ok_status();
    };

    LT_ASSIGN(xmlNode * body, one(envelope, "edXMLBody"));
    LT_ASSIGN(xmlNode * manifest, body ? one(body, "edXMLManifest") : Result<xmlNode*>(nullptr));
    if (manifest) {
        for (xmlNode* ref : all(manifest, "Reference")) {
            Entry e{{}, ref};
            LT_TRY(read_common(ref, e.a));
            if (find(e.a.content_id))
                return fail(at(ref) + ": ContentId " + e.a.content_id + " is listed twice");
            entries.push_back(std::move(e));
        }
    }

    LT_ASSIGN(xmlNode * encoded, one(root, "AttachmentEncoded"));
    if (encoded) {
        for (xmlNode* n : all(encoded, "Attachment")) {
            Attachment a;
            LT_TRY(read_common(n, a));
            Entry* e = find(a.content_id);
            if (!e) {  // data with no manifest entry: keep it, in document order
                entries.push_back(Entry{a, n});
                e = &entries.back();
            } else if (e->data) {
                return fail(at(n) + ": ContentId " + a.content_id + " carries data twice");
            } else {
                LT_TRY(merge_field(e->a.name, a.name, "AttachmentName", a.content_id));
                // Kept apart, not merged: the national library labels a part it zipped
                // application/zip under a manifest that keeps the caller's type.
                if (e->a.content_type.empty())
                    e->a.content_type = a.content_type;
                else if (!a.content_type.empty() && a.content_type != e->a.content_type)
                    e->a.encoded_content_type = a.content_type;
                LT_TRY(merge_field(e->a.description, a.description, "Description", a.content_id));
            }
            LT_ASSIGN(e->data, one(n, "ContentTransferEncoded"));
            if (!e->data)
                return fail("attachment " + a.content_id + ": " + at(n) +
                            " has no <ContentTransferEncoded>; it must hold the data");
        }
    }

    std::vector<Attachment> out;
    for (auto& e : entries) {
        if (!e.data)
            return fail("attachment " + e.a.content_id + " listed in the manifest " + at(e.node) +
                        " has no data: no <AttachmentEncoded><Attachment> with that ContentId");
        LT_ASSIGN(e.a.data, decode_base64(e.data, e.a.content_id));
        out.push_back(std::move(e.a));
    }
    return out;
}

Result<Message> read_document(const xmlNode* root, const xmlNode* envelope, const xmlNode* header,
                              const xmlNode* mh) {
    Document d;
    LT_ASSIGN(xmlNode * from, required(mh, "From", "a document must name its sender"));
    LT_ASSIGN(d.from, organization(from));
    auto to = all(mh, "To");
    if (to.empty()) return fail(at(mh) + " has no <To>: a document needs at least one recipient");
    for (xmlNode* t : to) {
        LT_ASSIGN(Organization o, organization(t));
        d.to.push_back(std::move(o));
    }
    LT_ASSIGN(d.document_id,
              required_field(mh, "DocumentId", "with the sender it identifies the document"));

    LT_ASSIGN(xmlNode * code, one(mh, "Code"));
    if (code) {
        LT_ASSIGN(d.code.code_number, field(code, "CodeNumber"));
        LT_ASSIGN(d.code.code_notation, field(code, "CodeNotation"));
    }
    LT_ASSIGN(xmlNode * prom,
              required(mh, "PromulgationInfo", "the promulgation date is required"));
    LT_ASSIGN(d.promulgation.place, field(prom, "Place"));
    LT_ASSIGN(d.promulgation.date, date_field(prom, "PromulgationDate", false));
    if (d.promulgation.date.empty())
        return fail(at(prom) + " has no <PromulgationDate>: the promulgation date is required");
    LT_ASSIGN(xmlNode * type, one(mh, "DocumentType"));
    if (type) {
        LT_ASSIGN(d.type.type, field(type, "Type"));
        LT_ASSIGN(d.type.type_detail, field(type, "TypeDetail"));
        LT_ASSIGN(d.type.type_name, field(type, "TypeName"));
    }
    LT_ASSIGN(d.subject, field(mh, "Subject"));
    LT_ASSIGN(d.content, field(mh, "Content", Trim::No));
    LT_ASSIGN(xmlNode * signer, one(mh, "SignerInfo"));
    if (signer) {
        LT_ASSIGN(d.signer.competence, field(signer, "Competence"));
        LT_ASSIGN(d.signer.position, field(signer, "Position"));
        LT_ASSIGN(d.signer.full_name, field(signer, "FullName"));
    }
    LT_ASSIGN(d.due_date, date_field(mh, "DueDate", false));
    LT_ASSIGN(xmlNode * other, one(mh, "OtherInfo"));
    if (other) {
        LT_ASSIGN(d.priority, field(other, "Priority"));
        LT_ASSIGN(d.other.sphere_of_promulgation, field(other, "SphereOfPromulgation"));
        LT_ASSIGN(d.other.typer_notation, field(other, "TyperNotation"));
        LT_ASSIGN(d.other.promulgation_amount, field(other, "PromulgationAmount"));
        LT_ASSIGN(d.other.page_amount, field(other, "PageAmount"));
        LT_ASSIGN(d.other.direction, field(other, "Direction"));
        LT_ASSIGN(d.other.appendixes, list(other, "Appendixes", "Appendix"));
    }
    for (xmlNode* r : all(mh, "ResponseFor")) {
        LT_ASSIGN(ResponseFor rf, response_for(r));
        d.response_for.push_back(std::move(rf));
    }
    LT_ASSIGN(d.steering_type, field(mh, "SteeringType"));
    LT_ASSIGN(d.to_places, list(mh, "ToPlaces", "Place"));

    LT_ASSIGN(xmlNode * traces, one(header, "TraceHeaderList"));
    if (traces) {
        for (xmlNode* t : all(traces, "TraceHeader")) {
            TraceHeader th;
            LT_ASSIGN(th.organ_id, field(t, "OrganId"));
            LT_ASSIGN(th.timestamp, date_field(t, "Timestamp", true));
            d.traces.push_back(std::move(th));
        }
        LT_ASSIGN(xmlNode * b, one(traces, "Bussiness"));
        if (b) {
            LT_ASSIGN(Business biz, business(b));
            d.business = std::move(biz);
        }
    }
    LT_ASSIGN(d.attachments, attachments(root, envelope));
    return Message(std::move(d));
}

// The <Signature> child of edXMLHeader, in whatever namespace it was written.
SignaturePlace signature_place(const xmlNode* header) {
    static const xmlChar kDsig[] = "http://www.w3.org/2000/09/xmldsig#";
    SignaturePlace place = SignaturePlace::Absent;
    for (const xmlNode* c = header->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !xmlStrEqual(c->name, reinterpret_cast<const xmlChar*>("Signature")))
            continue;
        if (c->ns && xmlStrEqual(c->ns->href, kDsig)) return SignaturePlace::XmlDsig;
        place = SignaturePlace::OtherNamespace;
    }
    return place;
}

Result<Message> read_status(const xmlNode* mh) {
    Status s;
    LT_ASSIGN(xmlNode * from, required(mh, "From", "a status must name who reports it"));
    LT_ASSIGN(s.from, organization(from));
    LT_ASSIGN(xmlNode * rf,
              required(mh, "ResponseFor", "a status must name the document it is about"));
    LT_ASSIGN(s.response_for, response_for(rf));
    if (s.response_for.document_id.empty())
        return fail(at(rf) + " has no <DocumentId>: a status must name the document it is about");
    LT_ASSIGN(s.staff, staff_info(mh));
    LT_ASSIGN(xmlNode * code, required(mh, "StatusCode", "what state the document is in"));
    LT_ASSIGN(s.status_code, text_of(code));
    bool known = false;
    for (auto c : kStatusCodes) known = known || c == s.status_code;
    if (!known)
        return fail(at(code) + " is '" + s.status_code +
                    "', not a known status code (01 02 03 04 05 06 13 15 16)");
    LT_ASSIGN(s.description, field(mh, "Description", Trim::No));
    LT_ASSIGN(s.timestamp, date_field(mh, "Timestamp", true));
    if (s.timestamp.empty())
        return fail(at(mh) + " has no <Timestamp>: a status must say when it happened");
    return Message(std::move(s));
}

Result<Message> read_message(const xmlDoc* doc) {
    const xmlNode* root = xmlDocGetRootElement(doc);
    if (!root) return fail("the input holds no root element");
    if (!named(root, "edXML"))
        return fail(
            "the root element is " + at(root) +
            (root->ns ? " in namespace " + std::string(cstr(root->ns->href)) : " in no namespace") +
            "; expected <edXML> in namespace " + std::string(kNamespace));
    LT_ASSIGN(xmlNode * envelope, required(root, "edXMLEnvelope", "it holds the message"));
    LT_ASSIGN(xmlNode * header, required(envelope, "edXMLHeader", "it holds the message header"));
    LT_ASSIGN(xmlNode * mh, required(header, "MessageHeader", "it says what the message is"));
    LT_ASSIGN(xmlNode * status_code, one(mh, "StatusCode"));
    LT_ASSIGN(Message m, status_code ? read_status(mh) : read_document(root, envelope, header, mh));
    std::visit([&](auto& msg) { msg.signature = signature_place(header); }, m);
    return m;
}

}  // namespace

Result<Message> parse(ByteView xml) {
    if (xml.empty()) return fail("the input is empty");
    if (xml.size() > kMaxInputBytes)
        return fail("the input is " + std::to_string(xml.size()) + " bytes, above the limit of " +
                    std::to_string(kMaxInputBytes) + "; send large files in parts");

    static std::once_flag init;
    std::call_once(init, [] { xmlInitParser(); });

    ErrorSink sink;
    DocPtr doc;
    {
        ErrorCapture capture(&sink);
        std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
        if (!ctxt || !ctxt->sax) return fail("libxml2 could not allocate a parser (out of memory)");
        sink.ctxt = ctxt.get();
        ctxt->_private = &sink;
        ctxt->sax->internalSubset = on_doctype;
        // No XML_PARSE_NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR, no network.
        // HUGE lifts the 10 MB text-node cap, which a large base64 attachment exceeds; the
        // input is already bounded by kMaxInputBytes and DOCTYPEs are refused.
        int options = XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_BIG_LINES | XML_PARSE_NOERROR |
                      XML_PARSE_NOWARNING;
        doc.reset(xmlCtxtReadMemory(ctxt.get(), reinterpret_cast<const char*>(xml.data()),
                                    static_cast<int>(xml.size()), nullptr, nullptr, options));
        if (!doc && sink.count == 0) sink.add("libxml2 refused the input without saying why");
        if (sink.count > 0 || !ctxt->wellFormed || !ctxt->nsWellFormed) {
            if (sink.count == 0) sink.add("libxml2 reports it not well-formed");
            return make_error(sink.report() + stray_prefix_hint(xml));
        }
    }
    return read_message(doc.get());
}

namespace {
void signature_oddity(SignaturePlace place, std::vector<std::string>& out) {
    if (place == SignaturePlace::OtherNamespace)
        out.push_back("the <Signature> in edXMLHeader is not in the XML-DSig namespace "
                      "(http://www.w3.org/2000/09/xmldsig#), so it cannot be checked as a signature");
}
}  // namespace

std::vector<std::string> oddities(const Document& d) {
    std::vector<std::string> out;
    for (size_t i = 0; i < d.traces.size(); ++i) {
        const auto& id = d.traces[i].organ_id;
        if (id.empty() || id == "null")
            out.push_back("TraceHeader " + std::to_string(i + 1) + " has OrganId '" + id + "'");
    }
    // Both are real dates (parse checked them), so the text compares as the dates do.
    if (!d.due_date.empty() && d.due_date < d.promulgation.date)
        out.push_back("DueDate " + d.due_date + " is before PromulgationDate " + d.promulgation.date);
    for (const auto& a : d.attachments)
        if (!a.encoded_content_type.empty())
            out.push_back("attachment " + a.content_id + " ('" + a.name + "') is '" + a.content_type +
                          "' in the manifest but '" + a.encoded_content_type + "' in AttachmentEncoded");
    signature_oddity(d.signature, out);
    return out;
}

std::vector<std::string> oddities(const Status& s) {
    std::vector<std::string> out;
    signature_oddity(s.signature, out);
    return out;
}

}  // namespace lienthong::protocol::edxml
