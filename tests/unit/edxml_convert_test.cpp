// Between edXML and what the node seals (protocol/edxml_convert.h): dates in Vietnam's zone
// with due dates meaning "by the end of that day", priority as urgency, and every real sample
// surviving edXML → content → canonical bytes → content → edXML with its header fields and
// attachments unchanged.
#include "protocol/edxml_convert.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "test_util.h"

using namespace lienthong::protocol;
using namespace lienthong::protocol::edxml;
using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;

const char* const kSamplesDir = LIENTHONG_EDXML_SAMPLES_DIR;
constexpr uint64_t kCreatedMs = 1764000000123ull;

// False (with a warning saying why) when the shared samples are not checked out here.
bool have_samples() {
    if (fs::is_directory(kSamplesDir)) return true;
    WARN("SKIPPED: edXML samples directory " << kSamplesDir << " is missing; these tests need it");
    return false;
}

std::vector<std::string> sample_names(std::string_view prefix) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(kSamplesDir)) {
        const auto name = e.path().filename().string();
        if (e.path().extension() == ".edxml" && name.rfind(prefix, 0) == 0) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

Message parse_sample(const std::string& name) {
    std::ifstream in(fs::path(kSamplesDir) / name, std::ios::binary);
    REQUIRE(in);
    const std::string xml(std::istreambuf_iterator<char>(in), {});
    auto r = parse(as_bytes(xml));
    INFO(name << ": " << (r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    return std::move(r).value();
}

uint64_t ms(std::string_view date) {
    auto r = due_date_to_ms(date);
    INFO(date << ": " << (r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    return *r;
}

uint64_t ts(std::string_view timestamp) {
    auto r = timestamp_to_ms(timestamp);
    INFO(timestamp << ": " << (r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    return *r;
}

Document with_priority(std::string priority) {
    Document d;
    d.from.organ_id = "000.00.00.G22";
    d.to = {Organization{"000.00.00.H41", {}, {}, {}, {}, {}, {}, {}}};
    d.document_id = "000.00.00.G22,2025/11/24,1/VPCP";
    d.subject = "Về việc thử độ khẩn";
    d.priority = std::move(priority);
    return d;
}

}  // namespace

TEST_CASE("edXML due dates mean the end of that day in Vietnam and round-trip",
          "[protocol][edxml]") {
    // 23:59:59.999 at UTC+7 is 16:59:59.999 UTC (values from `date -u -d ... +%s%3N`).
    CHECK(ms("2024/02/29") == 1709225999999ull);
    CHECK(ms("1999/12/31") == 946659599999ull);
    for (const char* date :
         {"2024/02/29", "1999/12/31", "2018/09/28", "2000/02/29", "2025/01/01", "1970/01/02"}) {
        INFO(date);
        CHECK(ms_to_date(ms(date)) == date);
        // The next millisecond is already the next day, at midnight in Vietnam.
        CHECK(ms_to_date(ms(date) + 1) != date);
        CHECK(ms_to_timestamp(ms(date) + 1).substr(11) == "00:00:00");
        CHECK(ms_to_timestamp(ms(date)) == std::string(date) + " 23:59:59");
    }
    CHECK(ms("2024/02/29") + 1 == ts("2024/03/01 00:00:00"));
    CHECK(ms("1999/12/31") + 1 == ts("2000/01/01 00:00:00"));
    CHECK(ms_to_date(ms("2024/02/29") + 1) == "2024/03/01");
    // 17:00 UTC is already tomorrow in Vietnam; 16:59:59 UTC is still today.
    CHECK(ms_to_date(1709226000000ull) == "2024/03/01");
    CHECK(ms_to_date(1709225999000ull) == "2024/02/29");

    for (const char* bad :
         {"2023/02/29", "1999/12/32", "2024-02-29", "", "2024/2/29", "1969/12/31"}) {
        INFO(bad);
        CHECK_FALSE(due_date_to_ms(bad).ok());
    }
    auto e = due_date_to_ms("2023/02/29");
    REQUIRE_FALSE(e.ok());
    CHECK_THAT(e.error(), Contains("'2023/02/29' is not a real date YYYY/MM/DD"));
}

TEST_CASE("edXML timestamps convert exactly both ways in Vietnam's zone", "[protocol][edxml]") {
    CHECK(ts("2018/09/28 17:25:11") == 1538130311000ull);
    CHECK(ts("2015/09/20 11:08:36") == 1442722116000ull);
    CHECK(ts("1970/01/01 07:00:00") == 0);
    for (const char* t : {"2018/09/28 17:25:11", "2015/09/20 11:08:36", "2024/02/29 23:59:59",
                          "1999/12/31 00:00:00", "2000/01/01 06:59:59", "1970/01/01 07:00:00"}) {
        INFO(t);
        CHECK(ms_to_timestamp(ts(t)) == t);
    }
    // Milliseconds are not part of the text: they are dropped, not rounded.
    CHECK(ms_to_timestamp(1538130311999ull) == "2018/09/28 17:25:11");
    CHECK_FALSE(timestamp_to_ms("1970/01/01 06:59:59").ok());  // before 1970
    CHECK_FALSE(timestamp_to_ms("2018/09/28 24:00:00").ok());
    CHECK_FALSE(timestamp_to_ms("2018/09/28").ok());
    auto e = timestamp_to_ms("2018/02/30 10:00:00");
    REQUIRE_FALSE(e.ok());
    CHECK_THAT(e.error(), Contains("is not a real date and time YYYY/MM/DD HH:MM:SS"));
}

TEST_CASE("edXML priority 0-3 becomes urgency and anything else is refused", "[protocol][edxml]") {
    for (uint64_t p = 0; p <= 3; ++p) {
        INFO(p);
        auto c = to_content(with_priority(std::to_string(p)), "000.00.00.G22", {"000.00.00.H41"},
                            kCreatedMs);
        REQUIRE(c.ok());
        CHECK(c->meta.urgency == p);
        CHECK(from_content(*c).priority == std::to_string(p));
    }
    auto none = to_content(with_priority(""), "000.00.00.G22", {"000.00.00.H41"}, kCreatedMs);
    REQUIRE(none.ok());
    CHECK(none->meta.urgency == 0);
    for (const char* bad : {"7", "4", "-1", "03", "khẩn", " 1"}) {
        INFO(bad);
        auto c = to_content(with_priority(bad), "000.00.00.G22", {"000.00.00.H41"}, kCreatedMs);
        REQUIRE_FALSE(c.ok());
        CHECK_THAT(c.error(),
                   Contains("OtherInfo/Priority is '" + std::string(bad) + "', not 0-3"));
    }
    // A DueDate that is no date is named too (parse() already refuses it; this is the
    // converter's own guard for a Document built in code).
    auto d = with_priority("1");
    d.due_date = "2018/02/30";
    auto c = to_content(d, "000.00.00.G22", {"000.00.00.H41"}, kCreatedMs);
    REQUIRE_FALSE(c.ok());
    CHECK_THAT(c.error(), Contains("DueDate: '2018/02/30'"));
}

TEST_CASE("every edXML sample document survives content encoding with its header and attachments",
          "[protocol][edxml]") {
    if (!have_samples()) return;
    const auto names = sample_names("edoc");
    REQUIRE(names.size() >= 4);
    for (const auto& name : names) {
        INFO(name);
        const Message m = parse_sample(name);
        REQUIRE(std::holds_alternative<Document>(m));
        const Document& doc = std::get<Document>(m);
        std::vector<std::string> recipients;
        for (const auto& o : doc.to) recipients.push_back(o.organ_id);

        auto content = to_content(doc, doc.from.organ_id, recipients, kCreatedMs);
        INFO((content.ok() ? std::string() : content.error()));
        REQUIRE(content.ok());
        CHECK(content->sender == doc.from.organ_id);
        CHECK(content->recipients == recipients);
        // Which message a revoke/update/replace acts on is the node's to resolve (a content
        // refuses to be without it); any 32-byte id will do here.
        if (doc.business && doc.business->business_doc_type != BusinessDocType::New)
            content->meta.acts_on = Bytes(32, 0x5a);
        const Bytes plain = encode_content(*content);
        auto decoded = decode_content(plain);
        INFO((decoded.ok() ? std::string() : decoded.error()));
        REQUIRE(decoded.ok());
        CHECK(encode_content(*decoded) == plain);
        const Document back = from_content(*decoded);

        CHECK(back.from == doc.from);
        CHECK(back.to == doc.to);
        CHECK(back.document_id == doc.document_id);
        CHECK(back.code == doc.code);
        CHECK(back.promulgation == doc.promulgation);
        CHECK(back.type == doc.type);
        CHECK(back.subject == doc.subject);
        CHECK(back.content == doc.content);
        CHECK(back.signer == doc.signer);
        CHECK(back.due_date == doc.due_date);
        CHECK(back.other == doc.other);
        CHECK(back.priority == (doc.priority.empty() ? "0" : doc.priority));
        CHECK(back.steering_type == doc.steering_type);
        CHECK(back.to_places == doc.to_places);
        CHECK(back.response_for == doc.response_for);
        REQUIRE(doc.business);  // every sample has a <Bussiness>
        // Always written, as document systems read it unconditionally; a missing DocumentId
        // is the document's own, a missing Paper is 0 (no paper copy follows).
        REQUIRE(back.business);
        Business want = *doc.business;
        if (want.document_id.empty()) want.document_id = doc.document_id;
        if (want.paper.empty()) want.paper = "0";
        CHECK(*back.business == want);
        // The written edXML names the sender and when it sent, as the national library does.
        REQUIRE(back.traces.size() == 1);
        CHECK(back.traces[0].organ_id == doc.from.organ_id);
        CHECK(back.traces[0].timestamp == ms_to_timestamp(kCreatedMs));
        REQUIRE(back.attachments.size() == doc.attachments.size());
        for (size_t i = 0; i < doc.attachments.size(); ++i) {
            INFO("attachment " << i);
            CHECK(back.attachments[i].name == doc.attachments[i].name);
            CHECK(back.attachments[i].content_type == doc.attachments[i].content_type);
            CHECK(back.attachments[i].description == doc.attachments[i].description);
            CHECK(back.attachments[i].data == doc.attachments[i].data);
        }
        // And the edXML written from it parses to the same thing again.
        auto reparsed = parse(write(back));
        REQUIRE(reparsed.ok());
        REQUIRE(std::holds_alternative<Document>(*reparsed));
        CHECK(std::get<Document>(*reparsed) == back);
    }
}

TEST_CASE("every edXML sample status survives the report encoding", "[protocol][edxml]") {
    if (!have_samples()) return;
    const auto names = sample_names("status");
    REQUIRE(names.size() >= 10);
    for (const auto& name : names) {
        INFO(name);
        const Message m = parse_sample(name);
        REQUIRE(std::holds_alternative<Status>(m));
        const Status& st = std::get<Status>(m);

        auto report = to_report(st);
        INFO((report.ok() ? std::string() : report.error()));
        REQUIRE(report.ok());
        CHECK(report->code == st.status_code);
        CHECK(report->time_ms == ts(st.timestamp));
        // What the node adds before sealing.
        report->reporter = st.from.organ_id;
        report->informed = st.response_for.organ_id;
        report->created_ms = kCreatedMs;
        report->document.fill(0x42);
        REQUIRE(validate_status(*report).ok());
        auto decoded = decode_status(encode_status(*report));
        REQUIRE(decoded.ok());
        const Status back = from_report(*decoded);

        CHECK(back.status_code == st.status_code);
        CHECK(back.staff == st.staff);
        CHECK(back.description == st.description);
        CHECK(back.timestamp == st.timestamp);
        CHECK(back.response_for == st.response_for);
        CHECK(back.from == st.from);
        CHECK(back == st);
    }
    // A report made in code, without a From, is exported from its reporter.
    StatusReport r;
    r.reporter = "000.00.00.H41";
    r.code = "03";
    r.time_ms = ts("2015/09/20 11:08:36");
    const Status st = from_report(r);
    CHECK(st.from.organ_id == "000.00.00.H41");
    CHECK(st.timestamp == "2015/09/20 11:08:36");

    Status bad_time;
    bad_time.status_code = "03";
    bad_time.timestamp = "2015/09/31 11:08:36";
    auto refused = to_report(bad_time);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Contains("Timestamp: '2015/09/31 11:08:36'"));
}
