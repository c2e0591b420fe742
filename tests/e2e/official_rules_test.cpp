// Official documents between real nodes (issue: the uniform document format and its
// lifecycle): hỏa tốc overtakes a queue of 500; a status that skips the lifecycle is refused
// and nothing is sent; confidential documents need confidential_to; overdue and stats
// reports count exactly. Helpers and agency codes: official_helpers.h.
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
    "a status that skips the lifecycle is refused and nothing is sent and confidential needs "
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
