#include "bench/vdxp_phase.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "node/api_client.h"
#include "tests/e2e/vdxp_client.h"

namespace lienthong::bench {

namespace {

// A minimal edXML document of about 1 KiB; `n` makes each one distinct (the node sends the same
// file from the same system once).
std::string small_edxml(const std::string& from, const std::string& to, size_t n) {
    const std::string id = from + ",2026/12/06," + std::to_string(n) + "/BENCH";
    std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:edXMLHeader><edXML:MessageHeader>
<edXML:From><edXML:OrganId>)" + from + R"(</edXML:OrganId><edXML:OrganName>Bench sender</edXML:OrganName></edXML:From>
<edXML:To><edXML:OrganId>)" + to + R"(</edXML:OrganId><edXML:OrganName>Bench receiver</edXML:OrganName></edXML:To>
<edXML:DocumentId>)" + id + R"(</edXML:DocumentId>
<edXML:Code><edXML:CodeNumber>)" + std::to_string(n) + R"(</edXML:CodeNumber><edXML:CodeNotation>BENCH</edXML:CodeNotation></edXML:Code>
<edXML:PromulgationInfo><edXML:Place>Ha Noi</edXML:Place><edXML:PromulgationDate>2026/12/06</edXML:PromulgationDate></edXML:PromulgationInfo>
<edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>Cong van</edXML:TypeName></edXML:DocumentType>
<edXML:Subject>Bench document )" + std::to_string(n) + R"(</edXML:Subject>
<edXML:Content>)";
    xml += std::string(1024 - std::min<size_t>(xml.size(), 900), 'x');
    xml += R"(</edXML:Content></edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope></edXML>
)";
    return xml;
}

}  // namespace

VdxpResult run_vdxp_send(const Cluster& cluster, size_t docs, size_t clients) {
    VdxpResult r;
    r.docs = docs;
    r.clients = clients;
    const auto& s = cluster.sender();
    std::atomic<size_t> next{0}, failed{0};
    std::vector<std::vector<double>> lat(clients);
    std::mutex err_mu;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (size_t c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            e2e::vdxp::SdkClient client(cluster.vdxp_port(), s.agency, cluster.vdxp_secret());
            for (size_t n; (n = next++) < docs;) {
                const std::string file = small_edxml(s.agency, cluster.receiver().agency, n);
                if (c == 0 && n == 0) r.file_bytes = file.size();
                const auto a = std::chrono::steady_clock::now();
                std::string error;
                try {
                    const auto resp = client.send_edoc(file, {{"from", s.agency}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}});
                    const auto j = resp.json();
                    if (j.value("status", "") != "OK") error = j.value("ErrorDesc", "FAIL");
                } catch (const std::exception& e) {
                    error = e.what();
                }
                lat[c].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
                if (!error.empty()) {
                    ++failed;
                    std::lock_guard lock(err_mu);
                    if (r.first_error.empty()) r.first_error = error;
                }
            }
        });
    for (auto& t : threads) t.join();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Delivered: the sender's outbox empty (every receipt verified), polled for at most 10 minutes.
    auto control = node::ApiClient::connect(s.api_socket, 30000);
    for (int i = 0; control.ok() && i < 60000; ++i) {
        auto st = (*control)->call({{"op", "status"}});
        if (st.ok() && st->value("outbox_pending", uint64_t{1}) == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    r.delivered_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    r.latency_ms = percentiles(std::move(all));
    r.failed = failed;
    return r;
}

}  // namespace lienthong::bench
