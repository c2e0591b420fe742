// Store: schema checks at open, the outbox lifecycle, inbox, peers, growth and durability, and
// what a resync after a restore reads and writes.
#include <catch2/catch.hpp>

#include <set>

#include "storage/resync_marks.h"
#include "storage/store.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::storage;
using lienthong::testing::bytes_of;
using lienthong::testing::pattern_bytes;
using lienthong::testing::seeded_identity;
using lienthong::testing::TempDir;

namespace {
constexpr const char* kUs = "000.00.31.H14";

EnvOptions options_for(const TempDir& dir, size_t initial = 4u << 20) {
    EnvOptions o;
    o.dir = dir.file("db");
    o.initial_map_bytes = initial;
    return o;
}

std::unique_ptr<Store> open_store(const TempDir& dir, const std::string& agency = kUs) {
    auto s = Store::open(options_for(dir), agency);
    REQUIRE(s.ok());
    return std::move(s).value();
}

Hash32 id_of(uint8_t n) {
    Hash32 h{};
    h.fill(n);
    return h;
}

SentRecord sent(uint8_t n, std::vector<std::string> to, uint64_t urgency) {
    SentRecord r;
    r.id = id_of(n);
    r.created_ms = 1000 + n;
    r.content_hash = id_of(static_cast<uint8_t>(n + 100));
    r.subject = "Công văn số " + std::to_string(n);
    r.recipients = std::move(to);
    r.size = 10 * n;
    r.urgency = urgency;
    return r;
}

std::vector<Hash32> outbox_of(Store& s, const std::string& agency, ByteView after = {}) {
    std::vector<Hash32> out;
    s.env().read([&](const ReadTxn& t) {
        s.scan_outbox(t, agency, after, [&](ByteView, const Hash32& id) {
            out.push_back(id);
            return true;
        });
    });
    return out;
}

void put_meta_raw(const TempDir& dir, std::string_view key, const Bytes& value) {
    auto env = Env::open(options_for(dir));
    REQUIRE(env.ok());
    auto meta = (*env)->table("meta");
    REQUIRE(meta.ok());
    REQUIRE((*env)->write([&](WriteTxn& w) { return w.put(*meta, protocol::as_bytes(key), value); }).ok());
}
}  // namespace

TEST_CASE("Store::open creates the schema and records the agency", "[storage][store]") {
    TempDir dir;
    {
        auto s = open_store(dir);
        s->env().read([&](const ReadTxn& t) {
            CHECK(s->outbox_total(t) == 0);
            CHECK(s->inbox_count(t) == 0);
            CHECK(s->peers(t).empty());
            CHECK(s->list_sent(t, 10).empty());
        });
    }
    auto env = Env::open(options_for(dir));
    REQUIRE(env.ok());
    auto meta = (*env)->table("meta");
    REQUIRE(meta.ok());
    (*env)->read([&](const ReadTxn& t) {
        auto v = t.get(*meta, protocol::as_bytes("schema_version"));
        REQUIRE(v);
        CHECK(Bytes(v->begin(), v->end()) == bytes_of({0, 0, 0, kSchemaVersion}));
        auto a = t.get(*meta, protocol::as_bytes("agency"));
        REQUIRE(a);
        CHECK(protocol::as_chars(*a) == kUs);
    });
}

TEST_CASE("reopening with the same agency works, with another agency is refused", "[storage][store]") {
    TempDir dir;
    open_store(dir).reset();
    open_store(dir).reset();
    auto other = Store::open(options_for(dir), "000.00.00.H41");
    REQUIRE_FALSE(other.ok());
    CHECK_THAT(other.error(), Catch::Contains("belongs to agency '000.00.31.H14'"));
}

TEST_CASE("a database with a newer schema version is refused", "[storage][store]") {
    TempDir dir;
    open_store(dir).reset();
    put_meta_raw(dir, "schema_version", bytes_of({0, 0, 0, kSchemaVersion + 1}));
    auto s = Store::open(options_for(dir), kUs);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error(), Catch::Contains("newer"));
}

TEST_CASE("a database of the pre-release schema version 1 is refused", "[storage][store]") {
    TempDir dir;
    open_store(dir).reset();
    put_meta_raw(dir, "schema_version", bytes_of({0, 0, 0, 1}));
    auto s = Store::open(options_for(dir), kUs);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error(), Catch::Contains("schema version 1") && Catch::Contains("pre-release"));
}

TEST_CASE("a schema version of the wrong width is refused", "[storage][store]") {
    TempDir dir;
    open_store(dir).reset();
    put_meta_raw(dir, "schema_version", bytes_of({1}));
    CHECK_FALSE(Store::open(options_for(dir), kUs).ok());
}

TEST_CASE("a non-empty database without a schema version is refused", "[storage][store]") {
    TempDir dir;
    SECTION("data in one of our tables") {  // peers, documents or meta
        auto env = Env::open(options_for(dir));
        REQUIRE(env.ok());
        auto docs = (*env)->table("documents");
        REQUIRE(docs.ok());
        REQUIRE((*env)->write([&](WriteTxn& w) { return w.put(*docs, protocol::as_bytes("x"), bytes_of("y")); }).ok());
    }
    SECTION("data in a table of some other program") {
        auto env = Env::open(options_for(dir));
        REQUIRE(env.ok());
        auto foreign = (*env)->table("accounts");
        REQUIRE(foreign.ok());
        REQUIRE((*env)->write([&](WriteTxn& w) { return w.put(*foreign, protocol::as_bytes("x"), bytes_of("y")); }).ok());
    }
    SECTION("data in the unnamed main table") {
        MDB_env* raw = nullptr;
        REQUIRE(mdb_env_create(&raw) == 0);
        std::filesystem::create_directories(dir.file("db"));
        REQUIRE(mdb_env_open(raw, dir.file("db").c_str(), 0, 0600) == 0);
        MDB_txn* txn = nullptr;
        REQUIRE(mdb_txn_begin(raw, nullptr, 0, &txn) == 0);
        MDB_dbi dbi = 0;
        REQUIRE(mdb_dbi_open(txn, nullptr, 0, &dbi) == 0);
        MDB_val k{1, const_cast<char*>("x")}, v{1, const_cast<char*>("y")};
        REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
        REQUIRE(mdb_txn_commit(txn) == 0);
        mdb_env_close(raw);
    }
    auto s = Store::open(options_for(dir), kUs);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error(), Catch::Contains("no schema version") && Catch::Contains("empty directory"));
}

TEST_CASE("add_sent records history, deliveries and one outbox entry per recipient", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    auto rec = sent(1, {"B", "C"}, 0);
    const Bytes envelope = bytes_of("envelope-1");
    REQUIRE(s->env().write([&](WriteTxn& t) { return s->add_sent(t, rec, envelope, 5000); }).ok());
    CHECK(rec.seq == 1);
    s->env().read([&](const ReadTxn& t) {
        CHECK(s->document(t, rec.id) == envelope);
        auto info = s->sent_record(t, rec.id);
        REQUIRE(info);
        CHECK(info->seq == 1);
        CHECK(info->subject == rec.subject);
        CHECK(info->recipients == rec.recipients);
        CHECK(info->content_hash == rec.content_hash);
        CHECK(info->size == rec.size);
        auto ds = s->deliveries(t, rec.id);
        REQUIRE(ds.size() == 2);
        CHECK(ds[0].recipient == "B");
        CHECK(ds[1].recipient == "C");
        for (const auto& d : ds) {
            CHECK(d.state == DeliveryState::pending);
            CHECK(d.queued_ms == 5000);
            CHECK(d.outbox_seq == 1);
        }
        CHECK(s->outbox_depth(t, "B") == 1);
        CHECK(s->outbox_depth(t, "C") == 1);
        CHECK(s->outbox_depth(t, "D") == 0);
        CHECK(s->outbox_total(t) == 2);
        CHECK_FALSE(s->sent_record(t, id_of(99)));
        CHECK_FALSE(s->document(t, id_of(99)));
    });
}

TEST_CASE("scan_outbox yields the most urgent first, then the oldest", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    // id n: urgency
    const std::vector<std::pair<uint8_t, uint64_t>> docs = {{1, 0}, {2, 3}, {3, 1}, {4, 3}, {5, 0}, {6, 2}};
    for (auto [n, urgency] : docs) {
        auto rec = sent(n, {"B"}, urgency);
        REQUIRE(s->env().write([&](WriteTxn& t) { return s->add_sent(t, rec, bytes_of("e"), 1); }).ok());
    }
    // A document for another peer whose name is a prefix of B's does not leak into B's queue.
    auto other = sent(7, {"BB"}, 3);
    REQUIRE(s->env().write([&](WriteTxn& t) { return s->add_sent(t, other, bytes_of("e"), 1); }).ok());

    CHECK(outbox_of(*s, "B") == std::vector<Hash32>{id_of(2), id_of(4), id_of(6), id_of(3), id_of(1), id_of(5)});
    CHECK(outbox_of(*s, "BB") == std::vector<Hash32>{id_of(7)});

    // Resuming after a key continues strictly after it.
    std::vector<Bytes> keys;
    s->env().read([&](const ReadTxn& t) {
        s->scan_outbox(t, "B", {}, [&](ByteView k, const Hash32&) {
            keys.emplace_back(k.begin(), k.end());
            return true;
        });
    });
    REQUIRE(keys.size() == 6);
    CHECK(outbox_of(*s, "B", keys[2]) == std::vector<Hash32>{id_of(3), id_of(1), id_of(5)});
    CHECK(outbox_of(*s, "B", keys[5]).empty());
}

TEST_CASE("record_receipt retires the outbox entry once and refuses duplicates", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    auto rec = sent(1, {"B", "C"}, 2);
    REQUIRE(s->env().write([&](WriteTxn& t) { return s->add_sent(t, rec, bytes_of("env"), 100); }).ok());
    REQUIRE(s->env().write([&](WriteTxn& t) { return s->note_attempt(t, rec.id, "B", "connection refused"); }).ok());

    Result<bool> first = make_error("unset");
    REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
        // One receipt covers a batch: its wire is stored once under its own id.
        LT_TRY(s->put_receipt(t, id_of(200), bytes_of("receipt-B")));
        first = s->record_receipt(t, rec.id, "B", 200, 250, id_of(200));
        return first.ok() ? ok_status() : first.take_error();
    }).ok());
    CHECK(*first == true);

    s->env().read([&](const ReadTxn& t) {
        CHECK(s->outbox_depth(t, "B") == 0);
        CHECK(s->outbox_depth(t, "C") == 1);
        auto d = s->delivery(t, rec.id, "B");
        REQUIRE(d);
        CHECK(d->state == DeliveryState::delivered);
        CHECK(d->receipt_ms == 200);
        CHECK(d->acked_ms == 250);
        CHECK(d->attempts == 1);
        CHECK(d->last_error.empty());
        CHECK(d->receipt_id == id_of(200));
        CHECK(s->receipt(t, id_of(200)) == bytes_of("receipt-B"));
        CHECK_FALSE(s->receipt(t, id_of(201)));
        CHECK(s->delivery(t, rec.id, "C")->state == DeliveryState::pending);
        CHECK_FALSE(s->delivery(t, rec.id, "C")->receipt_id.has_value());
    });

    Result<bool> dup = make_error("unset"), stranger = make_error("unset"), unknown = make_error("unset");
    REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
        dup = s->record_receipt(t, rec.id, "B", 300, 350, id_of(201));
        stranger = s->record_receipt(t, rec.id, "Z", 300, 350, id_of(202));
        unknown = s->record_receipt(t, id_of(42), "B", 300, 350, id_of(203));
        return ok_status();
    }).ok());
    CHECK(*dup == false);
    CHECK(*stranger == false);
    CHECK(*unknown == false);
    s->env().read([&](const ReadTxn& t) {
        CHECK(s->delivery(t, rec.id, "B")->receipt_id == id_of(200));  // the first one is kept
        CHECK(s->delivery(t, rec.id, "B")->receipt_ms == 200);
        CHECK(s->outbox_total(t) == 1);
    });
}

TEST_CASE("note_attempt counts attempts and keeps the last error while pending", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    auto rec = sent(1, {"B"}, 0);
    REQUIRE(s->env().write([&](WriteTxn& t) { return s->add_sent(t, rec, bytes_of("env"), 100); }).ok());
    for (const char* e : {"timeout", "refused"})
        REQUIRE(s->env().write([&](WriteTxn& t) { return s->note_attempt(t, rec.id, "B", e); }).ok());
    REQUIRE(s->env().write([&](WriteTxn& t) { return s->note_attempt(t, rec.id, "nobody", "x"); }).ok());
    s->env().read([&](const ReadTxn& t) {
        auto d = s->delivery(t, rec.id, "B");
        REQUIRE(d);
        CHECK(d->attempts == 2);
        CHECK(d->last_error == "refused");
        CHECK_FALSE(s->delivery(t, rec.id, "nobody"));
    });
}

TEST_CASE("add_inbox stores the document and its record, and list_inbox is newest first", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    for (uint8_t n = 1; n <= 3; ++n) {
        InboxRecord r;
        r.id = id_of(n);
        r.received_ms = 100 * n;
        r.sender = "000.00.00.H41";
        r.content_hash = id_of(static_cast<uint8_t>(n + 50));
        r.subject = "Hỏa tốc " + std::to_string(n);
        r.size = n;
        r.receipt_id = id_of(static_cast<uint8_t>(n + 100));
        REQUIRE(s->env().write([&](WriteTxn& t) { return s->add_inbox(t, r, bytes_of("wire " + std::to_string(n))); }).ok());
        CHECK(r.seq == n);
    }
    s->env().read([&](const ReadTxn& t) {
        CHECK(s->inbox_count(t) == 3);
        auto r = s->inbox_record(t, id_of(2));
        REQUIRE(r);
        CHECK(r->id == id_of(2));
        CHECK(r->seq == 2);
        CHECK(r->received_ms == 200);
        CHECK(r->sender == "000.00.00.H41");
        CHECK(r->content_hash == id_of(52));
        CHECK(r->subject == "Hỏa tốc 2");
        CHECK(r->receipt_id == id_of(102));
        CHECK(s->document(t, id_of(2)) == bytes_of("wire 2"));
        CHECK_FALSE(s->inbox_record(t, id_of(9)));
        auto list = s->list_inbox(t, 2);
        REQUIRE(list.size() == 2);
        CHECK(list[0].id == id_of(3));
        CHECK(list[1].id == id_of(2));
    });
}

TEST_CASE("sequence numbers are shared and keep rising across sent and inbox", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    auto a = sent(1, {"B"}, 0);
    InboxRecord in;
    in.id = id_of(2);
    in.sender = "B";
    auto b = sent(3, {"B"}, 0);
    REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
        LT_TRY(s->add_sent(t, a, bytes_of("a"), 1));
        LT_TRY(s->add_inbox(t, in, bytes_of("in")));
        return s->add_sent(t, b, bytes_of("b"), 1);
    }).ok());
    CHECK(a.seq == 1);
    CHECK(in.seq == 2);
    CHECK(b.seq == 3);
    s->env().read([&](const ReadTxn& t) {
        auto list = s->list_sent(t, 10);
        REQUIRE(list.size() == 2);
        CHECK(list[0].id == id_of(3));
        CHECK(list[1].id == id_of(1));
    });
}

TEST_CASE("peers can be put, replaced, listed and removed", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    PeerRecord b{seeded_identity("B", 2).pub, "tcp://127.0.0.1:7002", "config", 11};
    PeerRecord c{seeded_identity("C", 3).pub, "tcp://127.0.0.1:7003", "admin", 12};
    REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
        LT_TRY(s->put_peer(t, b));
        return s->put_peer(t, c);
    }).ok());
    s->env().read([&](const ReadTxn& t) {
        auto all = s->peers(t);
        REQUIRE(all.size() == 2);
        CHECK(all[0].identity == b.identity);
        CHECK(all[0].endpoint == b.endpoint);
        CHECK(all[0].source == "config");
        CHECK(all[0].added_ms == 11);
        CHECK(all[1].identity == c.identity);
        auto one = s->peer(t, "C");
        REQUIRE(one);
        CHECK(one->endpoint == "tcp://127.0.0.1:7003");
        CHECK_FALSE(s->peer(t, "D"));
    });
    b.endpoint = "tcp://10.0.0.2:7002";
    REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
        LT_TRY(s->put_peer(t, b));
        LT_TRY(s->remove_peer(t, "C"));
        return s->remove_peer(t, "never-added");
    }).ok());
    s->env().read([&](const ReadTxn& t) {
        auto all = s->peers(t);
        REQUIRE(all.size() == 1);
        CHECK(all[0].endpoint == "tcp://10.0.0.2:7002");
        CHECK_FALSE(s->peer(t, "C"));
    });
}

TEST_CASE("ids_with_prefix finds stored documents by the start of their id", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    for (uint8_t n : {0x10, 0x11, 0x20}) {
        auto rec = sent(n, {"B"}, 0);
        REQUIRE(s->env().write([&](WriteTxn& t) { return s->add_sent(t, rec, bytes_of("e"), 1); }).ok());
    }
    s->env().read([&](const ReadTxn& t) {
        CHECK(s->ids_with_prefix(t, bytes_of({0x10}), 10) == std::vector<Hash32>{id_of(0x10)});
        CHECK(s->ids_with_prefix(t, bytes_of({0x20, 0x20}), 10) == std::vector<Hash32>{id_of(0x20)});
        CHECK(s->ids_with_prefix(t, bytes_of({0x30}), 10).empty());
        CHECK(s->ids_with_prefix(t, {}, 2).size() == 2);
    });
    // An id the catalog numbered (a status report heard of first) has no document: not found.
    auto numbers = DocNumbers::open(s->env());
    REQUIRE(numbers.ok());
    REQUIRE(s->env()
                .write([&](WriteTxn& t) -> Status {
                    LT_ASSIGN(const uint64_t n, numbers->assign(t, id_of(0x12)));
                    CHECK(n == 4);
                    return ok_status();
                })
                .ok());
    s->env().read([&](const ReadTxn& t) {
        CHECK(s->ids_with_prefix(t, bytes_of({0x12}), 10).empty());
        CHECK(s->ids_with_prefix(t, {}, 10).size() == 3);
    });
}

TEST_CASE("a store opened with a 1 MiB map takes 20 MiB of documents", "[storage][store]") {
    TempDir dir;
    auto opened = Store::open(options_for(dir, 1u << 20), kUs);
    REQUIRE(opened.ok());
    auto& s = **opened;
    constexpr size_t kDocBytes = 1u << 20;
    for (uint8_t batch = 0; batch < 5; ++batch) {
        auto st = s.env().write([&](WriteTxn& t) -> Status {
            for (uint8_t i = 0; i < 4; ++i) {
                const uint8_t n = static_cast<uint8_t>(batch * 4 + i + 1);
                auto rec = sent(n, {"B"}, 0);
                LT_TRY(s.add_sent(t, rec, pattern_bytes(kDocBytes, n), 1));
            }
            return ok_status();
        });
        INFO("batch " << int(batch));
        REQUIRE(st.ok());
    }
    CHECK(s.env().map_bytes() >= 20 * kDocBytes);
    s.env().read([&](const ReadTxn& t) {
        CHECK(s.outbox_depth(t, "B") == 20);
        for (uint8_t n = 1; n <= 20; ++n) CHECK(s.document(t, id_of(n)) == pattern_bytes(kDocBytes, n));
        // A retried transaction must not have handed out sequence numbers twice.
        CHECK(s.list_sent(t, 100).size() == 20);
        CHECK(s.sent_record(t, id_of(20))->seq == 20);
    });
}

TEST_CASE("everything committed is still there after close and reopen", "[storage][store]") {
    TempDir dir;
    auto rec = sent(1, {"B", "C"}, 3);
    {
        auto s = open_store(dir);
        PeerRecord b{seeded_identity("B", 2).pub, "tcp://127.0.0.1:7002", "config", 1};
        InboxRecord in;
        in.id = id_of(9);
        in.sender = "B";
        in.subject = "Đắk Nông";
        REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
            LT_TRY(s->add_sent(t, rec, bytes_of("sent wire"), 7));
            LT_TRY(s->put_peer(t, b));
            return s->add_inbox(t, in, bytes_of("inbox wire"));
        }).ok());
        REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
            LT_TRY(s->put_receipt(t, id_of(77), bytes_of("rB")));
            auto r = s->record_receipt(t, rec.id, "B", 8, 9, id_of(77));
            return r.ok() ? ok_status() : r.take_error();
        }).ok());
    }
    auto s = open_store(dir);
    s->env().read([&](const ReadTxn& t) {
        CHECK(s->document(t, rec.id) == bytes_of("sent wire"));
        CHECK(s->document(t, id_of(9)) == bytes_of("inbox wire"));
        CHECK(s->sent_record(t, rec.id)->urgency == 3);
        CHECK(s->delivery(t, rec.id, "B")->state == DeliveryState::delivered);
        CHECK(s->delivery(t, rec.id, "C")->state == DeliveryState::pending);
        CHECK(s->outbox_depth(t, "B") == 0);
        CHECK(s->outbox_depth(t, "C") == 1);
        CHECK(s->receipt(t, id_of(77)) == bytes_of("rB"));
        CHECK(s->delivery(t, rec.id, "B")->receipt_id == id_of(77));
        CHECK(s->inbox_record(t, id_of(9))->subject == "Đắk Nông");
        CHECK(s->peer(t, "B").has_value());
    });
    // The sequence continues where it stopped.
    auto next = sent(2, {"B"}, 0);
    REQUIRE(s->env().write([&](WriteTxn& t) { return s->add_sent(t, next, bytes_of("x"), 10); }).ok());
    CHECK(next.seq == 3);
}

TEST_CASE("redeliver puts a delivered document back in the outbox once, and delivered_since finds what was acknowledged late",
          "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    const auto a = sent(1, {"B"}, 0), b = sent(2, {"B", "C"}, 0), c = sent(3, {"B"}, 0);
    REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
        for (auto rec : {a, b, c}) LT_TRY(s->add_sent(t, rec, bytes_of("env"), 100));
        LT_TRY(s->record_receipt(t, a.id, "B", 200, 250, id_of(200)));  // acknowledged early
        LT_TRY(s->record_receipt(t, b.id, "B", 900, 950, id_of(201)));  // acknowledged late
        return ok_status();
    }).ok());
    s->env().read([&](const ReadTxn& t) {
        // Acknowledged at or after 500, or still pending (c); not a, acknowledged at 250.
        const auto found = s->delivered_since(t, "B", 500, 0, 100, 1000);
        REQUIRE(found.has_value());
        std::set<Hash32> ids;
        for (const auto& f : *found) ids.insert(f.id);
        CHECK(ids == std::set<Hash32>{b.id, c.id});
        CHECK_FALSE(s->delivered_since(t, "B", 500, 0, 1, 1000).has_value());  // more than max
        CHECK(s->delivered_since(t, "B", 500, 1003, 100, 1000)->size() == 1);  // created at or after 1003: c only
        CHECK(s->delivered_since(t, "Z", 0, 0, 100, 1000)->empty());
        return 0;
    });
    bool again = false, twice = true, pending = true, stranger = true;
    REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
        LT_ASSIGN(again, s->redeliver(t, b.id, "B"));
        LT_ASSIGN(twice, s->redeliver(t, b.id, "B"));
        LT_ASSIGN(pending, s->redeliver(t, c.id, "B"));
        LT_ASSIGN(stranger, s->redeliver(t, a.id, "Z"));
        return ok_status();
    }).ok());
    CHECK(again);
    CHECK_FALSE(twice);     // pending already
    CHECK_FALSE(pending);   // never delivered
    CHECK_FALSE(stranger);  // not sent to Z
    CHECK(outbox_of(*s, "B") == std::vector<Hash32>{b.id, c.id});
    s->env().read([&](const ReadTxn& t) {
        CHECK(s->delivery(t, b.id, "B")->state == DeliveryState::pending);
        CHECK(s->delivery(t, b.id, "C")->state == DeliveryState::pending);
        return 0;
    });
    // The new receipt retires it as any delivery.
    REQUIRE(s->env().write([&](WriteTxn& t) -> Status {
        LT_TRY(s->record_receipt(t, b.id, "B", 1200, 1250, id_of(202)));
        return ok_status();
    }).ok());
    CHECK(outbox_of(*s, "B") == std::vector<Hash32>{c.id});
}

TEST_CASE("resync marks: a restore sets the time, peers are done one by one, a second restore starts over", "[storage][store]") {
    TempDir dir;
    auto s = open_store(dir);
    auto m = ResyncMarks::open(s->env());
    REQUIRE(m.ok());
    auto& marks = **m;
    s->env().read([&](const ReadTxn& t) {
        CHECK_FALSE(marks.since(t).has_value());
        return 0;
    });
    REQUIRE(s->env().write([&](WriteTxn& t) { return marks.restored(t, 5000); }).ok());
    REQUIRE(s->env().write([&](WriteTxn& t) { return marks.set_done(t, "B", 6000); }).ok());
    s->env().read([&](const ReadTxn& t) {
        CHECK(marks.since(t) == 5000u);
        CHECK(marks.done(t, "B"));
        CHECK_FALSE(marks.done(t, "C"));
        return 0;
    });
    REQUIRE(s->env().write([&](WriteTxn& t) { return marks.restored(t, 7000); }).ok());
    s->env().read([&](const ReadTxn& t) {
        CHECK(marks.since(t) == 7000u);
        CHECK_FALSE(marks.done(t, "B"));
        return 0;
    });
}
