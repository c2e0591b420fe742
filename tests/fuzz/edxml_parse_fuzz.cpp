// Fuzz target: edxml::parse on arbitrary bytes (a DMS drop folder, another federation's
// gateway), then what the node does with an accepted message: to_content / to_report, the
// sealed content's encoding, and the export back to edXML (from_content / from_report, write).
// Also the path of an imported file: carried in the content as given, attachments filled from
// it again, a zipped part unzipped, oddities listed, the issuer's XML-DSig signature checked.
// Invariants: never throws or crashes; a refusal says why; an accepted message written back
// parses to the same message; a document or status the node would accept exports as edXML
// that parses again, keeping what the conversion carries; content that validates decodes from
// its own encoding to the same bytes.
// Seeds: messages written here, plus tests/fuzz/corpus/edxml_parse/ (the real samples of
// shared/edxml-samples, trimmed copies of the large ones, and what fuzzing found).
#include <variant>

#include "fuzz_target.h"
#include "protocol/edxml.h"
#include "protocol/edxml_convert.h"
#include "protocol/edxml_dsig.h"
#include "protocol/edxml_zip.h"
#include "tests/edxml_fixtures.h"

using namespace lienthong::protocol;

namespace {
constexpr uint64_t kCreated = 1764201600000ull;

Bytes to_bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

edxml::Message reparsed(const Bytes& xml) {
    auto again = edxml::parse(xml);
    if (!again.ok()) std::fprintf(stderr, "written edXML refused: %s\n", again.error().c_str());
    LT_FUZZ_CHECK(again.ok());
    return std::move(again).value();
}

// write() never writes an issuer's <Signature>: only imported files carry one, as given.
template <class M>
M unsigned_copy(M m) {
    m.signature = edxml::SignaturePlace::Absent;
    return m;
}

// What the node does with an imported file (api_documents.cpp, api_show.cpp, inbound.cpp): the
// bytes travel in the content, the recipient fills the attachments from them, unzips a part
// the national library zipped, lists the oddities and checks the issuer's signature.
void check_carried(ByteView xml, const edxml::Document& d, const std::vector<std::string>& recipients) {
    auto c = edxml::to_content(d, d.from.organ_id, recipients, kCreated, Bytes(xml.begin(), xml.end()));
    if (!c.ok() || !validate_content(*c).ok()) return;
    auto back = decode_content(encode_content(*c));
    LT_FUZZ_CHECK(back.ok());
    LT_FUZZ_CHECK(back->edxml.size() == xml.size());
    auto parsed = edxml::complete_from_edxml(*back);
    LT_FUZZ_CHECK(parsed.ok());
    LT_FUZZ_CHECK(back->attachments.size() == d.attachments.size());
    for (size_t i = 0; i < d.attachments.size(); ++i) {
        const auto& a = back->attachments[i];
        LT_FUZZ_CHECK(a.data == d.attachments[i].data && a.encoded_mime == d.attachments[i].encoded_content_type);
        if (edxml::is_library_zipped(a.mime, a.name, a.data)) {
            auto u = edxml::unzip_part(a.data, 1u << 20);
            LT_FUZZ_CHECK(u.ok() || !u.error().empty());
        }
    }
    for (const auto& line : edxml::oddities(d)) LT_FUZZ_CHECK(!line.empty());
    if (d.signature != edxml::SignaturePlace::Absent) {
        const auto check = edxml::verify_signature(xml, {});
        LT_FUZZ_CHECK(check.state != edxml::SignatureState::Absent);
        LT_FUZZ_CHECK(check.state == edxml::SignatureState::Unverified || !check.reason.empty());
    }
}

void check_document(ByteView xml, const edxml::Document& d) {
    const auto again = reparsed(edxml::write(d));
    LT_FUZZ_CHECK(std::holds_alternative<edxml::Document>(again));
    LT_FUZZ_CHECK(std::get<edxml::Document>(again) == unsigned_copy(d));

    // As the node imports it (api_documents.cpp import_edxml): from its own agency, to the To
    // agencies.
    std::vector<std::string> recipients;
    for (const auto& o : d.to) recipients.push_back(o.organ_id);
    auto c = edxml::to_content(d, d.from.organ_id, recipients, kCreated);
    if (!c.ok()) {
        LT_FUZZ_CHECK(!c.error().empty());
        return;
    }
    if (validate_content(*c).ok()) {
        const Bytes plain = encode_content(*c);
        auto back = decode_content(plain);
        LT_FUZZ_CHECK(back.ok());
        LT_FUZZ_CHECK(encode_content(*back) == plain);
    }
    // As the node exports it (dropbox, 'show --format edxml').
    const auto exported = reparsed(edxml::write(edxml::from_content(*c)));
    LT_FUZZ_CHECK(std::holds_alternative<edxml::Document>(exported));
    const auto& e = std::get<edxml::Document>(exported);
    LT_FUZZ_CHECK(e.from == d.from && e.to == d.to && e.document_id == d.document_id);
    LT_FUZZ_CHECK(e.subject == d.subject && e.content == d.content && e.due_date == d.due_date);
    LT_FUZZ_CHECK(e.promulgation == d.promulgation && e.other == d.other);
    LT_FUZZ_CHECK(e.priority == (d.priority.empty() ? "0" : d.priority));
    LT_FUZZ_CHECK(e.attachments.size() == d.attachments.size());
    for (size_t i = 0; i < e.attachments.size(); ++i)
        LT_FUZZ_CHECK(e.attachments[i].data == d.attachments[i].data &&
                      e.attachments[i].name == d.attachments[i].name);
    // The native export always carries TraceHeaderList and Bussiness.
    LT_FUZZ_CHECK(e.traces.size() == 1 && e.business.has_value());
    check_carried(xml, d, recipients);
}

void check_status(const edxml::Status& s) {
    const auto again = reparsed(edxml::write(s));
    LT_FUZZ_CHECK(std::holds_alternative<edxml::Status>(again));
    LT_FUZZ_CHECK(std::get<edxml::Status>(again) == unsigned_copy(s));

    auto r = edxml::to_report(s);
    if (!r.ok()) {
        LT_FUZZ_CHECK(!r.error().empty());
        return;
    }
    const auto exported = reparsed(edxml::write(edxml::from_report(*r)));
    LT_FUZZ_CHECK(std::holds_alternative<edxml::Status>(exported));
    const auto& e = std::get<edxml::Status>(exported);
    LT_FUZZ_CHECK(e.status_code == s.status_code && e.timestamp == s.timestamp);
    LT_FUZZ_CHECK(e.from == s.from && e.response_for == s.response_for && e.staff == s.staff);
    LT_FUZZ_CHECK(e.description == s.description);
}

edxml::Document sample_document() {
    edxml::Document d;
    d.from = {"000.00.31.H14", "UBND tỉnh", "Sở Nội vụ", "Số 1 Lê Lợi",
              "snv@gov.vn",    "0263",      "0264",      "snv.vn"};
    d.to = {{"000.00.00.H41", "", "Văn phòng", "", "", "", "", ""},
            {"28.22.H17", "", "", "", "", "", "", ""}};
    d.document_id = "000.00.31.H14,2026/11/27,12/SNV-VP";
    d.code = {"12", "SNV-VP"};
    d.promulgation = {"Đà Lạt", "2026/11/27"};
    d.type = {"1", "0", "Công văn"};
    d.subject = "V/v <kết nối> & \"liên thông\"";
    d.content = "  Nội dung\r\n\tgiữ nguyên  ";
    d.signer = {"KT. GIÁM ĐỐC", "Phó Giám đốc", "Nguyễn Văn A"};
    d.due_date = "2026/12/31";
    d.priority = "3";
    d.other = {"Liên thông", "TVC", "2", "3", "false", {"Phụ lục I", "Phụ lục II"}};
    d.response_for = {{"000.00.00.H41", "7/VP", "2026/10/01", "id-7"}};
    d.steering_type = "1";
    d.to_places = {"Lưu: VT"};
    d.traces = {{"000.00.31.H14", "2026/11/27 08:30:00"}};
    edxml::Business b;
    b.document_id = "000.00.31.H14,2026/11/01,9/SNV-VP";
    b.business_doc_type = edxml::BusinessDocType::Replace;
    b.reason = "Thay thế";
    b.staff = {"Văn thư", "Trần Thị B", "vt@gov.vn", "0912"};
    b.document_info = edxml::BusinessDocumentInfo{"1", "2", {{"000.00.00.H41", "1"}}};
    b.replacements = {{"000.00.31.H14,2026/11/01,9/SNV-VP", {"000.00.00.H41"}}};
    d.business = b;
    d.attachments = {{"cid:1", "a.pdf", "application/pdf", "Tệp", Bytes{0, 1, 2, 0xff}},
                     {"cid:2", "empty.txt", "", "", Bytes{}}};
    return d;
}

edxml::Status sample_status() {
    edxml::Status s;
    s.from = {"000.00.00.H41", "", "Văn phòng", "", "", "", "", ""};
    s.response_for = {"000.00.31.H14", "12/SNV-VP", "2026/11/27",
                      "000.00.31.H14,2026/11/27,12/SNV-VP"};
    s.staff = {"Văn thư", "Lê C", "", ""};
    s.status_code = "03";
    s.description = " Đã vào sổ ";
    s.timestamp = "2026/11/27 09:00:00";
    return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (1u << 20)) return 0;
    auto msg = edxml::parse(ByteView(data, size));
    if (!msg.ok()) {
        LT_FUZZ_CHECK(!msg.error().empty());
        return 0;
    }
    if (const auto* d = std::get_if<edxml::Document>(&*msg))
        check_document(ByteView(data, size), *d);
    else
        check_status(std::get<edxml::Status>(*msg));
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    const auto d = sample_document();
    auto minimal = d;
    minimal.code = {};
    minimal.type = {};
    minimal.signer = {};
    minimal.other = {};
    minimal.priority.clear();
    minimal.response_for.clear();
    minimal.traces.clear();
    minimal.business.reset();
    minimal.attachments.clear();
    auto status = sample_status();
    std::vector<std::vector<uint8_t>> out = {edxml::write(d), edxml::write(minimal),
                                             edxml::write(status)};
    // The seeds must be accepted, or the target fuzzes nothing but the refusals.
    for (const auto& s : out) LT_FUZZ_CHECK(edxml::parse(s).ok());
    // As the national library writes them: a zipped part under a text/plain manifest, two
    // traces (one "null"), Paper 1; a Signature outside XML-DSig's namespace; an unsigned
    // XML-DSig template (a signed one is in the corpus).
    namespace fx = lienthong::test_edxml;
    for (const std::string& sig : {std::string(), std::string("<Signature><SignedInfo/></Signature>"),
                                   fx::signature_template()}) {
        const std::string xml = fx::library_document("000.00.41.H14", "000.00.42.H14", sig);
        out.push_back(to_bytes(xml));
        LT_FUZZ_CHECK(edxml::parse(out.back()).ok());
    }
    // Shapes the writer never makes: CDATA, comments, character references, a BOM.
    out.push_back(
        to_bytes("\xEF\xBB\xBF<?xml version=\"1.0\"?><edXML "
                 "xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"
                 "<edXMLEnvelope><edXMLHeader><MessageHeader><From><OrganId>A</OrganId></From>"
                 "<ResponseFor><DocumentId><![CDATA[x&y]]></DocumentId></ResponseFor><!-- c -->"
                 "<StatusCode>0&#x31;</StatusCode><Description>&#13;&lt;</Description>"
                 "<Timestamp>2026/02/28 "
                 "23:59:59</Timestamp></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"));
    return out;
}
