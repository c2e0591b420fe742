// edXML as agencies' systems write it, between real nodes: a file built as the national EdXML
// library builds it (zipped part labelled application/zip under a text/plain manifest,
// BussinessDocType 0 with Paper 1, two TraceHeaders one of them "null") is delivered and
// exported byte for byte with every field in show --json; the issuer's XML-DSig signature by a
// CA made in the test is reported at the recipient from the bytes it holds (valid with the CA,
// unverified without, invalid after a one-byte change, refused at import under the policy); a
// natively sent document exports with TraceHeaderList and Bussiness.
#include <sodium.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "protocol/edxml.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/official_helpers.h"
#include "tests/edxml_fixtures.h"

using namespace lienthong::e2e;
using namespace lienthong::e2e::official;
using namespace lienthong::test_edxml;
using Catch::Matchers::Contains;

namespace {

const std::string kA = "000.00.41.H14";
const std::string kB = "000.00.42.H14";
const std::string kC = "000.00.43.H14";

std::string sha256_hex(const std::string& s) {
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, reinterpret_cast<const uint8_t*>(s.data()), s.size());
    return lienthong::protocol::to_hex(lienthong::protocol::ByteView(h, sizeof h));
}

std::string text_of(const json& binary_value) {
    const auto b = bin(binary_value);
    return std::string(b.begin(), b.end());
}

ProcessResult admin_at(const TestNode& n, std::vector<std::string> args) {
    args.insert(args.begin(), {admin_bin(), "-c", n.config_path()});
    return run_process(args, 30s);
}

}  // namespace

TEST_CASE("a file the national library writes is delivered byte for byte with every field shown", "[e2e]") {
    NodeOptions with_drop;
    with_drop.extra_yaml = "drop_dir: drop\n";  // relative to B's folder
    TestNode a(kA), b(kB, with_drop);
    a.add_peer(b);
    b.add_peer(a);
    a.start();
    b.start();
    const std::string xml = library_document(kA, kB);
    const std::string id = import_ok(a, xml);
    wait_stored(b, id);

    const json x = b.api({{"op", "export"}, {"id", id}, {"format", "edxml"}});
    CHECK(bin(x.at("edxml")) == bytes(xml));
    // The drop folder hands the document system the same bytes.
    const std::string incoming = b.dir() + "/drop/incoming/" + id + ".edxml";
    REQUIRE(wait_until([&] { return std::filesystem::exists(incoming); }, 20s));
    CHECK(read_file(incoming) == xml);

    const json s = b.api({{"op", "show"}, {"id", id}});
    const json& o = s.at("original_edxml");
    CHECK(o.at("carried") == true);
    CHECK(o.at("bytes") == xml.size());
    CHECK(o.at("sha256") == sha256_hex(xml));
    CHECK(o.at("signature").at("state") == "absent");
    REQUIRE(o.at("traces").size() == 2);
    CHECK(o.at("traces")[0].at("organ_id") == kA);
    CHECK(o.at("traces")[1].at("organ_id") == "null");
    CHECK(o.at("traces")[1].at("timestamp") == "2025/03/14 08:31:05");
    const json& biz = o.at("bussiness");
    CHECK(biz.at("doc_type") == 0);
    CHECK(biz.at("paper") == "1");
    CHECK(biz.at("reason") == "Văn bản mới");
    CHECK(biz.at("staff").at("staff") == "Trần Thị B");
    CHECK(biz.at("staff").at("mobile") == "0912000002");
    REQUIRE(biz.at("document_info").at("receivers").size() == 1);
    CHECK(biz.at("document_info").at("receivers")[0].at("organ_id") == kB);
    REQUIRE(o.at("oddities").size() == 3);
    CHECK_THAT(o.at("oddities")[0].get<std::string>(), Contains("OrganId 'null'"));
    CHECK_THAT(o.at("oddities")[1].get<std::string>(), Contains("DueDate 2025/03/10 is before"));
    // The meta carries the Bussiness too (what the index and rules read).
    CHECK(s.at("meta").at("bussiness").at("paper") == "1");
    REQUIRE(s.at("attachments").size() == 1);
    const json& att = s.at("attachments")[0];
    CHECK(att.at("name") == "note.txt");
    CHECK(att.at("mime") == "text/plain");
    CHECK(att.at("encoded_mime") == "application/zip");
    CHECK(att.at("zipped") == true);
    CHECK(att.at("unzipped") == true);
    CHECK(att.at("bytes") == kNoteText.size());

    // Export: the attachment as the document system meant it, or the part as carried.
    const json raw = b.api({{"op", "export"}, {"id", id}});
    CHECK(text_of(raw.at("attachments")[0].at("data")) == kNoteText);
    const json parts = b.api({{"op", "export"}, {"id", id}, {"raw_parts", true}});
    const auto part = bin(parts.at("attachments")[0].at("data"));
    CHECK(part == make_zip("note.txt", kNoteText));
    auto bad = b.call({{"op", "export"}, {"id", id}, {"raw_parts", "yes"}});
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error(), Contains("field 'raw_parts' must be true or false"));

    // And with the admin CLI, as an operator would: cmp with the file given.
    TempDir out;
    REQUIRE(admin_at(b, {"export", id, "--out", out.path() + "/x", "--format", "edxml"}).exit_code == 0);
    CHECK(read_file(out.path() + "/x/" + id + ".edxml") == xml);
    REQUIRE(admin_at(b, {"export", id, "--out", out.path() + "/raw"}).exit_code == 0);
    CHECK(read_file(out.path() + "/raw/note.txt") == kNoteText);
    REQUIRE(admin_at(b, {"export", id, "--out", out.path() + "/parts", "--raw-parts"}).exit_code == 0);
    CHECK(bytes(read_file(out.path() + "/parts/note.txt")) == part);

    // The sender's own copy shows and exports the same.
    CHECK(bin(a.api({{"op", "export"}, {"id", id}, {"format", "edxml"}}).at("edxml")) == bytes(xml));

    // A native document: its edXML carries a TraceHeaderList and the whole Bussiness.
    const std::string body = "Nội dung";
    const json sent = a.api({{"op", "send"},
                             {"to", json::array({kB})},
                             {"subject", "gửi trực tiếp"},
                             {"body", json::binary(std::vector<uint8_t>(body.begin(), body.end()))}});
    const std::string native = sent.at("id");
    wait_stored(b, native);
    const std::string exported = text_of(b.api({{"op", "export"}, {"id", native}, {"format", "edxml"}}).at("edxml"));
    CHECK_THAT(exported, Contains("<edXML:TraceHeaderList>"));
    CHECK_THAT(exported, Contains("<edXML:Bussiness>"));
    const auto doc = parse_document(bytes(exported));
    REQUIRE(doc.traces.size() == 1);
    CHECK(doc.traces[0].organ_id == kA);
    REQUIRE(doc.business);
    CHECK(doc.business->paper == "0");
    CHECK(doc.business->document_id == doc.document_id);
    CHECK_FALSE(b.api({{"op", "show"}, {"id", native}}).contains("original_edxml"));

    for (auto* n : {&a, &b}) {
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}

TEST_CASE("the issuer's XML-DSig signature is reported at the recipient and can be refused at import", "[e2e]") {
    TempDir scratch;
    const TestCa ca(scratch.path() + "/pki");
    NodeOptions with_ca;
    with_ca.extra_yaml = "edxml:\n  trusted_ca_dir: " + ca.ca_dir() + "\n";
    NodeOptions refusing;
    refusing.extra_yaml = "edxml:\n  refuse_invalid_signature: true\n";
    TestNode a(kA), b(kB, with_ca), c(kC, refusing);
    a.add_peer(b);
    a.add_peer(c);
    b.add_peer(a);
    b.add_peer(c);
    c.add_peer(b);
    c.add_peer(a);
    for (auto* n : {&a, &b, &c}) n->start();

    const std::string signed_xml = ca.sign(library_document(kA, kB, signature_template()));
    // B trusts the CA: valid, by whom.
    const std::string id = import_ok(a, signed_xml);
    wait_stored(b, id);
    {
        const json sig = b.api({{"op", "show"}, {"id", id}}).at("original_edxml").at("signature");
        INFO(sig.dump());
        CHECK(sig.at("state") == "valid");
        CHECK_THAT(sig.at("signer").at("subject").get<std::string>(), Contains(ca.signer_subject_cn));
        CHECK_THAT(sig.at("signer").at("issuer").get<std::string>(), Contains("CN=Lien Thong Test Root"));
        CHECK_FALSE(sig.at("signer").at("serial").get<std::string>().empty());
        CHECK_FALSE(sig.at("signer").at("not_after").get<std::string>().empty());
        CHECK(bin(b.api({{"op", "export"}, {"id", id}, {"format", "edxml"}}).at("edxml")) == bytes(signed_xml));
    }
    // A has no CA configured: the same bytes are valid, signer unverified.
    {
        const json sig = a.api({{"op", "show"}, {"id", id}}).at("original_edxml").at("signature");
        CHECK(sig.at("state") == "unverified");
        CHECK_THAT(sig.at("reason").get<std::string>(), Contains("no trusted CA"));
    }
    // One byte of the signed content changed before import: delivered (default policy), INVALID.
    std::string changed = ca.sign(library_document(kA, kB, signature_template(), kA + ",2025/03/14,126/UBND-VP"));
    const size_t at = changed.find("V/v thử nghiệm");
    REQUIRE(at != std::string::npos);
    changed[at] = 'W';
    const std::string bad = import_ok(a, changed);
    wait_stored(b, bad);
    {
        const json sig = b.api({{"op", "show"}, {"id", bad}}).at("original_edxml").at("signature");
        CHECK(sig.at("state") == "invalid");
        CHECK_THAT(sig.at("reason").get<std::string>(), Contains("changed after signing"));
    }
    // C refuses such a file at import, naming the reason; a valid one it sends.
    {
        std::string from_c = ca.sign(library_document(kC, kB, signature_template()));
        std::string tampered = from_c;
        tampered[tampered.find("V/v thử nghiệm")] = 'W';
        auto refused = import(c, tampered);
        REQUIRE_FALSE(refused.ok());
        CHECK_THAT(refused.error(), Contains("the issuer's XML-DSig signature is invalid"));
        CHECK_THAT(refused.error(), Contains("nothing was sent"));
        const std::string ok_id = import_ok(c, from_c);
        wait_stored(b, ok_id);
        CHECK(b.api({{"op", "show"}, {"id", ok_id}}).at("original_edxml").at("signature").at("state") == "valid");
    }
    for (auto* n : {&a, &b, &c}) {
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}

TEST_CASE("a file addressed to the node's own agency lands in its own inbox once with a receipt it signed", "[e2e]") {
    TestNode a(kA);
    a.start();
    const std::string xml = library_document(kA, kA);
    const std::string id = import_ok(a, xml);
    const auto delivered = [&] {
        const json s = a.api({{"op", "show"}, {"id", id}});
        return s.at("deliveries").size() == 1 && s.at("deliveries")[0].at("state") == "delivered";
    };
    REQUIRE(wait_until(delivered, 20s));
    const auto check_once = [&] {
        const json s = a.api({{"op", "show"}, {"id", id}});
        CHECK(s.at("direction") == "sent");
        CHECK(s.at("received_ms").get<uint64_t>() > 0);  // also in the inbox
        CHECK(s.at("deliveries")[0].at("agency") == kA);
        CHECK(s.at("deliveries")[0].at("receipt_ms").get<uint64_t>() > 0);
        CHECK(codes_for(a, id, kA) == std::vector<std::string>{"01"});  // the receipt's, once
        const json inbox = a.api({{"op", "inbox"}});
        CHECK(inbox.at("total") == 1);
        REQUIRE(inbox.at("documents").size() == 1);
        CHECK(inbox.at("documents")[0].at("id") == id);
        CHECK(inbox.at("documents")[0].at("sender") == kA);
        CHECK(bin(a.api({{"op", "export"}, {"id", id}, {"format", "edxml"}}).at("edxml")) == bytes(xml));
        const json r = a.api({{"op", "receipt"}, {"id", id}});
        CHECK(r.at("pending") == "");
        REQUIRE(r.at("receipts").size() >= 1);
        CHECK(r.at("receipts")[0].at("agency") == kA);
        CHECK(r.at("receipts")[0].at("signature_valid") == true);
        CHECK(r.at("receipts")[0].at("hash_matches") == true);
    };
    check_once();
    CHECK(a.log_count("event=received") == 1);
    // After a restart nothing is delivered again.
    a.restart();
    std::this_thread::sleep_for(300ms);
    check_once();
    CHECK(a.log_count("event=received") == 1);

    // A truly unknown recipient is refused as before.
    auto unknown = import(a, library_document(kA, kC));
    REQUIRE_FALSE(unknown.ok());
    CHECK_THAT(unknown.error(), Contains("unknown recipient '" + kC + "'"));
    CHECK_THAT(unknown.error(), Contains("peer add"));
    CHECK(a.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
}
