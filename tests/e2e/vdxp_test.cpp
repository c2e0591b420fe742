// The national hub's API served by real nodes, driven by a client written from the spec (the
// SDK's behaviour, vdxp_client.h): send a document A -> B, list and fetch it at B (base64 and
// raw), acknowledge it, answer with an edXML Status 01 that A reads from its status queue, A
// reads the sending state, both list agencies; every refusal the issue names, each answered
// with the hub's FAIL envelope and nothing stored.
#include <sodium.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <atomic>
#include <random>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "tests/e2e/harness.h"
#include "tests/e2e/vdxp_client.h"
#include "tests/edxml_fixtures.h"

using namespace lienthong::e2e;
using namespace lienthong::e2e::vdxp;
using lienthong::test_edxml::library_document;
using Catch::Matchers::Contains;

namespace {

const std::string kA = "000.00.51.H14";
const std::string kB = "000.00.52.H14";
const std::string kSecretA = "c2VjcmV0LWZvci1zeXN0ZW0tQQ==k9";
const std::string kSecretB = "test-secret-for-B-0123456789";

struct HubNode {
    uint16_t port = free_port();
    std::unique_ptr<TestNode> node;
    HubNode(const std::string& agency, const std::string& systemid, const std::string& secret,
            const std::string& more_yaml = "") {
        NodeOptions o;
        o.extra_yaml = "vdxp:\n  listen: \"127.0.0.1:" + std::to_string(port) +
                       "\"\n  max_body_bytes: 1048576\n  systems:\n    - systemid: \"" + systemid +
                       "\"\n      secret_file: vdxp.secret\n" + more_yaml;
        node = std::make_unique<TestNode>(agency, o);
        std::ofstream(node->dir() + "/vdxp.secret") << secret << "\n";
    }
};

std::string status_edxml(const std::string& from, const std::string& to, const std::string& document_id,
                         const std::string& code) {
    return R"(<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>)" + from + R"(</edXML:OrganId><edXML:OrganName>Sở thử nghiệm</edXML:OrganName></edXML:From>
        <edXML:ResponseFor><edXML:OrganId>)" + to + R"(</edXML:OrganId><edXML:Code>125/UBND-VP</edXML:Code><edXML:DocumentId>)" +
           document_id + R"(</edXML:DocumentId><edXML:PromulgationDate>2025/03/14</edXML:PromulgationDate></edXML:ResponseFor>
        <edXML:StaffInfo><edXML:Department>Văn thư</edXML:Department><edXML:Staff>Nguyễn Thị B</edXML:Staff></edXML:StaffInfo>
        <edXML:StatusCode>)" + code + R"(</edXML:StatusCode>
        <edXML:Description>Đã đến</edXML:Description>
        <edXML:Timestamp>2025/03/14 09:00:00</edXML:Timestamp>
      </edXML:MessageHeader>
    </edXML:edXMLHeader>
  </edXML:edXMLEnvelope>
</edXML>
)";
}

std::string base64_decode(const std::string& b64) {
    std::string out(b64.size(), '\0');
    size_t n = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(), b64.size(), "\r\n", &n,
                          nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        throw std::runtime_error("data is not base64");
    out.resize(n);
    return out;
}

void check_ok(const json& j) {
    INFO(j.dump());
    CHECK(j.at("status") == "OK");
    CHECK(j.at("ErrorCode") == "0");
    CHECK(j.at("ErrorDesc").is_string());
}

void check_fail(const HttpResponse& r, const std::string& code, const std::string& says) {
    INFO("HTTP " << r.status << " body: " << r.body << " (expected " << code << " " << says << ")");
    REQUIRE(json::accept(r.body));
    const json j = r.json();
    CHECK(j.at("status") == "FAIL");
    CHECK(j.at("ErrorCode") == code);
    CHECK_THAT(j.at("ErrorDesc").get<std::string>(), Contains(says));
    for (unsigned char c : r.body) CHECK(c < 0x80);  // ASCII only
}

// Each node trusts the other; both started.
void link_and_start(HubNode& a, HubNode& b) {
    a.node->add_peer(*b.node);
    b.node->add_peer(*a.node);
    a.node->start();
    b.node->start();
}

uint64_t sent_count(TestNode& n) { return n.api({{"op", "outbox"}, {"limit", 1000}}).at("documents").size(); }

}  // namespace

TEST_CASE("a document system on the hub's SDK sends, receives, acknowledges and answers through two nodes", "[e2e]") {
    HubNode a(kA, kA, kSecretA), b(kB, "SYS." + kB, kSecretB);
    link_and_start(a, b);
    SdkClient sa(a.port, kA, kSecretA), sb(b.port, "SYS." + kB, kSecretB);

    // A sends: the answer's DocId is file-name safe; the SDK's retry of the same bytes gets the same one.
    const std::string doc = library_document(kA, kB);
    auto r = sa.send_edoc(doc, {{"from", kA}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}});
    json j = r.json();
    check_ok(j);
    const std::string doc_id = j.at("DocId");
    CHECK(doc_id.size() == 24);
    CHECK(doc_id.find_first_not_of("0123456789abcdef") == std::string::npos);
    r = sa.send_edoc(doc, {{"from", kA}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}});
    CHECK(r.json().at("DocId") == doc_id);
    CHECK(sent_count(*a.node) == 1);
    for (unsigned char c : r.body) CHECK(c < 0x80);

    // B lists (counts first), fetches both ways, and gets the very bytes A's system uploaded.
    json items;
    REQUIRE(wait_until(
        [&] {
            items = sb.call("getReceivedEdocList", {{"servicetype", "eDoc"}, {"messagetype", "edoc"}}).json().at("data");
            return items.size() == 1;
        },
        20s, 100ms));
    const std::string rid = items[0].at("docId");
    CHECK(items[0].at("from") == kA);
    CHECK(items[0].at("to") == kB);
    CHECK(items[0].at("messageType") == "edoc");
    CHECK(items[0].at("status") == "initial");
    j = sb.call("countReceiveEdoc", {{"servicetype", "eDoc"}, {"messagetype", "edoc"}}, "{}").json();
    check_ok(j);
    CHECK(j.at("count") == 1);
    CHECK(sb.call("countReceiveStatus", {}, "{}").json().at("count") == 0);
    r = sb.call("getEdoc", {{"docId", rid}, {"filePath", "/home/vanthu/edoc"}}, "{}");
    CHECK(r.got_continue);  // Expect: 100-continue answered before the body
    j = r.json();
    check_ok(j);
    CHECK(base64_decode(j.at("data")) == doc);
    r = sb.call("downloadEdoc", {{"docId", rid}}, "", "GET");
    CHECK(r.status == 200);
    CHECK(r.body == doc);

    // processing keeps it listed; done takes it off; done again is no change; fail after done is refused.
    check_ok(sb.call("updateStatus", {{"docId", rid}, {"status", "processing"}}, "{}").json());
    items = sb.call("getReceivedEdocList", {{"messagetype", "edoc"}}).json().at("data");
    REQUIRE(items.size() == 1);
    CHECK(items[0].at("status") == "processing");
    // The list call carries a leftover status=processing (the map is never cleared): not a filter.
    check_ok(sb.call("updateStatus", {{"docid", rid}, {"status", "done"}}, "{}").json());
    CHECK(sb.call("getReceivedEdocList", {{"messagetype", "edoc"}}).json().at("data").empty());
    CHECK(sb.call("countReceiveEdoc", {}, "{}").json().at("count") == 0);
    check_ok(sb.call("updateStatus", {{"docid", rid}, {"status", "done"}}, "{}").json());
    check_fail(sb.call("updateStatus", {{"docid", rid}, {"status", "fail"}}, "{}"), "400", "acknowledged done already");
    check_fail(sb.call("updateStatus", {{"docid", rid}, {"status", "acceptance"}}, "{}"), "400", "edXML Status");

    // B answers with a Status 01 on the same service object (leftover docId, filePath, status).
    const std::string st = status_edxml(kB, kA, kA + ",2025/03/14,125/UBND-VP", "01");
    r = sb.send_edoc(st, {{"from", kB}, {"servicetype", "eDoc"}, {"messagetype", "status"}});
    check_ok(r.json());
    REQUIRE(wait_until(
        [&] { return sa.call("countReceiveStatus", {{"messagetype", "status"}}, "{}").json().at("count") == 1; }, 20s,
        100ms));
    items = sa.call("getReceivedEdocList", {{"servicetype", "eDoc"}, {"messagetype", "status"}}).json().at("data");
    REQUIRE(items.size() == 1);
    CHECK(items[0].at("from") == kB);
    CHECK(items[0].at("messageType") == "status");
    j = sa.call("getEdoc", {{"docId", items[0].at("docId")}}, "{}").json();
    CHECK(base64_decode(j.at("data")) == st);
    check_ok(sa.call("updateStatus", {{"docId", items[0].at("docId")}, {"status", "done"}}, "{}").json());
    CHECK(sa.call("countReceiveStatus", {{"messagetype", "status"}}, "{}").json().at("count") == 0);

    // A reads how its document is doing at B: delivered, with the receipt's time and B's 01.
    j = sa.call("getSentEdocList", {{"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"docId", doc_id}}).json();
    check_ok(j);
    REQUIRE(j.at("data").size() == 1);
    const json& row = j.at("data")[0];
    CHECK(row.at("senderDocId") == doc_id);
    CHECK(row.at("toCode") == kB);
    CHECK(row.at("fromCode") == kA);
    CHECK(row.at("sendStatus") == "delivered");
    CHECK(row.at("receivedTime").get<std::string>().size() == 19);
    CHECK(row.at("receiveStatus") == "01");
    CHECK(row.at("notation") == "125/UBND-VP");

    // Agencies: each node lists itself and its peer, in the three shapes.
    j = sa.call("getAgenciesList", {}).json();
    check_ok(j);
    std::set<std::string> codes;
    for (const auto& g : j.at("data")) codes.insert(g.at("code").get<std::string>());
    CHECK(codes == std::set<std::string>{kA, kB});
    j = sb.call("getSynchronizeUnit", {}).json();
    REQUIRE(j.at("data").size() == 2);
    CHECK(j.at("data")[0].at("deleted").is_boolean());
    CHECK(j.at("data")[0].at("version").is_number_integer());
    j = sb.call("getAgenciesListQD20", {{"level", "1"}}).json();
    CHECK(j.at("data").size() == 2);
    CHECK(j.at("data")[0].contains("code102"));
    // No JSON null anywhere the SDK reads.
    CHECK(j.dump().find("null") == std::string::npos);
}

TEST_CASE("the hub API refuses bad requests with the hub's FAIL envelope and stores nothing", "[e2e][faults]") {
    HubNode a(kA, kA, kSecretA), b(kB, "SYS." + kB, kSecretB);
    link_and_start(a, b);
    const std::string doc = library_document(kA, kB);
    const std::vector<std::pair<std::string, std::string>> send{{"from", kA}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}};

    SdkClient wrong(a.port, kA, "not-the-secret-at-all");
    auto r = wrong.send_edoc(doc, send);
    check_fail(r, "401", "Invalid signature for " + kA);
    CHECK(r.json().at("DocId") == "");  // present in failures too
    check_fail(SdkClient(a.port, "000.00.99.H99", kSecretA).call("getReceivedEdocList", {}), "401", "unknown system");
    check_fail(SdkClient(a.port, kA, kSecretA).send_edoc(doc, {{"from", kB}, {"messagetype", "edoc"}}), "403",
               "Don vi gui " + kB + " khong dung voi ma da dang ky: " + kA);
    check_fail(SdkClient(a.port, kA, kSecretA).send_edoc("<edXML><broken", send), "400", "well-formed");
    check_fail(SdkClient(a.port, kA, kSecretA).send_edoc(doc, send, "multipart/form-data; boundary=x", true), "415",
               "application/octet-stream");
    check_fail(SdkClient(a.port, kA, kSecretA).send_edoc(doc, {{"from", kA}, {"messagetype", "status"}}), "400",
               "not a Status message");
    check_fail(SdkClient(a.port, kA, kSecretA).send_edoc(doc, {{"from", kA}, {"to", "[\"000.00.77.H77\"]"}}), "400",
               "not among the document's To");
    check_fail(SdkClient(a.port, kA, kSecretA).send_edoc(std::string(1100000, 'x'), send, "application/octet-stream", true),
               "413", "max_body_bytes");
    // Non-ASCII parameter values cannot be verified (the SDK cuts them to one byte): a clear refusal.
    SdkClient accented(a.port, kA, kSecretA);
    check_fail(accented.call("updateStatus", {{"docId", "0123456789abcdef01234567"}, {"description", "\xC4\x90\xC3\xA3 nh\xE1\xBA\xADn"}}, "{}"),
               "401", "must be ASCII");
    SdkClient ok(a.port, kA, kSecretA);
    check_fail(ok.call("getEdoc", {{"docId", "0123456789abcdef01234567"}}, "{}"), "404", "unknown docId");
    check_fail(ok.call("getEdoc", {{"docId", "../../etc/passwd"}}, "{}"), "404", "unknown docId");
    r = ok.call("downloadEdoc", {{"docId", "0123456789abcdef01234567"}}, "", "GET");
    CHECK(r.body.empty());  // the SDK saves any body as the document: errors are empty
    CHECK(r.status == 404);
    check_fail(ok.call("registerAgency", {}, R"({"id":"","pcode":"x","code":"y"})"), "405", "enrollment");
    check_fail(ok.call("deleteAgency", {{"AgencyCode", kB}}, "{}"), "405", "not supported");
    check_fail(ok.call("noSuchMethod", {}), "404", "unknown method");
    check_fail(ok.call("getReceivedEdocList", {{"messagetype", "letters"}}), "400", "messagetype");
    // The hash-file does not match the body: cut in transit.
    {
        SdkClient cut(a.port, kA, kSecretA);
        cut.put("Content-Type", "application/octet-stream");
        for (const auto& [k, v] : send) cut.put(k, v);
        cut.put("hash-file", java_hash_file(doc + "tampered"));
        const std::string body = doc + "\r\n";
        const std::string head = "POST /sendEdoc HTTP/1.1\r\nHost: x\r\n" + cut.signed_headers() +
                                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        check_fail(http_exchange(a.port, head, body, false), "400", "does not match hash-file");
    }
    // No sign-header at all.
    check_fail(http_exchange(a.port, "POST /getReceivedEdocList HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "", false),
               "401", "sign-header is missing");
    // A sign-header that is not JSON, with a valid HMAC of its bytes.
    {
        const std::string sign = "{\"XroadVnpt-systemid\":";
        const std::string head = "POST /getReceivedEdocList HTTP/1.1\r\nHost: x\r\nXroadVnpt-sign-header: " + sign +
                                 "\r\nXroadVnpt-hash-header: " + hmac_sha256_hex(kSecretA, sign) + "\r\nContent-Length: 0\r\n\r\n";
        check_fail(http_exchange(a.port, head, "", false), "401", "not JSON");
    }
    // Too many headers.
    {
        std::string head = "POST /getReceivedEdocList HTTP/1.1\r\nHost: x\r\n";
        for (int i = 0; i < 150; ++i) head += "X-Filler-" + std::to_string(i) + ": 1\r\n";
        check_fail(http_exchange(a.port, head + "Content-Length: 0\r\n\r\n", "", false), "400", "headers");
    }
    // Nothing of all that was stored or sent; a good request still works afterwards.
    CHECK(sent_count(*a.node) == 0);
    auto good = ok.send_edoc(doc, send);
    check_ok(good.json());
    CHECK(sent_count(*a.node) == 1);
    CHECK(a.node->log_contains("vdxp_refused"));
    CHECK(b.node->running());
}

TEST_CASE("systems are added, listed, rotated and removed with lienthong-admin vdxp", "[e2e]") {
    HubNode a(kA, kA, kSecretA);
    a.node->start();
    const auto admin = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {admin_bin(), "-c", a.node->config_path()});
        return run_process(args, 30s);
    };
    auto p = admin({"vdxp", "add-system", "IOFFICE-01", "--json"});
    REQUIRE(p.exit_code == 0);
    const std::string secret = json::parse(p.out).at("secret");
    CHECK(secret.size() == 44);
    SdkClient c(a.port, "IOFFICE-01", secret);
    check_ok(c.call("countReceiveEdoc", {}, "{}").json());
    p = admin({"vdxp", "list-systems"});
    CHECK_THAT(p.out, Contains("IOFFICE-01"));
    CHECK_THAT(p.out, Contains(kA));
    p = admin({"vdxp", "rotate-secret", "IOFFICE-01", "--json"});
    REQUIRE(p.exit_code == 0);
    const std::string rotated = json::parse(p.out).at("secret");
    CHECK(rotated != secret);
    check_fail(c.call("countReceiveEdoc", {}, "{}"), "401", "Invalid signature");
    c.set_secret(rotated);
    check_ok(c.call("countReceiveEdoc", {}, "{}").json());
    // A config system is removed in the config; an unknown one is named.
    p = admin({"vdxp", "remove-system", kA});
    CHECK(p.exit_code != 0);
    CHECK_THAT(p.err, Contains("listed in the config"));
    p = admin({"vdxp", "add-system", "bad id/../x"});
    CHECK(p.exit_code != 0);
    CHECK_THAT(p.err, Contains("is not a system id"));
    p = admin({"vdxp", "remove-system", "IOFFICE-01"});
    CHECK(p.exit_code == 0);
    check_fail(c.call("countReceiveEdoc", {}, "{}"), "401", "unknown system");
    // Added systems survive a restart.
    p = admin({"vdxp", "add-system", "IOFFICE-02", "--json"});
    REQUIRE(p.exit_code == 0);
    SdkClient c2(a.port, "IOFFICE-02", json::parse(p.out).at("secret"));
    a.node->restart();
    check_ok(c2.call("countReceiveEdoc", {}, "{}").json());
}

TEST_CASE("fifty document-system clients for a minute, across a kill -9 of each node, lose and repeat nothing",
          "[e2e][faults]") {
    HubNode a(kA, kA, kSecretA), b(kB, "SYS." + kB, kSecretB);
    link_and_start(a, b);
    constexpr int kSenders = 25, kReceivers = 25;
    const auto run_for = std::chrono::seconds(60);
    std::atomic<bool> stop_sending{false}, stop_receiving{false};
    std::mutex mu;
    std::map<std::string, std::string> sent;  // DocumentId -> DocId, for every file answered OK
    std::set<std::string> acked;              // docIds B's systems acknowledged done
    std::atomic<uint64_t> send_errors{0}, ack_calls{0}, refused_sends{0};
    std::vector<std::thread> threads;
    for (int s = 0; s < kSenders; ++s)
        threads.emplace_back([&, s] {
            SdkClient c(a.port, kA, kSecretA);
            for (int n = 0; !stop_sending && n < 100000; ++n) {
                const std::string document_id = kA + ",2025/03/14," + std::to_string(s) + "-" + std::to_string(n);
                const std::string file = library_document(kA, kB, "", document_id);
                // The SDK's retry: the same bytes until an answer (bounded), as across a node's restart.
                for (int attempt = 0; attempt < 300; ++attempt) {
                    try {
                        const json j = c.send_edoc(file, {{"from", kA}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}}).json();
                        if (j.at("status") == "OK") {
                            std::lock_guard lock(mu);
                            sent[document_id] = j.at("DocId");
                            break;
                        }
                        ++refused_sends;  // (Catch2 assertions are for the main thread only)
                        break;
                    } catch (const std::exception&) {
                    }
                    ++send_errors;
                    std::this_thread::sleep_for(100ms);
                }
                std::this_thread::sleep_for(200ms);  // a clerk's pace, 25 of them: ~125 documents/s
            }
        });
    for (int r = 0; r < kReceivers; ++r)
        threads.emplace_back([&, r] {
            SdkClient c(b.port, "SYS." + kB, kSecretB);
            std::mt19937 rng(static_cast<unsigned>(r));
            while (!stop_receiving) {
                try {
                    const json list = c.call("getReceivedEdocList", {{"servicetype", "eDoc"}, {"messagetype", "edoc"}}).json();
                    if (list.at("status") != "OK" || list.at("data").empty()) {
                        std::this_thread::sleep_for(50ms);
                        continue;
                    }
                    // Each client works through the whole list, as applications do, in its own
                    // order, so several pollers meet on some items.
                    std::vector<std::string> ids;
                    for (const auto& it : list.at("data")) ids.push_back(it.at("docId"));
                    std::shuffle(ids.begin(), ids.end(), rng);
                    for (const auto& id : ids) {
                        if (stop_receiving) break;
                        {
                            std::lock_guard lock(mu);  // the workers of one system share what they took
                            if (acked.count(id)) continue;
                        }
                        const json got = c.call("getEdoc", {{"docId", id}}, "{}").json();
                        if (got.at("status") != "OK") continue;
                        // Acknowledged until answered: a restart may swallow the answer of a committed one.
                        for (int attempt = 0; attempt < 300 && !stop_receiving; ++attempt) {
                            try {
                                ++ack_calls;
                                const json done = c.call("updateStatus", {{"docId", id}, {"status", "done"}}, "{}").json();
                                if (done.at("status") == "OK") {
                                    std::lock_guard lock(mu);
                                    acked.insert(id);
                                }
                                break;
                            } catch (const std::exception&) {
                                std::this_thread::sleep_for(100ms);
                            }
                        }
                    }
                } catch (const std::exception&) {
                    std::this_thread::sleep_for(100ms);  // the node is restarting
                }
            }
        });
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(run_for / 3);
    a.node->kill();  // kill -9 of the sending node, mid-traffic
    a.node->start();
    std::this_thread::sleep_for(run_for / 3);
    b.node->kill();  // and of the receiving one
    b.node->start();
    std::this_thread::sleep_until(t0 + run_for);
    stop_sending = true;
    for (int s = 0; s < kSenders; ++s) threads[static_cast<size_t>(s)].join();
    // Everything sent reaches B and every item is taken off B's list by its systems.
    const bool drained = wait_until(
        [&] {
            const json st = a.node->api({{"op", "status"}});
            if (st.at("outbox_pending") != 0) return false;
            SdkClient c(b.port, "SYS." + kB, kSecretB);
            return c.call("countReceiveEdoc", {}, "{}").json().at("count") == 0;
        },
        120s, 500ms);
    stop_receiving = true;
    for (size_t i = kSenders; i < threads.size(); ++i) threads[i].join();
    REQUIRE(drained);
    INFO("sent " << sent.size() << ", acknowledged " << acked.size() << ", send retries " << send_errors
                 << ", updateStatus calls " << ack_calls);
    CHECK(sent.size() > 200);
    CHECK(refused_sends == 0);
    std::printf("vdxp load: %zu documents sent by %d clients, %zu acknowledged by %d, %llu send retries, %llu "
                "updateStatus calls\n", sent.size(), kSenders, acked.size(), kReceivers,
                static_cast<unsigned long long>(send_errors.load()), static_cast<unsigned long long>(ack_calls.load()));
    // Once each at B: its inbox holds exactly the documents A's systems were told were sent.
    const json inbox = b.node->api({{"op", "inbox"}, {"limit", 100000}});
    CHECK(inbox.at("total") == sent.size());
    const json outbox = a.node->api({{"op", "outbox"}, {"limit", 100000}});
    CHECK(outbox.at("documents").size() == sent.size());
    std::set<std::string> received;
    for (const auto& d : inbox.at("documents")) received.insert(d.at("id").get<std::string>().substr(0, 24));
    for (const auto& [document_id, doc_id] : sent) CHECK(received.count(doc_id) == 1);
    CHECK(acked == received);
}

TEST_CASE("a reload re-reads the systems' secret files and refuses one it cannot read", "[e2e]") {
    HubNode a(kA, kA, kSecretA);
    a.node->start();
    SdkClient old_secret(a.port, kA, kSecretA);
    check_ok(old_secret.call("countReceiveEdoc", {}, "{}").json());
    const std::string rotated = "rotated-by-the-admin-0123456789";
    std::ofstream(a.node->dir() + "/vdxp.secret") << rotated << "\n";
    auto r = a.node->call({{"op", "reload"}});
    REQUIRE(r.ok());
    check_fail(old_secret.call("countReceiveEdoc", {}, "{}"), "401", "Invalid signature");
    check_ok(SdkClient(a.port, kA, rotated).call("countReceiveEdoc", {}, "{}").json());
    // An unreadable secret: the reload is refused and the running systems stay as they were.
    std::ofstream(a.node->dir() + "/vdxp.secret") << "short\n";
    r = a.node->call({{"op", "reload"}});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Contains("8 to 512 characters"));
    check_ok(SdkClient(a.port, kA, rotated).call("countReceiveEdoc", {}, "{}").json());
}

TEST_CASE("a node whose configured system has no readable secret refuses to start, naming the file", "[e2e][faults]") {
    HubNode a(kA, kA, kSecretA);
    std::filesystem::remove(a.node->dir() + "/vdxp.secret");
    std::ofstream(a.node->config_path()) << a.node->config_yaml();
    const auto p = run_process({node_bin(), "--config", a.node->config_path()}, 15s);
    INFO("stderr: " << p.err);
    CHECK(p.exit_code > 0);
    CHECK(p.err_lines().size() == 1);
    CHECK_THAT(p.err, Contains("vdxp system '" + kA + "'") && Contains("vdxp.secret") && Contains("rotate-secret"));
}

TEST_CASE("slow and idle HTTP clients hold no more than their threads, and never the peer traffic", "[e2e][faults]") {
    HubNode a(kA, kA, kSecretA), b(kB, "SYS." + kB, kSecretB);
    // Few threads and short timeouts, so the test sees them run out and come back.
    a.node = std::make_unique<TestNode>(kA, [&] {
        NodeOptions o;
        o.extra_yaml = "vdxp:\n  listen: \"127.0.0.1:" + std::to_string(a.port) +
                       "\"\n  threads: 4\n  read_timeout_s: 2\n  idle_timeout_s: 1\n  systems:\n    - systemid: \"" + kA +
                       "\"\n      secret_file: vdxp.secret\n";
        return o;
    }());
    std::ofstream(a.node->dir() + "/vdxp.secret") << kSecretA << "\n";
    link_and_start(a, b);
    // Eight connections that send half a request and then nothing: more than the threads.
    std::vector<int> slow;
    for (int i = 0; i < 8; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(a.port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        const std::string partial = "POST /getReceivedEdocList HTTP/1.1\r\nHost: x\r\nXroadVnpt-sign";
        REQUIRE(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(partial.size()));
        slow.push_back(fd);
    }
    // Peer traffic does not wait for them: a document A -> B through the local API arrives.
    const auto t0 = std::chrono::steady_clock::now();
    const std::string doc = library_document(kA, kB);
    const json sent = a.node->api({{"op", "import"}, {"data", json::binary(std::vector<uint8_t>(doc.begin(), doc.end()))}});
    REQUIRE(wait_until([&] { return b.node->api({{"op", "inbox"}}).at("total") == 1; }, 10s));
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    // Once the slow ones time out (read_timeout_s 2), a real client is served again.
    SdkClient c(a.port, kA, kSecretA);
    bool served = false;
    for (int i = 0; i < 20 && !served; ++i) {
        try {
            served = c.call("countReceiveEdoc", {}, "{}").json().at("status") == "OK";
        } catch (const std::exception&) {
            std::this_thread::sleep_for(500ms);
        }
    }
    CHECK(served);
    for (int fd : slow) ::close(fd);
    (void)sent;
}

TEST_CASE("getSentEdocList without a docId gives the latest 500 documents sent, newest first", "[e2e]") {
    HubNode a(kA, kA, kSecretA), b(kB, "SYS." + kB, kSecretB);
    a.node->add_peer(*b.node);  // B never starts: everything stays pending
    a.node->start();
    json docs = json::array();
    for (int i = 0; i < 520; ++i)
        docs.push_back({{"to", {kB}}, {"subject", "older " + std::to_string(i)}, {"body", "x"}});
    a.node->api({{"op", "send_batch"}, {"documents", docs}});
    SdkClient c(a.port, kA, kSecretA);
    const std::string doc_id =
        c.send_edoc(library_document(kA, kB), {{"from", kA}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}}).json().at("DocId");
    const json j = SdkClient(a.port, kA, kSecretA).call("getSentEdocList", {{"servicetype", "eDoc"}, {"messagetype", "edoc"}}).json();
    check_ok(j);
    REQUIRE(j.at("data").size() == 500);
    CHECK(j.at("data")[0].at("senderDocId") == doc_id);
    CHECK(j.at("data")[0].at("sendStatus") == "pending");
    CHECK(j.at("data")[0].at("sendStatusDesc").get<std::string>().rfind("queued", 0) == 0);
}

TEST_CASE("/metrics counts hub API requests by call and ErrorCode, with their time", "[e2e]") {
    const uint16_t http = free_port();
    HubNode a(kA, kA, kSecretA, "http:\n  listen: \"127.0.0.1:" + std::to_string(http) + "\"\n");
    a.node->start();
    SdkClient ok(a.port, kA, kSecretA), wrong(a.port, kA, "not-the-secret-at-all");
    check_ok(ok.call("countReceiveEdoc", {}, "{}").json());
    check_ok(ok.call("countReceiveEdoc", {}, "{}").json());
    check_fail(wrong.call("getReceivedEdocList", {}), "401", "Invalid signature");
    check_fail(ok.call("noSuchMethod", {}), "404", "unknown method");
    std::string page;
    REQUIRE(wait_until(
        [&] {
            page = http_exchange(http, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "", false).body;
            return page.find("lienthong_vdxp_requests_total{call=\"other\",code=\"404\"} 1") != std::string::npos;
        },
        10s, 200ms));
    CHECK_THAT(page, Contains("lienthong_vdxp_requests_total{call=\"countReceiveEdoc\",code=\"0\"} 2"));
    CHECK_THAT(page, Contains("lienthong_vdxp_requests_total{call=\"getReceivedEdocList\",code=\"401\"} 1"));
    CHECK_THAT(page, Contains("lienthong_vdxp_request_seconds_count 4"));
}
