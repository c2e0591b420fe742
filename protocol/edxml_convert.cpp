#include "protocol/edxml_convert.h"

#include <chrono>
#include <cstdio>

namespace lienthong::protocol::edxml {

namespace {
constexpr int64_t kDayMs = 86400000;

int num(std::string_view s, size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
}

int64_t days_of(std::string_view date) {  // REQUIRES: is_edxml_date(date)
    using namespace std::chrono;
    const year_month_day ymd{year{num(date, 0, 4)}, month{unsigned(num(date, 5, 2))}, day{unsigned(num(date, 8, 2))}};
    return sys_days(ymd).time_since_epoch().count();
}
}  // namespace

Result<uint64_t> due_date_to_ms(std::string_view date) {
    if (!is_edxml_date(date)) return make_error("'" + std::string(date) + "' is not a real date YYYY/MM/DD");
    const int64_t ms = (days_of(date) + 1) * kDayMs - kVietnamOffsetMs - 1;
    if (ms <= 0) return make_error("date '" + std::string(date) + "' is before 1970");
    return static_cast<uint64_t>(ms);
}

Result<uint64_t> timestamp_to_ms(std::string_view ts) {
    if (!is_edxml_timestamp(ts))
        return make_error("'" + std::string(ts) + "' is not a real date and time YYYY/MM/DD HH:MM:SS");
    const int64_t ms = days_of(ts.substr(0, 10)) * kDayMs +
                       (num(ts, 11, 2) * 3600 + num(ts, 14, 2) * 60 + num(ts, 17, 2)) * 1000LL - kVietnamOffsetMs;
    if (ms < 0) return make_error("time '" + std::string(ts) + "' is before 1970");
    return static_cast<uint64_t>(ms);
}

std::string ms_to_date(uint64_t ms) { return ms_to_timestamp(ms).substr(0, 10); }

std::string ms_to_timestamp(uint64_t ms) {
    using namespace std::chrono;
    const int64_t local = static_cast<int64_t>(ms) + kVietnamOffsetMs;
    const auto days = sys_days{} + std::chrono::days{local / kDayMs};
    const year_month_day ymd{days};
    const int64_t sec = (local % kDayMs) / 1000;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d/%02u/%02u %02d:%02d:%02d", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()), int(sec / 3600), int(sec / 60 % 60), int(sec % 60));
    return buf;
}

Result<DocumentContent> to_content(const Document& doc, const std::string& sender,
                                   const std::vector<std::string>& recipients, uint64_t created_ms,
                                   Bytes original) {
    DocumentContent c;
    c.sender = sender;
    c.recipients = recipients;
    c.created_ms = created_ms;
    auto& m = c.meta;
    m.document_id = doc.document_id;
    m.subject = doc.subject;
    m.type = doc.type;
    m.code = doc.code;
    m.signer = doc.signer;
    if (!doc.priority.empty()) {
        if (doc.priority.size() != 1 || doc.priority[0] < '0' || doc.priority[0] > '3')
            return make_error("OtherInfo/Priority is '" + doc.priority + "', not 0-3 (0 thường … 3 hỏa tốc)");
        m.urgency = static_cast<uint64_t>(doc.priority[0] - '0');
    }
    if (!doc.due_date.empty()) {
        auto due = due_date_to_ms(doc.due_date);
        if (!due.ok()) return make_error("DueDate: " + due.error());
        m.due_ms = *due;
    }
    m.promulgation = doc.promulgation;
    m.from = doc.from;
    m.to = doc.to;
    m.other = doc.other;
    m.steering_type = doc.steering_type;
    m.to_places = doc.to_places;
    m.response_for = doc.response_for;
    if (doc.business) m.business = *doc.business;
    c.body.assign(doc.content.begin(), doc.content.end());
    const bool carried = !original.empty();
    for (const auto& a : doc.attachments)
        c.attachments.push_back({a.name, a.content_type.empty() ? "application/octet-stream" : a.content_type,
                                 carried ? Bytes() : a.data, a.description, a.encoded_content_type});
    c.edxml = std::move(original);
    return c;
}

Document from_content(const DocumentContent& c) {
    Document d;
    const auto& m = c.meta;
    d.from = m.from;
    if (d.from.organ_id.empty()) d.from.organ_id = c.sender;
    d.to = m.to;
    if (d.to.empty())
        for (const auto& r : c.recipients) d.to.push_back(Organization{r, {}, {}, {}, {}, {}, {}, {}});
    d.document_id = m.document_id;
    d.code = m.code;
    d.promulgation = m.promulgation;
    // PromulgationDate is required in edXML; a native document without one was issued when sent.
    if (d.promulgation.date.empty()) d.promulgation.date = ms_to_date(c.created_ms);
    d.type = m.type;
    d.subject = m.subject;
    d.content.assign(c.body.begin(), c.body.end());
    d.signer = m.signer;
    if (m.due_ms) d.due_date = ms_to_date(m.due_ms);
    d.priority = std::to_string(m.urgency);
    d.other = m.other;
    d.response_for = m.response_for;
    d.steering_type = m.steering_type;
    d.to_places = m.to_places;
    // Document systems read getTraceHeaderList().getBussiness() unconditionally: both are
    // always written, the trace naming the sender when it sent.
    d.traces.push_back({c.sender, ms_to_timestamp(c.created_ms)});
    d.business = m.business;
    if (d.business->document_id.empty()) d.business->document_id = m.document_id;
    if (d.business->paper.empty()) d.business->paper = "0";  // no paper copy follows
    for (size_t i = 0; i < c.attachments.size(); ++i) {
        const auto& a = c.attachments[i];
        d.attachments.push_back({"cid:" + std::to_string(i + 1), a.name, a.mime, a.description, a.data, a.encoded_mime});
    }
    return d;
}

Result<Document> complete_from_edxml(DocumentContent& c) {
    auto parsed = parse(c.edxml);
    if (!parsed.ok()) return make_error("the carried edXML does not parse: " + parsed.error());
    auto* doc = std::get_if<Document>(&*parsed);
    if (!doc) return make_error("the carried edXML is a status message, not a document");
    if (doc->attachments.size() != c.attachments.size())
        return make_error("the carried edXML holds " + std::to_string(doc->attachments.size()) +
                          " attachment(s) but the document lists " + std::to_string(c.attachments.size()));
    for (size_t i = 0; i < c.attachments.size(); ++i) {
        auto& want = c.attachments[i];
        auto& got = doc->attachments[i];
        if (got.name != want.name)
            return make_error("attachment " + std::to_string(i + 1) + " is '" + got.name +
                              "' in the carried edXML but '" + want.name + "' in the document");
        want.data = std::move(got.data);
        got.data = Bytes();
        want.encoded_mime = got.encoded_content_type;
    }
    return std::move(*doc);
}

Result<StatusReport> to_report(const Status& st) {
    StatusReport r;
    r.code = st.status_code;
    r.staff = st.staff;
    r.description = st.description;
    auto t = timestamp_to_ms(st.timestamp);
    if (!t.ok()) return make_error("Timestamp: " + t.error());
    r.time_ms = *t;
    r.from = st.from;
    r.response_for = st.response_for;
    return r;
}

Status from_report(const StatusReport& r) {
    Status st;
    st.from = r.from;
    if (st.from.organ_id.empty()) st.from.organ_id = r.reporter;
    st.response_for = r.response_for;
    st.staff = r.staff;
    st.status_code = r.code;
    st.description = r.description;
    st.timestamp = ms_to_timestamp(r.time_ms);
    return st;
}

}  // namespace lienthong::protocol::edxml
