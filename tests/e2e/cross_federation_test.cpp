// Between federations (issue 5, acceptance 5), with real nodes: two federations of three
// nodes, each trusting only its own root; their border nodes pin each other. Each root's
// keeper signs trust in the other root for the other's code prefix ('root trust'), imported
// at one node that is not the border: it spreads by gossip, the other federation's records
// follow, and documents cross both ways. Then federation A's root withdraws the trust
// ('root untrust', imported at another node): every node of A stops using B's records, a new
// document to B is refused at submission with the reason, and B's nodes cannot connect.
//
// Federation A ("fed-a", prefix 000.01.): border 000.01.00.A00, 000.01.01.A01, 000.01.02.A02.
// Federation B ("fed-b", prefix 000.02.): border 000.02.00.B00, 000.02.01.B01, 000.02.02.B02.
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "tests/e2e/admin_cli.h"
#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

namespace {

// One federation: a root, three nodes enrolled directly by it; the others pin the border.
struct Fed {
    Fed(const std::string& name, int number) : prefix("000.0" + std::to_string(number) + ".") {
        admin({"root", "init", "--name", name, "--out", keys.path()});
        root_line = first_line(read_text(keys.path() + "/root.pub"));
        NodeOptions opts;
        opts.extra_yaml = "trust:\n  roots: [\"" + root_line + "\"]\n  gossip_ms: 300\n";
        const char letter = name.back() == 'a' ? 'A' : 'B';
        for (int i = 0; i < 3; ++i)
            nodes.push_back(std::make_unique<TestNode>(prefix + "0" + std::to_string(i) + "." + letter + "0" +
                                                           std::to_string(i),
                                                       opts));
        nodes[1]->add_peer(*nodes[0]);
        nodes[2]->add_peer(*nodes[0]);
    }

    // Enrolls every node (request, issue by the root) once the configs are final.
    void enroll() {
        for (auto& n : nodes) {
            write_text(n->config_path(), n->config_yaml());
            const std::string req = keys.path() + "/" + n->agency() + ".req";
            admin({"-c", n->config_path(), "enroll", "request", "--out", req});
            admin({"enroll", "issue", req, "--serial", "1", "--valid-days", "30", "--key", root_key(), "--out",
                   record(*n)});
        }
    }

    // Starts the nodes; each installs its record, the border all of them.
    void start() {
        std::string all;
        for (auto& n : nodes) {
            n->start();
            admin({"-c", n->config_path(), "enroll", "import", record(*n)});
            all += read_text(record(*n));
        }
        write_text(keys.path() + "/all.rec", all);
        admin({"-c", border().config_path(), "directory", "import", keys.path() + "/all.rec"});
    }

    // This root's cross-trust record for `other` (or its withdrawal), imported at `at`.
    void trust(const Fed& other, bool withdraw, TestNode& at) {
        const std::string out = keys.path() + (withdraw ? "/untrust-" : "/trust-") + other.prefix + "rec";
        std::vector<std::string> args{"root", withdraw ? "untrust" : "trust", "--key", root_key(),
                                      "--external", other.root_line, "--out", out};
        if (!withdraw) args.insert(args.end(), {"--for", other.prefix});
        const std::string printed = admin(args);
        CHECK_THAT(printed, Catch::Contains("directory import"));
        CHECK_THAT(admin({"-c", at.config_path(), "directory", "import", out}), Catch::Contains("1 added"));
    }

    std::string root_key() const { return keys.path() + "/root.key"; }
    std::string record(const TestNode& n) const { return keys.path() + "/" + n.agency() + ".rec"; }
    TestNode& border() { return *nodes[0]; }

    TempDir keys;
    std::string prefix, root_line;
    std::vector<std::unique_ptr<TestNode>> nodes;
};

bool uses_all(Fed& f, const std::set<std::string>& agencies) {
    for (auto& n : f.nodes)
        if (current_agencies(*n) != agencies) return false;
    return true;
}

// The state directory_list gives the trust in federation `name`, "" when none is held.
std::string federation_state(TestNode& n, const std::string& name) {
    auto r = n.call({{"op", "directory_list"}}, 5000);
    if (!r.ok()) return "";
    for (const auto& f : (*r)["federations"])
        if (f["federation"] == name && f["state"] != "superseded") return f["state"].get<std::string>();
    return "";
}

}  // namespace

TEST_CASE("two cross-trusted federations exchange documents until trust is withdrawn", "[e2e]") {
    Fed a("fed-a", 1), b("fed-b", 2);
    a.border().add_peer(b.border());  // the one link an admin of each side configures
    b.border().add_peer(a.border());
    a.enroll();
    b.enroll();
    a.start();
    b.start();

    std::set<std::string> a_agencies, every;
    for (auto& n : a.nodes) a_agencies.insert(n->agency());
    every = a_agencies;
    for (auto& n : b.nodes) every.insert(n->agency());
    // Before any cross-trust, each federation knows only itself: the border refuses the other's
    // records (unknown issuer), and nothing crosses.
    REQUIRE(wait_until([&] { return uses_all(a, a_agencies); }, 30s, 200ms));
    CHECK(current_agencies(*a.nodes[1]).count(b.nodes[2]->agency()) == 0);

    // Each root trusts the other for its prefix; imported at a non-border node each side.
    a.trust(b, false, *a.nodes[1]);
    b.trust(a, false, *b.nodes[2]);
    REQUIRE(wait_until([&] { return uses_all(a, every) && uses_all(b, every); }, 30s, 200ms));
    CHECK(federation_state(*a.nodes[2], "fed-b") == "trusted");
    const json listed = json::parse(admin({"-c", a.nodes[2]->config_path(), "--json", "directory", "list"}));
    for (const auto& n : listed.at("nodes")) {
        INFO(n.dump());
        CHECK(n.at("root") == (n.at("agency").get<std::string>().rfind("000.02.", 0) == 0 ? "fed-b" : "fed-a"));
    }

    // Documents cross both ways, directly between non-border nodes, with receipts back.
    const std::string ab = send_text(*a.nodes[1], b.nodes[2]->agency(), "from A to B").at("id");
    const std::string ba = send_text(*b.nodes[1], a.nodes[2]->agency(), "from B to A").at("id");
    REQUIRE(wait_until([&] { return in_inbox(*b.nodes[2], ab) && has_receipt(*a.nodes[1], ab); }, 20s, 100ms));
    REQUIRE(wait_until([&] { return in_inbox(*a.nodes[2], ba) && has_receipt(*b.nodes[1], ba); }, 20s, 100ms));
    CHECK(a.nodes[1]->api({{"op", "show"}, {"id", ab}}).at("signatures").at("content_valid") == true);
    CHECK(b.nodes[2]->api({{"op", "show"}, {"id", ab}}).at("signatures").at("content_valid") == true);

    // A's root withdraws the trust; imported at another node of A, it reaches all of A.
    a.trust(b, true, *a.nodes[2]);
    REQUIRE(wait_until(
        [&] {
            for (auto& n : a.nodes)
                if (current_agencies(*n) != a_agencies || federation_state(*n, "fed-b") != "withdrawn") return false;
            return true;
        },
        30s, 200ms));
    // The withdrawal is A's business: B still trusts A.
    CHECK(uses_all(b, every));

    // A new document from A to B is refused at submission, saying why.
    auto refused = a.nodes[1]->call({{"op", "send"},
                                     {"to", json::array({b.nodes[2]->agency()})},
                                     {"subject", "after the withdrawal"},
                                     {"body", json::binary(std::vector<uint8_t>{'x'})}});
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::Contains("federation 'fed-b'"));
    CHECK_THAT(refused.error(), Catch::Contains("no longer trusted"));
    CHECK_THAT(refused.error(), Catch::Contains("withdrawn"));
    // A document from B to A is queued at B, but A's node refuses B's connection, with the
    // reason in its log, and it never arrives.
    const std::string late = send_text(*b.nodes[1], a.nodes[2]->agency(), "B after the withdrawal").at("id");
    const std::string refusal = "event=connection_refused peer=" + b.nodes[1]->agency();
    REQUIRE(wait_until([&] { return a.nodes[2]->log_contains(refusal); }, 15s, 100ms));
    const std::string log = a.nodes[2]->log_text();
    const size_t at = log.find(refusal);
    CHECK_THAT(log.substr(at, log.find('\n', at) - at), Catch::Contains("no longer trusted"));
    std::this_thread::sleep_for(1s);
    CHECK_FALSE(in_inbox(*a.nodes[2], late));
    // What arrived before the withdrawal stays, readable.
    CHECK(in_inbox(*a.nodes[2], ba));

    for (auto* f : {&a, &b})
        for (auto& n : f->nodes) {
            INFO("node " << n->agency());
            CHECK(n->stop() == 0);
            CHECK(n->sanitizer_findings().empty());
        }
}
