// Monitoring (issue 17): a node's HTTP listener serves /metrics that Prometheus' own checker
// accepts, whose counters move as documents flow, and /health and /ready; /health fails when
// the database cannot be written (a full disk, made with a tmpfs the test mounts as root).
#include <catch2/catch.hpp>
#include <httplib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <regex>

#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

namespace {

struct Http {
    uint16_t port = free_port();
    std::string yaml() const { return "http:\n  listen: \"127.0.0.1:" + std::to_string(port) + "\"\n"; }
    // Status and body of GET path; status 0 when nothing answered.
    std::pair<int, std::string> get(const std::string& path) const {
        httplib::Client c("127.0.0.1", port);
        c.set_connection_timeout(2, 0);
        c.set_read_timeout(5, 0);
        auto r = c.Get(path.c_str());
        if (!r) return {0, ""};
        return {r->status, r->body};
    }
};

// The value of the sample `name{labels}` on a metrics page; -1 when absent.
double sample(const std::string& page, const std::string& series) {
    std::istringstream in(page);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return -1;
}

// promtool's verdict on a page: empty when it passes, else what it printed.
std::string promtool_problems(const std::string& page, const std::string& dir) {
    const std::string file = dir + "/metrics.txt";
    std::ofstream(file) << page;
    const auto r = run_process({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + file});
    if (r.exit_code == 0) return "";
    return "promtool exit " + std::to_string(r.exit_code) + ": " + r.out + r.err;
}

}  // namespace

TEST_CASE("metrics: promtool accepts a live node's page, and its counters move as documents flow", "[e2e]") {
    Http ha, hb;
    NodeOptions oa, ob;
    oa.extra_yaml = ha.yaml();
    ob.extra_yaml = hb.yaml();
    TestNode a("000.00.01.M17", oa), b("000.00.02.M17", ob);
    a.add_peer(b);
    b.add_peer(a);
    a.start();
    b.start();
    REQUIRE(wait_until([&] { return ha.get("/metrics").first == 200 && hb.get("/metrics").first == 200; }, 10s, 100ms));
    const std::string before = ha.get("/metrics").second;
    CHECK(promtool_problems(before, a.dir()).empty());
    const std::string delivered = "lienthong_documents_delivered_total{peer=\"" + b.agency() + "\"}";
    const std::string received = "lienthong_documents_received_total{peer=\"" + a.agency() + "\"}";
    CHECK(sample(before, delivered) == 0);

    std::mt19937_64 rng(17);
    std::vector<std::string> ids;
    for (int n = 0; n < 5; ++n) ids.push_back(a.api(send_request({b.agency()}, make_doc(n, rng, 1, 2000))).at("id"));
    REQUIRE(wait_until([&] {
        for (const auto& id : ids)
            if (!has_receipt(a, id)) return false;
        return true;
    }, 20s, 100ms));
    // The page is rendered once a second.
    std::string after_a, after_b;
    REQUIRE(wait_until([&] {
        after_a = ha.get("/metrics").second;
        after_b = hb.get("/metrics").second;
        return sample(after_a, delivered) == 5 && sample(after_b, received) == 5;
    }, 5s, 200ms));
    CHECK(sample(after_a, "lienthong_envelope_bytes_sent_total{peer=\"" + b.agency() + "\"}") > 5 * 2000);
    CHECK(sample(after_b, "lienthong_envelope_bytes_received_total{peer=\"" + a.agency() + "\"}") > 5 * 2000);
    CHECK(sample(after_a, "lienthong_receipt_latency_seconds_count") == 5);
    CHECK(sample(after_a, "lienthong_outbox_depth{peer=\"" + b.agency() + "\"}") == 0);
    CHECK(sample(after_a, "lienthong_link_up{peer=\"" + b.agency() + "\"}") == 1);
    CHECK(sample(after_b, "lienthong_commit_items_count") >= 1);
    CHECK(sample(after_b, "lienthong_lmdb_used_bytes") > 0);
    CHECK(promtool_problems(after_a, a.dir()).empty());
    CHECK(promtool_problems(after_b, b.dir()).empty());
    // Every series the example dashboard plots is one the node serves.
    std::ifstream dash(std::string(LIENTHONG_SOURCE_DIR) + "/deploy/monitoring/grafana-dashboard.json");
    const std::string board((std::istreambuf_iterator<char>(dash)), std::istreambuf_iterator<char>());
    REQUIRE_FALSE(board.empty());
    const std::regex metric("lienthong_[a-z_]+");
    size_t plotted = 0;
    for (auto it = std::sregex_iterator(board.begin(), board.end(), metric); it != std::sregex_iterator(); ++it) {
        std::string name = it->str();
        if (name.size() > 7 && name.compare(name.size() - 7, 7, "_bucket") == 0) name.resize(name.size() - 7);
        if (name == "lienthong_directory_next_expiry_seconds") continue;  // only with a directory
        INFO("dashboard series " << name);
        CHECK(after_a.find("# TYPE " + name + " ") != std::string::npos);
        ++plotted;
    }
    CHECK(plotted >= 12);

    // Queued for a peer that is down: the outbox and its oldest entry's age show it.
    CHECK(b.stop() == 0);
    const std::string id = a.api(send_request({b.agency()}, make_doc(9, rng, 0, 100))).at("id");
    CHECK(wait_until([&] {
        const std::string page = ha.get("/metrics").second;
        return sample(page, "lienthong_outbox_depth{peer=\"" + b.agency() + "\"}") == 1 &&
               sample(page, "lienthong_outbox_oldest_age_seconds{peer=\"" + b.agency() + "\"}") >= 1 &&
               sample(page, "lienthong_link_up{peer=\"" + b.agency() + "\"}") == 0;
    }, 10s, 200ms));

    const auto [health, health_body] = ha.get("/health");
    CHECK(health == 200);
    CHECK(health_body == "ok\n");
    CHECK(ha.get("/ready").first == 200);
    CHECK(ha.get("/nothing-here").first == 404);
    CHECK(a.stop() == 0);
    CHECK(ha.get("/health").first == 0);  // gone with the node
    CHECK(a.sanitizer_findings().empty());
}

TEST_CASE("metrics: /health fails, naming the disk, when the database cannot be written", "[e2e][faults]") {
    Http h;
    NodeOptions o;
    o.extra_yaml = h.yaml();
    TestNode a("000.00.01.N17", o), b("000.00.02.N17");
    a.add_peer(b);
    // The database on a 3 MiB filesystem of its own: as root only.
    const std::string data = a.dir() + "/data";
    ::mkdir(data.c_str(), 0700);
    if (geteuid() != 0 || ::mount("tmpfs", data.c_str(), "tmpfs", 0, "size=3m,mode=0700") != 0) {
        WARN("skipped: mounting a small tmpfs needs root");
        return;
    }
    struct Unmount {
        std::string path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{data};
    a.start();
    REQUIRE(wait_until([&] { return h.get("/health").first == 200; }, 10s, 100ms));
    // Documents the peer never takes stay in the database until it is full.
    std::mt19937_64 rng(18);
    bool refused = false;
    for (int n = 0; n < 20 && !refused; ++n) {
        TestDoc d = make_doc(n, rng, 0, 10);
        d.attachments.push_back({"scan.pdf", "application/pdf", random_bytes(rng, 512u << 10)});
        refused = !a.call(send_request({b.agency()}, d)).ok();
    }
    CHECK(refused);
    std::string body;
    CHECK(wait_until([&] {
        auto [status, text] = h.get("/health");
        body = text;
        return status == 503;
    }, 10s, 100ms));
    CHECK_THAT(body, Catch::Contains("database cannot be written"));
    CHECK_THAT(body, Catch::Contains("full"));
    CHECK(h.get("/ready").first == 503);
    CHECK(wait_until([&] { return sample(h.get("/metrics").second, "lienthong_commits_failed_total") >= 1; }, 5s, 200ms));
    CHECK(a.stop() == 0);
}
