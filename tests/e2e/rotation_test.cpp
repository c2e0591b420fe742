// Key rotation and invalid records in a federation (issue 5, acceptance 3 and 4), with real
// nodes and the admin's offline commands. One district, 000.01.00.D01, enrolled by the root;
// its issuer key (prefix "000.01.") enrolls communes A 000.01.01.C01 and B 000.01.02.C02,
// which pin only the district and reach each other through directory links.
//
// Rotation: A rotates its keys between two halves of a stream of documents to B, while B
// keeps sending to A (what B queues while A is down is sealed to A's old key). Nothing is
// lost or doubled, every receipt comes back, and documents signed under either key verify.
// Invalid records: each kind of bad record given to 'directory import' is refused with a
// reason that names the problem.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "protocol/trust.h"
#include "tests/e2e/admin_cli.h"
#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/harness.h"

using namespace lienthong::e2e;
namespace protocol = lienthong::protocol;

namespace {

constexpr uint64_t kDayMs = 86400000;
constexpr auto kDistrict = "000.01.00.D01";

uint64_t wall_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

// The serial of the record `n` uses for `agency`, 0 if none.
uint64_t current_serial(TestNode& n, const std::string& agency) {
    auto r = n.call({{"op", "directory_list"}, {"agency", agency}}, 5000);
    if (!r.ok()) return 0;
    for (const auto& rec : (*r)["nodes"])
        if (rec["state"] == "current") return rec["serial"].get<uint64_t>();
    return 0;
}

// The receipt held for document `id`: by its sender (the recipient's receipt) or by its
// recipient (its own): whether there is one, whether its signature verifies and whether it
// names the document's hash.
struct ReceiptState {
    bool present = false;
    bool signature_valid = false;
    bool hash_matches = false;
    bool valid() const { return signature_valid && hash_matches; }
};
ReceiptState receipt_of(TestNode& n, const std::string& id) {
    auto r = n.call({{"op", "receipt"}, {"id", id}}, 5000);
    if (!r.ok() || (*r)["receipts"].size() != 1) return {};
    const json& x = (*r)["receipts"][0];
    return {true, x.value("signature_valid", false), x.value("hash_matches", false)};
}

std::string body_of(const std::string& subject) {
    return "body of " + subject;
}

// Sends documents `first`..`last - 1` ("<tag> <i>") from `from` to `to` over `threads`
// API clients at once, so the node queues them faster than one client could; the ids in
// index order.
std::vector<std::string> send_burst(TestNode& from, const std::string& to, const std::string& tag,
                                    int first, int last, int threads) {
    std::vector<std::string> ids(static_cast<size_t>(last - first));
    std::vector<std::string> errors(static_cast<size_t>(threads));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            auto client = from.client(10000);
            for (int i = first + t; i < last; i += threads) {
                const std::string subject = tag + " " + std::to_string(i);
                const std::string body = body_of(subject);
                auto r = client->call(
                    {{"op", "send"},
                     {"to", json::array({to})},
                     {"subject", subject},
                     {"body", json::binary(std::vector<uint8_t>(body.begin(), body.end()))}});
                if (!r.ok()) {
                    errors[static_cast<size_t>(t)] = subject + ": " + r.error();
                    return;
                }
                ids[static_cast<size_t>(i - first)] = (*r).at("id").get<std::string>();
            }
        });
    for (auto& w : workers) w.join();
    for (const auto& e : errors)
        if (!e.empty()) throw std::runtime_error("send failed: " + e);
    return ids;
}

// How often each id is in `n`'s inbox.
std::map<std::string, int> inbox_counts(TestNode& n) {
    std::map<std::string, int> m;
    for (const auto& id : inbox_ids(n)) ++m[id];
    return m;
}

// The district, its issuer and two communes. Keys and records are made with the admin CLI in
// `keys`, as an operator would; the communes pin the district only.
class District {
  public:
    District() {
        admin({"root", "init", "--name", "e2erot", "--out", keys.path()});
        root_line = first_line(read_text(keys.path() + "/root.pub"));
        NodeOptions opts;
        opts.extra_yaml = "trust:\n  roots: [\"" + root_line + "\"]\n  gossip_ms: 300\n";
        d = std::make_unique<TestNode>(kDistrict, opts);
        a = std::make_unique<TestNode>("000.01.01.C01", opts);
        b = std::make_unique<TestNode>("000.01.02.C02", opts);
        a->add_peer(*d);
        b->add_peer(*d);
        admin({"issuer", "init", "--agency", kDistrict, "--out", issuer_dir()});
        const std::string pub = first_line(admin({"root", "show", "--key", issuer_key()}));
        admin({"issuer", "delegate", "--key", keys.path() + "/root.key", "--pubkey", pub,
               "--prefix", "000.01.", "--serial", "1", "--valid-days", "30", "--out",
               issuer_record()});
        issue(*d, 1);
        issue(*a, 1);
        issue(*b, 1);
    }

    // 'enroll request' with the node's keys as they are now in its key file, then 'enroll
    // issue' by the root (the district) or the district's issuer (a commune). Returns the
    // record's path.
    std::string issue(TestNode& n, uint64_t serial) {
        write_text(n.config_path(), n.config_yaml());
        const std::string req =
            keys.path() + "/" + n.agency() + ".s" + std::to_string(serial) + ".req";
        const std::string rec = record_path(n, serial);
        admin({"-c", n.config_path(), "enroll", "request", "--out", req});
        std::vector<std::string> args{
            "enroll",       "issue", req,     "--serial", std::to_string(serial),
            "--valid-days", "30",    "--out", rec};
        if (n.agency() == kDistrict) {
            args.insert(args.end(), {"--key", keys.path() + "/root.key"});
        } else {
            args.insert(args.end(), {"--key", issuer_key(), "--issuer-record", issuer_record()});
        }
        admin(args);
        return rec;
    }

    // The district alone: its own record, the issuer record and the communes' first records.
    void start_district() {
        d->start();
        admin({"-c", d->config_path(), "enroll", "import", record_path(*d, 1)});
        const std::string bundle = keys.path() + "/district.bundle";
        write_text(bundle, read_text(issuer_record()) + read_text(record_path(*a, 1)) +
                               read_text(record_path(*b, 1)));
        admin({"-c", d->config_path(), "directory", "import", bundle});
    }

    // A commune: its own record with the issuer record it was signed under.
    void start_commune(TestNode& n) {
        n.start();
        const std::string own = keys.path() + "/" + n.agency() + ".bundle";
        write_text(own, read_text(record_path(n, 1)) + read_text(issuer_record()));
        admin({"-c", n.config_path(), "enroll", "import", own});
    }

    std::string issuer_dir() const { return keys.path() + "/issuer-d1"; }
    std::string issuer_key() const { return issuer_dir() + "/issuer.key"; }
    std::string issuer_record() const { return issuer_dir() + "/issuer.rec"; }
    std::string record_path(const TestNode& n, uint64_t serial) const {
        return keys.path() + "/" + n.agency() + ".s" + std::to_string(serial) + ".rec";
    }

    TempDir keys;  // root.key, the issuer key, requests and records
    std::string root_line;
    std::unique_ptr<TestNode> d, a, b;
};

// 'directory import' of `text` at `n` through the admin CLI.
ProcessResult import_at(TestNode& n, const std::string& dir, const std::string& name,
                        const std::string& text) {
    const std::string path = dir + "/" + name;
    write_text(path, text);
    return run_process({admin_bin(), "-c", n.config_path(), "directory", "import", path});
}

// The admin exits 1 and its stderr names the kind of record and the reason it was refused.
void check_refused(const ProcessResult& p, const std::string& kind, const std::string& reason) {
    INFO("stdout: " << p.out << "\nstderr: " << p.err);
    CHECK(p.exit_code == 1);
    CHECK_THAT(p.err, Catch::Contains(kind + ": "));
    CHECK_THAT(p.err, Catch::Contains(reason));
}

}  // namespace

TEST_CASE("a key rotation amid traffic both ways loses, doubles and invalidates nothing", "[e2e]") {
    const auto started = std::chrono::steady_clock::now();
    District f;
    TestNode& a = *f.a;
    TestNode& b = *f.b;
    TestNode& d = *f.d;
    f.start_district();
    f.start_commune(a);
    f.start_commune(b);
    const std::set<std::string> every{d.agency(), a.agency(), b.agency()};
    REQUIRE(wait_until(
        [&] {
            return current_agencies(a) == every && current_agencies(b) == every &&
                   current_agencies(d) == every;
        },
        15s, 100ms));

    constexpr int kFromA = 200, kFromB = 60;
    std::vector<std::string> a_ids, b_ids;
    const auto a_sends = [&](int first, int last) {
        for (auto& id : send_burst(a, b.agency(), "A", first, last, 4)) a_ids.push_back(id);
    };
    const auto b_sends = [&](int first, int last) {
        for (auto& id : send_burst(b, a.agency(), "B", first, last, 2)) b_ids.push_back(id);
    };

    // First half under A's first key.
    b_sends(0, 20);
    a_sends(0, 100);
    // A stops as soon as it has queued its hundredth document, the last ones maybe in flight.
    REQUIRE(a.stop() == 0);
    size_t a_pending_at_stop = 0;
    {
        const auto at_b = inbox_counts(b);
        for (const auto& id : a_ids) a_pending_at_stop += at_b.count(id) == 0;
    }

    // While A is down, B queues documents sealed to A's first key.
    b_sends(20, 40);

    // The operator rotates A's keys, has serial 2 issued by the district's issuer and gives it
    // to the district, then restarts A and installs the record there.
    const std::string rotated = admin({"-c", a.config_path(), "key", "rotate"});
    CHECK_THAT(rotated, Catch::Contains("rotated the keys of " + a.agency()));
    const std::string key_file = read_text(a.dir() + "/node.key");
    CHECK_THAT(key_file, Catch::Contains(" previous"));
    const std::string rec2 = f.issue(a, 2);
    CHECK_THAT(admin({"-c", d.config_path(), "directory", "import", rec2}),
               Catch::Contains("1 added"));
    a.start();
    CHECK_THAT(admin({"-c", a.config_path(), "enroll", "import", rec2}),
               Catch::Contains("serial 2"));
    // Second half under A's new key, sent at once: B learns A's new record by gossip through
    // the district meanwhile, and until then refuses A's new key, so these wait in A's queue.
    const bool b_knew_new_key = current_serial(b, a.agency()) == 2;
    a_sends(100, 200);
    b_sends(40, 60);
    REQUIRE(a_ids.size() == kFromA);
    CHECK(wait_until([&] { return current_serial(b, a.agency()) == 2; }, 10s, 100ms));
    REQUIRE(b_ids.size() == kFromB);

    // Everything arrives and every receipt comes back.
    const auto all_in = [](TestNode& to, const std::vector<std::string>& ids) {
        const auto counts = inbox_counts(to);
        for (const auto& id : ids)
            if (!counts.count(id)) return false;
        return true;
    };
    const auto all_receipts = [](TestNode& from, const std::vector<std::string>& ids) {
        for (const auto& id : ids)
            if (!receipt_of(from, id).present) return false;
        return true;
    };
    REQUIRE(wait_until(
        [&] {
            return all_in(b, a_ids) && all_in(a, b_ids) && all_receipts(a, a_ids) &&
                   all_receipts(b, b_ids);
        },
        25s, 250ms));

    // Exactly once: each inbox holds the other's documents and nothing else, once each.
    const auto b_inbox = inbox_counts(b);
    const auto a_inbox = inbox_counts(a);
    CHECK(b_inbox.size() == a_ids.size());
    CHECK(a_inbox.size() == b_ids.size());
    for (const auto& id : a_ids) CHECK(b_inbox.at(id) == 1);
    for (const auto& id : b_ids) CHECK(a_inbox.at(id) == 1);

    // Receipts verify at both ends: B's (B kept its key) and A's, signed under its first key
    // before the rotation and its second after ('receipt' checks each under the key of the
    // record in use when it was signed: A's earlier keys, or A's earlier directory record).
    for (const auto& id : a_ids) {
        INFO("A's document " << id);
        CHECK(receipt_of(a, id).valid());
    }
    for (size_t i = 0; i < b_ids.size(); ++i) {
        INFO("B's document " << i);
        for (TestNode* n : {&b, &a}) {
            INFO("receipt held by " << n->agency());
            const auto r = receipt_of(*n, b_ids[i]);
            CHECK(r.hash_matches);
            CHECK(r.signature_valid);  // under A's first key before the rotation, its second after
        }
    }

    // At each receiver, documents signed under A's first key and under its second verify, and
    // open (the ones B sealed to A's first key included).
    for (size_t i = 0; i < a_ids.size(); ++i) {
        INFO("A's document " << i);
        const json s = b.api({{"op", "show"}, {"id", a_ids[i]}}).at("signatures");
        CHECK(s.at("sender_key_known") == true);
        CHECK(s.at("envelope_valid") == true);
        CHECK(s.at("content_valid") == true);
    }
    for (size_t i = 0; i < b_ids.size(); ++i) {
        INFO("B's document " << i);
        const json x = a.api({{"op", "export"}, {"id", b_ids[i]}});
        CHECK(x.at("signatures").at("envelope_valid") == true);
        const std::string subject = "B " + std::to_string(i);
        CHECK(x.at("subject") == subject);
        const auto body = bin(x.at("body"));
        CHECK(std::string(body.begin(), body.end()) == body_of(subject));
    }

    // A still shows and exports what it sent under its first key (its own copies were
    // stored under the old local key).
    for (int i = 0; i < 100; ++i) {
        INFO("A's document " << i);
        const json own = a.api({{"op", "export"}, {"id", a_ids[static_cast<size_t>(i)]}});
        CHECK(own.at("direction") == "sent");
        CHECK(own.at("signatures").at("envelope_valid") == true);
        const std::string subject = "A " + std::to_string(i);
        CHECK(own.at("subject") == subject);
        const auto body = bin(own.at("body"));
        CHECK(std::string(body.begin(), body.end()) == body_of(subject));
    }

    const auto elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    WARN("rotation with traffic both ways took "
         << elapsed_s << " s; A stopped with " << a_pending_at_stop
         << " of its first 100 documents not yet at B; B knew A's new record when A restarted: "
         << (b_knew_new_key ? "yes" : "no"));
    CHECK(elapsed_s < 40);

    for (TestNode* n : {&a, &b, &d}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}

TEST_CASE("directory import refuses each kind of invalid record with a reason naming it", "[e2e]") {
    District f;
    TestNode& d = *f.d;
    f.start_district();
    const std::string dir = f.keys.path();
    const uint64_t now = wall_ms();
    auto root = protocol::AuthoritySecret::from_text(read_text(dir + "/root.key"));
    REQUIRE(root.ok());
    auto issuer = protocol::AuthoritySecret::from_text(read_text(f.issuer_key()));
    REQUIRE(issuer.ok());

    const auto record_for = [&](const std::string& agency, uint64_t from, uint64_t until) {
        const auto id = protocol::SecretIdentity::generate(agency);
        protocol::NodeRecord r;
        r.agency = agency;
        r.name = "test " + agency;
        r.sign_key = id.pub.sign_key;
        r.box_key = id.pub.box_key;
        r.endpoints = {"tcp://127.0.0.1:" + std::to_string(free_port())};
        r.valid_from_ms = from;
        r.valid_until_ms = until;
        return r;
    };
    const auto issuer_for = [&](const std::string& agency, const std::string& prefix,
                                uint64_t depth, const protocol::AuthoritySecret& key) {
        protocol::IssuerRecord r;
        r.agency = agency;
        r.name = "test issuer " + agency;
        r.key = key.pub.key;
        r.prefix = prefix;
        r.max_depth = depth;
        r.valid_from_ms = now - 1000;
        r.valid_until_ms = now + 10 * kDayMs;
        return r;
    };

    // A commune enrolled through the CLI: serial 1 and serial 2 of the same request.
    TestNode c("000.01.03.C03");
    const std::string c1 = f.issue(c, 1);
    const std::string c2 = f.issue(c, 2);

    {
        INFO("case: bad signature");
        auto rec = protocol::NodeRecord::from_armor(read_text(c1));
        REQUIRE(rec.ok());
        protocol::Bytes wire = rec->encode();
        wire.back() ^= 0x01;  // the signature is the wire form's last field
        check_refused(
            import_at(d, dir, "badsig.rec", protocol::armor(protocol::NodeRecord::kLabel, wire)),
            "node record", "signature does not verify under the key of issuer '000.01.00.D01'");
    }
    {
        INFO("case: unknown issuer");
        const auto rogue =
            protocol::AuthoritySecret::generate(protocol::AuthorityRole::issuer, kDistrict);
        auto rec = protocol::sign_node_record(record_for("000.01.05.C05", now, now + kDayMs),
                                              rogue.secret);
        REQUIRE(rec.ok());
        check_refused(import_at(d, dir, "unknown.rec", rec->armor()), "node record",
                      "neither a trusted root nor the key of a known issuer record");
    }
    {
        INFO("case: expired");
        auto rec = protocol::sign_node_record(
            record_for("000.01.06.C06", now - 2 * kDayMs, now - kDayMs), root->secret);
        REQUIRE(rec.ok());
        const auto p = import_at(d, dir, "expired.rec", rec->armor());
        INFO("stdout: " << p.out << "\nstderr: " << p.err);
        // Refused at import, naming the reason, and never used.
        CHECK(p.exit_code == 1);
        CHECK_THAT(p.err, Catch::Contains("expired at"));
        CHECK(current_agencies(d).count("000.01.06.C06") == 0);
    }
    {
        INFO("case: serial lower than the one held");
        CHECK_THAT(import_at(d, dir, "c2.rec", read_text(c2)).out, Catch::Contains("1 added"));
        check_refused(import_at(d, dir, "c1.rec", read_text(c1)), "node record",
                      "serial 1 is lower than serial 2 already held for this agency");
        CHECK(current_serial(d, c.agency()) == 2);
    }
    {
        INFO("case: agency outside the issuer's prefix");
        auto rec = protocol::sign_node_record(record_for("000.02.01.C01", now, now + kDayMs),
                                              issuer->secret);
        REQUIRE(rec.ok());
        check_refused(import_at(d, dir, "outside.rec", rec->armor()), "node record",
                      "agency is outside issuer '000.01.00.D01''s prefix '000.01.'");
    }
    {
        INFO("case: delegation by an issuer of depth 0");
        // The district's issuer may enroll nodes only; it signs an issuer record anyway.
        const auto sub =
            protocol::AuthoritySecret::generate(protocol::AuthorityRole::issuer, "000.01.04.X04");
        auto rec = protocol::sign_issuer_record(issuer_for("000.01.04.X04", "000.01.04.", 0, sub),
                                                issuer->secret);
        REQUIRE(rec.ok());
        check_refused(import_at(d, dir, "deep.rec", rec->armor()), "issuer record",
                      "delegation too deep: issuer '000.01.00.D01' may delegate 0 more level(s)");
    }
    {
        INFO("case: a chain longer than trust.max_depth");
        // Root > I1 > I2 > I3 > I4 (each allowed the depth it uses): I4 is the fourth issuer
        // record below the root, one more than the default trust.max_depth of 3.
        std::string bundle;
        const protocol::AuthoritySecret* signer = &*root;
        std::vector<protocol::AuthoritySecret> keys;
        for (int level = 1; level <= 4; ++level)
            keys.push_back(protocol::AuthoritySecret::generate(
                protocol::AuthorityRole::issuer,
                "000.07.0" + std::to_string(level) + ".I0" + std::to_string(level)));
        std::string prefix = "000.07.";
        for (int level = 1; level <= 4; ++level) {
            auto& k = keys[level - 1];
            auto rec = protocol::sign_issuer_record(
                issuer_for(k.pub.name, prefix, static_cast<uint64_t>(8 - level), k),
                signer->secret);
            REQUIRE(rec.ok());
            bundle += rec->armor();
            signer = &k;
        }
        const auto p = import_at(d, dir, "chain.rec", bundle);
        check_refused(p, "issuer record", "chain too long");
        CHECK_THAT(p.err, Catch::Contains("more than the maximum depth of 3"));
        CHECK_THAT(p.out, Catch::Contains("3 added, 0 already known, 1 refused"));
    }
    {
        INFO("case: malformed bytes");
        std::mt19937_64 rng(5);
        auto junk = random_bytes(rng, 120);
        junk[0] = 0xc1;  // a byte msgpack never uses: not the record's list
        check_refused(
            import_at(d, dir, "junk.rec", protocol::armor(protocol::NodeRecord::kLabel, junk)),
            "node record", "malformed");
    }

    // Nothing refused is used or linked to.
    for (const std::string agency : {"000.01.05.C05", "000.02.01.C01", "000.01.04.X04"})
        CHECK(current_agencies(d).count(agency) == 0);
    CHECK(d.stop() == 0);
    CHECK(d.sanitizer_findings().empty());
}
