// import, set-status, report overdue|stats, and the filters of inbox/outbox: the official
// document side of lienthong-admin (issue 3).
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "admin/commands.h"

namespace lienthong::admin {

using nlohmann::json;

namespace {

// "YYYY-MM-DD" → 00:00 of that day in Vietnam time (UTC+7), in ms since the epoch.
Result<uint64_t> parse_day(const std::string& text, const std::string& option) {
    std::tm tm{};
    std::istringstream in(text);
    in >> std::get_time(&tm, "%Y-%m-%d");
    if (in.fail() || !in.eof() || text.size() != 10) return make_error(option + " '" + text + "' is not a date YYYY-MM-DD");
    const int mday = tm.tm_mday, mon = tm.tm_mon;
    const std::time_t day = timegm(&tm);
    if (tm.tm_mday != mday || tm.tm_mon != mon) return make_error(option + " '" + text + "' is not a real date");
    return static_cast<uint64_t>(day - 7 * 3600) * 1000;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
}

std::string text_of(const json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

void add_filter_options(CLI::App* cmd, Filters& f) {
    cmd->add_option("--agency", f.agency, "only documents from or to this agency");
    cmd->add_option("--type", f.type, "only this document type (code or name, e.g. 'Công văn')");
    cmd->add_option("--since", f.since, "registered on or after this day (YYYY-MM-DD, Vietnam time)");
    cmd->add_option("--until", f.until, "registered before this day (YYYY-MM-DD, Vietnam time)");
    cmd->add_option("--status", f.status, "latest processing status of some recipient (01 … 06, or none)");
    cmd->add_flag("--overdue", f.overdue, "only documents past due without completion (06)");
    cmd->add_option("--urgency", f.min_urgency, "at least this urgency (0 thường … 3 hỏa tốc)")->check(CLI::Range(0, 3));
    cmd->add_option("--text", f.text, "words of the subject, without diacritics if you like ('cong van')");
}

Status apply_filters(const Filters& f, json& req) {
    if (!f.agency.empty()) req["agency"] = f.agency;
    if (!f.type.empty()) req["type"] = f.type;
    if (!f.status.empty()) req["status"] = f.status;
    if (!f.text.empty()) req["text"] = f.text;
    if (f.overdue) req["overdue"] = true;
    if (f.min_urgency >= 0) req["min_urgency"] = f.min_urgency;
    if (!f.since.empty()) {
        LT_ASSIGN(auto ms, parse_day(f.since, "--since"));
        req["from_ms"] = ms;
    }
    if (!f.until.empty()) {
        LT_ASSIGN(auto ms, parse_day(f.until, "--until"));
        req["to_ms"] = ms;
    }
    return ok_status();
}

void print_found(const json& r) {
    std::printf("%-16s  %-8s %-20s %-21s %-3s %-12s  %s\n", "ID", "DIR", "PARTY", "REGISTERED", "URG", "STATUS", "SUBJECT");
    for (const auto& d : r["documents"]) {
        const bool sent = d["direction"] == "sent";
        std::string party = sent ? "" : d["sender"].get<std::string>();
        if (sent)
            for (const auto& a : d["recipients"]) party += (party.empty() ? "" : ",") + a.get<std::string>();
        std::string states;
        for (const auto& [agency, code] : d["status"].items()) states += (states.empty() ? "" : ",") + code.get<std::string>();
        std::printf("%-16.16s  %-8s %-20s %-21s %-3llu %-12s  %s\n", d["id"].get<std::string>().c_str(),
                    d["direction"].get<std::string>().c_str(), party.c_str(),
                    format_time(d["registered_ms"].get<uint64_t>()).c_str(),
                    static_cast<unsigned long long>(d["urgency"].get<uint64_t>()), states.empty() ? "-" : states.c_str(),
                    d["subject"].get<std::string>().c_str());
    }
    std::printf("(%zu found)\n", r["documents"].size());
}

void add_import(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("import", "send an edXML document or status message (QCVN 102:2016) from a file");
    auto file = std::make_shared<std::string>();
    auto to = std::make_shared<std::vector<std::string>>();
    cmd->add_option("file", *file, "the .edxml file")->required();
    cmd->add_option("--to", *to, "send only to these of the document's To agencies (repeat for several)");
    cmd->callback([&g, &rc, file, to] {
        auto data = read_file(*file);
        if (!data.ok()) {
            rc = report_error(data.error());
            return;
        }
        json req{{"op", "import"}, {"data", json::binary(std::vector<uint8_t>(data->begin(), data->end()))}};
        if (!to->empty()) req["to"] = *to;
        auto r = call_node(g, req);
        if (!r.ok()) {
            rc = report_error(*file + ": " + r.error());
            return;
        }
        for (const auto& id : (*r).contains("ids") ? (*r)["ids"] : json::array({(*r)["id"]}))
            std::printf("%s\n", id.get<std::string>().c_str());
    });
}

void add_set_status(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand(
        "set-status", "report a processing status of a document: 02 rejected, 03 accepted, 04 assigned, 05 processing, "
                      "06 completed, 15/16 change accepted/rejected; as its sender, 13 recall requested");
    struct Opts {
        std::string id, code, description, staff, department, to;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("id", o->id, "message id of the document (at least 8 hex digits)")->required();
    cmd->add_option("code", o->code, "status code")->required();
    cmd->add_option("--description", o->description, "what happened, for the other agency");
    cmd->add_option("--staff", o->staff, "who handles it");
    cmd->add_option("--department", o->department, "which department");
    cmd->add_option("--to", o->to, "as sender (13): only this recipient");
    cmd->callback([&g, &rc, o] {
        json req{{"op", "set_status"}, {"id", o->id},           {"code", o->code},
                 {"description", o->description}, {"staff", o->staff}, {"department", o->department}};
        if (!o->to.empty()) req["to"] = o->to;
        auto r = call_node(g, req);
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        for (const auto& id : (*r)["ids"]) std::printf("%s\n", id.get<std::string>().c_str());
    });
}

void add_report(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("report", "overdue documents and exchange statistics");
    cmd->require_subcommand(1);
    auto* overdue = cmd->add_subcommand("overdue", "documents past due without completion (06), most overdue first");
    auto as = std::make_shared<std::string>("sender");
    auto csv = std::make_shared<bool>(false);
    overdue->add_option("--as", *as, "sender: who owes us answers (default); recipient: what we owe")
        ->check(CLI::IsMember({"sender", "recipient"}));
    overdue->add_flag("--json", g.json, "print JSON");
    overdue->add_flag("--csv", *csv, "print CSV");
    overdue->callback([&g, &rc, as, csv] {
        auto r = call_node(g, {{"op", "report_overdue"}, {"as", *as}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        const auto& items = (*r)["overdue"];
        if (*csv) {
            std::printf("agency,days_overdue,due,id,document_id,last_status,subject\n");
            for (const auto& o : items)
                std::printf("%s,%llu,%s,%s,%s,%s,%s\n", csv_field(o["agency"]).c_str(),
                            static_cast<unsigned long long>(o["days_overdue"].get<uint64_t>()),
                            format_time(o["due_ms"].get<uint64_t>()).c_str(), o["id"].get<std::string>().c_str(),
                            csv_field(o["document_id"]).c_str(), text_of(o, "last_status").c_str(),
                            csv_field(o["subject"]).c_str());
            return;
        }
        std::printf("%-20s %5s  %-21s %-16s %-6s %s\n", *as == "sender" ? "OWED BY" : "OWED TO", "DAYS", "DUE", "ID",
                    "STATUS", "SUBJECT");
        for (const auto& o : items)
            std::printf("%-20s %5llu  %-21s %-16.16s %-6s %s\n", o["agency"].get<std::string>().c_str(),
                        static_cast<unsigned long long>(o["days_overdue"].get<uint64_t>()),
                        format_time(o["due_ms"].get<uint64_t>()).c_str(), o["id"].get<std::string>().c_str(),
                        text_of(o, "last_status").empty() ? "-" : text_of(o, "last_status").c_str(),
                        o["subject"].get<std::string>().c_str());
        std::printf("(%zu overdue)\n", items.size());
    });
    auto* stats = cmd->add_subcommand("stats", "sent and received by agency and type, on-time rate, completion time");
    auto from = std::make_shared<std::string>(), to = std::make_shared<std::string>();
    stats->add_option("--from", *from, "first day (YYYY-MM-DD, Vietnam time)");
    stats->add_option("--to", *to, "day after the last (YYYY-MM-DD, Vietnam time)");
    stats->add_flag("--json", g.json, "print JSON");
    stats->callback([&g, &rc, from, to] {
        json req{{"op", "report_stats"}};
        for (const auto& [text, key, opt] : {std::tuple{*from, "from_ms", "--from"}, std::tuple{*to, "to_ms", "--to"}}) {
            if (text.empty()) continue;
            auto ms = parse_day(text, opt);
            if (!ms.ok()) {
                rc = report_error(ms.error());
                return;
            }
            req[key] = *ms;
        }
        auto r = call_node(g, req);
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        const auto& j = *r;
        std::printf("%-24s %8s %8s\n", "AGENCY", "SENT", "RECEIVED");
        for (const auto& [a, c] : j["by_agency"].items())
            std::printf("%-24s %8llu %8llu\n", a.c_str(), static_cast<unsigned long long>(c["sent"].get<uint64_t>()),
                        static_cast<unsigned long long>(c["received"].get<uint64_t>()));
        std::printf("\n%-24s %8s %8s\n", "TYPE", "SENT", "RECEIVED");
        for (const auto& [t, c] : j["by_type"].items())
            std::printf("%-24s %8llu %8llu\n", t.c_str(), static_cast<unsigned long long>(c["sent"].get<uint64_t>()),
                        static_cast<unsigned long long>(c["received"].get<uint64_t>()));
        std::printf("\non time:       %llu of %llu with a due date (%.1f%%)\n",
                    static_cast<unsigned long long>(j["completed_on_time"].get<uint64_t>()),
                    static_cast<unsigned long long>(j["with_due"].get<uint64_t>()), 100.0 * j["on_time_rate"].get<double>());
        std::printf("completed:     %llu, median %.1f h from arrival\n",
                    static_cast<unsigned long long>(j["completed"].get<uint64_t>()),
                    static_cast<double>(j["median_completion_ms"].get<uint64_t>()) / 3.6e6);
        std::printf("latest status:");
        for (const auto& [code, n] : j["status_distribution"].items())
            std::printf(" %s=%llu", code.c_str(), static_cast<unsigned long long>(n.get<uint64_t>()));
        std::printf("\n");
    });
}

}  // namespace lienthong::admin
