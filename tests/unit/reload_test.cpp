// Reload (node/reload.cpp): which config keys only a restart applies.
#include <catch2/catch.hpp>

#include "node/node_impl.h"

using namespace lienthong::node;

namespace {
const char* kBase =
    "agency: \"000.00.31.H14\"\ndata_dir: data\nkey_file: node.key\nlisten: \"tcp://127.0.0.1:7001\"\n"
    "log_level: info\n";
NodeConfig parse(const std::string& extra) {
    auto c = parse_config(std::string(kBase) + extra, "/tmp/lienthong-reload-test/node.yaml");
    REQUIRE(c.ok());
    return std::move(c).value();
}
}  // namespace

TEST_CASE("keys a reload applies live are not reported as needing a restart", "[node]") {
    const auto running = parse("");
    CHECK(restart_needed(running, running).empty());
    CHECK(restart_needed(running, parse("confidential_to: [\"000.00.00.H41\"]\nretry: {initial_ms: 900}\n")).empty());
}

TEST_CASE("each key only a restart applies is named", "[node]") {
    const auto running = parse("");
    CHECK(restart_needed(running, parse("limits: {window_documents: 7}\n")) == std::vector<std::string>{"limits"});
    CHECK(restart_needed(running, parse("relay: {default_via: \"000.00.00.H41\"}\n")) == std::vector<std::string>{"relay"});
    CHECK(restart_needed(running, parse("drop_dir: drop\n")) == std::vector<std::string>{"drop_dir"});
    CHECK(restart_needed(running, parse("audit: {head_interval_ms: 60000}\n")) == std::vector<std::string>{"audit"});
    CHECK(restart_needed(running, parse("heartbeat_ms: 2000\nheartbeat_timeout_ms: 40000\n")) ==
          std::vector<std::string>{"heartbeat_ms"});
    auto moved = parse("");
    moved.listen = "tcp://127.0.0.1:7009";
    moved.data_dir = "/elsewhere";
    CHECK(restart_needed(running, moved) == std::vector<std::string>{"data_dir", "listen"});
}
