// send, inbox, outbox, show, export, receipt
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "admin/commands.h"
#include "protocol/document.h"

namespace lienthong::admin {

using nlohmann::json;

namespace {

// "YYYY-MM-DD" → the end of that day in Vietnam time (UTC+7), in ms since the epoch.
Result<uint64_t> parse_due(const std::string& text) {
    std::tm tm{};
    std::istringstream in(text);
    in >> std::get_time(&tm, "%Y-%m-%d");
    if (in.fail() || !in.eof() || text.size() != 10) return make_error("--due '" + text + "' is not a date YYYY-MM-DD");
    const int mday = tm.tm_mday, mon = tm.tm_mon;
    const std::time_t day = timegm(&tm);
    if (tm.tm_mday != mday || tm.tm_mon != mon) return make_error("--due '" + text + "' is not a real date");
    return static_cast<uint64_t>(day + 24 * 3600 - 7 * 3600) * 1000 - 1;
}

json binary_of(const std::string& s) { return json::binary(std::vector<uint8_t>(s.begin(), s.end())); }

Status write_new_file(const std::filesystem::path& path, const std::vector<uint8_t>& data) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return make_error("cannot create '" + path.string() + "' (does it exist already? export into an empty directory)");
    size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n <= 0) {
            ::close(fd);
            return make_error("cannot write '" + path.string() + "'");
        }
        off += static_cast<size_t>(n);
    }
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return make_error("cannot sync '" + path.string() + "'");
    return ok_status();
}

const char* state_word(const json& d) { return d["state"].get_ref<const std::string&>().c_str(); }

}  // namespace

void add_send(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("send", "send a signed, encrypted document; returns once it is durably queued");
    struct Opts {
        std::vector<std::string> to, attach;
        std::string subject, body, body_file, doc_type, number, signer, due;
        unsigned urgency = 0;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--to", o->to, "recipient agency code (repeat for several)")->required();
    cmd->add_option("--subject", o->subject, "subject (trích yếu)")->required();
    auto* body = cmd->add_option("--body", o->body, "body text");
    auto* body_file = cmd->add_option("--body-file", o->body_file, "read the body from this file");
    body->excludes(body_file);
    cmd->add_option("--attach", o->attach, "attach a file (repeat for several)");
    cmd->add_option("--type", o->doc_type, "document type, e.g. 'Công văn'");
    cmd->add_option("--number", o->number, "number and notation (số, ký hiệu)");
    cmd->add_option("--signer", o->signer, "who signed the document");
    cmd->add_option("--urgency", o->urgency, "0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc")->check(CLI::Range(0, 3));
    cmd->add_option("--due", o->due, "due date YYYY-MM-DD (end of day, Vietnam time)");
    cmd->callback([&g, &rc, o] {
        // "123/UBND-VP": số 123, ký hiệu UBND-VP.
        const auto slash = o->number.find('/');
        json req{{"op", "send"}, {"to", o->to}, {"subject", o->subject}, {"urgency", o->urgency},
                 {"doc_type", o->doc_type}, {"number", o->number.substr(0, slash)},
                 {"notation", slash == std::string::npos ? "" : o->number.substr(slash + 1)}, {"signer", o->signer}};
        if (!o->due.empty()) {
            auto due = parse_due(o->due);
            if (!due.ok()) {
                rc = report_error(due.error());
                return;
            }
            req["due_ms"] = *due;
        }
        if (!o->body_file.empty()) {
            auto b = read_file(o->body_file);
            if (!b.ok()) {
                rc = report_error(b.error());
                return;
            }
            req["body"] = binary_of(*b);
        } else {
            req["body"] = binary_of(o->body);
        }
        json atts = json::array();
        for (const auto& path : o->attach) {
            auto data = read_file(path);
            if (!data.ok()) {
                rc = report_error(data.error());
                return;
            }
            const std::string name = std::filesystem::path(path).filename().string();
            if (!protocol::is_safe_file_name(name)) {
                rc = report_error("attachment '" + path + "' has no usable file name");
                return;
            }
            atts.push_back({{"name", name}, {"mime", "application/octet-stream"}, {"data", binary_of(*data)}});
        }
        req["attachments"] = atts;
        auto r = call_node(g, req);
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        std::printf("%s\n", (*r)["id"].get<std::string>().c_str());
    });
}

void add_inbox(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("inbox", "documents received, newest first");
    auto limit = std::make_shared<uint64_t>(50);
    auto f = std::make_shared<Filters>();
    cmd->add_option("--limit", *limit, "at most this many (default 50)");
    add_filter_options(cmd, *f);
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, limit, f] {
        json req{{"op", "inbox"}, {"limit", *limit}};
        if (auto st = apply_filters(*f, req); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        auto r = call_node(g, req);
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        if (!r->contains("total")) return print_found(*r);
        std::printf("%-16s  %-20s %-21s %10s  %s\n", "ID", "FROM", "RECEIVED", "SIZE", "SUBJECT");
        for (const auto& d : (*r)["documents"])
            std::printf("%-16.16s  %-20s %-21s %10s  %s\n", d["id"].get<std::string>().c_str(),
                        d["sender"].get<std::string>().c_str(), format_time(d["received_ms"].get<uint64_t>()).c_str(),
                        format_bytes(d["bytes"].get<uint64_t>()).c_str(), d["subject"].get<std::string>().c_str());
        std::printf("(%llu in total)\n", static_cast<unsigned long long>((*r)["total"].get<uint64_t>()));
    });
}

void add_outbox(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("outbox", "documents sent, newest first, with each recipient's delivery state");
    auto limit = std::make_shared<uint64_t>(50);
    auto pending = std::make_shared<bool>(false);
    cmd->add_option("--limit", *limit, "at most this many (default 50)");
    cmd->add_flag("--pending", *pending, "only documents some recipient has not yet receipted");
    auto f = std::make_shared<Filters>();
    add_filter_options(cmd, *f);
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, limit, pending, f] {
        json req{{"op", "outbox"}, {"limit", *limit}, {"pending", *pending}};
        if (auto st = apply_filters(*f, req); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        auto r = call_node(g, req);
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        if (!r->contains("pending_total")) return print_found(*r);
        std::printf("%-16s  %-21s %-40s  %s\n", "ID", "CREATED", "RECIPIENTS", "SUBJECT");
        for (const auto& d : (*r)["documents"]) {
            std::string recips;
            for (const auto& x : d["recipients"])
                recips += (recips.empty() ? "" : " ") + x["agency"].get<std::string>() + ":" + state_word(x);
            std::printf("%-16.16s  %-21s %-40s  %s\n", d["id"].get<std::string>().c_str(),
                        format_time(d["created_ms"].get<uint64_t>()).c_str(), recips.c_str(),
                        d["subject"].get<std::string>().c_str());
        }
        std::printf("(%llu deliveries pending)\n", static_cast<unsigned long long>((*r)["pending_total"].get<uint64_t>()));
    });
}

void add_show(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("show", "metadata, signature check and per-recipient delivery of one document");
    auto id = std::make_shared<std::string>();
    cmd->add_option("id", *id, "message id (at least 8 hex digits)")->required();
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, id] {
        auto r = call_node(g, {{"op", "show"}, {"id", *id}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        const auto& j = *r;
        if (j["direction"] == "transit") {  // carried for others as a relay: not readable here
            std::printf("id:           %s\ncarried as a relay (ciphertext only)\n", j["id"].get<std::string>().c_str());
            for (const auto& t : j["transit"])
                std::printf("transit:      %s → this node → %s  %-9s from hop %s, received %s\n",
                            t["origin"].get<std::string>().c_str(), t["to"].get<std::string>().c_str(),
                            t["state"].get<std::string>().c_str(), t["from_hop"].get<std::string>().c_str(),
                            format_time(t["received_ms"].get<uint64_t>()).c_str());
            return;
        }
        const auto& sig = j["signatures"];
        std::string recips;
        for (const auto& x : j["recipients"]) recips += (recips.empty() ? "" : ", ") + x.get<std::string>();
        std::printf("id:           %s\n", j["id"].get<std::string>().c_str());
        std::printf("direction:    %s\n", j["direction"].get<std::string>().c_str());
        std::printf("from:         %s\n", j["sender"].get<std::string>().c_str());
        std::printf("to:           %s\n", recips.c_str());
        std::printf("created:      %s\n", format_time(j["created_ms"].get<uint64_t>()).c_str());
        if (j["kind"] == "status") {
            const auto& st = j["status"];
            std::printf("status:       %s %s at %s about %s\n", st["code"].get<std::string>().c_str(),
                        st["name"].get<std::string>().c_str(), format_time(st["time_ms"].get<uint64_t>()).c_str(),
                        st["document"].get<std::string>().c_str());
            if (!st["description"].get<std::string>().empty())
                std::printf("description:  %s\n", st["description"].get<std::string>().c_str());
            return;
        }
        std::printf("subject:      %s\n", j["subject"].get<std::string>().c_str());
        std::printf("document id:  %s\n", j["document_id"].get<std::string>().c_str());
        if (j["business"] != "new")
            std::printf("business:     %s of %s\n", j["business"].get<std::string>().c_str(),
                        j["meta"]["acts_on"].get<std::string>().c_str());
        if (j["revoked"].get<bool>()) std::printf("REVOKED\n");
        for (const auto& l : j["lifecycle"])
            std::printf("changed by:   %s %s at %s%s\n", l["business"].get<std::string>().c_str(),
                        l["action"].get<std::string>().substr(0, 16).c_str(),
                        format_time(l["recorded_ms"].get<uint64_t>()).c_str(),
                        l["reason"].get<std::string>().empty() ? "" : (" — " + l["reason"].get<std::string>()).c_str());
        if (!j["doc_type"].get<std::string>().empty()) std::printf("type:         %s\n", j["doc_type"].get<std::string>().c_str());
        if (!j["number"].get<std::string>().empty())
            std::printf("number:       %s%s\n", j["number"].get<std::string>().c_str(),
                        j["notation"].get<std::string>().empty() ? "" : ("/" + j["notation"].get<std::string>()).c_str());
        if (!j["signer"].get<std::string>().empty()) std::printf("signer:       %s\n", j["signer"].get<std::string>().c_str());
        std::printf("urgency:      %llu\n", static_cast<unsigned long long>(j["urgency"].get<uint64_t>()));
        if (j["due_ms"].get<uint64_t>()) std::printf("due:          %s\n", format_time(j["due_ms"].get<uint64_t>()).c_str());
        std::printf("body:         %s\n", format_bytes(j["body_bytes"].get<uint64_t>()).c_str());
        for (const auto& a : j["attachments"])
            std::printf("attachment:   %s (%s, %s)\n", a["name"].get<std::string>().c_str(),
                        format_bytes(a["bytes"].get<uint64_t>()).c_str(), a["mime"].get<std::string>().c_str());
        const bool env_ok = sig["envelope_valid"].get<bool>(), content_ok = sig["content_valid"].get<bool>();
        std::printf("signature:    %s (envelope %s, content %s)\n", env_ok && content_ok ? "VALID" : "INVALID",
                    env_ok ? "valid" : "invalid", content_ok ? "valid" : "invalid");
        if (j.contains("received_ms")) std::printf("received:     %s\n", format_time(j["received_ms"].get<uint64_t>()).c_str());
        for (const auto& d : j["deliveries"]) {
            std::printf("delivery:     %-20s %-9s receipt %s", d["agency"].get<std::string>().c_str(), state_word(d),
                        format_time(d["receipt_ms"].get<uint64_t>()).c_str());
            if (d.contains("via") && !d["via"].get<std::string>().empty())
                std::printf("  path %s → %s → %s (custody %s)", j["sender"].get<std::string>().c_str(), d["via"].get<std::string>().c_str(),
                            d["agency"].get<std::string>().c_str(), format_time(d["custody_ms"].get<uint64_t>()).c_str());
            if (!d["last_error"].get<std::string>().empty()) std::printf("  last error: %s", d["last_error"].get<std::string>().c_str());
            std::printf("\n");
        }
        for (const auto& e : j["timeline"]) {
            std::printf("timeline:     %-20s %s %-16s %s", e["recipient"].get<std::string>().c_str(),
                        e["code"].get<std::string>().c_str(), e["name"].get<std::string>().c_str(),
                        format_time(e["time_ms"].get<uint64_t>()).c_str());
            if (!e["description"].get<std::string>().empty()) std::printf("  %s", e["description"].get<std::string>().c_str());
            std::printf("\n");
        }
    });
}

void add_export(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("export", "write a document's body and attachments, byte-identical, into a directory");
    auto id = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("id", *id, "message id (at least 8 hex digits)")->required();
    cmd->add_option("--out", *out, "directory to write into (created if missing; files are never overwritten)")->required();
    auto format = std::make_shared<std::string>("raw");
    cmd->add_option("--format", *format, "raw (body, attachments, metadata.json) or edxml (one <id>.edxml file)")
        ->check(CLI::IsMember({"raw", "edxml"}));
    auto raw_parts = std::make_shared<bool>(false);
    cmd->add_flag("--raw-parts", *raw_parts,
                  "write attachments as carried: a part the national EdXML library zipped stays zipped "
                  "(by default it is unzipped, as the library's reader does)");
    cmd->callback([&g, &rc, id, out, format, raw_parts] {
        auto r = call_node(g, {{"op", "export"}, {"id", *id}, {"format", *format}, {"raw_parts", *raw_parts}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        std::error_code ec;
        std::filesystem::create_directories(*out, ec);
        if (ec) {
            rc = report_error("cannot create directory '" + *out + "': " + ec.message());
            return;
        }
        const std::filesystem::path dir(*out);
        const auto& j = *r;
        if (*format == "edxml") {
            const auto path = dir / (j["id"].get<std::string>() + ".edxml");
            if (auto st = write_new_file(path, j["edxml"].get_binary()); !st.ok()) {
                rc = report_error(st.error());
                return;
            }
            std::printf("exported %s as edXML: %s\n", j["id"].get<std::string>().c_str(), path.c_str());
            return;
        }
        if (j["kind"] == "status") {
            rc = report_error("a status report has no body or attachments; export it with --format edxml");
            return;
        }
        if (auto st = write_new_file(dir / "body", j["body"].get_binary()); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        for (const auto& a : j["attachments"]) {
            const std::string name = a["name"].get<std::string>();
            if (!protocol::is_safe_file_name(name) || name == "body" || name == "metadata.json") {
                rc = report_error("attachment name '" + name + "' cannot be written safely");
                return;
            }
            if (auto st = write_new_file(dir / name, a["data"].get_binary()); !st.ok()) {
                rc = report_error(st.error());
                return;
            }
        }
        json meta = j;
        meta.erase("body");
        meta.erase("ok");
        for (auto& a : meta["attachments"]) a.erase("data");
        const std::string text = meta.dump(2) + "\n";
        if (auto st = write_new_file(dir / "metadata.json", std::vector<uint8_t>(text.begin(), text.end())); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        std::printf("exported %s: body, %zu attachment(s), metadata.json into %s\n", j["id"].get<std::string>().c_str(),
                    j["attachments"].size(), out->c_str());
    });
}

void add_receipt(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("receipt", "the signed receipts for a document, each verified");
    auto id = std::make_shared<std::string>();
    cmd->add_option("id", *id, "message id (at least 8 hex digits)")->required();
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, id] {
        auto r = call_node(g, {{"op", "receipt"}, {"id", *id}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        for (const auto& x : (*r)["receipts"]) {
            if (x.contains("error")) {
                std::printf("%-20s DAMAGED: %s\n", x["agency"].get<std::string>().c_str(), x["error"].get<std::string>().c_str());
                continue;
            }
            const bool ok = x["signature_valid"].get<bool>() && x["hash_matches"].get<bool>();
            std::printf("%-20s received %s  signature %s  document hash %s\n", x["agency"].get<std::string>().c_str(),
                        format_time(x["received_ms"].get<uint64_t>()).c_str(), ok ? "VALID" : "INVALID",
                        x["hash_matches"].get<bool>() ? "matches" : "DIFFERS");
        }
        if (!(*r)["pending"].get<std::string>().empty())
            std::printf("no receipt yet from: %s\n", (*r)["pending"].get<std::string>().c_str());
    });
}

}  // namespace lienthong::admin
