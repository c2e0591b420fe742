// edXML files built the way agencies' systems write them, for the unit and e2e tests: what the
// national EdXML library (the Java library of the document-exchange SDK) produces, with its
// zipped attachments, full Bussiness block and TraceHeaderList; and an XML-DSig signature by a
// test CA made on the spot with the openssl and xmlsec1 command-line tools (Debian packages
// openssl and xmlsec1, installed by deploy/install-deps.sh).
#pragma once

#include <sodium.h>
#include <zip.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "protocol/bytes.h"

namespace lienthong::test_edxml {

using protocol::Bytes;

// A zip holding one file `name` with `data`, written with libzip in memory (as the national
// library zips a part).
inline Bytes make_zip(const std::string& name, const std::string& data) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* mem = zip_source_buffer_create(nullptr, 0, 0, &err);
    if (!mem) throw std::runtime_error("make_zip: no source");
    zip_source_keep(mem);  // the archive frees its reference on close; ours reads the result
    zip_t* z = zip_open_from_source(mem, ZIP_TRUNCATE, &err);
    if (!z) throw std::runtime_error("make_zip: cannot open");
    zip_source_t* file = zip_source_buffer(z, data.data(), data.size(), 0);
    if (!file || zip_file_add(z, name.c_str(), file, ZIP_FL_ENC_UTF_8) < 0)
        throw std::runtime_error("make_zip: cannot add");
    if (zip_close(z) < 0) throw std::runtime_error("make_zip: cannot close");
    Bytes out;
    zip_stat_t st;
    if (zip_source_stat(mem, &st) == 0 && zip_source_open(mem) == 0) {
        out.resize(static_cast<size_t>(st.size));
        const zip_int64_t n = zip_source_read(mem, out.data(), out.size());
        zip_source_close(mem);
        if (n != static_cast<zip_int64_t>(out.size())) out.clear();
    }
    zip_source_free(mem);
    zip_error_fini(&err);
    if (out.empty()) throw std::runtime_error("make_zip: cannot read the archive back");
    return out;
}

inline std::string base64(const Bytes& b) {
    std::string out(sodium_base64_encoded_len(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);
    return out;
}

inline const std::string kNoteText = "Kính gửi các đơn vị: nội dung ghi chú kèm theo.\n";

// An XML-DSig signature template (empty values) that xmlsec1 --sign fills in: enveloped,
// over the whole file, RSA-SHA256, with the signer's certificate in KeyInfo.
inline std::string signature_template() {
    return R"(<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>)"
           R"(<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>)"
           R"(<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>)"
           R"(<Reference URI=""><Transforms>)"
           R"(<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>)"
           R"(<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>)"
           R"(<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference>)"
           R"(</SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>)";
}

// A document as the national library writes it, from `from` to `to`: BussinessDocType 0 with
// Paper 1 and every Bussiness field, a TraceHeaderList of two entries (the second's OrganId
// literally "null"), a DueDate before the PromulgationDate, and note.txt zipped and labelled
// application/zip in AttachmentEncoded while the manifest says text/plain. `signature` goes
// at the end of edXMLHeader (a template to sign, or "").
inline std::string library_document(const std::string& from, const std::string& to, const std::string& signature = "",
                                    const std::string& document_id = "") {
    const std::string id = document_id.empty() ? from + ",2025/03/14,125/UBND-VP" : document_id;
    const Bytes zip = make_zip("note.txt", kNoteText);
    return R"(<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>)" + from + R"(</edXML:OrganId><edXML:OrganName>UBND huyện thử nghiệm</edXML:OrganName></edXML:From>
        <edXML:To><edXML:OrganId>)" + to + R"(</edXML:OrganId><edXML:OrganName>Sở Nội vụ thử nghiệm</edXML:OrganName></edXML:To>
        <edXML:DocumentId>)" + id + R"(</edXML:DocumentId>
        <edXML:Code><edXML:CodeNumber>125</edXML:CodeNumber><edXML:CodeNotation>UBND-VP</edXML:CodeNotation></edXML:Code>
        <edXML:PromulgationInfo><edXML:Place>Hòa Vang</edXML:Place><edXML:PromulgationDate>2025/03/14</edXML:PromulgationDate></edXML:PromulgationInfo>
        <edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
        <edXML:Subject>V/v thử nghiệm liên thông văn bản</edXML:Subject>
        <edXML:Content>Nội dung công văn.</edXML:Content>
        <edXML:SignerInfo><edXML:Position>Chủ tịch</edXML:Position><edXML:FullName>Nguyễn Văn A</edXML:FullName></edXML:SignerInfo>
        <edXML:DueDate>2025/03/10</edXML:DueDate>
        <edXML:OtherInfo><edXML:Priority>1</edXML:Priority><edXML:PageAmount>2</edXML:PageAmount></edXML:OtherInfo>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader><edXML:OrganId>)" + from + R"(</edXML:OrganId><edXML:Timestamp>2025/03/14 08:30:00</edXML:Timestamp></edXML:TraceHeader>
        <edXML:TraceHeader><edXML:OrganId>null</edXML:OrganId><edXML:Timestamp>2025/03/14 08:31:05</edXML:Timestamp></edXML:TraceHeader>
        <edXML:Bussiness>
          <edXML:BussinessDocType>0</edXML:BussinessDocType>
          <edXML:BussinessDocReason>Văn bản mới</edXML:BussinessDocReason>
          <edXML:Paper>1</edXML:Paper>
          <edXML:StaffInfo><edXML:Department>Văn thư</edXML:Department><edXML:Staff>Trần Thị B</edXML:Staff><edXML:Email>vanthu@example.gov.vn</edXML:Email><edXML:Mobile>0912000002</edXML:Mobile></edXML:StaffInfo>
          <edXML:BussinessDocumentInfo><edXML:DocumentInfo>0</edXML:DocumentInfo><edXML:DocumentReceiver>0</edXML:DocumentReceiver><edXML:ReceiverList><edXML:Receiver><edXML:OrganId>)" + to + R"(</edXML:OrganId><edXML:ReceiverType>1</edXML:ReceiverType></edXML:Receiver></edXML:ReceiverList></edXML:BussinessDocumentInfo>
        </edXML:Bussiness>
      </edXML:TraceHeaderList>
)" + signature + R"(
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference>
          <edXML:ContentId>cid:1</edXML:ContentId>
          <edXML:ContentType>text/plain</edXML:ContentType>
          <edXML:Description>ghi chú</edXML:Description>
          <edXML:AttachmentName>note.txt</edXML:AttachmentName>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>cid:1</ContentId>
      <AttachmentName>note.txt</AttachmentName>
      <Description>ghi chú</Description>
      <ContentType>application/zip</ContentType>
      <edXML:ContentTransferEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">)" + base64(zip) +
           R"(</edXML:ContentTransferEncoded>
    </Attachment>
  </AttachmentEncoded>
</edXML>
)";
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

// A CA and a signer certificate it issued, made with the openssl CLI in `dir`:
// dir/ca/ca.pem (the trust anchor, alone in its folder), dir/signer.key, dir/signer.pem.
struct TestCa {
    std::filesystem::path dir;
    std::string ca_dir() const { return (dir / "ca").string(); }
    std::string signer_subject_cn = "CN=Van thu So Noi vu thu nghiem";

    explicit TestCa(std::filesystem::path d) : dir(std::move(d)) {
        std::filesystem::create_directories(dir / "ca");
        const std::string q = "'" + dir.string() + "'";
        const std::string cmd =
            "cd " + q + " && "
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca/ca.pem -days 30 "
            "-subj '/O=Lien Thong Test CA/CN=Lien Thong Test Root' >openssl.log 2>&1 && "
            "openssl req -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr "
            "-subj '/O=So Noi vu thu nghiem/CN=Van thu So Noi vu thu nghiem' >>openssl.log 2>&1 && "
            "openssl x509 -req -in signer.csr -CA ca/ca.pem -CAkey ca.key -CAcreateserial -days 30 "
            "-out signer.pem >>openssl.log 2>&1";
        if (std::system(cmd.c_str()) != 0)
            throw std::runtime_error("openssl could not make the test CA: " + read_file(dir / "openssl.log"));
    }

    // `xml` (holding signature_template()) signed by the signer with xmlsec1.
    std::string sign(const std::string& xml) const {
        write_file(dir / "unsigned.xml", xml);
        const std::string q = "'" + dir.string() + "'";
        const std::string cmd = "cd " + q + " && xmlsec1 --sign --privkey-pem signer.key,signer.pem "
                                "--output signed.xml unsigned.xml >xmlsec1.log 2>&1";
        if (std::system(cmd.c_str()) != 0)
            throw std::runtime_error("xmlsec1 could not sign: " + read_file(dir / "xmlsec1.log"));
        return read_file(dir / "signed.xml");
    }
};

}  // namespace lienthong::test_edxml
