// Node configuration: a valid file parses; every bad value is one line naming the key.
#include <catch2/catch.hpp>

#include <fstream>

#include "node/config.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::node;
using lienthong::testing::seeded_identity;
using lienthong::testing::TempDir;

namespace {
const std::string kPath = "/etc/lienthong/node.yaml";

std::string peer_line(const std::string& agency, uint8_t seed) {
    return seeded_identity(agency, seed).pub.to_line();
}

std::string valid_yaml() {
    return "agency: \"000.00.31.H14\"\n"
           "name: \"Sở Tài nguyên và Môi trường tỉnh Đắk Nông\"\n"
           "data_dir: data\n"
           "key_file: node.key\n"
           "listen: \"tcp://*:7001\"\n"
           "peers:\n"
           "  - agency: \"000.00.00.H41\"\n"
           "    endpoint: \"tcp://127.0.0.1:7002\"\n"
           "    identity: \"" + peer_line("000.00.00.H41", 2) + "\"\n"
           "  - agency: \"000.01.31.H14\"\n"
           "    endpoint: \"tcp://so-tnmt.daknong.gov.vn:7003\"\n"
           "    identity: \"" + peer_line("000.01.31.H14", 3) + "\"\n"
           "retry:\n  initial_ms: 250\n  max_ms: 60000\n"
           "heartbeat_ms: 2000\n"
           "limits:\n  max_envelope_bytes: 1048576\n  window_documents: 64\n"
           "  window_bytes: 8388608\n  batch_documents: 32\n"
           "log_level: debug\n";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

// Parses `yaml`, requires failure, and checks the message is one line naming `key`.
std::string refused(const std::string& yaml, const std::string& key) {
    auto c = parse_config(yaml, kPath);
    INFO(yaml);
    REQUIRE_FALSE(c.ok());
    INFO(c.error());
    CHECK(c.error().find('\n') == std::string::npos);
    CHECK_THAT(c.error(), Catch::Contains(key));
    return c.error();
}
}  // namespace

TEST_CASE("a valid config parses with every value", "[node][config]") {
    auto c = parse_config(valid_yaml(), kPath);
    REQUIRE(c.ok());
    CHECK(c->config_path == kPath);
    CHECK(c->agency == "000.00.31.H14");
    CHECK(c->name == "Sở Tài nguyên và Môi trường tỉnh Đắk Nông");
    CHECK(c->data_dir == "/etc/lienthong/data");
    CHECK(c->key_file == "/etc/lienthong/node.key");
    CHECK(c->listen == "tcp://*:7001");
    REQUIRE(c->peers.size() == 2);
    CHECK(c->peers[0].identity == seeded_identity("000.00.00.H41", 2).pub);
    CHECK(c->peers[0].endpoint == "tcp://127.0.0.1:7002");
    CHECK(c->peers[1].identity.agency == "000.01.31.H14");
    CHECK(c->retry.initial_ms == 250);
    CHECK(c->retry.max_ms == 60000);
    CHECK(c->heartbeat_ms == 2000);
    CHECK(c->limits.max_envelope_bytes == 1048576);
    CHECK(c->limits.window_documents == 64);
    CHECK(c->limits.window_bytes == 8388608);
    CHECK(c->limits.batch_documents == 32);
    CHECK(c->log_level == LogLevel::debug);
    CHECK(c->api_endpoint() == "ipc:///etc/lienthong/data/api.sock");
}

TEST_CASE("optional keys take their documented defaults", "[node][config]") {
    auto c = parse_config("agency: A\ndata_dir: /var/lib/lt\nkey_file: /etc/lt/node.key\nlisten: tcp://*:7001\n", kPath);
    REQUIRE(c.ok());
    CHECK(c->data_dir == "/var/lib/lt");  // absolute paths are kept
    CHECK(c->peers.empty());
    CHECK(c->retry.initial_ms == 500);
    CHECK(c->retry.max_ms == 30000);
    CHECK(c->heartbeat_ms == 1000);
    CHECK(c->limits.max_envelope_bytes == (64ull << 20));
    CHECK(c->log_level == LogLevel::info);
    CHECK(parse_config("agency: A\ndata_dir: d\nkey_file: k\nlisten: tcp://*:1\npeers: []\n", kPath).ok());
}

TEST_CASE("the admin's config skeleton parses", "[node][config]") {
    auto c = parse_config(config_skeleton("000.00.31.H14", "Sở Nội vụ", "tcp://*:7001"), kPath);
    REQUIRE(c.ok());
    CHECK(c->agency == "000.00.31.H14");
    CHECK(c->name == "Sở Nội vụ");
}

TEST_CASE("a missing or bad agency is refused", "[node][config]") {
    refused(replace(valid_yaml(), "agency: \"000.00.31.H14\"\n", ""), "'agency'");
    refused(replace(valid_yaml(), "agency: \"000.00.31.H14\"", "agency: \"Sở Nội vụ\""), "'agency'");
    refused(replace(valid_yaml(), "agency: \"000.00.31.H14\"", "agency: [a, b]"), "'agency'");
    refused(replace(valid_yaml(), "agency: \"000.00.31.H14\"", "agency:"), "'agency'");
}

TEST_CASE("other required keys are named when missing", "[node][config]") {
    refused(replace(valid_yaml(), "data_dir: data\n", ""), "'data_dir'");
    refused(replace(valid_yaml(), "key_file: node.key\n", ""), "'key_file'");
    refused(replace(valid_yaml(), "listen: \"tcp://*:7001\"\n", ""), "'listen'");
}

TEST_CASE("unknown keys are refused at the top level and nested", "[node][config]") {
    refused(valid_yaml() + "agencyy: x\n", "'agencyy'");
    refused(replace(valid_yaml(), "  max_ms: 60000\n", "  max_ms: 60000\n  foo: 1\n"), "'retry.foo'");
    refused(replace(valid_yaml(), "  batch_documents: 32\n", "  batch_documents: 32\n  bar: 1\n"),
            "'limits.bar'");
    refused(replace(valid_yaml(), "    endpoint: \"tcp://127.0.0.1:7002\"\n",
                    "    endpoint: \"tcp://127.0.0.1:7002\"\n    port: 1\n"),
            "'peers[0].port'");
}

TEST_CASE("bad endpoints are refused with the key", "[node][config]") {
    const std::string peer0 = "endpoint: \"tcp://127.0.0.1:7002\"";
    refused(replace(valid_yaml(), peer0, "endpoint: \"tcp://127.0.0.1\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), peer0, "endpoint: \"tcp://127.0.0.1:\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), peer0, "endpoint: \"tcp://127.0.0.1:70000\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), peer0, "endpoint: \"tcp://127.0.0.1:0\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), peer0, "endpoint: \"tcp://127.0.0.1:http\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), peer0, "endpoint: \"udp://127.0.0.1:7002\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), peer0, "endpoint: \"127.0.0.1:7002\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), peer0, "endpoint: \"tcp://:7002\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), peer0, "endpoint: \"tcp://bad host:7002\""), "'peers[0].endpoint'");
    refused(replace(valid_yaml(), "listen: \"tcp://*:7001\"", "listen: \"tcp://*:99999\""), "'listen'");
    refused(replace(valid_yaml(), "listen: \"tcp://*:7001\"", "listen: \"ipc:///tmp/x\""), "'listen'");
}

TEST_CASE("a '*' host is refused in a peer endpoint but allowed for listen", "[node][config]") {
    auto e = refused(replace(valid_yaml(), "endpoint: \"tcp://127.0.0.1:7002\"", "endpoint: \"tcp://*:7002\""),
                     "'peers[0].endpoint'");
    CHECK_THAT(e, Catch::Contains("'*'"));
    CHECK(check_endpoint("tcp://*:7001", true, "listen").ok());
    CHECK_FALSE(check_endpoint("tcp://*:7001", false, "peer").ok());
    CHECK(check_endpoint("tcp://0.0.0.0:65535", true, "listen").ok());
    CHECK(check_endpoint("tcp://node-1.example:1", false, "peer").ok());
}

TEST_CASE("numeric keys refuse text, negatives and out-of-range values", "[node][config]") {
    for (const char* bad : {"fast", "-5", "10ms", "1e3", "", "[1]", "18446744073709551616", "10"}) {
        INFO(bad);
        refused(replace(valid_yaml(), "heartbeat_ms: 2000", std::string("heartbeat_ms: ") + bad),
                "'heartbeat_ms'");
    }
    refused(replace(valid_yaml(), "window_documents: 64", "window_documents: 0"), "'limits.window_documents'");
    refused(replace(valid_yaml(), "initial_ms: 250", "initial_ms: 5"), "'retry.initial_ms'");
}

TEST_CASE("retry.max_ms below retry.initial_ms is refused", "[node][config]") {
    refused(replace(valid_yaml(), "max_ms: 60000", "max_ms: 100"), "'retry.max_ms'");
    CHECK(parse_config(replace(valid_yaml(), "max_ms: 60000", "max_ms: 250"), kPath).ok());
}

TEST_CASE("a duplicate peer is refused", "[node][config]") {
    const std::string dup = "  - agency: \"000.00.00.H41\"\n"
                            "    endpoint: \"tcp://127.0.0.2:7002\"\n"
                            "    identity: \"" + peer_line("000.00.00.H41", 2) + "\"\n";
    refused(replace(valid_yaml(), "retry:", dup + "retry:"), "duplicate peer '000.00.00.H41'");
}

TEST_CASE("a peer whose identity names another agency is refused", "[node][config]") {
    auto e = refused(replace(valid_yaml(), peer_line("000.00.00.H41", 2), peer_line("000.00.00.H42", 2)),
                     "'peers[0].identity'");
    CHECK_THAT(e, Catch::Contains("000.00.00.H42"));
}

TEST_CASE("a malformed peer identity, this node as a peer, and reused peer keys are refused",
          "[node][config]") {
    refused(replace(valid_yaml(), peer_line("000.00.00.H41", 2), "lienthong-id v1 000.00.00.H41 sign:x box:y"),
            "'peers[0].identity'");
    const std::string self = "  - agency: \"000.00.31.H14\"\n"
                             "    endpoint: \"tcp://127.0.0.2:7002\"\n"
                             "    identity: \"" + peer_line("000.00.31.H14", 9) + "\"\n";
    refused(replace(valid_yaml(), "retry:", self + "retry:"), "'peers[2].agency'");
    auto reused = seeded_identity("000.05.31.H14", 2).pub;  // the box key of peer 0
    const std::string copy = "  - agency: \"000.05.31.H14\"\n"
                             "    endpoint: \"tcp://127.0.0.2:7002\"\n"
                             "    identity: \"" + reused.to_line() + "\"\n";
    refused(replace(valid_yaml(), "retry:", copy + "retry:"), "'000.05.31.H14'");
}

TEST_CASE("a bad log_level is refused", "[node][config]") {
    refused(replace(valid_yaml(), "log_level: debug", "log_level: verbose"), "'log_level'");
}

TEST_CASE("a wrongly shaped section is refused", "[node][config]") {
    refused(replace(valid_yaml(), "retry:\n  initial_ms: 250\n  max_ms: 60000\n", "retry: 5\n"), "'retry'");
    refused(valid_yaml() + "peers2: x\n", "'peers2'");
    refused("agency: A\ndata_dir: d\nkey_file: k\nlisten: tcp://*:1\npeers: {a: 1}\n", "'peers'");
    refused("agency: A\ndata_dir: d\nkey_file: k\nlisten: tcp://*:1\npeers: [5]\n", "peers[0]");
    refused("- a\n- b\n", kPath);
    refused("agency: [unclosed\n", kPath);
}

TEST_CASE("load_config reads a file and refuses a missing one", "[node][config]") {
    TempDir dir;
    const std::string path = dir.file("node.yaml");
    {
        std::ofstream out(path);
        out << valid_yaml();
    }
    auto c = load_config(path);
    REQUIRE(c.ok());
    CHECK(c->data_dir == dir.path() + "/data");
    CHECK(c->key_file == dir.path() + "/node.key");

    auto missing = load_config(dir.file("nope.yaml"));
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error(), Catch::Contains("nope.yaml") && Catch::Contains("cannot read"));
    CHECK(missing.error().find('\n') == std::string::npos);
}

TEST_CASE("an error quoting a value or key with a line break is still one line", "[node][config]") {
    refused(replace(valid_yaml(), "log_level: debug", "log_level: \"x\\ny\""), "'log_level'");
    refused(valid_yaml() + "\"bad\\nkey\": 1\n", "'bad\\nkey'");
    refused(replace(valid_yaml(), "agency: \"000.00.31.H14\"", "agency: \"A\\r\\nB\""), "'agency'");
}

TEST_CASE("relay routes parse and pick the longest prefix", "[node][config]") {
    const std::string relay = "relay:\n  default_via: \"000.00.31.H00\"\n  fallback_ms: 500\n  max_hops: 3\n"
                              "  routes:\n"
                              "    - {to: \"000.00.00.\", via: \"000.00.00.H41\"}\n"
                              "    - {to: \"000.00.00.H41.02\", via: \"000.01.31.H14\"}\n";
    auto c = parse_config(valid_yaml() + relay, kPath);
    REQUIRE(c.ok());
    CHECK(c->relay.fallback_ms == 500);
    CHECK(c->relay.max_hops == 3);
    CHECK(c->relay.via_for("000.00.00.H41.02") == "000.01.31.H14");  // the longer prefix
    CHECK(c->relay.via_for("000.00.00.H99") == "000.00.00.H41");
    CHECK(c->relay.via_for("000.05.01.C01") == "000.00.31.H00");  // the default route
    auto none = parse_config(valid_yaml(), kPath);
    REQUIRE(none.ok());
    CHECK(none->relay.via_for("000.05.01.C01").empty());
}

TEST_CASE("bad relay settings are refused with the key", "[node][config]") {
    const auto with = [](const std::string& relay) { return valid_yaml() + "relay:\n" + relay; };
    refused(with("  default_via: \"not a code\"\n"), "'relay.default_via'");
    refused(with("  default_via: \"000.00.31.H14\"\n"), "'relay.default_via' is this node itself");
    refused(with("  max_hops: 0\n"), "'relay.max_hops'");
    refused(with("  max_hops: 9\n"), "'relay.max_hops'");
    refused(with("  fallback_ms: -1\n"), "'relay.fallback_ms'");
    refused(with("  routes: \"000.00.\"\n"), "'relay.routes' must be a list");
    refused(with("  routes:\n    - \"000.00.\"\n"), "'relay.routes[0].'");
    refused(with("  routes:\n    - {to: \"000.00.\"}\n"), "'relay.routes[0].via'");
    refused(with("  routes:\n    - {to: \"bad prefix!\", via: \"000.00.00.H41\"}\n"), "relay.routes[0].to");
    refused(with("  routes:\n    - {to: \"000.00.\", via: \"000.00.31.H14\"}\n"), "this node itself");
    refused(with("  routes:\n    - {to: \"000.00.\", via: \"000.00.00.H41\"}\n    - {to: \"000.00.\", via: \"000.01.31.H14\"}\n"),
            "given twice");
    refused(with("  routes:\n    - {to: \"000.00.\", via: \"000.00.00.H41\", cost: 1}\n"), "cost");
    refused(with("  bogus: 1\n"), "relay.bogus");
}

TEST_CASE("the HTTP listener's address is an IP and a port, and is off when absent", "[node][config]") {
    auto none = parse_config(valid_yaml(), kPath);
    REQUIRE(none.ok());
    CHECK(none->http_listen.empty());
    auto v4 = parse_config(valid_yaml() + "http:\n  listen: \"127.0.0.1:9464\"\n", kPath);
    REQUIRE(v4.ok());
    CHECK(v4->http_listen == "127.0.0.1:9464");
    CHECK(parse_config(valid_yaml() + "http:\n  listen: \"[::1]:9464\"\n", kPath).ok());
    const auto with = [](const std::string& http) { return valid_yaml() + "http:\n" + http; };
    refused(with("  listen: \"localhost:9464\"\n"), "'http.listen' 'localhost:9464' has a host that is not an IP address");
    refused(with("  listen: \"127.0.0.1\"\n"), "has no host:port");
    refused(with("  listen: \"127.0.0.1:0\"\n"), "has a port outside 1-65535");
    refused(with("  listen: \"127.0.0.1:70000\"\n"), "has a port outside 1-65535");
    refused(with("  listen: \"[::1:9464\"\n"), "'http.listen'");
    refused(with("  listen: \":9464\"\n"), "has no host:port");
    refused(with("  port: 9464\n"), "unknown key 'http.port'");
    refused(valid_yaml() + "http: \"127.0.0.1:9464\"\n", "key 'http' must be a mapping");
}

TEST_CASE("audit settings parse, default on every 10 minutes, and bad ones are refused with the key", "[node][config]") {
    auto d = parse_config(valid_yaml(), kPath);
    REQUIRE(d.ok());
    CHECK(d->audit.enabled);
    CHECK(d->audit.head_interval_ms == 600000);
    auto c = parse_config(valid_yaml() + "audit:\n  enabled: false\n  head_interval_ms: 0\n", kPath);
    REQUIRE(c.ok());
    CHECK_FALSE(c->audit.enabled);
    CHECK(c->audit.head_interval_ms == 0);
    const auto with = [](const std::string& audit) { return valid_yaml() + "audit:\n" + audit; };
    refused(with("  enabled: maybe\n"), "'audit.enabled' must be true or false");
    refused(with("  enabled: [true]\n"), "'audit.enabled'");
    refused(with("  head_interval_ms: 500\n"), "'audit.head_interval_ms'");
    refused(with("  head_interval_ms: -1\n"), "'audit.head_interval_ms'");
    refused(with("  head_interval_ms: 999999999999\n"), "'audit.head_interval_ms'");
    refused(with("  keep: 3\n"), "audit.keep");
    refused(valid_yaml() + "audit: true\n", "'audit' must be a mapping");
}

TEST_CASE("the hub API's listener and systems are checked, and a bare port means loopback", "[node][config]") {
    auto none = parse_config(valid_yaml(), kPath);
    REQUIRE(none.ok());
    CHECK(none->vdxp.listen.empty());
    CHECK(none->vdxp.systems.empty());
    const auto with = [](const std::string& vdxp) { return valid_yaml() + "vdxp:\n" + vdxp; };
    auto c = parse_config(with("  listen: \"8280\"\n  threads: 8\n  systems:\n    - systemid: IOFFICE-1\n      secret_file: s.secret\n"), kPath);
    REQUIRE(c.ok());
    CHECK(c->vdxp.listen == "127.0.0.1:8280");
    CHECK(c->vdxp.threads == 8);
    REQUIRE(c->vdxp.systems.size() == 1);
    CHECK(c->vdxp.systems[0].agency == c->agency);  // the node's own agency by default
    CHECK(c->vdxp.systems[0].secret_file.front() == '/');  // relative to the config's folder
    refused(with("  listen: \"localhost:8280\"\n"), "'vdxp.listen' 'localhost:8280' has a host that is not an IP address");
    refused(with("  listen: \"99999\"\n"), "'vdxp.listen'");
    refused(with("  threads: 1\n"), "vdxp.threads");
    refused(with("  max_body_bytes: 10\n"), "vdxp.max_body_bytes");
    refused(with("  systems: {a: 1}\n"), "'vdxp.systems' must be a list");
    refused(with("  systems:\n    - systemid: \"a b\"\n      secret_file: s\n"), "is not a system id");
    refused(with("  systems:\n    - systemid: X\n"), "vdxp.systems[0].secret_file");
    refused(with("  systems:\n    - systemid: X\n      secret_file: s\n      agency: 000.00.99.H99\n"),
            "may act only for the node's own agency");
    refused(with("  systems:\n    - {systemid: X, secret_file: s}\n    - {systemid: X, secret_file: t}\n"), "repeats 'X'");
    refused(with("  systems:\n    - {systemid: X, secret_file: s, colour: red}\n"), "vdxp.systems[0].colour");
    refused(with("  port: 1\n"), "unknown key 'vdxp.port'");
}
