// Backup and restore (issue 17): `lienthong-admin backup` copies a running node's database
// (one consistent snapshot, compacted) with a manifest; `restore` refuses another agency's or
// a newer schema's backup, a damaged one, and a directory that holds a database; keys travel
// only with --with-keys, sealed with a passphrase; `verify` checks signatures and indexes and
// finds a byte flipped on disk; `compact` needs the node stopped.
#include <catch2/catch.hpp>
#include <lmdb.h>
#include <pwd.h>
#include <sodium.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/e2e/harness.h"

using namespace lienthong::e2e;
namespace fs = std::filesystem;

namespace {

ProcessResult admin(const TestNode& n, std::vector<std::string> args, std::chrono::milliseconds timeout = 60s) {
    args.insert(args.begin(), {admin_bin(), "-c", n.config_path()});
    return run_process(args, timeout);
}

json manifest_of(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::string magic, line;
    std::getline(in, magic);
    std::getline(in, line);
    REQUIRE(magic == "lienthong-backup v1");
    return json::parse(line);
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

// Flips one byte in the middle of the first stored envelope of the database in `dir` (a copy:
// no node has it open). Returns the envelope's table key (its local number).
uint64_t flip_byte_in_first_envelope(const std::string& dir) {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 32);
    REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0600) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi dbi = 0;
    REQUIRE(mdb_dbi_open(txn, "documents", 0, &dbi) == 0);
    MDB_cursor* cur = nullptr;
    REQUIRE(mdb_cursor_open(txn, dbi, &cur) == 0);
    MDB_val k{}, v{};
    REQUIRE(mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0);
    std::string key(static_cast<const char*>(k.mv_data), k.mv_size);
    std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
    mdb_cursor_close(cur);
    value[value.size() / 2] = static_cast<char>(value[value.size() / 2] ^ 0x01);
    MDB_val k2{key.size(), key.data()}, v2{value.size(), value.data()};
    REQUIRE(mdb_put(txn, dbi, &k2, &v2, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    uint64_t n = 0;
    for (unsigned char c : key) n = (n << 8) | c;
    return n;
}

std::string blake2b_of(const std::string& path) {
    const std::string bytes = read_all(path);
    unsigned char h[32];
    crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : h) out += {hex[c >> 4], hex[c & 15]};
    return out;
}

std::vector<json> audit_of_kind(TestNode& n, const std::string& kind) {
    std::vector<json> out;
    const json log = n.api({{"op", "audit_show"}, {"limit", 100000}});
    for (const auto& e : log.at("entries"))
        if (e.at("kind") == kind) out.push_back(e);
    return out;
}

json batch_request(const std::string& to, int first, int count, std::mt19937_64& rng) {
    json req{{"op", "send_batch"}, {"documents", json::array()}};
    for (int i = first; i < first + count; ++i) {
        auto d = send_request({to}, make_doc(i, rng, 0, 0));
        d.erase("op");
        req["documents"].push_back(std::move(d));
    }
    return req;
}

}  // namespace

TEST_CASE("a backup taken during a 2,000-document load restores to a node that reconciles with no loss and no duplicate", "[e2e]") {
    NodeOptions slow;  // a small window: the delivery is still under way when the backup is taken
    slow.extra_yaml = "limits:\n  window_documents: 8\n";
    TestNode a("000.00.01.H62", slow), b("000.00.02.H62");
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();
    const std::string file = a.dir() + "/a.backup";

    std::vector<std::string> ids;
    std::atomic<int> batches{0};
    std::thread load([&] {
        auto client = a.client();
        std::mt19937_64 rng(62);
        for (int k = 0; k < 20; ++k) {
            auto r = client->call(batch_request(b.agency(), k * 100, 100, rng));
            if (!r.ok()) throw std::runtime_error("send_batch: " + r.error());
            for (const auto& id : r->at("ids")) ids.push_back(id.get<std::string>());
            ++batches;
            std::this_thread::sleep_for(30ms);
        }
    });
    REQUIRE(wait_until([&] { return batches >= 5; }, 30s));
    const auto backup = admin(a, {"backup", "--out", file});
    load.join();
    INFO(backup.out << backup.err);
    REQUIRE(backup.exit_code == 0);
    REQUIRE(ids.size() == 2000);
    const json m = manifest_of(file);
    CHECK(m.at("agency") == a.agency());
    CHECK(m.at("schema_version") == 3);
    CHECK(m.at("keys").is_null());
    const uint64_t in_backup = m.at("counts").at("sent");
    CHECK(in_backup >= 500);
    CHECK(in_backup < 2000);                        // taken while documents were being submitted
    CHECK(m.at("counts").at("outbox") > 0);         // and delivered
    CHECK(m.at("database").at("blake2b_256").get<std::string>().size() == 64);

    REQUIRE(wait_until([&] { return outbox_ids(a, true).empty(); }, 120s));
    // The disk dies: the node comes back from the backup.
    CHECK(a.stop() == 0);
    fs::rename(a.dir() + "/data", a.dir() + "/data.lost");
    const auto restore = admin(a, {"restore", file, "--dir", a.dir() + "/data"});
    INFO(restore.out << restore.err);
    REQUIRE(restore.exit_code == 0);
    CHECK_THAT(restore.out, Catch::Contains("restored the backup of " + a.agency()));
    const auto verified = admin(a, {"verify"});
    INFO(verified.out << verified.err);
    CHECK(verified.exit_code == 0);
    a.start();
    CHECK(outbox_ids(a, false).size() == in_backup);
    // What was pending in the backup was delivered meanwhile: the two ends reconcile, the
    // receipts come back, and nothing is sent to b's document system twice.
    REQUIRE(wait_until([&] { return outbox_ids(a, true).empty(); }, 60s));
    CHECK(a.log_contains("event=delivery_sync peer=" + b.agency()));
    const auto received = inbox_ids(b);
    CHECK(received.size() == 2000);
    CHECK(std::set<std::string>(received.begin(), received.end()) == std::set<std::string>(ids.begin(), ids.end()));
    CHECK(status_counter(b.api({{"op", "status"}}), "duplicates") == 0);
}

TEST_CASE("verify passes on a sound database and finds a byte flipped in a stored envelope of a copy", "[e2e][faults]") {
    TestNode a("000.00.03.H62"), b("000.00.04.H62");
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();
    std::mt19937_64 rng(63);
    for (int i = 0; i < 5; ++i) a.api(send_request({b.agency()}, make_doc(i, rng, 1, 4096)));
    REQUIRE(wait_until([&] { return outbox_ids(a, true).empty(); }, 30s));

    // On the running node: every envelope and receipt signed by a known key, no problem.
    const auto live = run_process({admin_bin(), "-c", b.config_path(), "--json", "verify"});
    INFO(live.out << live.err);
    REQUIRE(live.exit_code == 0);
    const json r = json::parse(live.out);
    CHECK(r.at("problem_count") == 0);
    CHECK(r.at("envelopes") == 5);
    CHECK(r.at("envelopes_signed") == 5);
    CHECK(r.at("receipts") >= 1);
    CHECK(r.at("receipts_signed") == r.at("receipts"));
    CHECK(r.at("index_entries") >= 5);
    const auto sender = run_process({admin_bin(), "-c", a.config_path(), "verify"});
    CHECK(sender.exit_code == 0);
    CHECK_THAT(sender.out, Catch::Contains("OK: no problem found"));

    // A copy of b's database (backup and restore), one byte of one envelope flipped.
    const std::string file = b.dir() + "/b.backup", copy = b.dir() + "/copy";
    REQUIRE(run_process({admin_bin(), "-c", b.config_path(), "backup", "--out", file}).exit_code == 0);
    REQUIRE(run_process({admin_bin(), "-c", b.config_path(), "restore", file, "--dir", copy}).exit_code == 0);
    REQUIRE(run_process({admin_bin(), "-c", b.config_path(), "verify", "--dir", copy}).exit_code == 0);
    flip_byte_in_first_envelope(copy);
    const auto bad = run_process({admin_bin(), "-c", b.config_path(), "verify", "--dir", copy});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.out, Catch::Contains("PROBLEM documents"));
    CHECK_THAT(bad.out, Catch::Contains("1 problem(s) found; nothing was changed"));
    // It reports, never repairs: the same again.
    CHECK(run_process({admin_bin(), "-c", b.config_path(), "verify", "--dir", copy}).out == bad.out);
    // The live node was never touched.
    CHECK(run_process({admin_bin(), "-c", b.config_path(), "verify"}).exit_code == 0);
}

TEST_CASE("restore refuses another agency's backup, a newer schema, a damaged file and a directory with a database", "[e2e][faults]") {
    TestNode a("000.00.05.H62");
    a.start();
    const std::string file = a.dir() + "/a.backup";
    REQUIRE(admin(a, {"backup", "--out", file}).exit_code == 0);
    const auto refused = [&](const std::vector<std::string>& args, const std::string& says) {
        const auto p = admin(a, args);
        INFO(p.out << p.err);
        CHECK(p.exit_code == 1);
        CHECK(p.err_lines().size() == 1);
        CHECK_THAT(p.err, Catch::Contains(says));
    };
    const std::string fresh = a.dir() + "/fresh";
    SECTION("another agency's") {
        refused({"restore", file, "--dir", fresh, "--agency", "000.00.99.H62"},
                "is of agency '000.00.05.H62', not '000.00.99.H62'; refusing");
        CHECK_FALSE(fs::exists(fresh + "/data.mdb"));
    }
    SECTION("a newer schema") {
        std::string bytes = read_all(file);
        const auto at = bytes.find("\"schema_version\":3");
        REQUIRE(at != std::string::npos);
        bytes.replace(at, 18, "\"schema_version\":9");
        write_all(file + ".v9", bytes);
        refused({"restore", file + ".v9", "--dir", fresh}, "has schema version 9, newer than this lienthong-admin knows (3)");
    }
    SECTION("damaged or cut short") {
        std::string bytes = read_all(file);
        bytes[bytes.size() - 100] = static_cast<char>(bytes[bytes.size() - 100] ^ 0x40);
        write_all(file + ".bad", bytes);
        refused({"restore", file + ".bad", "--dir", fresh}, "is damaged: its database does not match the manifest's hash");
        CHECK_FALSE(fs::exists(fresh + "/data.mdb"));
        write_all(file + ".cut", bytes.substr(0, bytes.size() - 1));
        refused({"restore", file + ".cut", "--dir", fresh}, "the file is cut short");
        write_all(file + ".not", "hello\n");
        refused({"restore", file + ".not", "--dir", fresh}, "is not a lienthong backup");
    }
    SECTION("a directory that holds a database, or a running node's") {
        refused({"restore", file, "--dir", a.dir() + "/data"}, "a lienthong-node is running on");
        CHECK(a.stop() == 0);
        refused({"restore", file, "--dir", a.dir() + "/data"}, "already holds a database; move it aside first");
    }
    SECTION("a backup over an existing file") {
        refused({"backup", "--out", file}, "exists; refusing to overwrite it");
    }
}

TEST_CASE("keys are in a backup only with --with-keys, sealed with the passphrase", "[e2e][faults]") {
    TestNode a("000.00.06.H62");
    a.start();
    const std::string key_text = read_all(a.dir() + "/node.key");
    const std::string pass = a.dir() + "/pass", wrong = a.dir() + "/wrong";
    write_all(pass, "correct horse battery staple\n");
    write_all(wrong, "incorrect horse battery staple\n");
    // The secret part of the key file: each line's last field.
    const auto secrets = [&] {
        std::vector<std::string> out;
        std::istringstream in(key_text);
        for (std::string line; std::getline(in, line);)
            if (!line.empty() && line[0] != '#') out.push_back(line.substr(line.rfind(' ') + 1));
        return out;
    }();
    REQUIRE_FALSE(secrets.empty());

    const std::string plain = a.dir() + "/plain.backup", sealed = a.dir() + "/sealed.backup";
    REQUIRE(admin(a, {"backup", "--out", plain}).exit_code == 0);
    CHECK(manifest_of(plain).at("keys").is_null());
    const auto without = admin(a, {"backup", "--out", sealed, "--with-keys"});
    CHECK(without.exit_code == 1);
    CHECK_THAT(without.err, Catch::Contains("--with-keys needs --passphrase-file"));
    write_all(a.dir() + "/short", "short\n");
    CHECK_THAT(admin(a, {"backup", "--out", sealed, "--with-keys", "--passphrase-file", a.dir() + "/short"}).err,
               Catch::Contains("shorter than 12 characters"));
    const auto with = admin(a, {"backup", "--out", sealed, "--with-keys", "--passphrase-file", pass});
    INFO(with.out << with.err);
    REQUIRE(with.exit_code == 0);
    const json m = manifest_of(sealed);
    CHECK(m.at("keys").at("kdf") == "argon2id13");
    for (const auto& file : {plain, sealed}) {
        const std::string bytes = read_all(file);
        for (const auto& s : secrets) CHECK(bytes.find(s) == std::string::npos);
    }
    const std::string out_dir = a.dir() + "/r1", keys_out = a.dir() + "/restored.key";
    const auto bad = admin(a, {"restore", sealed, "--dir", out_dir, "--keys-out", keys_out, "--passphrase-file", wrong});
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.err, Catch::Contains("wrong passphrase"));
    CHECK_FALSE(fs::exists(keys_out));
    CHECK_FALSE(fs::exists(out_dir + "/data.mdb"));  // nothing written before the keys open
    const auto none = admin(a, {"restore", plain, "--dir", out_dir, "--keys-out", keys_out, "--passphrase-file", pass});
    CHECK_THAT(none.err, Catch::Contains("holds no keys"));
    const auto good = admin(a, {"restore", sealed, "--dir", out_dir, "--keys-out", keys_out, "--passphrase-file", pass});
    INFO(good.out << good.err);
    REQUIRE(good.exit_code == 0);
    CHECK(read_all(keys_out) == key_text);
    CHECK((fs::status(keys_out).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("compact rewrites a stopped node's database, which then verifies and serves", "[e2e]") {
    TestNode a("000.00.07.H62"), b("000.00.08.H62");
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();
    std::mt19937_64 rng(64);
    for (int i = 0; i < 3; ++i) a.api(send_request({b.agency()}, make_doc(i, rng, 1, 200000)));
    REQUIRE(wait_until([&] { return outbox_ids(a, true).empty(); }, 30s));
    const auto running = admin(a, {"compact"});
    CHECK(running.exit_code == 1);
    CHECK_THAT(running.err, Catch::Contains("a lienthong-node is running on"));
    CHECK(a.stop() == 0);
    const auto done = admin(a, {"compact"});
    INFO(done.out << done.err);
    REQUIRE(done.exit_code == 0);
    CHECK_THAT(done.out, Catch::Contains("compacted"));
    CHECK(admin(a, {"verify"}).exit_code == 0);
    a.start();
    CHECK(outbox_ids(a, false).size() == 3);
    a.api(send_request({b.agency()}, make_doc(9, rng, 0, 0)));
    CHECK(wait_until([&] { return inbox_ids(b).size() == 4; }, 30s));
}

TEST_CASE("backup and restore each leave one audit entry with the file's hash and the admin's user", "[e2e]") {
    TestNode a("000.00.07.H62");
    a.start();
    const passwd* pw = ::getpwuid(::geteuid());
    const std::string user = pw ? pw->pw_name : "";
    const std::string live = a.dir() + "/live.backup", stopped = a.dir() + "/stopped.backup";
    // Taken from the running node: the node records it.
    auto p = admin(a, {"backup", "--out", live});
    INFO(p.out << p.err);
    REQUIRE(p.exit_code == 0);
    REQUIRE(wait_until([&] { return !audit_of_kind(a, "backup").empty(); }, 10s));
    auto backups = audit_of_kind(a, "backup");
    REQUIRE(backups.size() == 1);
    CHECK(backups[0].at("user") == user);
    CHECK(backups[0].at("detail") == "file_blake2b=" + blake2b_of(live));
    // Taken while the node is stopped: written into the database directly.
    CHECK(a.stop() == 0);
    p = admin(a, {"backup", "--out", stopped});
    INFO(p.out << p.err);
    REQUIRE(p.exit_code == 0);
    a.start();
    backups = audit_of_kind(a, "backup");
    REQUIRE(backups.size() == 2);
    CHECK(backups[1].at("detail") == "file_blake2b=" + blake2b_of(stopped));
    CHECK(backups[1].at("user") == user);
    CHECK(audit_of_kind(a, "restore").empty());
    // Restored from the live backup: the restored database holds the restore, once, and its
    // chain is whole (the backup's own entry came after the snapshot: it is not in it).
    CHECK(a.stop() == 0);
    fs::rename(a.dir() + "/data", a.dir() + "/data.lost");
    p = admin(a, {"restore", live, "--dir", a.dir() + "/data"});
    INFO(p.out << p.err);
    REQUIRE(p.exit_code == 0);
    auto offline = admin(a, {"audit", "verify", "--offline"});
    INFO(offline.out << offline.err);
    CHECK(offline.exit_code == 0);
    a.start();
    const auto restores = audit_of_kind(a, "restore");
    REQUIRE(restores.size() == 1);
    CHECK(restores[0].at("user") == user);
    CHECK_THAT(restores[0].at("detail").get<std::string>(), Catch::Contains("file_blake2b=" + blake2b_of(live)));
    CHECK_THAT(restores[0].at("detail").get<std::string>(), Catch::Contains("taken="));
    CHECK(audit_of_kind(a, "backup").empty());
    CHECK(audit_of_kind(a, "node_started").size() == 2);  // the first start, and this one
    // A refused restore records nothing: the directory already holds the database.
    CHECK(a.stop() == 0);
    CHECK(admin(a, {"restore", live, "--dir", a.dir() + "/data"}).exit_code == 1);
    a.start();
    CHECK(audit_of_kind(a, "restore").size() == 1);
}

TEST_CASE("a recipient restored from a backup gets again what its sender delivered after the backup, each document once",
          "[e2e]") {
    TestNode a("000.00.08.H62"), b("000.00.09.H62");  // a sends; b receives, loses its disk, is restored
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();
    const std::string file = b.dir() + "/b.backup";
    std::vector<std::string> ids;
    std::atomic<int> batches{0};
    std::thread load([&] {
        auto client = a.client();
        std::mt19937_64 rng(63);
        for (int k = 0; k < 10; ++k) {
            auto r = client->call(batch_request(b.agency(), k * 50, 50, rng));
            if (!r.ok()) throw std::runtime_error("send_batch: " + r.error());
            for (const auto& id : r->at("ids")) ids.push_back(id.get<std::string>());
            ++batches;
            std::this_thread::sleep_for(40ms);
        }
    });
    REQUIRE(wait_until([&] { return batches >= 3 && inbox_ids(b).size() >= 100; }, 30s));
    const auto backup = admin(b, {"backup", "--out", file});  // while documents arrive
    load.join();
    INFO(backup.out << backup.err);
    REQUIRE(backup.exit_code == 0);
    REQUIRE(ids.size() == 500);
    // Everything is delivered: the sender holds every receipt, nothing is pending.
    REQUIRE(wait_until([&] { return outbox_ids(a, true).empty() && inbox_ids(b).size() == 500; }, 120s));
    const uint64_t in_backup = manifest_of(file).at("counts").at("inbox");
    CHECK(in_backup >= 100);
    CHECK(in_backup < 500);
    // a witnesses a head of b's log from after the backup: the restore will lose it.
    REQUIRE(admin(b, {"audit", "publish"}).exit_code == 0);
    REQUIRE(wait_until([&] { return b.api({{"op", "audit_witnesses"}, {"wait_ms", 3000}}).at("peers").at(a.agency()).size() == 1; },
                       10s));

    // b's disk dies; it comes back from the backup, which lacks what arrived after it.
    CHECK(b.stop() == 0);
    fs::rename(b.dir() + "/data", b.dir() + "/data.lost");
    const auto restore = admin(b, {"restore", file, "--dir", b.dir() + "/data"});
    INFO(restore.out << restore.err);
    REQUIRE(restore.exit_code == 0);
    b.start();
    // b asks a for what a delivered since the backup; a queues it again; b stores each once.
    REQUIRE(wait_until([&] { return inbox_ids(b).size() >= 500; }, 60s, 100ms));
    REQUIRE(wait_until([&] { return b.log_contains("event=resync_done peer=" + a.agency()); }, 30s, 100ms));
    const auto received = inbox_ids(b);
    CHECK(received.size() == 500);
    CHECK(std::set<std::string>(received.begin(), received.end()) == std::set<std::string>(ids.begin(), ids.end()));
    CHECK(b.log_contains("event=resync peer=" + a.agency() + " missing=" + std::to_string(500 - in_backup)));
    CHECK(a.log_contains("event=redelivery peer=" + b.agency() + " asked=" + std::to_string(500 - in_backup) +
                         " queued=" + std::to_string(500 - in_backup)));
    // The sender ends with every document delivered again, and says so in its audit log.
    REQUIRE(wait_until([&] { return outbox_ids(a, true).empty(); }, 60s));
    CHECK(outbox_ids(a, false).size() == 500);
    const json log = a.api({{"op", "audit_show"}, {"kind", "redelivery_asked"}});
    REQUIRE(log.at("entries").size() == 1);
    CHECK(log.at("entries")[0].at("agency") == b.agency());
    // b's audit log went back with the restore: verify fails, and says why.
    const auto verified = admin(b, {"audit", "verify"});
    INFO(verified.out << verified.err);
    CHECK(verified.exit_code == 1);
    CHECK_THAT(verified.out, Catch::Contains("signed before the restore recorded at entry"));
    CHECK_THAT(verified.out, Catch::Contains("records a restore from a backup: the entries the peers witnessed after the backup"));
    // Restarted, b does not ask again: that peer is done.
    b.restart();
    std::this_thread::sleep_for(1500ms);
    const std::string text = read_all(b.log_path());
    size_t rounds = 0;
    for (size_t at = text.find("event=resync "); at != std::string::npos; at = text.find("event=resync ", at + 1)) ++rounds;
    CHECK(rounds == 2);  // one that found the missing documents, one that found none
    CHECK(inbox_ids(b).size() == 500);
}

TEST_CASE("a peer asking for redelivery gets only what was delivered to it, and a malformed resync is refused", "[e2e][faults]") {
    TestNode a("000.00.10.H62"), b("000.00.11.H62");
    FakePeer fake("000.00.12.H62");
    a.add_peer(b);
    a.add_peer(fake.as_peer());
    b.add_peer(a);
    b.start();
    a.start();
    const json r = a.api({{"op", "send"}, {"to", json::array({b.agency()})}, {"subject", "cho b"},
                          {"body", json::binary(std::vector<uint8_t>{1, 2, 3})}});
    const std::string id = r.at("id");
    REQUIRE(wait_until([&] { return outbox_ids(a, true).empty(); }, 20s));
    fake.connect(a);
    // b's document and an unknown id: neither was delivered to the fake peer.
    lienthong::protocol::Hash32 doc{}, unknown{};
    auto bytes = lienthong::protocol::from_hex(id);
    REQUIRE(bytes.ok());
    std::copy(bytes->begin(), bytes->end(), doc.begin());
    unknown.fill(0x42);
    fake.send_frame(lienthong::protocol::RedeliverWantFrame{{doc, unknown}});
    REQUIRE(wait_until([&] { return a.log_contains("event=redelivery peer=" + fake.identity().pub.agency); }, 10s));
    CHECK(a.log_contains("event=redelivery peer=" + fake.identity().pub.agency + " asked=2 queued=0"));
    CHECK(outbox_ids(a, true).empty());
    CHECK(a.api({{"op", "audit_show"}, {"kind", "redelivery_asked"}}).at("entries").empty());
    // A resync step that is not a reconciliation message.
    fake.send_frame(lienthong::protocol::ResyncFrame{1, lienthong::protocol::Bytes{0xc1, 0xc1}});
    REQUIRE(wait_until([&] { return a.log_contains("kind=resync"); }, 10s));
    // a goes on serving b.
    a.api({{"op", "send"}, {"to", json::array({b.agency()})}, {"subject", "vẫn chạy"},
           {"body", json::binary(std::vector<uint8_t>{4})}});
    REQUIRE(wait_until([&] { return outbox_ids(a, true).empty() && inbox_ids(b).size() == 2; }, 20s));
}

TEST_CASE("a restored node stops asking a peer that never answers its resync", "[e2e][faults]") {
    FakePeer old("000.00.14.H62");  // as a peer of an older version: it ignores Resync
    old.listen();
    TestNode b("000.00.13.H62");
    b.add_peer(old.as_peer());
    b.start();
    const std::string file = b.dir() + "/b.backup";
    REQUIRE(admin(b, {"backup", "--out", file}).exit_code == 0);
    CHECK(b.stop() == 0);
    fs::rename(b.dir() + "/data", b.dir() + "/data.lost");
    REQUIRE(admin(b, {"restore", file, "--dir", b.dir() + "/data"}).exit_code == 0);
    b.start();
    size_t resyncs = 0;
    const bool gave_up = wait_until(
        [&] {
            if (auto l = old.recv_listened(200ms); l && l->frame.ok() && std::holds_alternative<lienthong::protocol::ResyncFrame>(*l->frame))
                ++resyncs;
            return b.log_contains("event=resync_gave_up peer=" + old.identity().pub.agency);
        },
        60s, 10ms);
    CHECK(gave_up);
    CHECK(resyncs == 3);
    // And no more after that.
    for (int i = 0; i < 20; ++i)
        if (auto l = old.recv_listened(300ms); l && l->frame.ok())
            CHECK_FALSE(std::holds_alternative<lienthong::protocol::ResyncFrame>(*l->frame));
}
