#include "node/vdxp_http.h"

#include <httplib.h>
#include <sodium.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "node/api_msgpack.h"
#include "node/config.h"
#include "node/vdxp_sign.h"
#include "protocol/textfold.h"

namespace lienthong::node {

using nlohmann::json;

namespace {

constexpr size_t kMaxHeaders = 100;
constexpr size_t kListLimit = 1000;  // one list answer; the rest follow as items are acknowledged

// A failure as the SDK reads it: status FAIL, a non-zero ErrorCode, an ASCII ErrorDesc.
struct Failure {
    std::string code;  // 400 bad input, 401 signature or system, 403 not its agency, 404 unknown,
                       // 405 not supported, 413 too large, 415 content type, 500 storage, 503 busy
    std::string desc;
};

// ErrorDesc must be ASCII (sendEdoc's client reads the answer as US-ASCII): letters with
// diacritics lose them ("Công văn" -> "cong van"), anything else unprintable becomes '?'.
std::string ascii(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size() && out.size() < 1000;) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b < 0x80) {
            out += (b >= 0x20 && b != 0x7f) ? static_cast<char>(b) : '?';
            ++i;
            continue;
        }
        size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        n = std::min(n, text.size() - i);
        auto folded = protocol::fold(text.substr(i, n));
        bool clean = folded.ok() && !folded->empty();
        if (clean)
            for (char c : *folded) clean = clean && static_cast<unsigned char>(c) < 0x80;
        out += clean ? *folded : "?";
        i += n;
    }
    return out;
}

// The hub's times: "yyyy-MM-dd HH:mm:ss" in Vietnam's time (UTC+7), as a clerk reads them.
std::string hub_time(uint64_t ms) {
    if (ms == 0) return "";
    const time_t secs = static_cast<time_t>(ms / 1000 + 7 * 3600);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string param(const vdxp::Params& p, std::string_view key) { return vdxp::param(p, {key}); }

}  // namespace

constexpr std::string_view kCalls[] = {"sendEdoc", "getReceivedEdocList", "getEdoc", "downloadEdoc", "updateStatus",
                                       "getSentEdocList", "countReceiveEdoc", "countReceiveStatus", "getAgenciesList",
                                       "getAgenciesListQD20", "getSynchronizeUnit", "registerAgency", "deleteAgency"};

struct VdxpHttp::Impl {
    VdxpHttpOptions options;
    zmq::context_t* context = nullptr;
    std::shared_ptr<const VdxpRegistry> systems;
    const Logger* log = nullptr;
    std::mutex pool_mu;
    std::vector<std::unique_ptr<zmq::socket_t>> idle;  // REQ sockets to the loop, ready for a request
    std::mutex log_mu;
    LogThrottle refusals{10000};
    std::atomic<bool> stopping{false};
    mutable std::mutex stats_mu;
    Stats stats;

    // One request to the event loop and its answer; a socket whose request timed out is closed
    // (a REQ socket cannot send again before its answer).
    Result<json> call(const json& request) {
        std::unique_ptr<zmq::socket_t> s;
        {
            std::lock_guard lock(pool_mu);
            if (!idle.empty()) {
                s = std::move(idle.back());
                idle.pop_back();
            }
        }
        try {
            if (!s) {
                s = std::make_unique<zmq::socket_t>(*context, zmq::socket_type::req);
                s->set(zmq::sockopt::linger, 0);
                s->set(zmq::sockopt::rcvtimeo, 200);  // to notice stopping
                s->connect(options.loop_endpoint);
            }
            const auto bytes = json::to_msgpack(request);
            s->send(zmq::buffer(bytes), zmq::send_flags::none);
            zmq::message_t answer;
            bool got = false;
            for (uint64_t waited = 0; !got && waited < options.loop_timeout_ms && !stopping; waited += 200)
                got = s->recv(answer).has_value();
            if (!got)
                return make_error(stopping ? std::string("the node is stopping; try again when it is back")
                                           : "the node did not answer within " +
                                                 std::to_string(options.loop_timeout_ms / 1000) + " s; try again");
            auto parsed = json_from_msgpack(protocol::ByteView(answer.data<uint8_t>(), answer.size()));
            if (!parsed.ok()) return make_error("the node's answer is not msgpack: " + parsed.error());
            std::lock_guard lock(pool_mu);
            idle.push_back(std::move(s));
            return std::move(parsed).value();
        } catch (const zmq::error_t& e) {
            return make_error(std::string("the node's API is unavailable: ") + e.what());
        }
    }

    void refused(const std::string& system, const std::string& method, const Failure& f) {
        uint64_t held_back = 0;
        {
            std::lock_guard lock(log_mu);
            const uint64_t now = static_cast<uint64_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
            if (!refusals.allow(system + "/" + method + "/" + f.code, now, held_back)) return;
        }
        log->warn("vdxp_refused", {{"system", system}, {"method", method}, {"code", f.code}, {"error", f.desc},
                                   {"held_back", std::to_string(held_back)}});
    }

    void handle(const httplib::Request& req, httplib::Response& res);
    Result<json> dispatch(const std::string& method, const VdxpSystem& sys, const vdxp::Params& p,
                          const httplib::Request& req, httplib::Response& res, Failure& failure);
};

namespace {

void send_json(httplib::Response& res, json body) {
    res.status = 200;  // the SDK reads the body whatever the status; the hub answers 200
    res.set_content(body.dump(-1, ' ', true), "application/json; charset=utf-8");
}

json envelope_ok() { return json{{"status", "OK"}, {"ErrorCode", "0"}, {"ErrorDesc", "Success"}}; }

json envelope_fail(const Failure& f) {
    return json{{"status", "FAIL"}, {"ErrorCode", f.code}, {"ErrorDesc", ascii(f.desc)}};
}

// The code for an error the loop answered: unknown ids are 404, storage failures 500.
std::string code_of(const std::string& error) {
    if (error.rfind("unknown docId", 0) == 0 || error.find("is not a message this agency") != std::string::npos)
        return "404";
    if (error.find("could not store") != std::string::npos || error.find("could not record") != std::string::npos)
        return "500";
    return "400";
}

}  // namespace

void VdxpHttp::Impl::handle(const httplib::Request& req, httplib::Response& res) {
    const auto slash = req.path.rfind('/');
    const std::string method = slash == std::string::npos ? req.path : req.path.substr(slash + 1);
    const bool raw = method == "downloadEdoc";  // errors are an empty body (SPEC §5.4)
    std::string system_id = "-";
    Failure failure;
    // Counted on every way out: by call and ErrorCode, with the time taken.
    struct Count {
        Impl& impl;
        std::string call, code = "0";
        std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
        ~Count() {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::lock_guard lock(impl.stats_mu);
            ++impl.stats.requests[{call, code}];
            impl.stats.seconds.observe(s);
        }
    } count{*this, std::find(std::begin(kCalls), std::end(kCalls), method) != std::end(kCalls) ? method : "other"};
    const auto refuse = [&](Failure f) {
        count.code = f.code;
        refused(system_id, method.substr(0, 64), f);
        if (raw) {
            res.status = f.code == "404" ? 404 : 400;
            res.set_content("", "application/octet-stream");
            return;
        }
        json body = envelope_fail(f);
        if (method == "sendEdoc") body["DocId"] = "";  // the SDK reads DocId before the error
        send_json(res, body);
    };
    if (req.headers.size() > kMaxHeaders)
        return refuse({"400", "the request has " + std::to_string(req.headers.size()) + " headers, over " +
                                  std::to_string(kMaxHeaders)});
    // Authenticate: the HMAC over the sign-header's bytes as received, then its parameters.
    const std::string sign_header = req.get_header_value("XroadVnpt-sign-header");
    auto params = vdxp::parse_sign_header(sign_header);
    if (!params.ok()) return refuse({"401", params.error()});
    system_id = param(*params, "systemid");
    if (system_id.empty()) return refuse({"401", "the signed parameters have no systemid"});
    const auto sys = systems->find(system_id);
    if (!sys) return refuse({"401", "unknown system " + system_id.substr(0, 64) +
                                        " (register it on the node: lienthong-admin vdxp add-system)"});
    if (!vdxp::hmac_matches(sys->secret, sign_header, req.get_header_value("XroadVnpt-hash-header")))
        return refuse({"401", "Invalid signature for " + system_id + " (check the system's secret)"});
    auto out = dispatch(method, *sys, *params, req, res, failure);
    if (!out.ok()) return refuse(failure.code.empty() ? Failure{"400", out.error()} : failure);
    if (raw) return;  // dispatch wrote the body
    send_json(res, std::move(out).value());
}

Result<json> VdxpHttp::Impl::dispatch(const std::string& method, const VdxpSystem& sys, const vdxp::Params& p,
                                      const httplib::Request& req, httplib::Response& res, Failure& failure) {
    const auto fail_with = [&](std::string code, std::string desc) -> Result<json> {
        failure = {std::move(code), desc};
        return make_error(std::move(desc));
    };
    // Leftover parameters from earlier calls are ignored (SPEC §2.1): only what a call needs is read.
    const std::string servicetype = param(p, "servicetype");
    if (!servicetype.empty() && lower(servicetype) != "edoc")
        return fail_with("400", "servicetype must be eDoc, not '" + servicetype.substr(0, 40) + "'");
    const std::string type = lower(param(p, "messagetype"));
    const auto loop = [&](json request) -> Result<json> {
        auto answer = call(request);
        if (!answer.ok()) return fail_with("503", answer.error());
        if (!answer->value("ok", false)) {
            const std::string error = answer->value("error", "refused");
            return fail_with(code_of(error), error);
        }
        return std::move(answer).value();
    };
    const auto queue = [&]() -> Result<std::string> {
        if (type.empty() || type == "edoc") return std::string("edoc");
        if (type == "status") return std::string("status");
        return make_error("messagetype must be edoc or status, not '" + type.substr(0, 40) + "'");
    };
    // Both spellings may be in the map, one a leftover (SPEC §2.1): getEdoc and the SDK's
    // examples write docId, updateStatus is also written docid, so each call prefers its own.
    const auto doc_id = [&]() -> std::string {
        return method == "updateStatus" ? vdxp::param(p, {"docid", "docId"}) : vdxp::param(p, {"docId", "docid"});
    };

    if (method == "sendEdoc") {
        const std::string from = param(p, "from");
        if (from.empty()) return fail_with("400", "parameter from (the sending agency's code) is missing");
        // The real hub's words for this refusal (SPEC §4), which clients may already look for.
        if (from != sys.agency)
            return fail_with("403", "Don vi gui " + from + " khong dung voi ma da dang ky: " + sys.systemid);
        const std::string ctype = lower(req.get_header_value("Content-Type"));
        if (ctype.rfind("application/octet-stream", 0) != 0 && ctype.rfind("application/xml", 0) != 0 &&
            ctype.rfind("text/xml", 0) != 0)
            return fail_with("415", "Content-Type must be application/octet-stream (the raw edXML file), not '" +
                                        ctype.substr(0, 60) + "'");
        auto q = queue();
        if (!q.ok()) return fail_with("400", q.error());
        auto file = vdxp::file_from_body(protocol::as_bytes(req.body), param(p, "hash-file"));
        if (!file.ok()) return fail_with("400", file.error());
        json request{{"op", "vdxp_send"},
                     {"system", sys.systemid},
                     {"messagetype", *q},
                     {"data", json::binary(std::vector<uint8_t>(file->begin(), file->end()))}};
        if (const std::string to = param(p, "to"); !to.empty()) {
            // The header carries JSON text: "X" or ["A","B"] (SPEC §5.1).
            json list;
            try {
                list = json::parse(to);
            } catch (const json::exception&) {
                return fail_with("400", "parameter to must be JSON text: \"CODE\" or [\"CODE\",...]");
            }
            if (list.is_string()) list = json::array({list});
            if (!list.is_array() || list.empty() || list.size() > 1000)
                return fail_with("400", "parameter to must name 1 to 1000 agencies");
            for (const auto& a : list)
                if (!a.is_string()) return fail_with("400", "parameter to must hold agency codes as text");
            request["to"] = list;
        }
        auto a = loop(std::move(request));
        if (!a.ok()) return a;
        auto out = envelope_ok();
        out["DocId"] = a->value("doc_id", "");
        log->info("vdxp_send", {{"system", sys.systemid}, {"doc", a->value("doc_id", "")}, {"msg", a->value("id", "")},
                                {"repeated", a->value("repeated", false) ? "true" : "false"}});
        return out;
    }
    if (method == "getReceivedEdocList") {
        auto q = queue();
        if (!q.ok()) return fail_with("400", q.error());
        auto a = loop({{"op", "vdxp_list"}, {"queue", *q}, {"limit", kListLimit}});
        if (!a.ok()) return a;
        json data = json::array();
        for (const auto& it : a->at("items")) {
            const bool processing = it.value("state", "") == "processing";
            data.push_back({{"docId", it.value("doc_id", "")},
                            {"serviceType", "eDoc"},
                            {"messageType", *q},
                            {"created_time", hub_time(it.value("created_ms", uint64_t{0}))},
                            {"updated_time", hub_time(it.value("updated_ms", uint64_t{0}))},
                            {"from", it.value("from", "")},
                            {"to", it.value("to", "")},
                            {"status", it.value("state", "initial")},
                            {"status_desc", processing ? "being processed by the document system"
                                                       : "received, not yet acknowledged"}});
        }
        auto out = envelope_ok();
        out["data"] = data;
        return out;
    }
    if (method == "countReceiveEdoc" || method == "countReceiveStatus") {
        auto a = loop({{"op", "vdxp_count"}, {"queue", method == "countReceiveEdoc" ? "edoc" : "status"}});
        if (!a.ok()) return a;
        auto out = envelope_ok();
        out["count"] = a->value("count", uint64_t{0});
        return out;
    }
    if (method == "getEdoc" || method == "downloadEdoc") {
        const std::string id = doc_id();
        if (id.empty()) return fail_with("400", "parameter docId is missing");
        auto a = loop({{"op", "vdxp_get"}, {"doc_id", id}});
        if (!a.ok()) return a;
        const auto& bytes = a->at("data").get_binary();
        if (method == "downloadEdoc") {
            res.status = 200;
            res.set_content(std::string(bytes.begin(), bytes.end()), "application/octet-stream");
            return json::object();
        }
        std::string b64(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
        sodium_bin2base64(b64.data(), b64.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
        b64.pop_back();  // the terminating NUL
        auto out = envelope_ok();
        out["data"] = std::move(b64);
        return out;
    }
    if (method == "updateStatus") {
        const std::string id = doc_id();
        if (id.empty()) return fail_with("400", "parameter docId is missing");
        const std::string state = lower(param(p, "status"));
        if (state != "done" && state != "fail" && state != "processing") {
            if (state == "inbox" || state == "rejection" || state == "acceptance" || state == "assignment" ||
                state == "cancellation")
                return fail_with("400", "status " + state + " is a processing status: send it as an edXML Status "
                                                            "message (sendEdoc, messagetype status)");
            return fail_with("400", "status must be done, fail or processing, not '" + state.substr(0, 40) + "'");
        }
        auto a = loop({{"op", "vdxp_ack"}, {"doc_id", id}, {"state", state}, {"system", sys.systemid},
                       {"description", param(p, "description")}});
        if (!a.ok()) return a;
        return envelope_ok();
    }
    if (method == "getSentEdocList") {
        auto a = loop({{"op", "vdxp_sent"}, {"doc_id", doc_id()}});
        if (!a.ok()) return a;
        json data = json::array();
        for (const auto& r : a->at("rows")) {
            const std::string state = r.value("state", "");
            const std::string code = r.value("status_code", "");
            std::string desc = state == "delivered" ? "delivered; receipt signed by " + r.value("to", "")
                             : state == "refused"   ? "refused: " + r.value("last_error", "")
                             : state == "sent"      ? "sent, waiting for the receipt" + (r.value("via", "").empty() ? std::string() : " (a relay holds it: " + r.value("via", "") + ")")
                                                    : "queued" + (r.value("last_error", "").empty() ? std::string() : ": " + r.value("last_error", ""));
            json row{{"serviceType", "eDoc"},
                     {"messageType", r.value("kind", "edoc")},
                     {"senderDocId", r.value("doc_id", "")},
                     {"receiverDocId", r.value("doc_id", "")},
                     {"fromCode", sys.agency},
                     {"toCode", r.value("to", "")},
                     {"title", r.value("subject", "")},
                     {"notation", r.value("notation", "")},
                     {"sentTime", hub_time(r.value("created_ms", uint64_t{0}))},
                     {"sendStatus", state},
                     {"sendStatusDesc", ascii(desc)}};
            if (state == "delivered") row["receivedTime"] = hub_time(r.value("receipt_ms", uint64_t{0}));
            if (!code.empty()) {
                row["receiveStatus"] = code;
                row["receiveStatusDesc"] = ascii(r.value("status_name", ""));
            }
            data.push_back(row);
        }
        auto out = envelope_ok();
        out["data"] = data;
        return out;
    }
    if (method == "getAgenciesList" || method == "getAgenciesListQD20" || method == "getSynchronizeUnit") {
        auto a = loop({{"op", "vdxp_agencies"}});
        if (!a.ok()) return a;
        json data = json::array();
        for (const auto& g : a->at("agencies")) {
            const std::string code = g.value("code", ""), parent = g.value("parent", "");
            const bool deleted = g.value("deleted", false);
            json row{{"id", code}, {"code", code}, {"name", g.value("name", "")}};
            if (method == "getAgenciesListQD20") {
                if (deleted) continue;
                row["code102"] = code;
            } else {
                row["pid"] = parent;
                if (method == "getAgenciesList" && deleted) continue;
            }
            if (method == "getSynchronizeUnit") {
                row["version"] = g.value("serial", uint64_t{0});
                row["deleted"] = deleted;
                row["modifyDate"] = hub_time(g.value("modified_ms", uint64_t{0}));
                row["isAgency"] = true;
            }
            data.push_back(row);
        }
        auto out = envelope_ok();
        out["data"] = data;
        return out;
    }
    if (method == "registerAgency" || method == "deleteAgency")
        return fail_with("405", method + " is not supported on a Lien Thong node: agencies join the federation by "
                                         "enrollment (lienthong-admin enroll), signed by their province");
    return fail_with("404", "unknown method '" + method.substr(0, 64) + "'");
}

Result<std::unique_ptr<VdxpHttp>> VdxpHttp::start(const VdxpHttpOptions& options, zmq::context_t& context,
                                                  std::shared_ptr<const VdxpRegistry> systems, const Logger& log) {
    std::string host;
    uint16_t port = 0;
    LT_TRY(parse_http_listen(options.listen, host, port, "vdxp.listen"));
    std::unique_ptr<VdxpHttp> s(new VdxpHttp());
    s->m_impl = std::make_unique<Impl>();
    auto* impl = s->m_impl.get();
    impl->options = options;
    impl->context = &context;
    impl->systems = std::move(systems);
    impl->log = &log;
    s->m_server = std::make_unique<httplib::Server>();
    auto& srv = *s->m_server;
    const size_t threads = options.threads;
    srv.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    srv.set_read_timeout(static_cast<time_t>(options.read_timeout_s), 0);
    srv.set_write_timeout(static_cast<time_t>(options.read_timeout_s), 0);
    srv.set_keep_alive_timeout(static_cast<time_t>(options.idle_timeout_s));
    srv.set_keep_alive_max_count(1000);
    srv.set_payload_max_length(options.max_body_bytes + 2);  // + the CRLF the SDK appends
    // Refused before the body is read: an over-size upload gets the hub's JSON, then the
    // connection closes (its unread body must not be taken for the next request).
    const uint64_t max_body = options.max_body_bytes + 2;
    // Refused before the body is read: an over-size upload, or a multipart one (the server would
    // parse it, and answer a malformed one without JSON, before the handler saw it). With
    // Expect: 100-continue the refusal replaces the 100 and the client keeps its body; without,
    // the connection closes after the answer (its unread body must not be taken for the next
    // request; a client still sending may then see a reset instead of the answer).
    const auto early = [impl, max_body](const httplib::Request& req, httplib::Response& res) -> bool {
        const std::string length = req.get_header_value("Content-Length");
        const std::string type = lower(req.get_header_value("Content-Type"));
        Failure f;
        if (type.rfind("multipart/", 0) == 0)
            f = {"415", "Content-Type must be application/octet-stream (the raw edXML file), not '" +
                            type.substr(0, 40) + "'"};
        else if (!length.empty() && length.size() <= 19 && length.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoull(length) > max_body)
            f = {"413", "the body is " + length + " bytes, over vdxp.max_body_bytes (" + std::to_string(max_body - 2) + ")"};
        else
            return false;
        impl->refused("-", "upload", f);
        json body = envelope_fail(f);
        body["DocId"] = "";
        send_json(res, body);
        res.status = std::stoi(f.code);  // not 100: the server sends this answer instead
        res.set_header("Connection", "close");
        return true;
    };
    srv.set_expect_100_continue_handler([early](const httplib::Request& req, httplib::Response& res) {
        if (!early(req, res)) return 100;
        // This answer is written as it is, without the Content-Length the server adds elsewhere.
        res.set_header("Content-Length", std::to_string(res.body.size()));
        return res.status;
    });
    srv.set_pre_routing_handler([early](const httplib::Request& req, httplib::Response& res) {
        if (!early(req, res)) return httplib::Server::HandlerResponse::Unhandled;
        res.status = 200;
        return httplib::Server::HandlerResponse::Handled;
    });
    const auto handler = [impl](const httplib::Request& req, httplib::Response& res) { impl->handle(req, res); };
    srv.Get(R"(/.*)", handler);
    srv.Post(R"(/.*)", handler);
    // The SDK opens a connection per call: the server's listen backlog of 5 would drop
    // connections under a few dozen concurrent callers (each then waits a 1 s SYN retry), so
    // the listening socket's backlog is raised once bound. The options callback sees it first.
    auto listener = std::make_shared<int>(-1);
    srv.set_socket_options([listener](int fd) {
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // what the server's default does
        *listener = fd;
    });
    if (!srv.bind_to_port(host.c_str(), port))
        return make_error("cannot listen on vdxp.listen " + options.listen + ": the address is in use or not on this machine");
    if (*listener >= 0) ::listen(*listener, 1024);
    s->m_thread = std::thread([&srv] { srv.listen_after_bind(); });
    return s;
}

VdxpHttp::Stats VdxpHttp::stats() const {
    std::lock_guard lock(m_impl->stats_mu);
    return m_impl->stats;
}

VdxpHttp::~VdxpHttp() {
    if (m_impl) m_impl->stopping = true;
    if (m_server) m_server->stop();
    if (m_thread.joinable()) m_thread.join();
    m_server.reset();  // its worker threads are joined: no request uses the sockets now
    if (m_impl) m_impl->idle.clear();
}

}  // namespace lienthong::node
