// audit archive (issue 18) with real nodes on 127.0.0.1: entries before a time move to a file
// the node signs; the log in the database goes on from the archived point, audit verify still
// passes and, given the files, links them to the log and checks the peers' heads of archived
// entries; archives taken one after another link to each other; the file checks with the
// public key alone and fails on a changed byte; nothing is deleted before the file is written
// (the node deletes only on a commit naming the file's hash); bad input gets a one-line error.
#include <catch2/catch.hpp>
#include <sodium.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include <ctime>
#include <filesystem>
#include <thread>

#include "tests/e2e/admin_cli.h"

using namespace lienthong::e2e;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

json audit_entries(TestNode& n) { return n.api({{"op", "audit_show"}, {"limit", 100000}}).at("entries"); }

size_t count_kind(const json& entries, const std::string& kind) {
    size_t n = 0;
    for (const auto& e : entries) n += e.at("kind") == kind ? 1 : 0;
    return n;
}

ProcessResult admin_run(const std::vector<std::string>& args) {
    std::vector<std::string> argv{admin_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, 30s);
}

// Now, to the second below, as --before takes it ("YYYY-MM-DDTHH:MM:SSZ"): every entry written
// more than a second ago is before it, every entry written from now on is not.
std::string cut_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void send_docs(TestNode& from, TestNode& to, int n, int first) {
    for (int i = first; i < first + n; ++i)
        from.api({{"op", "send"}, {"to", json::array({to.agency()})}, {"subject", "lưu trữ " + std::to_string(i)},
                  {"body", json::binary(std::vector<uint8_t>(16, static_cast<uint8_t>(i)))}});
    REQUIRE(wait_until([&] { return from.api({{"op", "status"}}).at("outbox_pending") == 0; }, 30s, 50ms));
}

json verify(TestNode& n, const std::vector<std::string>& archives, int want_exit) {
    std::vector<std::string> args{"-c", n.config_path(), "--json", "audit", "verify"};
    for (const auto& a : archives) args.insert(args.end(), {"--archive", a});
    auto p = admin_run(args);
    INFO(p.out << p.err);
    REQUIRE(p.exit_code == want_exit);
    return json::parse(p.out);
}

std::string blake2b_of(const std::string& path) {
    const std::string bytes = read_text(path);
    unsigned char h[32];
    crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : h) out += {hex[c >> 4], hex[c & 15]};
    return out;
}

std::string whoami() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw ? pw->pw_name : "";
}

// An error of lienthong-admin: exit 1, one line on stderr naming the problem.
void one_line_error(const ProcessResult& p, const std::string& what) {
    INFO(p.out << p.err);
    CHECK(p.exit_code == 1);
    CHECK_THAT(p.err, Contains(what));
    CHECK(std::count(p.err.begin(), p.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("audit archive moves old entries to a signed file, verify still passes and links archives taken one after another",
          "[e2e]") {
    TestNode a("000.00.11.H41"), b("000.00.12.H41");
    a.add_peer(b);
    b.add_peer(a);
    a.start();
    b.start();
    TempDir out;
    const std::string f1 = out.path() + "/first.archive", f2 = out.path() + "/second.archive";

    send_docs(a, b, 3, 0);
    // A head of the entries about to be archived, witnessed by the peer.
    admin({"-c", a.config_path(), "audit", "publish"});
    REQUIRE(wait_until([&] { return a.api({{"op", "audit_witnesses"}, {"wait_ms", 3000}}).at("peers").at(b.agency()).size() == 1; },
                       10s));
    std::this_thread::sleep_for(1100ms);
    const std::string cut1 = cut_now();
    send_docs(a, b, 2, 3);
    const json before1 = audit_entries(a);

    auto p = admin_run({"-c", a.config_path(), "--json", "audit", "archive", "--before", cut1, "--out", f1});
    INFO(p.out << p.err);
    REQUIRE(p.exit_code == 0);
    const json r1 = json::parse(p.out);
    CHECK(r1.at("first_seq") == 1);
    const uint64_t last1 = r1.at("last_seq");
    CHECK(r1.at("more") == false);
    CHECK(r1.at("file_blake2b") == blake2b_of(f1));
    // Entries before the cut are gone from the log, those after remain, and the archive is
    // recorded with the admin's user and the file's hash.
    const json after1 = audit_entries(a);
    std::map<uint64_t, std::string> now_held;
    for (const auto& e : after1) {
        CHECK(e.at("seq").get<uint64_t>() > last1);
        now_held[e.at("seq")] = e.at("hash");
    }
    for (const auto& e : before1)
        if (e.at("seq").get<uint64_t>() > last1) CHECK(now_held[e.at("seq")] == e.at("hash").get<std::string>());
    CHECK(count_kind(before1, "document_sent") == 5);
    CHECK(count_kind(after1, "document_sent") == 2);  // the three sent before the cut were archived
    REQUIRE(count_kind(after1, "audit_archived") == 1);
    const json& rec = after1.back();
    CHECK(rec.at("kind") == "audit_archived");
    CHECK(rec.at("user") == whoami());
    CHECK_THAT(rec.at("detail").get<std::string>(), Contains("entries=1-" + std::to_string(last1)));
    CHECK_THAT(rec.at("detail").get<std::string>(), Contains("file_blake2b=" + blake2b_of(f1)));

    // The log verifies from the archived point; the head witnessed before the cut cannot be
    // checked without the file, and agrees with it.
    {
        const json v = verify(a, {}, 0);
        CHECK(v.at("archived_to") == last1);
        CHECK(v.at("witnessed_archived_unchecked") == 1);
        const json w = verify(a, {f1}, 0);
        CHECK(w.at("archives_linked") == true);
        CHECK(w.at("archives_from") == 1);
        CHECK(w.at("witnessed_agree") == 1);
        CHECK(w.at("witnessed_archived_unchecked") == 0);
        auto text = admin_run({"-c", a.config_path(), "audit", "verify", "--archive", f1});
        CHECK_THAT(text.out, Contains("archived: entries 1.." + std::to_string(last1)));
        CHECK_THAT(text.out, Contains("OK"));
    }
    // The file checks with the public key alone.
    auto c = admin_run({"-c", "/nonexistent.yaml", "--json", "audit", "check", f1, "--identity", a.identity_line()});
    INFO(c.out << c.err);
    REQUIRE(c.exit_code == 0);
    const json c1 = json::parse(c.out);
    CHECK(c1.at("first_seq") == 1);
    CHECK(c1.at("last_seq") == last1);

    // A second archive goes on from the first.
    std::this_thread::sleep_for(1100ms);
    const std::string cut2 = cut_now();
    send_docs(a, b, 1, 5);
    p = admin_run({"-c", a.config_path(), "--json", "audit", "archive", "--before", cut2, "--out", f2});
    INFO(p.out << p.err);
    REQUIRE(p.exit_code == 0);
    const json r2 = json::parse(p.out);
    CHECK(r2.at("first_seq") == last1 + 1);
    const uint64_t last2 = r2.at("last_seq");
    c = admin_run({"--json", "audit", "check", f2, "--identity", a.identity_line()});
    REQUIRE(c.exit_code == 0);
    CHECK(json::parse(c.out).at("first_prev") == c1.at("end"));
    const json after2 = audit_entries(a);
    CHECK(after2.at(0).at("seq") == last2 + 1);
    CHECK(count_kind(after2, "document_sent") == 1);
    {
        const json both = verify(a, {f2, f1}, 0);  // in any order
        CHECK(both.at("archives") == 2);
        CHECK(both.at("archives_linked") == true);
        CHECK(both.at("archives_from") == 1);
        CHECK(both.at("witnessed_agree") == 1);
        const json newest = verify(a, {f2}, 0);  // the older file kept elsewhere
        CHECK(newest.at("archives_from") == last1 + 1);
        const json oldest = verify(a, {f1}, 1);  // the entries of the second are in no file given
        CHECK_THAT(oldest.at("problems").dump(), Contains("were archived, but are in none of the archives given"));
        CHECK(verify(a, {}, 0).at("archived_to") == last2);
    }
    // The node restarts on the archived log: the chain goes on and verifies offline too.
    a.restart();
    CHECK(audit_entries(a).back().at("kind") == "node_started");
    auto off = admin_run({"-c", a.config_path(), "audit", "verify", "--offline"});
    INFO(off.out << off.err);
    CHECK(off.exit_code == 0);

    // Any changed byte of an archive fails its check, and verify with it.
    const std::string bytes = read_text(f1);
    const size_t step = std::max<size_t>(1, bytes.size() / 61);
    for (size_t i = 0; i < bytes.size(); i += step) {
        std::string changed = bytes;
        changed[i] = static_cast<char>(changed[i] ^ 0x04);
        write_text(f1, changed);
        auto q = admin_run({"audit", "check", f1, "--identity", a.identity_line()});
        INFO("byte " << i << ": " << q.out << q.err);
        CHECK(q.exit_code == 1);
        CHECK_THAT(q.err, Contains("does not check"));
    }
    const json bad = verify(a, {f1, f2}, 1);
    CHECK_THAT(bad.at("problems").dump(), Contains("does not check"));
}

TEST_CASE("audit archive deletes nothing until the written file's hash is committed", "[e2e][faults]") {
    TestNode a("000.00.13.H41");
    a.start();
    for (int i = 0; i < 3; ++i) admin({"-c", a.config_path(), "audit", "publish"});
    std::this_thread::sleep_for(1100ms);
    const uint64_t now = static_cast<uint64_t>(std::time(nullptr)) * 1000;
    const json head = a.api({{"op", "audit_head"}}).at("head");
    const json prepared = a.api({{"op", "audit_archive_prepare"}, {"before_ms", now}});
    CHECK(prepared.at("last_seq") == head.at("seq"));
    // Prepared only (as if lienthong-admin died before writing the file): every entry stays.
    CHECK(audit_entries(a).size() == head.at("seq").get<size_t>());
    // A commit naming another file, or another end, is refused.
    auto r = a.call({{"op", "audit_archive_commit"}, {"last_seq", prepared.at("last_seq")}, {"file_blake2b", std::string(64, '0')}});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Contains("was prepared"));
    r = a.call({{"op", "audit_archive_commit"}, {"last_seq", 1}, {"file_blake2b", prepared.at("file_blake2b")}});
    REQUIRE_FALSE(r.ok());
    r = a.call({{"op", "audit_archive_commit"}, {"file_blake2b", prepared.at("file_blake2b")}});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Contains("'last_seq' is required"));
    CHECK(audit_entries(a).size() == head.at("seq").get<size_t>());
    r = a.call({{"op", "audit_archive_prepare"}, {"before_ms", "soon"}});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Contains("'before_ms'"));
    // The right hash: the entries go, the archive is recorded.
    const json done = a.api({{"op", "audit_archive_commit"}, {"last_seq", prepared.at("last_seq")},
                             {"file_blake2b", prepared.at("file_blake2b")}});
    CHECK(done.at("last_seq") == head.at("seq"));
    const json log = audit_entries(a);
    REQUIRE(log.size() == 1);
    CHECK(log[0].at("kind") == "audit_archived");
    CHECK(log[0].at("seq") == head.at("seq").get<uint64_t>() + 1);
    // Prepared once, committed once: a second commit of the same is refused.
    r = a.call({{"op", "audit_archive_commit"}, {"last_seq", prepared.at("last_seq")}, {"file_blake2b", prepared.at("file_blake2b")}});
    REQUIRE_FALSE(r.ok());
}

TEST_CASE("audit archive refuses a bad date, a time in the future, nothing to archive and an unwritable --out", "[e2e][faults]") {
    TestNode a("000.00.14.H41");
    a.start();
    TempDir out;
    const std::string file = out.path() + "/x.archive";
    const auto entries = audit_entries(a).size();
    const auto archive = [&](const std::string& before, const std::string& to) {
        return admin_run({"-c", a.config_path(), "audit", "archive", "--before", before, "--out", to});
    };
    one_line_error(archive("yesterday", file), "--before 'yesterday' is not a date YYYY-MM-DD or a time");
    one_line_error(archive("2026-02-30", file), "is not a real date");
    one_line_error(archive("2026-12-01T25:00:00Z", file), "--before '2026-12-01T25:00:00Z'");
    one_line_error(archive("2099-01-01", file), "--before '2099-01-01' is in the future");
    one_line_error(archive("2000-01-01", file), "nothing to archive");
    CHECK_FALSE(fs::exists(file));  // a refused archive leaves no file behind
    one_line_error(archive("2000-01-01", out.path() + "/no/such/dir/x.archive"), "cannot create");
    write_text(file, "keep");
    one_line_error(archive(cut_now(), file), "exists; refusing to overwrite it");
    CHECK(read_text(file) == "keep");
    if (::geteuid() != 0) {  // root writes anywhere
        fs::create_directories(out.path() + "/ro");
        fs::permissions(out.path() + "/ro", fs::perms::owner_read | fs::perms::owner_exec);
        one_line_error(archive(cut_now(), out.path() + "/ro/x.archive"), "cannot create");
    }
    // None of it touched the log.
    CHECK(audit_entries(a).size() == entries);
    CHECK(count_kind(audit_entries(a), "audit_archived") == 0);
}
