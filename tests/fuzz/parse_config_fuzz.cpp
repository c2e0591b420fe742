// Fuzz target: node::parse_config on arbitrary text.
// Invariants: never throws or crashes; an accepted config satisfies the rules the parser
// promises (valid agency, retry.max_ms >= retry.initial_ms, peers distinct and not us).
#include "fuzz_target.h"

#include <set>
#include <string>

#include "node/config.h"

using namespace lienthong;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 64 * 1024) return 0;
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto c = node::parse_config(text, "/fuzz/node.yaml");
    if (!c.ok()) {
        LT_FUZZ_CHECK(!c.error().empty());
        return 0;
    }
    LT_FUZZ_CHECK(protocol::is_valid_agency(c->agency));
    LT_FUZZ_CHECK(c->retry.max_ms >= c->retry.initial_ms);
    LT_FUZZ_CHECK(node::check_endpoint(c->listen, true, "listen").ok());
    std::set<std::string> agencies;
    for (const auto& p : c->peers) {
        LT_FUZZ_CHECK(p.identity.agency != c->agency);
        LT_FUZZ_CHECK(agencies.insert(p.identity.agency).second);
        LT_FUZZ_CHECK(node::check_endpoint(p.endpoint, false, "peer").ok());
    }
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    auto bytes = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
    protocol::PublicIdentity peer;
    peer.agency = "000.00.00.H41";
    peer.sign_key.fill(0x11);
    peer.box_key.fill(0x22);
    const std::string id = peer.to_line();
    return {
        bytes(node::config_skeleton("000.00.31.H14", "Sở Nội vụ", "tcp://*:7001")),
        bytes("agency: A\ndata_dir: d\nkey_file: k\nlisten: tcp://*:1\n"),
        bytes("agency: \"000.00.31.H14\"\ndata_dir: data\nkey_file: node.key\nlisten: \"tcp://*:7001\"\n"
              "peers:\n  - agency: \"000.00.00.H41\"\n    endpoint: \"tcp://127.0.0.1:7002\"\n"
              "    identity: \"" + id + "\"\n"
              "retry: {initial_ms: 100, max_ms: 200}\nheartbeat_ms: 500\nlog_level: warn\n"
              "limits: {max_envelope_bytes: 65536, window_documents: 8, window_bytes: 65536, batch_documents: 4}\n"),
        bytes("agency: A\ndata_dir: d\nkey_file: k\nlisten: tcp://[::1]:1\npeers: [{agency: B, endpoint: "
              "'tcp://h:2', identity: x}]\n"),
    };
}
