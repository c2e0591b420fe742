// storage/audit_log.h: appends in the caller's transaction, the chain check, witnessed heads.
#include <catch2/catch.hpp>

#include "storage/audit_log.h"
#include "storage/store.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::storage;
using lienthong::testing::seeded_identity;
using lienthong::testing::TempDir;

namespace {
constexpr const char* kUs = "000.00.31.H14";

struct Opened {
    std::unique_ptr<Store> store;
    std::unique_ptr<AuditLog> log;
};

Opened open_all(const TempDir& dir) {
    EnvOptions o;
    o.dir = dir.file("db");
    o.initial_map_bytes = 4u << 20;
    auto s = Store::open(o, kUs);
    REQUIRE(s.ok());
    Opened out{std::move(s).value(), nullptr};
    auto l = AuditLog::open(out.store->env());
    REQUIRE(l.ok());
    out.log = std::move(l).value();
    return out;
}

AuditEvent event(const std::string& kind, uint64_t t) {
    AuditEvent e;
    e.kind = kind;
    e.time_ms = t;
    e.agency = "000.00.32.H14";
    return e;
}
}  // namespace

TEST_CASE("audit entries are appended in order with no gap and chain to each other", "[storage][audit]") {
    TempDir dir;
    auto db = open_all(dir);
    REQUIRE(db.store->env().write([&](WriteTxn& t) -> Status {
        for (int i = 0; i < 5; ++i) LT_TRY(db.log->append(t, event("document_sent", 100 + i)));
        return ok_status();
    }).ok());
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return db.log->append(t, event("peer_added", 200)); }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        const auto r = db.log->verify(t);
        CHECK(r.entries == 6);
        CHECK_FALSE(r.first_bad.has_value());
        CHECK(r.head.seq == 6);
        CHECK(db.log->head(t).hash == r.head.hash);
        auto e6 = protocol::decode_audit_entry(*db.log->entry(t, 6));
        REQUIRE(e6.ok());
        CHECK(e6->kind == "peer_added");
        CHECK(e6->prev == protocol::audit_entry_hash(*db.log->entry(t, 5)));
        return 0;
    });
}

TEST_CASE("an aborted transaction leaves no audit entry", "[storage][audit]") {
    TempDir dir;
    auto db = open_all(dir);
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return db.log->append(t, event("a", 1)); }).ok());
    auto failed = db.store->env().write([&](WriteTxn& t) -> Status {
        LT_TRY(db.log->append(t, event("b", 2)));
        return make_error("the change it records failed");
    });
    CHECK_FALSE(failed.ok());
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return db.log->append(t, event("c", 3)); }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        CHECK(db.log->verify(t).entries == 2);
        CHECK(protocol::decode_audit_entry(*db.log->entry(t, 2))->kind == "c");
        return 0;
    });
}

TEST_CASE("audit verify names the first changed entry, also when the rest is rechained", "[storage][audit]") {
    TempDir dir;
    auto db = open_all(dir);
    REQUIRE(db.store->env().write([&](WriteTxn& t) -> Status {
        for (int i = 0; i < 6; ++i) LT_TRY(db.log->append(t, event("document_received", 100 + i)));
        return ok_status();
    }).ok());
    const auto before = db.store->env().read([&](const ReadTxn& t) { return db.log->head(t); });
    auto table = db.store->env().table("audit");  // the same table, opened outside any transaction
    REQUIRE(table.ok());
    const MDB_dbi audit = *table;
    REQUIRE(db.store->env().write([&](WriteTxn& t) -> Status {
        auto e = *protocol::decode_audit_entry(*db.log->entry(t, 3));
        e.agency = "000.00.99.H14";
        return t.put(audit, be64(3), protocol::encode_audit_entry(e));
    }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        const auto r = db.log->verify(t);
        REQUIRE(r.first_bad);
        CHECK(r.first_bad->seq == 3);
        CHECK_THAT(r.first_bad->why, Catch::Contains("changed"));
        return 0;
    });
    // Recompute every later prev: the chain is whole again, but its head differs from the one
    // signed and witnessed before (what audit verify compares next).
    REQUIRE(db.store->env().write([&](WriteTxn& t) -> Status {
        Hash32 prev = protocol::audit_entry_hash(*db.log->entry(t, 3));
        for (uint64_t s = 4; s <= 6; ++s) {
            auto e = *protocol::decode_audit_entry(*db.log->entry(t, s));
            e.prev = prev;
            const Bytes b = protocol::encode_audit_entry(e);
            prev = protocol::audit_entry_hash(b);
            LT_TRY(t.put(audit, be64(s), b));
        }
        return ok_status();
    }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        const auto r = db.log->verify(t);
        CHECK_FALSE(r.first_bad.has_value());
        CHECK(r.head.seq == before.seq);
        CHECK(r.head.hash != before.hash);
        return 0;
    });
    // A deleted entry is a gap.
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return t.del(audit, be64(2)); }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        const auto r = db.log->verify(t);
        REQUIRE(r.first_bad);
        CHECK(r.first_bad->seq == 2);
        CHECK_THAT(r.first_bad->why, Catch::Contains("missing"));
        return 0;
    });
}

TEST_CASE("witnessed heads are kept per agency, newest few, and a conflicting one does not replace the first",
          "[storage][audit]") {
    TempDir dir;
    auto db = open_all(dir);
    const auto peer = seeded_identity("000.00.32.H14", 3);
    Hash32 h{};
    REQUIRE(db.store->env().write([&](WriteTxn& t) -> Status {
        for (uint64_t s = 1; s <= AuditLog::kKeepHeads + 4; ++s) {
            h[0] = static_cast<uint8_t>(s);
            LT_TRY(db.log->put_head(t, protocol::sign_audit_head(peer, s * 10, h, s)));
        }
        h[0] = 0xee;  // another hash for a seq already held
        LT_TRY(db.log->put_head(t, protocol::sign_audit_head(peer, 120, h, 99)));
        // older than everything kept: ignored
        LT_TRY(db.log->put_head(t, protocol::sign_audit_head(peer, 10, h, 99)));
        return db.log->put_head(t, protocol::sign_audit_head(seeded_identity("other", 4), 5, h, 1));
    }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        const auto heads = db.log->heads_of(t, "000.00.32.H14");
        REQUIRE(heads.size() == AuditLog::kKeepHeads);
        const auto first = *protocol::decode_audit_head(heads.front());
        const auto last = *protocol::decode_audit_head(heads.back());
        CHECK(first.seq == 50);
        CHECK(last.seq == 120);
        CHECK(last.head[0] == 12);
        CHECK(db.log->heads_of(t, "other").size() == 1);
        CHECK(db.log->heads_of(t, "000.00.32").empty());
        return 0;
    });
}

TEST_CASE("over-long audit text is cut to fit and stays valid UTF-8", "[storage][audit]") {
    TempDir dir;
    auto db = open_all(dir);
    auto e = event("admin_command", 1);
    for (int i = 0; i < 400; ++i) e.detail += "ế";
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return db.log->append(t, e); }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        auto d = protocol::decode_audit_entry(*db.log->entry(t, 1));
        REQUIRE(d.ok());
        CHECK(d->detail.size() <= protocol::kMaxAuditText);
        CHECK(d->detail.substr(d->detail.size() - 3) == "...");
        return 0;
    });
}

TEST_CASE("archiving deletes the oldest entries and the chain goes on from the archived point", "[storage][audit]") {
    TempDir dir;
    auto db = open_all(dir);
    const auto us = seeded_identity(kUs, 1);
    REQUIRE(db.store->env().write([&](WriteTxn& t) -> Status {
        for (int i = 0; i < 6; ++i) LT_TRY(db.log->append(t, event("document_sent", 100 + i)));
        return ok_status();
    }).ok());
    const auto end_at = [&](uint64_t seq) {
        return db.store->env().read([&](const ReadTxn& t) {
            return protocol::sign_audit_head(us, seq, protocol::audit_entry_hash(*db.log->entry(t, seq)), 500);
        });
    };
    const auto head4 = end_at(4);
    // Refused: the log does not start where the archive says, or the entry is not the one archived.
    CHECK_FALSE(db.store->env().write([&](WriteTxn& t) { return db.log->archive(t, 2, head4); }).ok());
    auto wrong = head4;
    wrong.head[0] ^= 1;
    CHECK_THAT(db.store->env().write([&](WriteTxn& t) { return db.log->archive(t, 1, wrong); }).error(),
               Catch::Contains("not the one archived"));
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return db.log->archive(t, 1, head4); }).ok());
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return db.log->append(t, event("audit_archived", 200)); }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        CHECK_FALSE(db.log->entry(t, 4).has_value());
        CHECK(db.log->first_seq(t) == 5);
        REQUIRE(db.log->archived(t).has_value());
        CHECK(db.log->archived(t)->seq == 4);
        const auto r = db.log->verify(t);
        CHECK_FALSE(r.first_bad.has_value());
        CHECK(r.start.seq == 4);
        CHECK(r.entries == 3);
        CHECK(r.head.seq == 7);
        return 0;
    });
    // Everything archived: the head is the archived point, and the next entry links to it.
    const auto head7 = end_at(7);
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return db.log->archive(t, 5, head7); }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        CHECK(db.log->head(t).seq == 7);
        CHECK(db.log->head(t).hash == head7.head);
        CHECK(db.log->verify(t).entries == 0);
        CHECK_FALSE(db.log->verify(t).first_bad.has_value());
        return 0;
    });
    REQUIRE(db.store->env().write([&](WriteTxn& t) { return db.log->append(t, event("node_started", 300)); }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        auto e = protocol::decode_audit_entry(*db.log->entry(t, 8));
        REQUIRE(e.ok());
        CHECK(e->prev == head7.head);
        CHECK_FALSE(db.log->verify(t).first_bad.has_value());
        return 0;
    });
    // An edit of the first entry after the point: it no longer links.
    auto table = db.store->env().table("audit");
    REQUIRE(table.ok());
    REQUIRE(db.store->env().write([&](WriteTxn& t) -> Status {
        auto e = *protocol::decode_audit_entry(*db.log->entry(t, 8));
        e.prev[0] ^= 1;
        return t.put(*table, be64(8), protocol::encode_audit_entry(e));
    }).ok());
    db.store->env().read([&](const ReadTxn& t) {
        const auto r = db.log->verify(t);
        REQUIRE(r.first_bad);
        CHECK(r.first_bad->seq == 8);
        CHECK_THAT(r.first_bad->why, Catch::Contains("does not link to the archived entry 7"));
        return 0;
    });
}
