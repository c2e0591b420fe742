// Bad configuration and bad command lines: lienthong-node refuses to start with exactly one
// stderr line naming the problem; lienthong-admin gives a clear error and a non-zero exit.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <fstream>

#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

namespace {

void replace_once(std::string& text, const std::string& from, const std::string& to) {
    const auto p = text.find(from);
    if (p == std::string::npos) throw std::runtime_error("config template has no '" + from + "'");
    text.replace(p, from.size(), to);
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

bool exists(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
}

// Runs lienthong-node on `config` and checks it refuses to start with one line naming `names`.
void expect_refused(TestNode& n, const std::string& config, const std::vector<std::string>& names) {
    const auto p = run_process({node_bin(), "--config", config}, 15s);
    INFO("stderr: " << p.err);
    CHECK_FALSE(p.timed_out);
    CHECK(p.exit_code > 0);
    CHECK(p.err_lines().size() == 1);
    CHECK_THAT(p.err, Catch::StartsWith("lienthong-node: "));
    for (const auto& s : names) CHECK_THAT(p.err, Catch::Contains(s));
    CHECK_FALSE(exists(n.socket_path()));
}

}  // namespace

TEST_CASE("each bad config stops start-up with one stderr line naming the problem", "[e2e][faults]") {
    TestNode n("000.00.01.H51");
    TestNode other("000.00.02.H51");
    n.add_peer(other);
    const std::string good = n.config_yaml();
    const std::string cfg = n.config_path();

    SECTION("the config itself is fine") {
        n.start();
        CHECK(n.api({{"op", "status"}}).at("agency") == n.agency());
        CHECK(n.stop() == 0);
    }
    SECTION("missing config file") {
        expect_refused(n, n.dir() + "/absent.yaml", {"cannot read", "absent.yaml"});
    }
    SECTION("unknown key") {
        write_file(cfg, good + "colour: blue\n");
        expect_refused(n, cfg, {"unknown key 'colour'"});
    }
    SECTION("unknown nested key") {
        std::string y = good;
        replace_once(y, "retry:\n", "retry:\n  jitter: 5\n");
        write_file(cfg, y);
        expect_refused(n, cfg, {"unknown key 'retry.jitter'"});
    }
    SECTION("bad listen endpoint: port out of range") {
        std::string y = good;
        replace_once(y, n.endpoint(), "tcp://127.0.0.1:99999");
        write_file(cfg, y);
        expect_refused(n, cfg, {"'listen'", "tcp://127.0.0.1:99999"});
    }
    SECTION("bad listen endpoint: not tcp") {
        std::string y = good;
        replace_once(y, n.endpoint(), "udp://127.0.0.1:7001");
        write_file(cfg, y);
        expect_refused(n, cfg, {"'listen'", "not a tcp:// endpoint"});
    }
    SECTION("bad peer endpoint") {
        std::string y = good;
        replace_once(y, other.endpoint(), "tcp://*:7001");
        write_file(cfg, y);
        expect_refused(n, cfg, {"'peers[0].endpoint'"});
    }
    SECTION("key file readable by others") {
        write_file(cfg, good);
        REQUIRE(::chmod((n.dir() + "/node.key").c_str(), 0644) == 0);
        expect_refused(n, cfg, {"node.key", "readable by others", "chmod 600"});
    }
    SECTION("duplicate peer") {
        std::string y = good;
        const std::string entry = "  - agency: \"" + other.agency() + "\"\n    endpoint: \"" + other.endpoint() +
                                  "\"\n    identity: \"" + other.identity_line() + "\"\n";
        replace_once(y, entry, entry + entry);
        write_file(cfg, y);
        expect_refused(n, cfg, {"duplicate peer '" + other.agency() + "'"});
    }
    SECTION("bad number") {
        std::string y = good;
        replace_once(y, "heartbeat_ms: 200", "heartbeat_ms: fast");
        write_file(cfg, y);
        expect_refused(n, cfg, {"'heartbeat_ms'", "fast"});
    }
    SECTION("not YAML at all") {
        write_file(cfg, "agency: [unclosed\n");
        expect_refused(n, cfg, {"not valid YAML"});
    }
}

TEST_CASE("bad admin command lines get a clear error and a non-zero exit", "[e2e][faults]") {
    TestNode n("000.00.01.H52"), b("000.00.02.H52");
    n.add_peer(b);
    const std::string cfg = n.config_path();
    write_file(cfg, n.config_yaml());  // configured but not running yet

    SECTION("no subcommand") {
        const auto p = run_process({admin_bin()});
        CHECK(p.exit_code > 0);
        CHECK_THAT(p.err, Catch::Contains("subcommand is required"));
    }
    SECTION("send without --to") {
        const auto p = run_process({admin_bin(), "-c", cfg, "send", "--subject", "x", "--body", "y"});
        CHECK(p.exit_code > 0);
        CHECK_THAT(p.err, Catch::Contains("--to is required"));
    }
    SECTION("any command while the node is not running") {
        for (const std::vector<std::string>& args : {std::vector<std::string>{"status"},
                                                     {"inbox"},
                                                     {"outbox", "--pending"},
                                                     {"show", "0123abcd"},
                                                     {"receipt", "0123abcd"},
                                                     {"send", "--to", b.agency(), "--subject", "x"},
                                                     {"peer", "list"}}) {
            std::vector<std::string> argv{admin_bin(), "-c", cfg};
            argv.insert(argv.end(), args.begin(), args.end());
            const auto p = run_process(argv);
            INFO("lienthong-admin " << args[0] << ": " << p.err);
            CHECK(p.exit_code > 0);
            CHECK(p.err_lines().size() == 1);
            CHECK_THAT(p.err, Catch::Contains("the node is not running"));
        }
    }
    SECTION("with the node running") {
        n.start();
        SECTION("show with a non-hex id") {
            const auto p = run_process({admin_bin(), "-c", cfg, "show", "not-an-id!"});
            CHECK(p.exit_code > 0);
            CHECK(p.err_lines().size() == 1);
            CHECK_THAT(p.err, Catch::Contains("'not-an-id!' is not a message id"));
        }
        SECTION("show with an id nobody has") {
            const auto p = run_process({admin_bin(), "-c", cfg, "show", "0123456789abcdef"});
            CHECK(p.exit_code > 0);
            CHECK_THAT(p.err, Catch::Contains("no document with id 0123456789abcdef"));
        }
        SECTION("after the node was SIGKILLed (stale socket)") {
            n.kill();
            REQUIRE(exists(n.socket_path()));  // left behind
            const auto t0 = std::chrono::steady_clock::now();
            const auto p = run_process({admin_bin(), "-c", cfg, "status"});
            CHECK(std::chrono::steady_clock::now() - t0 < 10s);
            CHECK(p.exit_code > 0);
            CHECK(p.err_lines().size() == 1);
            CHECK_THAT(p.err, Catch::Contains("the node is not running"));
        }
    }
}

TEST_CASE("admin init writes a private key and a config the node starts from", "[e2e]") {
    TempDir tmp;
    const std::string dir = tmp.path() + "/n";
    const std::string listen = "tcp://127.0.0.1:" + std::to_string(free_port());
    auto p = run_process({admin_bin(), "init", "--agency", "000.00.01.H53", "--name", "Sở Thử nghiệm", "--listen", listen,
                          "--dir", dir});
    REQUIRE(p.exit_code == 0);
    struct stat st{};
    REQUIRE(::stat((dir + "/node.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    p = run_process({admin_bin(), "-c", dir + "/node.yaml", "id"});
    REQUIRE(p.exit_code == 0);
    const std::string first = p.out.substr(0, p.out.find('\n'));
    CHECK_THAT(first, Catch::StartsWith("lienthong-id v1 000.00.01.H53 sign:"));
    auto parsed = lienthong::protocol::PublicIdentity::from_line(first);
    REQUIRE(parsed.ok());
    CHECK(parsed->agency == "000.00.01.H53");

    // Never overwrite an existing node.
    p = run_process({admin_bin(), "init", "--agency", "000.00.01.H53", "--dir", dir});
    CHECK(p.exit_code > 0);
    CHECK_THAT(p.err, Catch::Contains("already exists"));

    // The node runs from the generated config: still running when stopped after 1.5 s.
    p = run_process({node_bin(), "--config", dir + "/node.yaml"}, 1500ms);
    CHECK(p.timed_out);
    CHECK_THAT(p.err, Catch::Contains("event=node_started"));
    CHECK_THAT(p.err, Catch::Contains("agency=000.00.01.H53"));
}
