// edXML as agencies' systems write it: what the national EdXML library produces is accepted
// with its oddities flagged, its zipped parts unzip as its reader would, an imported file
// travels inside the content as given, a native document's edXML has TraceHeaderList and
// Bussiness, and the issuer's XML-DSig signature is checked with a CA made in the test.
#include <catch2/catch.hpp>
#include <filesystem>
#include <unistd.h>

#include "protocol/document.h"
#include "protocol/edxml.h"
#include "protocol/edxml_convert.h"
#include "protocol/edxml_dsig.h"
#include "protocol/edxml_zip.h"
#include "protocol/status.h"
#include "tests/edxml_fixtures.h"

using namespace lienthong::protocol;
using namespace lienthong::protocol::edxml;
using namespace lienthong::test_edxml;
using Catch::Matchers::Contains;

namespace {

Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

Document parse_document_ok(const std::string& xml) {
    auto m = parse(bytes_of(xml));
    INFO((m.ok() ? std::string() : m.error()));
    REQUIRE(m.ok());
    REQUIRE(std::holds_alternative<Document>(*m));
    return std::get<Document>(std::move(m).value());
}

// A fresh folder under the build's temp, removed at the end of the test.
struct ScratchDir {
    std::filesystem::path path;
    ScratchDir() {
        path = std::filesystem::temp_directory_path() /
               ("lienthong-edxml-" + std::to_string(::getpid()) + "-" + std::to_string(++counter()));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

const std::string kFrom = "000.00.31.H14";
const std::string kTo = "000.00.32.H14";

}  // namespace

TEST_CASE("a file the national library writes is accepted with its oddities flagged", "[protocol][edxml]") {
    const Document d = parse_document_ok(library_document(kFrom, kTo));
    REQUIRE(d.attachments.size() == 1);
    CHECK(d.attachments[0].content_type == "text/plain");
    CHECK(d.attachments[0].encoded_content_type == "application/zip");
    CHECK(is_zip(d.attachments[0].data));
    REQUIRE(d.traces.size() == 2);
    CHECK(d.traces[0].organ_id == kFrom);
    CHECK(d.traces[1].organ_id == "null");
    REQUIRE(d.business);
    CHECK(d.business->business_doc_type == BusinessDocType::New);
    CHECK(d.business->paper == "1");
    CHECK(d.business->reason == "Văn bản mới");
    CHECK(d.business->staff.staff == "Trần Thị B");
    CHECK(d.business->staff.mobile == "0912000002");
    REQUIRE(d.business->document_info);
    REQUIRE(d.business->document_info->receivers.size() == 1);
    CHECK(d.business->document_info->receivers[0].organ_id == kTo);
    CHECK(d.signature == SignaturePlace::Absent);

    const auto odd = oddities(d);
    REQUIRE(odd.size() == 3);
    CHECK_THAT(odd[0], Contains("TraceHeader 2 has OrganId 'null'"));
    CHECK_THAT(odd[1], Contains("DueDate 2025/03/10 is before PromulgationDate 2025/03/14"));
    CHECK_THAT(odd[2], Contains("'text/plain' in the manifest but 'application/zip' in AttachmentEncoded"));

    // A name that disagrees is still a structural error.
    std::string renamed = library_document(kFrom, kTo);
    renamed.replace(renamed.rfind("<AttachmentName>note.txt"), 24, "<AttachmentName>other.txt");
    auto bad = parse(bytes_of(renamed));
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error(), Contains("<AttachmentName> is 'note.txt' in the manifest but 'other.txt'"));
}

TEST_CASE("a Signature outside the XML-DSig namespace is an oddity, not a refusal", "[protocol][edxml]") {
    const std::string xml = library_document(kFrom, kTo, "<Signature><SignedInfo/></Signature>");
    const Document d = parse_document_ok(xml);
    CHECK(d.signature == SignaturePlace::OtherNamespace);
    const auto odd = oddities(d);
    REQUIRE(odd.size() == 4);
    CHECK_THAT(odd[3], Contains("not in the XML-DSig namespace"));
    const auto check = verify_signature(bytes_of(xml), {});
    CHECK(check.state == SignatureState::Malformed);
    CHECK_THAT(check.reason, Contains("not in the XML-DSig namespace"));
}

TEST_CASE("a part the national library zipped unzips as its reader would", "[protocol][edxml]") {
    const Bytes zip = make_zip("note.txt", kNoteText);
    CHECK(is_library_zipped("text/plain", "note.txt", zip));
    CHECK(is_library_zipped("application/pdf", "scan.pdf", zip));
    CHECK_FALSE(is_library_zipped("application/zip", "note.txt", zip));        // meant as a zip
    CHECK_FALSE(is_library_zipped("application/octet-stream", "pack.ZIP", zip));  // named a zip
    CHECK_FALSE(is_library_zipped("text/plain", "note.txt", bytes_of(kNoteText)));  // not a zip
    auto out = unzip_part(zip, 1 << 20);
    REQUIRE(out.ok());
    CHECK(std::string(as_chars(*out)) == kNoteText);

    SECTION("larger than the limit: refused before inflating") {
        auto r = unzip_part(zip, 10);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("above the limit of 10"));
    }
    SECTION("not a zip") {
        auto r = unzip_part(bytes_of("plain text"), 1 << 20);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("not a zip archive"));
    }
    SECTION("cut short") {
        auto r = unzip_part(ByteView(zip.data(), zip.size() / 2), 1 << 20);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("zip"));
    }
}

TEST_CASE("an imported file travels in the content as given, its attachments once", "[protocol][edxml]") {
    const std::string xml = library_document(kFrom, kTo);
    const Document d = parse_document_ok(xml);
    auto c = to_content(d, kFrom, {kTo}, 1764000000123ull, bytes_of(xml));
    REQUIRE(c.ok());
    CHECK(c->edxml == bytes_of(xml));
    REQUIRE(c->attachments.size() == 1);
    CHECK(c->attachments[0].data.empty());  // in the edXML, not twice
    const Bytes plain = encode_content(*c);
    CHECK(plain.size() < xml.size() + 2048);
    auto back = decode_content(plain);
    REQUIRE(back.ok());
    CHECK(back->edxml == bytes_of(xml));
    CHECK(encode_content(*back) == plain);

    auto parsed = complete_from_edxml(*back);
    REQUIRE(parsed.ok());
    CHECK(back->attachments[0].data == d.attachments[0].data);
    CHECK(back->attachments[0].encoded_mime == "application/zip");
    CHECK(parsed->traces.size() == 2);

    SECTION("content whose list disagrees with its edXML is refused") {
        auto other = decode_content(plain);
        REQUIRE(other.ok());
        other->attachments[0].name = "khac.txt";
        auto r = complete_from_edxml(*other);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("is 'note.txt' in the carried edXML but 'khac.txt' in the document"));
        other->attachments.clear();
        r = complete_from_edxml(*other);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("holds 1 attachment(s) but the document lists 0"));
    }
    SECTION("a native content encodes without it, as before") {
        DocumentContent n = *c;
        n.edxml.clear();
        const Bytes native = encode_content(n);
        CHECK(native.size() + xml.size() <= plain.size() + 8);
        auto nd = decode_content(native);
        REQUIRE(nd.ok());
        CHECK(nd->edxml.empty());
    }
}

TEST_CASE("an imported status travels in the report as given", "[protocol][edxml]") {
    StatusReport r;
    r.reporter = kTo;
    r.informed = kFrom;
    r.created_ms = 1764000000123ull;
    r.document.fill(7);
    r.code = "03";
    r.time_ms = r.created_ms;
    r.edxml = bytes_of("<edXML>as given</edXML>");
    const Bytes plain = encode_status(r);
    auto back = decode_status(plain);
    REQUIRE(back.ok());
    CHECK(back->edxml == r.edxml);
    r.edxml.clear();
    auto native = decode_status(encode_status(r));
    REQUIRE(native.ok());
    CHECK(native->edxml.empty());
}

TEST_CASE("a native document's edXML has TraceHeaderList and the whole Bussiness", "[protocol][edxml]") {
    DocumentContent c;
    c.sender = kFrom;
    c.recipients = {kTo};
    c.created_ms = 1764000000123ull;
    c.meta.document_id = kFrom + ",2025/11/24,1";
    c.meta.subject = "Công văn";
    c.meta.promulgation.date = "2025/11/24";
    const Bytes xml = write(from_content(c));
    const std::string text(as_chars(xml));
    CHECK_THAT(text, Contains("<edXML:TraceHeaderList>"));
    CHECK_THAT(text, Contains("<edXML:Bussiness>"));
    const Document d = parse_document_ok(text);
    REQUIRE(d.traces.size() == 1);
    CHECK(d.traces[0].organ_id == kFrom);
    CHECK(d.traces[0].timestamp == ms_to_timestamp(c.created_ms));
    REQUIRE(d.business);
    CHECK(d.business->business_doc_type == BusinessDocType::New);
    CHECK(d.business->document_id == c.meta.document_id);
    CHECK(d.business->paper == "0");

    // Without a promulgation date (a plain `send`): issued when sent, so the file still parses.
    c.meta.promulgation.date.clear();
    const Document undated = parse_document_ok(std::string(as_chars(write(from_content(c)))));
    CHECK(undated.promulgation.date == ms_to_date(c.created_ms));
}

TEST_CASE("the issuer's XML-DSig signature: valid, unverified, invalid, malformed, absent", "[protocol][edxml]") {
    ScratchDir scratch;
    const TestCa ca(scratch.path);
    const std::string signed_xml = ca.sign(library_document(kFrom, kTo, signature_template()));
    const std::vector<std::string> anchors{read_file(scratch.path / "ca" / "ca.pem")};
    REQUIRE(parse(bytes_of(signed_xml)).ok());

    SECTION("valid with the CA, naming the signer") {
        const auto c = verify_signature(bytes_of(signed_xml), anchors);
        INFO(c.reason);
        CHECK(c.state == SignatureState::Valid);
        REQUIRE(c.signer);
        CHECK_THAT(c.signer->subject, Contains(ca.signer_subject_cn));
        CHECK_THAT(c.signer->issuer, Contains("CN=Lien Thong Test Root"));
        CHECK_FALSE(c.signer->serial.empty());
        CHECK_THAT(c.signer->not_after, Contains("UTC"));
    }
    SECTION("without a CA: valid, signer unverified") {
        const auto c = verify_signature(bytes_of(signed_xml), {});
        CHECK(c.state == SignatureState::Unverified);
        CHECK_THAT(c.reason, Contains("no trusted CA"));
        REQUIRE(c.signer);
        CHECK_THAT(c.signer->subject, Contains(ca.signer_subject_cn));
    }
    SECTION("another CA: valid, signer unverified") {
        ScratchDir other_dir;
        const TestCa other(other_dir.path);
        const auto c = verify_signature(bytes_of(signed_xml), {read_file(other_dir.path / "ca" / "ca.pem")});
        CHECK(c.state == SignatureState::Unverified);
        CHECK_THAT(c.reason, Contains("does not chain to a trusted CA"));
    }
    SECTION("one byte of the signed content changed: invalid") {
        std::string changed = signed_xml;
        const size_t at = changed.find("V/v thử nghiệm");
        REQUIRE(at != std::string::npos);
        changed[at] = 'W';
        const auto c = verify_signature(bytes_of(changed), anchors);
        CHECK(c.state == SignatureState::Invalid);
        CHECK_THAT(c.reason, Contains("changed after signing"));
    }
    SECTION("the certificate replaced by junk: malformed") {
        std::string junk = signed_xml;
        const size_t b = junk.find("<X509Certificate>") + 17;
        const size_t e = junk.find("</X509Certificate>");
        REQUIRE(e > b);
        junk.replace(b, e - b, "MIIFqTCCBJG");  // as cut short in the SDK's samples
        const auto c = verify_signature(bytes_of(junk), anchors);
        CHECK(c.state == SignatureState::Malformed);
        CHECK_THAT(c.reason, Contains("cannot be checked"));
    }
    SECTION("no signature: absent") {
        const auto c = verify_signature(bytes_of(library_document(kFrom, kTo)), anchors);
        CHECK(c.state == SignatureState::Absent);
    }
    SECTION("a reference to anything outside the file is never followed") {
        std::string external = signed_xml;
        const size_t at = external.find("URI=\"\"");
        REQUIRE(at != std::string::npos);
        external.replace(at, 6, "URI=\"http://127.0.0.1:9/x\"");
        const auto c = verify_signature(bytes_of(external), anchors);
        CHECK(c.state == SignatureState::Malformed);
    }
}
