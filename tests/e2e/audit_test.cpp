// The audit log (issue 18) with real nodes on 127.0.0.1: every event kind recorded once with
// its ids, at both ends and at a relay; signed heads witnessed by peers; audit verify on an
// untouched node and on edited copies of its database (chain recomputed or not); an export
// checked with the public key only, and refused after any byte changes; a node killed with
// SIGKILL while it commits leaves no gap and no duplicate in its chain.
#include <catch2/catch.hpp>
#include <lmdb.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "protocol/audit.h"
#include "protocol/envelope.h"
#include "tests/e2e/admin_cli.h"
#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/official_helpers.h"

using namespace lienthong::e2e;
using namespace lienthong::e2e::official;
using Catch::Matchers::Contains;
namespace protocol = lienthong::protocol;
namespace fs = std::filesystem;

namespace {

json audit_entries(TestNode& n, json filter = json::object()) {
    filter["op"] = "audit_show";
    filter["limit"] = 100000;
    return n.api(filter).at("entries");
}

// Entries of `kind` whose msg or about is `id` (empty: any).
std::vector<json> of_kind(const json& entries, const std::string& kind, const std::string& id = "") {
    std::vector<json> out;
    for (const auto& e : entries) {
        if (e.at("kind") != kind) continue;
        if (!id.empty() && e.value("msg", "") != id && e.value("about", "") != id) continue;
        out.push_back(e);
    }
    return out;
}

// No gap, no duplicate: seq 1..n in order.
void check_contiguous(const json& entries) {
    uint64_t want = 1;
    for (const auto& e : entries) {
        INFO("entry " << e.dump());
        REQUIRE(e.at("seq").get<uint64_t>() == want);
        ++want;
    }
}

std::string whoami() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw ? pw->pw_name : "";
}

// Rewrites entry `seq` of the audit table in the database at `dir` (a stopped node's copy)
// with agency `agency`; with `rechain`, recomputes every later entry's link, as an admin
// hiding the edit would.
void edit_entry(const std::string& dir, uint64_t seq, const std::string& agency, bool rechain) {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 64);
    mdb_env_set_mapsize(env, 1ull << 30);
    REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0600) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, "audit", 0, &dbi) == 0);
    const auto key_of = [](uint64_t s) {
        std::array<uint8_t, 8> k{};
        for (int i = 7; i >= 0; --i, s >>= 8) k[i] = static_cast<uint8_t>(s);
        return k;
    };
    const auto get = [&](uint64_t s) {
        auto k = key_of(s);
        MDB_val kv{k.size(), k.data()}, v{};
        REQUIRE(mdb_get(txn, dbi, &kv, &v) == 0);
        const auto* p = static_cast<const uint8_t*>(v.mv_data);
        return protocol::Bytes(p, p + v.mv_size);
    };
    const auto put = [&](uint64_t s, const protocol::Bytes& b) {
        auto k = key_of(s);
        MDB_val kv{k.size(), k.data()}, v{b.size(), const_cast<uint8_t*>(b.data())};
        REQUIRE(mdb_put(txn, dbi, &kv, &v, 0) == 0);
    };
    auto e = protocol::decode_audit_entry(get(seq));
    REQUIRE(e.ok());
    e->agency = agency;
    protocol::Bytes bytes = protocol::encode_audit_entry(*e);
    put(seq, bytes);
    if (rechain) {
        MDB_stat st{};
        REQUIRE(mdb_stat(txn, dbi, &st) == 0);
        for (uint64_t s = seq + 1; s <= st.ms_entries; ++s) {
            auto next = protocol::decode_audit_entry(get(s));
            REQUIRE(next.ok());
            next->prev = protocol::audit_entry_hash(bytes);
            bytes = protocol::encode_audit_entry(*next);
            put(s, bytes);
        }
    }
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

void copy_db(const TestNode& n, const std::string& to) {
    fs::create_directories(to);
    fs::copy_file(n.dir() + "/data/data.mdb", to + "/data.mdb", fs::copy_options::overwrite_existing);
}

ProcessResult admin_run(const std::vector<std::string>& args) {
    std::vector<std::string> argv{admin_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, 30s);
}

}  // namespace

TEST_CASE("audit: each event is recorded once with its ids at the sender and the recipient", "[e2e]") {
    if (!have_samples()) return;
    TestNode g22(kG22), h41(kH41);
    g22.add_peer(h41);
    h41.add_peer(g22);
    g22.start();
    h41.start();

    const std::string doc = import_ok(g22, g22_new_document(), {kH41});
    wait_stored(h41, doc);
    REQUIRE(wait_until([&] { return has_receipt(g22, doc); }, 20s));
    const std::string status = relay_status(h41, g22, doc, "status_inbox_01.edxml");
    const std::string revoke = import_ok(g22, sample("edoc_revocation.edxml"), {kH41});
    wait_stored(h41, revoke);
    REQUIRE(wait_until([&] { return has_receipt(g22, revoke); }, 20s));

    // Admin commands, with the user lienthong-admin runs as.
    TestNode extra("000.00.00.X99");
    admin({"-c", g22.config_path(), "peer", "add", "--identity", extra.identity_line(), "--endpoint", extra.endpoint()});
    admin({"-c", g22.config_path(), "peer", "remove", extra.agency()});
    admin({"-c", g22.config_path(), "reload"});
    admin({"-c", g22.config_path(), "audit", "publish"});

    REQUIRE(wait_until([&] { return of_kind(audit_entries(g22), "receipt_received", revoke).size() == 1; }, 10s));
    const json a = audit_entries(g22);
    const json b = audit_entries(h41);
    check_contiguous(a);
    check_contiguous(b);
    INFO("sender's log " << a.dump(1));
    INFO("recipient's log " << b.dump(1));

    // The sender.
    REQUIRE(of_kind(a, "node_started").size() == 1);
    const auto sent = of_kind(a, "document_sent", doc);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].at("msg") == doc);
    CHECK(sent[0].at("agency") == kH41);
    const auto rr = of_kind(a, "receipt_received", doc);
    REQUIRE(rr.size() == 1);
    CHECK(rr[0].at("about") == doc);
    CHECK(rr[0].at("agency") == kH41);
    const auto sr = of_kind(a, "status_received", doc);
    REQUIRE(sr.size() == 1);
    CHECK(sr[0].at("msg") == status);
    CHECK(sr[0].at("agency") == kH41);
    CHECK(sr[0].at("detail") == "code=01");
    const auto rs = of_kind(a, "revoke_sent");
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].at("msg") == revoke);
    CHECK(rs[0].at("about") == doc);
    const auto pa = of_kind(a, "peer_added");
    // h41 from the config at first start, then the admin's.
    REQUIRE(pa.size() == 2);
    CHECK(pa[0].at("agency") == kH41);
    CHECK(pa[1].at("agency") == extra.agency());
    CHECK(pa[1].at("user") == whoami());
    const auto pr = of_kind(a, "peer_removed");
    REQUIRE(pr.size() == 1);
    CHECK(pr[0].at("agency") == extra.agency());
    CHECK(pr[0].at("user") == whoami());
    const auto cr = of_kind(a, "config_reloaded");
    REQUIRE(cr.size() == 1);
    CHECK(cr[0].at("user") == whoami());
    const auto ac = of_kind(a, "admin_command");
    REQUIRE(ac.size() == 1);
    CHECK(ac[0].at("detail") == "audit publish");

    // The recipient.
    const auto rec = of_kind(b, "document_received", doc);
    REQUIRE(rec.size() == 1);
    CHECK(rec[0].at("msg") == doc);
    CHECK(rec[0].at("agency") == kG22);
    CHECK(of_kind(b, "receipt_sent", doc).size() == 1);
    CHECK(of_kind(b, "receipt_sent", revoke).size() == 1);
    const auto ss = of_kind(b, "status_sent", doc);
    REQUIRE(ss.size() == 1);
    CHECK(ss[0].at("msg") == status);
    CHECK(ss[0].at("agency") == kG22);
    const auto rv = of_kind(b, "revoke_received");
    REQUIRE(rv.size() == 1);
    CHECK(rv[0].at("msg") == revoke);
    CHECK(rv[0].at("about") == doc);

    // The head the sender published is witnessed by the recipient, and shown to the sender.
    const json w = g22.api({{"op", "audit_witnesses"}, {"wait_ms", 5000}});
    REQUIRE(w.at("peers").contains(kH41));
    REQUIRE(w.at("peers").at(kH41).size() == 1);
    CHECK(w.at("peers").at(kH41)[0].at("agency") == kG22);

    // The show filters of the CLI.
    const std::string shown = admin({"-c", g22.config_path(), "audit", "show", "--kind", "document_sent", "--id", doc.substr(0, 16)});
    CHECK_THAT(shown, Contains("document_sent"));
    CHECK_THAT(shown, Contains(doc.substr(0, 16)));

    // A key rotation is recorded when the node starts with its new key.
    g22.stop();
    admin({"-c", g22.config_path(), "key", "rotate"});
    g22.start();
    const json after = audit_entries(g22);
    check_contiguous(after);
    const auto kr = of_kind(after, "key_rotated");
    REQUIRE(kr.size() == 1);
    CHECK_THAT(kr[0].at("detail").get<std::string>(), Contains("from="));
    CHECK(of_kind(after, "node_started").size() == 2);
}

TEST_CASE("audit: a relay records custody taken and passed on, and refusals are recorded", "[e2e]") {
    NodeOptions relayed;
    relayed.extra_yaml = "relay:\n  default_via: \"000.01.00.D01\"\n  fallback_ms: 300\n";
    TestNode commune("000.01.01.C01", relayed), district("000.01.00.D01"), province("000.00.00.P01", relayed);
    commune.add_peer(district);
    commune.add_peer(PeerEntry{province.agency(), "tcp://127.0.0.1:" + std::to_string(free_port()), province.identity_line()});
    district.add_peer(commune);
    district.add_peer(province);
    province.add_peer(district);
    province.add_peer(PeerEntry{commune.agency(), "tcp://127.0.0.1:" + std::to_string(free_port()), commune.identity_line()});
    for (auto* n : {&commune, &district, &province}) n->start();
    const json r = commune.api({{"op", "send"}, {"to", json::array({province.agency()})}, {"subject", "qua huyện"},
                                {"body", json::binary(std::vector<uint8_t>{'x'})}});
    const std::string id = r.at("id");
    REQUIRE(wait_until([&] { return in_inbox(province, id) && has_receipt(commune, id); }, 30s, 100ms));
    REQUIRE(wait_until([&] { return of_kind(audit_entries(commune), "receipt_received", id).size() == 1; }, 10s));
    const json c = audit_entries(commune), d = audit_entries(district), p = audit_entries(province);
    INFO("commune " << c.dump(1) << "\ndistrict " << d.dump(1));
    const auto passed = of_kind(c, "custody_passed", id);
    REQUIRE(passed.size() == 1);
    CHECK(passed[0].at("agency") == province.agency());
    CHECK(passed[0].at("peer") == district.agency());
    const auto taken = of_kind(d, "custody_taken", id);
    REQUIRE(taken.size() == 1);
    CHECK(taken[0].at("agency") == province.agency());
    CHECK(taken[0].at("peer") == commune.agency());
    // The district delivers it to the province itself: the receipt ends its transit.
    const auto done = of_kind(d, "transit_delivered", id);
    REQUIRE(done.size() == 1);
    CHECK(done[0].at("agency") == province.agency());
    CHECK(done[0].at("peer") == commune.agency());
    CHECK(of_kind(d, "custody_passed", id).empty());
    const auto got = of_kind(p, "document_received", id);
    REQUIRE(got.size() == 1);
    CHECK(got[0].at("agency") == commune.agency());
    CHECK(got[0].at("peer") == district.agency());
    check_contiguous(c);
    check_contiguous(d);
    check_contiguous(p);

    // A refusal: a fake peer delivers a document for someone else; the node refuses it for good.
    FakePeer fake("000.09.09.F09");
    TestNode lone("000.09.09.L09");
    lone.add_peer(fake.as_peer());
    lone.start();
    fake.connect(lone);
    protocol::Envelope env;
    env.kind = protocol::Kind::document;
    env.from = fake.identity().pub.agency;
    env.to = {"000.09.09.Z99"};
    env.created_ms = now_ms();
    env.payload = {1, 2, 3};
    const auto se = protocol::sign_envelope(std::move(env), fake.identity().sign_secret);
    fake.send_frame(protocol::DeliverFrame{se.wire});
    REQUIRE(wait_until([&] { return !of_kind(audit_entries(lone), "document_refused").empty(); }, 10s));
    const auto refused = of_kind(audit_entries(lone), "document_refused");
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].at("msg") == protocol::to_hex(se.id));
    CHECK(refused[0].at("peer") == fake.identity().pub.agency);
}

TEST_CASE("audit verify passes untouched, names the first bad entry of an edited copy, and peers' heads catch a recomputed chain",
          "[e2e]") {
    TestNode a("000.00.03.H41"), b("000.00.04.H41");
    a.add_peer(b);
    b.add_peer(a);
    a.start();
    b.start();
    const auto send = [&](int i) {
        const json r = a.api({{"op", "send"}, {"to", json::array({b.agency()})}, {"subject", "văn bản " + std::to_string(i)},
                              {"body", json::binary(std::vector<uint8_t>(10, static_cast<uint8_t>(i)))}});
        return r.at("id").get<std::string>();
    };
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(send(i));
    REQUIRE(wait_until([&] { return of_kind(audit_entries(b), "receipt_sent").size() == 3; }, 20s));
    // First witnessed head: after the first three documents.
    const auto publish = [&] {
        return json::parse(admin({"-c", b.config_path(), "--json", "audit", "publish"})).at("head").at("seq").get<uint64_t>();
    };
    const uint64_t first_head = publish();
    std::this_thread::sleep_for(1100ms);  // peers keep at most one head a second
    for (int i = 3; i < 6; ++i) ids.push_back(send(i));
    REQUIRE(wait_until([&] { return of_kind(audit_entries(b), "receipt_sent").size() == 6; }, 20s));
    const uint64_t second_head = publish();
    const json log = audit_entries(b);
    REQUIRE(second_head > first_head);
    REQUIRE(wait_until([&] { return b.api({{"op", "audit_witnesses"}, {"wait_ms", 3000}}).at("peers").at(a.agency()).size() == 2; },
                       10s));

    // Untouched: the chain is whole and agrees with both witnessed heads.
    {
        auto p = admin_run({"-c", b.config_path(), "--json", "audit", "verify"});
        INFO(p.out << p.err);
        REQUIRE(p.exit_code == 0);
        const json v = json::parse(p.out);
        CHECK(v.at("verified") == true);
        CHECK(v.at("witnessed_heads") == 2);
        CHECK(v.at("witnessed_agree") == 2);
    }
    // The entry to edit: the document_received of the fifth document (after the first head).
    const auto target = of_kind(log, "document_received", ids[4]);
    REQUIRE(target.size() == 1);
    const uint64_t k = target[0].at("seq");
    REQUIRE(k > first_head);
    REQUIRE(k <= second_head);

    b.stop();
    TempDir copies;
    const std::string plain = copies.path() + "/plain", rechained = copies.path() + "/rechained";
    copy_db(b, plain);
    copy_db(b, rechained);
    b.start();
    edit_entry(plain, k, "000.00.66.H41", false);
    edit_entry(rechained, k, "000.00.66.H41", true);

    // Edited, chain left as it was: the chain itself names the entry.
    {
        auto p = admin_run({"-c", b.config_path(), "--json", "audit", "verify", "--dir", plain});
        INFO(p.out << p.err);
        CHECK(p.exit_code == 1);
        const json v = json::parse(p.out);
        CHECK(v.at("verified") == false);
        CHECK(v.at("first_bad") == k);
        CHECK_THAT(v.at("first_bad_text").get<std::string>(), Contains("entry " + std::to_string(k) + " was changed"));
    }
    // Edited and the rest of the chain recomputed: whole again, but the peer's head after the
    // edit disagrees, and the one before agrees: the bad entry is between them.
    {
        auto offline = admin_run({"-c", b.config_path(), "--json", "audit", "verify", "--offline", "--dir", rechained});
        CHECK(offline.exit_code == 0);  // alone, the chain cannot tell
        auto p = admin_run({"-c", b.config_path(), "--json", "audit", "verify", "--dir", rechained});
        INFO(p.out << p.err);
        CHECK(p.exit_code == 1);
        const json v = json::parse(p.out);
        CHECK(v.at("verified") == false);
        CHECK(v.at("first_bad") == first_head + 1);
        CHECK_THAT(v.at("first_bad_text").get<std::string>(),
                   Contains("from " + std::to_string(first_head + 1) + " to " + std::to_string(second_head)));
        CHECK(v.at("witnessed_agree") == 1);
        auto text = admin_run({"-c", b.config_path(), "audit", "verify", "--dir", rechained});
        CHECK_THAT(text.out, Contains("FAILED: first bad entry"));
    }
}

TEST_CASE("audit export of a delivered document checks with the public key only and fails on any changed byte", "[e2e]") {
    TestNode a("000.00.05.H41"), b("000.00.06.H41");
    a.add_peer(b);
    b.add_peer(a);
    a.start();
    b.start();
    const json r = a.api({{"op", "send"}, {"to", json::array({b.agency()})}, {"subject", "xuất nhật ký"},
                          {"body", json::binary(std::vector<uint8_t>{1, 2, 3})}});
    const std::string id = r.at("id");
    REQUIRE(wait_until([&] { return of_kind(audit_entries(a), "receipt_received", id).size() == 1; }, 20s));
    admin({"-c", a.config_path(), "audit", "publish"});
    REQUIRE(wait_until([&] { return b.api({{"op", "audit_show"}}).at("head_seq") > 0 &&
                                    a.api({{"op", "audit_witnesses"}, {"wait_ms", 3000}}).at("peers").at(b.agency()).size() == 1; },
                       10s));
    TempDir out;
    const std::string file = out.path() + "/doc.audit";
    admin({"-c", a.config_path(), "audit", "export", "--id", id, "--out", file});
    // Checked where only the public identity is known: no config, no node, no database.
    const std::string ok = admin({"-c", "/nonexistent.yaml", "audit", "check", file, "--identity", a.identity_line()});
    CHECK_THAT(ok, Contains("OK:"));
    CHECK_THAT(ok, Contains("document_sent"));
    CHECK_THAT(ok, Contains("receipt_received"));
    CHECK_THAT(ok, Contains(b.agency()));  // a head the recipient witnessed is in the file
    auto j = admin_run({"--json", "audit", "check", file, "--identity", a.identity_line()});
    REQUIRE(j.exit_code == 0);
    CHECK(json::parse(j.out).at("entries_about_doc").size() == 2);
    // Another node's key: refused.
    CHECK(admin_run({"audit", "check", file, "--identity", b.identity_line()}).exit_code == 1);
    // Any byte changed: refused. Every byte of a small file, a sample of a larger one.
    const std::string bytes = read_text(file);
    const size_t step = std::max<size_t>(1, bytes.size() / 97);
    for (size_t i = 0; i < bytes.size(); i += step) {
        std::string changed = bytes;
        changed[i] = static_cast<char>(changed[i] ^ 0x20);
        write_text(file, changed);
        auto p = admin_run({"audit", "check", file, "--identity", a.identity_line()});
        INFO("byte " << i << ": " << p.out << p.err);
        CHECK(p.exit_code == 1);
        CHECK_THAT(p.err, Contains("does not check"));
    }
}

TEST_CASE("audit: a node killed while it commits has no gap and no duplicate in its chain after restart", "[e2e][faults]") {
    TestNode a("000.00.07.H41"), b("000.00.08.H41");
    a.add_peer(b);
    b.add_peer(a);
    a.start();
    b.start();
    std::atomic<bool> stop{false};
    std::atomic<int> sent{0};
    std::thread sender([&] {
        auto client = a.client(5000);
        for (int i = 0; i < 400 && !stop; ++i) {
            auto r = client->call({{"op", "send"}, {"to", json::array({b.agency()})}, {"subject", "s" + std::to_string(i)},
                                   {"body", json::binary(std::vector<uint8_t>(64, 7))}});
            if (!r.ok()) break;
            ++sent;
        }
    });
    REQUIRE(wait_until([&] { return sent >= 50; }, 30s, 5ms));
    b.kill();  // the recipient dies in the middle of its commits
    a.kill();  // and so does the sender
    stop = true;
    sender.join();
    a.start();
    b.start();
    REQUIRE(wait_until([&] { return a.api({{"op", "status"}}).at("outbox_pending") == 0; }, 60s, 100ms));
    for (TestNode* n : {&a, &b}) {
        INFO(n->agency());
        const json log = audit_entries(*n);
        check_contiguous(log);
        auto p = admin_run({"-c", n->config_path(), "audit", "verify", "--offline"});
        CHECK(p.exit_code == 0);
    }
    // Every document the sender stored appears once as sent, once as received, once receipted.
    const json la = audit_entries(a), lb = audit_entries(b);
    std::set<std::string> sent_ids;
    for (const auto& e : of_kind(la, "document_sent")) CHECK(sent_ids.insert(e.at("msg")).second);
    CHECK(sent_ids.size() == outbox_ids(a, false).size());
    std::set<std::string> received;
    for (const auto& e : of_kind(lb, "document_received")) CHECK(received.insert(e.at("msg")).second);
    CHECK(received == sent_ids);
    std::set<std::string> receipted;
    for (const auto& e : of_kind(la, "receipt_received")) CHECK(receipted.insert(e.at("about")).second);
    CHECK(receipted == sent_ids);
    CHECK(of_kind(la, "node_started").size() == 2);
}

TEST_CASE("audit requests with bad fields are refused with the field named", "[e2e]") {
    TestNode a("000.00.09.H41");
    a.start();
    const auto refused = [&](const json& req, const std::string& what) {
        auto r = a.call(req);
        INFO(req.dump());
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains(what));
    };
    refused({{"op", "audit_show"}, {"from_seq", "one"}}, "'from_seq'");
    refused({{"op", "audit_show"}, {"limit", 100001}}, "'limit'");
    refused({{"op", "audit_show"}, {"kind", 3}}, "'kind'");
    refused({{"op", "audit_show"}, {"id", "xyz"}}, "not a message id");
    refused({{"op", "audit_head"}, {"publish", "yes"}}, "'publish'");
    refused({{"op", "audit_head"}, {"publish", true}, {"user", "a\nb"}}, "'user' holds a control character");
    refused({{"op", "audit_head"}, {"publish", true}, {"user", std::string(65, 'u')}}, "'user' is longer");
    refused({{"op", "audit_witnesses"}, {"wait_ms", 30001}}, "'wait_ms'");
    refused({{"op", "audit_export"}}, "'id' is required");
    refused({{"op", "audit_export"}, {"id", std::string(64, 'a')}}, "holds no entry about");
    refused({{"op", "reload"}, {"user", json::array()}}, "'user' must be text");
    // Nothing was recorded for the refused requests: the log holds the start alone.
    const json log = audit_entries(a);
    REQUIRE(log.size() == 1);
    CHECK(log[0].at("kind") == "node_started");
    // The CLI: a bad bound, and a file that is not an export.
    auto p = admin_run({"-c", a.config_path(), "audit", "show", "--from", "yesterday"});
    CHECK(p.exit_code == 1);
    CHECK_THAT(p.err, Contains("--from 'yesterday' is neither an entry number nor a date"));
    TempDir d;
    write_text(d.path() + "/x", "hello");
    p = admin_run({"audit", "check", d.path() + "/x"});
    CHECK(p.exit_code == 1);
    CHECK_THAT(p.err, Contains("not an audit export file"));
    p = admin_run({"audit", "check", d.path() + "/x", "--key", "short"});
    CHECK(p.exit_code == 1);
    CHECK_THAT(p.err, Contains("--key"));
}

TEST_CASE("audit: a directory record imported by the admin is recorded with the admin's user", "[e2e]") {
    TempDir keys;
    admin({"root", "init", "--name", "auditfed", "--out", keys.path()});
    std::string root_line = read_text(keys.path() + "/root.pub");
    root_line = root_line.substr(0, root_line.find('\n'));
    NodeOptions opts;
    opts.extra_yaml = "trust:\n  roots: [\"" + root_line + "\"]\n";
    TestNode n("000.00.00.P07", opts);
    write_text(n.config_path(), n.config_yaml());
    admin({"-c", n.config_path(), "enroll", "request", "--out", keys.path() + "/req"});
    admin({"enroll", "issue", keys.path() + "/req", "--serial", "1", "--valid-days", "30", "--out", keys.path() + "/rec",
           "--key", keys.path() + "/root.key"});
    n.start();
    admin({"-c", n.config_path(), "enroll", "import", keys.path() + "/rec"});
    const json log = audit_entries(n);
    INFO(log.dump(1));
    const auto imported = of_kind(log, "directory_record_imported");
    REQUIRE(imported.size() == 1);
    CHECK(imported[0].at("agency") == n.agency());
    CHECK(imported[0].at("detail") == "kind=node record via=admin");
    const auto cmd = of_kind(log, "admin_command");
    REQUIRE(cmd.size() == 1);
    CHECK(cmd[0].at("user") == whoami());
    check_contiguous(log);
}
