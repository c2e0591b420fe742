// The LMDB wrapper: transactions, scans, map growth and durability across reopen.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "storage/lmdb.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::storage;
using lienthong::testing::bytes_of;
using lienthong::testing::pattern_bytes;
using lienthong::testing::TempDir;

namespace {
EnvOptions options_for(const TempDir& dir, size_t initial = 1u << 20) {
    EnvOptions o;
    o.dir = dir.file("db");
    o.initial_map_bytes = initial;
    return o;
}

std::optional<Bytes> get_copy(Env& env, MDB_dbi t, std::string_view key) {
    return env.read([&](const ReadTxn& r) -> std::optional<Bytes> {
        auto v = r.get(t, protocol::as_bytes(key));
        if (!v) return std::nullopt;
        return Bytes(v->begin(), v->end());
    });
}
}  // namespace

TEST_CASE("Env::open creates the data directory private to the owner", "[storage][lmdb]") {
    TempDir dir;
    auto env = Env::open(options_for(dir));
    REQUIRE(env.ok());
    struct stat st{};
    REQUIRE(::stat(dir.file("db").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK((*env)->map_bytes() >= (1u << 20));
}

TEST_CASE("Env::open reports a data directory that cannot be created", "[storage][lmdb]") {
    TempDir dir;
    {
        std::ofstream f(dir.file("file"));
        f << "x";
    }
    EnvOptions o;
    o.dir = dir.file("file") + "/db";
    auto env = Env::open(o);
    REQUIRE_FALSE(env.ok());
    CHECK_THAT(env.error(), Catch::Contains(o.dir));
}

TEST_CASE("put, get and del work inside write transactions", "[storage][lmdb]") {
    TempDir dir;
    auto env = Env::open(options_for(dir));
    REQUIRE(env.ok());
    auto t = (*env)->table("t");
    REQUIRE(t.ok());
    REQUIRE((*env)->write([&](WriteTxn& w) -> Status {
        LT_TRY(w.put(*t, protocol::as_bytes("k1"), bytes_of("v1")));
        LT_TRY(w.put(*t, protocol::as_bytes("k2"), bytes_of("v2")));
        // Reads inside the write see its own writes.
        if (!w.get(*t, protocol::as_bytes("k1"))) return make_error("own write not visible");
        return ok_status();
    }).ok());
    CHECK(get_copy(**env, *t, "k1") == bytes_of("v1"));
    CHECK(get_copy(**env, *t, "k2") == bytes_of("v2"));
    CHECK_FALSE(get_copy(**env, *t, "k3"));

    REQUIRE((*env)->write([&](WriteTxn& w) -> Status {
        LT_TRY(w.del(*t, protocol::as_bytes("k1")));
        return w.del(*t, protocol::as_bytes("never-there"));  // not an error
    }).ok());
    CHECK_FALSE(get_copy(**env, *t, "k1"));
    CHECK(get_copy(**env, *t, "k2") == bytes_of("v2"));
}

TEST_CASE("a write whose function fails commits nothing", "[storage][lmdb]") {
    TempDir dir;
    auto env = Env::open(options_for(dir));
    REQUIRE(env.ok());
    auto t = (*env)->table("t");
    REQUIRE(t.ok());
    auto st = (*env)->write([&](WriteTxn& w) -> Status {
        LT_TRY(w.put(*t, protocol::as_bytes("k"), bytes_of("v")));
        return make_error("changed my mind");
    });
    REQUIRE_FALSE(st.ok());
    CHECK(st.error() == "changed my mind");
    CHECK_FALSE(get_copy(**env, *t, "k"));
}

TEST_CASE("a put of an empty key is refused with a message", "[storage][lmdb]") {
    TempDir dir;
    auto env = Env::open(options_for(dir));
    REQUIRE(env.ok());
    auto t = (*env)->table("t");
    REQUIRE(t.ok());
    auto st = (*env)->write([&](WriteTxn& w) { return w.put(*t, {}, bytes_of("v")); });
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Catch::Contains("put failed"));
}

TEST_CASE("scan, scan_prefix, last and count see keys in order", "[storage][lmdb]") {
    TempDir dir;
    auto env = Env::open(options_for(dir));
    REQUIRE(env.ok());
    auto t = (*env)->table("t");
    auto empty = (*env)->table("empty");
    REQUIRE((t.ok() && empty.ok()));
    REQUIRE((*env)->write([&](WriteTxn& w) -> Status {
        for (const char* k : {"b/2", "a/1", "b/1", "c/1", "b/3", "bb"})
            LT_TRY(w.put(*t, protocol::as_bytes(k), protocol::as_bytes(k)));
        return ok_status();
    }).ok());
    (*env)->read([&](const ReadTxn& r) {
        std::vector<std::string> all, from_b, prefix_b, stopped;
        r.scan(*t, {}, [&](ByteView k, ByteView) {
            all.emplace_back(protocol::as_chars(k));
            return true;
        });
        r.scan(*t, protocol::as_bytes("b"), [&](ByteView k, ByteView) {
            from_b.emplace_back(protocol::as_chars(k));
            return true;
        });
        r.scan_prefix(*t, protocol::as_bytes("b/"), [&](ByteView k, ByteView v) {
            CHECK(protocol::as_chars(k) == protocol::as_chars(v));
            prefix_b.emplace_back(protocol::as_chars(k));
            return true;
        });
        r.scan(*t, {}, [&](ByteView k, ByteView) {
            stopped.emplace_back(protocol::as_chars(k));
            return stopped.size() < 2;
        });
        CHECK(all == std::vector<std::string>{"a/1", "b/1", "b/2", "b/3", "bb", "c/1"});
        CHECK(from_b == std::vector<std::string>{"b/1", "b/2", "b/3", "bb", "c/1"});
        CHECK(prefix_b == std::vector<std::string>{"b/1", "b/2", "b/3"});
        CHECK(stopped == std::vector<std::string>{"a/1", "b/1"});
        auto last = r.last(*t);
        REQUIRE(last);
        CHECK(protocol::as_chars(last->first) == "c/1");
        CHECK_FALSE(r.last(*empty));
        CHECK(r.count(*t) == 6);
        CHECK(r.count(*empty) == 0);
        size_t none = 0;
        r.scan_prefix(*t, protocol::as_bytes("zz"), [&](ByteView, ByteView) { return ++none, true; });
        CHECK(none == 0);
    });
}

TEST_CASE("the map doubles on MDB_MAP_FULL until 20 MiB fit", "[storage][lmdb]") {
    TempDir dir;
    auto env = Env::open(options_for(dir, 1u << 20));
    REQUIRE(env.ok());
    auto t = (*env)->table("docs");
    REQUIRE(t.ok());
    const size_t start = (*env)->map_bytes();
    constexpr size_t kDocs = 40, kDocBytes = 512 * 1024, kPerTxn = 8;
    for (size_t first = 0; first < kDocs; first += kPerTxn) {
        auto st = (*env)->write([&](WriteTxn& w) -> Status {
            for (size_t i = first; i < first + kPerTxn; ++i)
                LT_TRY(w.put(*t, protocol::as_bytes("doc" + std::to_string(i)),
                             pattern_bytes(kDocBytes, static_cast<uint8_t>(i))));
            return ok_status();
        });
        INFO("transaction starting at document " << first);
        REQUIRE(st.ok());
    }
    CHECK((*env)->map_bytes() > start);
    CHECK((*env)->map_bytes() >= kDocs * kDocBytes);
    for (size_t i = 0; i < kDocs; ++i)
        CHECK(get_copy(**env, *t, "doc" + std::to_string(i)) == pattern_bytes(kDocBytes, static_cast<uint8_t>(i)));
}

TEST_CASE("a write beyond the maximum map size fails and says so", "[storage][lmdb]") {
    TempDir dir;
    EnvOptions o = options_for(dir, 1u << 20);
    o.max_map_bytes = 2u << 20;
    auto env = Env::open(o);
    REQUIRE(env.ok());
    auto t = (*env)->table("docs");
    REQUIRE(t.ok());
    auto st = (*env)->write([&](WriteTxn& w) -> Status {
        for (int i = 0; i < 8; ++i)
            LT_TRY(w.put(*t, protocol::as_bytes("doc" + std::to_string(i)), pattern_bytes(512 * 1024, 1)));
        return ok_status();
    });
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Catch::Contains("maximum map size"));
    // The environment still works after refusing.
    CHECK((*env)->write([&](WriteTxn& w) { return w.put(*t, protocol::as_bytes("small"), bytes_of("ok")); }).ok());
    CHECK(get_copy(**env, *t, "small") == bytes_of("ok"));
}

TEST_CASE("committed data survives closing and reopening the environment", "[storage][lmdb]") {
    TempDir dir;
    {
        auto env = Env::open(options_for(dir));
        REQUIRE(env.ok());
        auto t = (*env)->table("t");
        REQUIRE(t.ok());
        REQUIRE((*env)->write([&](WriteTxn& w) { return w.put(*t, protocol::as_bytes("k"), pattern_bytes(3000000, 3)); }).ok());
    }
    auto env = Env::open(options_for(dir));
    REQUIRE(env.ok());
    // The map already grew past the initial size; reopening keeps the larger size.
    CHECK((*env)->map_bytes() >= 3000000);
    auto t = (*env)->table("t");
    REQUIRE(t.ok());
    CHECK(get_copy(**env, *t, "k") == pattern_bytes(3000000, 3));
}

TEST_CASE("a failed write on a nearly full disk is reported as a full disk, with what to do", "[storage][lmdb]") {
    // LMDB turns a short write to a full disk into EIO.
    const std::string full = storage_failure_text(EIO, 4u << 20, "/var/lib/lienthong/data");
    CHECK_THAT(full, Catch::Contains("disk holding '/var/lib/lienthong/data' is full (4 MiB free)"));
    CHECK_THAT(full, Catch::Contains("free space there"));
    CHECK_THAT(storage_failure_text(ENOSPC, std::nullopt, "/d"), Catch::Contains("is full (? MiB free)"));
    CHECK_THAT(storage_failure_text(EDQUOT, 0, "/d"), Catch::Contains("is full"));
    // An I/O error with room left is a failing disk, not a full one.
    const std::string io = storage_failure_text(EIO, 50ull << 30, "/d");
    CHECK_THAT(io, Catch::Contains("Input/output error"));
    CHECK_THAT(io, Catch::Contains("dmesg"));
    CHECK(io.find("full") == std::string::npos);
    TempDir dir;
    CHECK(free_disk_bytes(dir.path()).has_value());
    CHECK_FALSE(free_disk_bytes(dir.path() + "/missing").has_value());
}
