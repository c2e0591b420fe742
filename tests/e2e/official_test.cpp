// Official documents between real nodes whose agency codes are the edXML samples' own
// (../shared/edxml-samples): every sample imports, travels and exports unchanged; status
// messages build the sender's timeline along the lifecycle; revoke/update/replace show up at
// the recipient; malformed edXML, lifecycle skips and confidential documents are refused with
// nothing sent; hỏa tốc overtakes a queue of 500; overdue and stats reports count exactly.
//
// Samples: 000.00.00.G22 sends to 000.00.00.H41 (edoc_update/replacement/revocation and the
// status messages), 002.00.20.H13 sends edoc_new to 28.22.H17. The samples hold no "new"
// document from G22 for the others to act on; G22's is edoc_new re-addressed from G22 to H41
// (it already carries G22's DocumentId 000.00.00.G22,2015/09/30,7816/VPCP-TTĐT, the one the
// update, replacement, revocation and every status name). The business key is (sender,
// DocumentId), so G22 sends that New document once per pair of nodes: status_rejection_02 is
// applied in a test of its own, on a fresh pair, where the key again names one document and
// the sample files are imported unmodified.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "protocol/edxml.h"
#include "tests/e2e/harness.h"

using namespace lienthong::e2e;
namespace edxml = lienthong::protocol::edxml;
using Catch::Matchers::Contains;
using lienthong::protocol::Bytes;

namespace {

namespace fs = std::filesystem;

const std::string kG22 = "000.00.00.G22";
const std::string kH41 = "000.00.00.H41";
const std::string kH14 = "000.00.00.H14";
const std::string kH13 = "002.00.20.H13";
const std::string kH17 = "28.22.H17";
const std::string kDocumentId = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT";
constexpr uint64_t kDayMs = 86400000;

fs::path samples_dir() {
    return fs::path(__FILE__).parent_path() / "../../../shared/edxml-samples";
}

// False (with a warning saying why) when the shared samples are not checked out here.
bool have_samples() {
    if (fs::is_directory(samples_dir())) return true;
    WARN("SKIPPED: edXML samples directory " << samples_dir()
                                             << " is missing; these tests need it");
    return false;
}

std::string sample(const std::string& name) {
    std::ifstream in(samples_dir() / name, std::ios::binary);
    REQUIRE(in);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// `s` with the first `from` replaced by `to`; the test fails if `from` is absent.
std::string replace_first(std::string s, std::string_view from, std::string_view to) {
    const size_t pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    return s.replace(pos, from.size(), to);
}

// `s` without the first element that starts with `open` and ends with `close`.
std::string remove_block(std::string s, std::string_view open, std::string_view close) {
    const size_t b = s.find(open);
    REQUIRE(b != std::string::npos);
    const size_t e = s.find(close, b);
    REQUIRE(e != std::string::npos);
    return s.erase(b, e + close.size() - b);
}

std::string organ(const std::string& id) {
    return "<edXML:OrganId>" + id + "</edXML:OrganId>";
}

// G22's New document (see the top of this file).
std::string g22_new_document() {
    return replace_first(replace_first(sample("edoc_new.edxml"), organ(kH13), organ(kG22)),
                         organ(kH17), organ(kH41));
}

edxml::Document parse_document(const Bytes& xml) {
    auto r = edxml::parse(xml);
    INFO((r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    REQUIRE(std::holds_alternative<edxml::Document>(*r));
    return std::get<edxml::Document>(std::move(r).value());
}

edxml::Status parse_status(const Bytes& xml) {
    auto r = edxml::parse(xml);
    INFO((r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    REQUIRE(std::holds_alternative<edxml::Status>(*r));
    return std::get<edxml::Status>(std::move(r).value());
}

Bytes bytes(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

lienthong::Result<json> import(TestNode& n, const std::string& xml,
                               const std::vector<std::string>& to = {}) {
    json req{{"op", "import"}, {"data", json::binary(bytes(xml))}};
    if (!to.empty()) req["to"] = to;
    return n.call(req);
}

// Imports and returns the message id; fails the test with the node's error otherwise.
std::string import_ok(TestNode& n, const std::string& xml,
                      const std::vector<std::string>& to = {}) {
    auto r = import(n, xml, to);
    INFO("import at " << n.agency() << ": " << (r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    return r->at("id").get<std::string>();
}

bool stored(TestNode& n, const std::string& id) {
    return n.call({{"op", "show"}, {"id", id}}).ok();
}

void wait_stored(TestNode& n, const std::string& id) {
    INFO("waiting for " << id.substr(0, 16) << " at " << n.agency());
    REQUIRE(wait_until([&] { return stored(n, id); }, 20s));
}

json timeline(TestNode& n, const std::string& doc) {
    return n.api({{"op", "show"}, {"id", doc}}).at("timeline");
}

// Waits until the timeline of `doc` at `n` holds the event of status message `msg`.
void wait_event(TestNode& n, const std::string& doc, const std::string& msg) {
    INFO("waiting for status " << msg.substr(0, 16) << " on " << doc.substr(0, 16) << " at "
                               << n.agency());
    REQUIRE(wait_until(
        [&] {
            for (const auto& e : timeline(n, doc))
                if (e.at("message") == msg) return true;
            return false;
        },
        20s));
}

std::vector<std::string> codes_for(TestNode& n, const std::string& doc,
                                   const std::string& recipient) {
    std::vector<std::string> out;
    for (const auto& e : timeline(n, doc))
        if (e.at("recipient") == recipient) out.push_back(e.at("code").get<std::string>());
    return out;
}

// The header fields and attachments that must survive import, travel and export.
void check_same_document(const edxml::Document& got, const edxml::Document& want) {
    CHECK(got.from == want.from);
    CHECK(got.to == want.to);
    CHECK(got.document_id == want.document_id);
    CHECK(got.code == want.code);
    CHECK(got.promulgation == want.promulgation);
    CHECK(got.type == want.type);
    CHECK(got.subject == want.subject);
    CHECK(got.content == want.content);
    CHECK(got.signer == want.signer);
    CHECK(got.due_date == want.due_date);
    CHECK(got.priority == want.priority);
    CHECK(got.other == want.other);
    CHECK(got.steering_type == want.steering_type);
    CHECK(got.to_places == want.to_places);
    CHECK(got.response_for == want.response_for);
    CHECK(got.business == want.business);
    REQUIRE(got.attachments.size() == want.attachments.size());
    for (size_t i = 0; i < want.attachments.size(); ++i) {
        INFO("attachment " << i << " " << want.attachments[i].name);
        CHECK(got.attachments[i].name == want.attachments[i].name);
        CHECK(got.attachments[i].content_type == want.attachments[i].content_type);
        CHECK(got.attachments[i].description == want.attachments[i].description);
        CHECK(got.attachments[i].data.size() == want.attachments[i].data.size());
        CHECK(got.attachments[i].data == want.attachments[i].data);
    }
}

// Exports `id` at `n` as edXML and checks it against the sample it was imported from.
void check_exported_document(TestNode& n, const std::string& id, const std::string& original_xml) {
    INFO("export of " << id.substr(0, 16) << " at " << n.agency());
    const json x = n.api({{"op", "export"}, {"id", id}, {"format", "edxml"}});
    CHECK(x.at("direction") == "received");
    check_same_document(parse_document(bin(x.at("edxml"))), parse_document(bytes(original_xml)));
}

// Imports a status sample at `reporter`, waits for it at `informed`, and checks the status
// `informed` exports is the sample's.
std::string relay_status(TestNode& reporter, TestNode& informed, const std::string& doc,
                         const std::string& name) {
    INFO(name);
    const std::string xml = sample(name);
    const std::string id = import_ok(reporter, xml);
    wait_event(informed, doc, id);
    const json x = informed.api({{"op", "export"}, {"id", id}, {"format", "edxml"}});
    CHECK(x.at("kind") == "status");
    CHECK(x.at("direction") == "received");
    CHECK(parse_status(bin(x.at("edxml"))) == parse_status(bytes(xml)));
    return id;
}

uint64_t now_ms() {
    using namespace std::chrono;
    return static_cast<uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace

TEST_CASE(
    "every edXML sample travels and exports unchanged; statuses and changes reach the other side",
    "[e2e]") {
    if (!have_samples()) return;
    TestNode g22(kG22), h41(kH41), h13(kH13), h17(kH17);
    g22.add_peer(h41);
    h41.add_peer(g22);
    h13.add_peer(h17);
    h17.add_peer(h13);
    for (auto* n : {&g22, &h41, &h13, &h17}) n->start();

    // edoc_new as it is, from the commune H13 to H17.
    const std::string edoc_new = sample("edoc_new.edxml");
    const std::string new_h17 = import_ok(h13, edoc_new);
    wait_stored(h17, new_h17);
    check_exported_document(h17, new_h17, edoc_new);

    // G22's New document, to H41 only (the samples also address H14 and G17).
    const std::string g22_new = g22_new_document();
    const std::string doc = import_ok(g22, g22_new, {kH41});
    wait_stored(h41, doc);
    check_exported_document(h41, doc, g22_new);
    {
        const json s = h41.api({{"op", "show"}, {"id", doc}});
        CHECK(s.at("document_id") == kDocumentId);
        CHECK(s.at("revoked") == false);
        CHECK(s.at("lifecycle").empty());
    }
    // The receipt is H41's 01 at G22.
    REQUIRE(wait_until([&] { return codes_for(g22, doc, kH41) == std::vector<std::string>{"01"}; },
                       20s));

    // H41 reports along the lifecycle; each status lands on the document's timeline at G22.
    std::vector<std::string> status_ids;
    for (const char* name :
         {"status_inbox_01.edxml", "status.edxml", "status_acceptance_03.edxml",
          "status_assignment_04.edxml", "status_processing_05.edxml", "status_finish_06.edxml"})
        status_ids.push_back(relay_status(h41, g22, doc, name));
    // G22 asks for a recall; H41 refuses it.
    status_ids.push_back(relay_status(g22, h41, doc, "status_cancellation_13.edxml"));
    wait_event(g22, doc, status_ids.back());  // the sender's own timeline has it at once
    status_ids.push_back(relay_status(h41, g22, doc, "status_change-rejection_16.edxml"));

    // An answered recall request cannot be answered again.
    {
        auto again = import(h41, sample("status_change-rejection_16.edxml"));
        REQUIRE_FALSE(again.ok());
        CHECK_THAT(again.error(),
                   Contains("no recall request (13) or change of the document to answer"));
        CHECK_THAT(again.error(), Contains("nothing was sent"));
    }

    // Update, replacement and revocation act on the New document (same DocumentId).
    struct Change {
        const char* file;
        const char* business;
    };
    std::vector<std::string> change_ids;
    for (const Change& ch :
         {Change{"edoc_update.edxml", "update"}, Change{"edoc_replacement.edxml", "replace"},
          Change{"edoc_revocation.edxml", "revoke"}}) {
        INFO(ch.file);
        const std::string xml = sample(ch.file);
        const std::string id = import_ok(g22, xml, {kH41});
        change_ids.push_back(id);
        wait_stored(h41, id);
        check_exported_document(h41, id, xml);
        const json c = h41.api({{"op", "show"}, {"id", id}});
        CHECK(c.at("business") == ch.business);
        CHECK(c.at("meta").at("acts_on") == doc);
        // The recipient sees the chain on the original, oldest first.
        const json s = h41.api({{"op", "show"}, {"id", doc}});
        REQUIRE(s.at("lifecycle").size() == change_ids.size());
        for (size_t i = 0; i < change_ids.size(); ++i)
            CHECK(s.at("lifecycle")[i].at("action") == change_ids[i]);
        CHECK(s.at("lifecycle").back().at("business") == ch.business);
        CHECK(s.at("revoked") == (std::string(ch.business) == "revoke"));
    }
    {
        const json s = h41.api({{"op", "show"}, {"id", doc}});
        CHECK(s.at("lifecycle")[0].at("reason") == "Cập nhật văn bản điện tử");
        CHECK(s.at("revoked") == true);
        // Revoked is marked, never deleted: the original still exports.
        check_exported_document(h41, doc, g22_new);
        const json at_sender = g22.api({{"op", "show"}, {"id", doc}});
        REQUIRE(at_sender.at("lifecycle").size() == 3);
        CHECK(at_sender.at("revoked") == true);
    }

    // H41 accepts the change (15): allowed because a change arrived after its last answer.
    status_ids.push_back(relay_status(h41, g22, doc, "status_change-acceptance_15.edxml"));

    const std::vector<std::string> want{"01", "01", "01", "03", "04", "05", "06", "13", "16", "15"};
    CHECK(codes_for(g22, doc, kH41) == want);
    CHECK(codes_for(h41, doc, kH41) == want);
    // Each reported event carries the sample's staff and description.
    {
        const auto accepted = parse_status(bytes(sample("status_acceptance_03.edxml")));
        bool found = false;
        for (const auto& e : timeline(g22, doc)) {
            if (e.at("message") != status_ids[2]) continue;
            found = true;
            CHECK(e.at("code") == "03");
            CHECK(e.at("reporter") == kH41);
            CHECK(e.at("staff") == accepted.staff.staff);
            CHECK(e.at("department") == accepted.staff.department);
            CHECK(e.at("description") == accepted.description);
        }
        CHECK(found);
    }
    // Recalled (15): nothing further is taken.
    {
        auto late = import(g22, sample("status_cancellation_13.edxml"));
        REQUIRE_FALSE(late.ok());
        CHECK_THAT(late.error(), Contains("recalled (15)"));
    }
    for (auto* n : {&g22, &h41, &h13, &h17}) {
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}

TEST_CASE("status_rejection_02 reaches the sender and closes the document's lifecycle", "[e2e]") {
    if (!have_samples()) return;
    // A fresh pair: (G22, DocumentId) names exactly one document here.
    TestNode g22(kG22), h41(kH41);
    g22.add_peer(h41);
    h41.add_peer(g22);
    g22.start();
    h41.start();

    const std::string doc = import_ok(g22, g22_new_document(), {kH41});
    wait_stored(h41, doc);
    relay_status(h41, g22, doc, "status_rejection_02.edxml");
    CHECK(codes_for(g22, doc, kH41) == std::vector<std::string>{"01", "02"});

    // Rejected is final: no registration after it, and no recall of it.
    auto late = import(h41, sample("status_acceptance_03.edxml"));
    REQUIRE_FALSE(late.ok());
    CHECK_THAT(late.error(), Contains("already at 02 (rejected), a final state"));
    auto recall = import(g22, sample("status_cancellation_13.edxml"));
    REQUIRE_FALSE(recall.ok());
    CHECK_THAT(recall.error(), Contains("the recipient rejected the document (02)"));
    // The inbox filter sees the rejection.
    const json rejected = g22.api({{"op", "outbox"}, {"status", "02"}});
    REQUIRE(rejected.at("documents").size() == 1);
    CHECK(rejected.at("documents")[0].at("id") == doc);
    CHECK(g22.stop() == 0);
    CHECK(h41.stop() == 0);
}

TEST_CASE("malformed or incomplete edXML is refused naming the element, and nothing is sent",
          "[e2e]") {
    if (!have_samples()) return;
    TestNode g22(kG22), h41(kH41);
    g22.add_peer(h41);  // H41 is known but never started: the refusals are all local
    g22.start();

    const std::string good = g22_new_document();
    struct Case {
        const char* what;
        std::string xml;
        std::vector<std::string> expect;
    };
    const std::vector<Case> cases{
        {"broken XML", replace_first(good, "</edXML:Subject>", ""), {"not well-formed", "Subject"}},
        {"no From", remove_block(good, "<edXML:From>", "</edXML:From>"), {"has no <From>"}},
        {"no To", remove_block(good, "<edXML:To>", "</edXML:To>"), {"has no <To>"}},
        {"a DueDate that is no date",
         replace_first(good, "<edXML:DueDate>2018/09/28", "<edXML:DueDate>2018/13/01"),
         {"<DueDate>", "'2018/13/01'"}},
        {"a PromulgationDate that is no date",
         replace_first(good, "2019/01/16", "2019/02/30"),
         {"<PromulgationDate>", "not a real date"}},
        {"bad base64",
         replace_first(good, "UEsDBBQACAgI", "UEsDBBQA$AgI"),
         {"<ContentTransferEncoded>", "not valid base64"}},
        {"an unknown status code",
         replace_first(sample("status_cancellation_13.edxml"), "<edXML:StatusCode>13<",
                       "<edXML:StatusCode>07<"),
         {"<StatusCode>", "07"}},
        {"stray bytes before the declaration (found in the wild)",
         sample("invalid/edoc_new-bytes-before-declaration.edxml"),
         {"line 1", "(\"1212\")"}},
        {"a template with a placeholder (found in the wild)",
         sample("invalid/edoc-template-placeholder.edxml"),
         {"line 116", "namespace error"}},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto r = import(g22, c.xml, {kH41});
        REQUIRE_FALSE(r.ok());
        INFO(r.error());
        for (const auto& e : c.expect) CHECK_THAT(r.error(), Contains(e));
        CHECK_THAT(r.error(), Contains("nothing was sent"));
    }
    // A change of a document G22 never sent, a document from another agency, and a
    // confidential document (no confidential_to in this node's config) are refused too.
    {
        auto r = import(g22, sample("edoc_update.edxml"), {kH41});
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("no document with DocumentId"));
        CHECK_THAT(r.error(), Contains(kDocumentId));
        auto other = import(g22, sample("edoc_new.edxml"));
        REQUIRE_FALSE(other.ok());
        CHECK_THAT(other.error(), Contains("From/OrganId is '" + kH13 + "'"));
        auto secret = g22.call({{"op", "send"},
                                {"to", json::array({kH41})},
                                {"subject", "Mật"},
                                {"confidentiality", 2}});
        REQUIRE_FALSE(secret.ok());
        CHECK_THAT(secret.error(), Contains("confidential_to"));
        CHECK_THAT(secret.error(), Contains("nothing was queued"));
    }
    const json status = g22.api({{"op", "status"}});
    CHECK(status.at("outbox_pending") == 0);
    CHECK(status_counter(status, "sent") == 0);
    CHECK(outbox_ids(g22, false).empty());
    CHECK_FALSE(g22.log_contains("event=queued"));

    // The same document unbroken is taken: the refusals were about the defects alone.
    import_ok(g22, good, {kH41});
    CHECK(outbox_ids(g22, false).size() == 1);
    CHECK(g22.stop() == 0);
}

TEST_CASE("a hỏa tốc document sent after 500 queued ordinary ones arrives first", "[e2e]") {
    TestNode g22(kG22), h41(kH41);
    g22.add_peer(h41);
    h41.add_peer(g22);
    g22.start();  // H41 is offline while the queue builds

    constexpr int kOrdinary = 500;
    std::set<std::string> ordinary;
    for (int i = 0; i < kOrdinary; ++i)
        ordinary.insert(g22.api({{"op", "send"},
                                 {"to", json::array({kH41})},
                                 {"subject", "Công văn thường số " + std::to_string(i)},
                                 {"body", "nội dung " + std::to_string(i)}})
                            .at("id")
                            .get<std::string>());
    REQUIRE(ordinary.size() == kOrdinary);
    const std::string urgent = g22.api({{"op", "send"},
                                        {"to", json::array({kH41})},
                                        {"subject", "Công điện hỏa tốc về phòng chống bão"},
                                        {"urgency", 3},
                                        {"body", "hỏa tốc"}})
                                   .at("id")
                                   .get<std::string>();
    CHECK(g22.api({{"op", "status"}}).at("outbox_pending") == kOrdinary + 1);

    h41.start();
    REQUIRE(wait_until(
        [&] {
            return h41.api({{"op", "status"}}).at("inbox_total") == kOrdinary + 1;
        },
        40s, 50ms));

    // The inbox lists newest first: the hỏa tốc document is the oldest entry.
    const json inbox = h41.api({{"op", "inbox"}, {"limit", 100000}});
    const auto& docs = inbox.at("documents");
    REQUIRE(docs.size() == kOrdinary + 1);
    CHECK(docs.back().at("id") == urgent);
    uint64_t first_ordinary_ms = UINT64_MAX;
    for (const auto& d : docs)
        if (d.at("id") != urgent)
            first_ordinary_ms = std::min(first_ordinary_ms, d.at("received_ms").get<uint64_t>());
    const uint64_t urgent_ms =
        h41.api({{"op", "show"}, {"id", urgent}}).at("received_ms").get<uint64_t>();
    CHECK(urgent_ms <= first_ordinary_ms);
    CHECK(h41.api({{"op", "show"}, {"id", urgent}}).at("urgency") == 3);
    // The urgency filter finds exactly it.
    const json urgent_only = h41.api({{"op", "inbox"}, {"min_urgency", 3}});
    REQUIRE(urgent_only.at("documents").size() == 1);
    CHECK(urgent_only.at("documents")[0].at("id") == urgent);
    CHECK(g22.stop() == 0);
    CHECK(h41.stop() == 0);
}

TEST_CASE(
    "a status that skips the lifecycle is refused and nothing is sent; confidential needs "
    "confidential_to",
    "[e2e]") {
    NodeOptions opts;
    opts.extra_yaml = "confidential_to: [\"" + kH41 + "\"]\n";
    TestNode g22(kG22, opts), h41(kH41), h14(kH14);
    g22.add_peer(h41);
    g22.add_peer(h14);  // known, never started, not in confidential_to
    h41.add_peer(g22);
    g22.start();
    h41.start();

    const std::string doc = g22.api({{"op", "send"},
                                     {"to", json::array({kH41})},
                                     {"subject", "Kế hoạch phòng chống thiên tai"},
                                     {"doc_type", "Kế hoạch"}})
                                .at("id")
                                .get<std::string>();
    wait_stored(h41, doc);

    SECTION("lifecycle") {
        const auto refused = [&](TestNode& n, const std::string& code, const std::string& why) {
            INFO(n.agency() << " reports " << code);
            auto r = n.call({{"op", "set_status"}, {"id", doc}, {"code", code}});
            REQUIRE_FALSE(r.ok());
            CHECK_THAT(r.error(), Contains("status " + code));
            CHECK_THAT(r.error(), Contains(why));
            CHECK_THAT(r.error(), Contains("nothing was sent"));
        };
        refused(h41, "04", "cannot follow 01; next allowed: 01 02 03");
        refused(h41, "06", "cannot follow 01; next allowed: 01 02 03");
        refused(h41, "15", "no recall request (13) or change of the document to answer");
        refused(h41, "13", "only the document's sender may request a recall");
        refused(g22, "03", "the sender of a document may only report 13");
        auto unknown = h41.call({{"op", "set_status"}, {"id", doc}, {"code", "07"}});
        REQUIRE_FALSE(unknown.ok());
        CHECK_THAT(unknown.error(), Contains("unknown status code '07'"));
        // Nothing left H41, and G22 saw nothing but the receipt.
        CHECK(outbox_ids(h41, false).empty());
        CHECK(status_counter(h41.api({{"op", "status"}}), "sent") == 0);
        CHECK(codes_for(h41, doc, kH41) == std::vector<std::string>{"01"});

        // The step the lifecycle allows is taken and reaches G22 with its staff and text.
        const std::string id = h41.api({{"op", "set_status"},
                                        {"id", doc},
                                        {"code", "03"},
                                        {"staff", "Nguyễn Thị Thu Hà"},
                                        {"department", "Văn thư"},
                                        {"description", "Đã vào sổ công văn đến"}})
                                   .at("id")
                                   .get<std::string>();
        wait_event(g22, doc, id);
        const json tl = timeline(g22, doc);
        REQUIRE(tl.size() == 2);
        CHECK(tl[1].at("code") == "03");
        CHECK(tl[1].at("staff") == "Nguyễn Thị Thu Hà");
        CHECK(tl[1].at("department") == "Văn thư");
        CHECK(tl[1].at("description") == "Đã vào sổ công văn đến");
        refused(h41, "06", "cannot follow 03; next allowed: 02 04");
        CHECK(outbox_ids(h41, false).size() == 1);
    }
    SECTION("confidentiality") {
        auto to_h14 = g22.call({{"op", "send"},
                                {"to", json::array({kH14})},
                                {"subject", "Tài liệu mật"},
                                {"confidentiality", 1}});
        REQUIRE_FALSE(to_h14.ok());
        CHECK_THAT(to_h14.error(), Contains("mật (confidentiality 1)"));
        CHECK_THAT(to_h14.error(), Contains("recipient '" + kH14 +
                                            "' is not listed in the config key 'confidential_to'"));
        CHECK_THAT(to_h14.error(), Contains("nothing was queued"));
        // One recipient not allowed refuses the whole document.
        auto both = g22.call({{"op", "send"},
                              {"to", json::array({kH41, kH14})},
                              {"subject", "Tài liệu mật"},
                              {"confidentiality", 1}});
        REQUIRE_FALSE(both.ok());
        CHECK_THAT(both.error(), Contains("'" + kH14 + "'"));
        CHECK(outbox_ids(g22, false).size() == 1);  // only the first document

        const std::string secret = g22.api({{"op", "send"},
                                            {"to", json::array({kH41})},
                                            {"subject", "Tài liệu mật"},
                                            {"confidentiality", 1}})
                                       .at("id")
                                       .get<std::string>();
        wait_stored(h41, secret);
        CHECK(h41.api({{"op", "show"}, {"id", secret}}).at("confidentiality") == 1);
        CHECK(outbox_ids(g22, false).size() == 2);
    }
    CHECK(g22.stop() == 0);
    CHECK(h41.stop() == 0);
}

TEST_CASE("overdue and stats reports give exact numbers at sender and recipient", "[e2e]") {
    TestNode g22(kG22), h41(kH41);
    g22.add_peer(h41);
    h41.add_peer(g22);
    g22.start();
    h41.start();

    const uint64_t t = now_ms();
    const uint64_t hour = 3600000;
    struct Doc {
        const char* name;
        const char* type;
        uint64_t due_ms;
        std::vector<std::string> codes;  // what H41 reports, in order
        std::string id;
    };
    std::vector<Doc> docs{
        {"D1", "Công văn", t - 3 * kDayMs - hour, {}, ""},      // owed, 3 days
        {"D2", "Công văn", t - 1 * kDayMs - hour, {"03"}, ""},  // owed, 1 day
        {"D3",
         "Quyết định",
         t - 2 * kDayMs - hour,
         {"03", "04", "05", "06"},
         ""},                                                                 // completed late
        {"D4", "Công văn", t - 5 * kDayMs - hour, {"02"}, ""},                // rejected
        {"D5", "Quyết định", t + 10 * kDayMs, {"03", "04", "05", "06"}, ""},  // completed on time
        {"D6", "", 0, {}, ""},                                                // no deadline
        {"D7", "Công văn", t - 4 * kDayMs - hour, {}, ""},                    // revoked below
    };
    for (auto& d : docs) {
        json req{{"op", "send"},
                 {"to", json::array({kH41})},
                 {"subject", std::string("Báo cáo ") + d.name},
                 {"due_ms", d.due_ms}};
        if (*d.type) req["doc_type"] = d.type;
        d.id = g22.api(req).at("id").get<std::string>();
    }
    const std::string revoke = g22.api({{"op", "send"},
                                        {"to", json::array({kH41})},
                                        {"subject", "Thu hồi D7"},
                                        {"business", "revoke"},
                                        {"acts_on", docs[6].id},
                                        {"reason", "Ban hành nhầm"}})
                                   .at("id")
                                   .get<std::string>();
    for (const auto& d : docs) wait_stored(h41, d.id);
    wait_stored(h41, revoke);
    for (const auto& d : docs) {
        INFO(d.name);
        std::string last;
        for (const auto& code : d.codes)
            last = h41.api({{"op", "set_status"}, {"id", d.id}, {"code", code}})
                       .at("id")
                       .get<std::string>();
        if (!last.empty()) wait_event(g22, d.id, last);
    }
    // Every receipt is in at G22 (its 01 opens each pair there).
    REQUIRE(wait_until([&] { return g22.api({{"op", "status"}}).at("outbox_pending") == 0; }, 20s));
    CHECK(h41.api({{"op", "show"}, {"id", docs[6].id}}).at("revoked") == true);

    for (auto* n : {&g22, &h41}) {
        const bool sender = n == &g22;
        INFO((sender ? "as sender" : "as recipient"));
        const json o = n->api(
            {{"op", "report_overdue"}, {"as", sender ? "sender" : "recipient"}, {"now_ms", t}});
        const auto& items = o.at("overdue");
        REQUIRE(items.size() == 2);
        CHECK(items[0].at("id") == docs[0].id);
        CHECK(items[0].at("days_overdue") == 3);
        CHECK(items[0].at("last_status") == "01");
        CHECK(items[0].at("agency") == (sender ? kH41 : kG22));
        CHECK(items[1].at("id") == docs[1].id);
        CHECK(items[1].at("days_overdue") == 1);
        CHECK(items[1].at("last_status") == "03");
        // A day later D2 has been owed 2 days, D1 4.
        const json later = n->api({{"op", "report_overdue"},
                                   {"as", sender ? "sender" : "recipient"},
                                   {"now_ms", t + kDayMs}});
        REQUIRE(later.at("overdue").size() == 2);
        CHECK(later.at("overdue")[0].at("days_overdue") == 4);
        CHECK(later.at("overdue")[1].at("days_overdue") == 2);
        // Seen from the other side, nothing is owed.
        const json other = n->api(
            {{"op", "report_overdue"}, {"as", sender ? "recipient" : "sender"}, {"now_ms", t}});
        CHECK(other.at("overdue").empty());

        const json s = n->api({{"op", "report_stats"}});
        const std::string peer = sender ? kH41 : kG22;
        const char* dir = sender ? "sent" : "received";
        const char* not_dir = sender ? "received" : "sent";
        CHECK(s.at("by_agency").size() == 1);
        CHECK(s.at("by_agency").at(peer).at(dir) == 8);
        CHECK(s.at("by_agency").at(peer).at(not_dir) == 0);
        CHECK(s.at("by_type").at("Công văn").at(dir) == 4);
        CHECK(s.at("by_type").at("Quyết định").at(dir) == 2);
        CHECK(s.at("by_type").at("(none)").at(dir) == 2);  // D6 and the revocation
        CHECK(s.at("with_due") == 6);
        CHECK(s.at("completed") == 2);
        CHECK(s.at("completed_on_time") == 1);
        CHECK(s.at("on_time_rate").get<double>() == Approx(1.0 / 6.0));
        CHECK(s.at("median_completion_ms").get<uint64_t>() < 60000);
        CHECK(s.at("status_distribution") == json{{"01", 4}, {"02", 1}, {"03", 1}, {"06", 2}});
        // A window that ends before any document was registered is empty.
        const json none =
            n->api({{"op", "report_stats"}, {"from_ms", t - 2 * kDayMs}, {"to_ms", t - kDayMs}});
        CHECK(none.at("by_agency").empty());
        CHECK(none.at("with_due") == 0);
    }
    // The filtered lists agree with the reports.
    const auto ids_of = [](const json& r) {
        std::set<std::string> out;
        for (const auto& d : r.at("documents")) out.insert(d.at("id").get<std::string>());
        return out;
    };
    CHECK(ids_of(g22.api({{"op", "outbox"}, {"overdue", true}})) ==
          std::set<std::string>{docs[0].id, docs[1].id});
    CHECK(ids_of(h41.api({{"op", "inbox"}, {"overdue", true}})) ==
          std::set<std::string>{docs[0].id, docs[1].id});
    CHECK(ids_of(g22.api({{"op", "outbox"}, {"status", "06"}})) ==
          std::set<std::string>{docs[2].id, docs[4].id});
    CHECK(ids_of(h41.api({{"op", "inbox"}, {"type", "Quyết định"}})) ==
          std::set<std::string>{docs[2].id, docs[4].id});
    CHECK(g22.stop() == 0);
    CHECK(h41.stop() == 0);
}
