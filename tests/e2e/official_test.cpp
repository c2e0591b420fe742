// Official documents between real nodes whose agency codes are the edXML samples' own
// (../shared/edxml-samples): every sample imports, travels and exports unchanged; status
// messages build the sender's timeline along the lifecycle; revoke/update/replace show up at
// the recipient; malformed edXML, lifecycle skips and confidential documents are refused with
// nothing sent. (Urgency, lifecycle refusals, confidentiality and reports: official_rules_test.cpp.)
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
#include "tests/e2e/official_helpers.h"

using namespace lienthong::e2e;
namespace edxml = lienthong::protocol::edxml;
using Catch::Matchers::Contains;
using lienthong::protocol::Bytes;
using namespace lienthong::e2e::official;

TEST_CASE(
    "every edXML sample travels and exports unchanged and statuses and changes reach the other side",
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

    // In the order of the reports' signed times: the samples are signed in 2015 (status.edxml's
    // 01 in 2018), the receipt's 01 now.
    const std::vector<std::string> want{"01", "03", "04", "05", "06", "13", "16", "15", "01", "01"};
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
    // The sample's 02 is signed in 2015, before the receipt's 01 (now): time order. The state is
    // 02 either way.
    CHECK(codes_for(g22, doc, kH41) == std::vector<std::string>{"02", "01"});

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
