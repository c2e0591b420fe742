// Migration from schema version 2 (documents keyed by message id) to 3 (keyed by document
// number), on databases written by a real version-2 lienthong-node: golden/schema_v2/, made by
// golden/make_schema_v2.sh.
#include <catch2/catch.hpp>

#include <filesystem>

#include "protocol/envelope.h"
#include "storage/catalog.h"
#include "storage/store.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::storage;
using lienthong::testing::TempDir;

namespace {

struct Opened {
    std::unique_ptr<Store> store;
    std::unique_ptr<Catalog> catalog;
};

// A copy of golden/schema_v2/<name>.mdb as a data directory.
EnvOptions copy_of(const TempDir& dir, const std::string& name) {
    const std::string db = dir.file("db");
    std::filesystem::create_directories(db);
    std::filesystem::copy_file(std::string(LIENTHONG_GOLDEN_DIR) + "/schema_v2/" + name + ".mdb", db + "/data.mdb");
    std::filesystem::permissions(db + "/data.mdb", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    EnvOptions o;
    o.dir = db;
    return o;
}

Opened open_both(const EnvOptions& o, const std::string& agency) {
    Opened out;
    auto s = Store::open(o, agency);
    REQUIRE(s.ok());
    out.store = std::move(s).value();
    auto c = Catalog::open(out.store->env());
    REQUIRE(c.ok());
    out.catalog = std::move(c).value();
    return out;
}

uint32_t schema_version(Store& s) {
    auto meta = s.env().table("meta");
    REQUIRE(meta.ok());
    return s.env().read([&](const ReadTxn& t) {
        auto v = t.get(*meta, protocol::as_bytes("schema_version"));
        REQUIRE(v);
        REQUIRE(v->size() == 4);
        return (uint32_t((*v)[2]) << 8) | (*v)[3];
    });
}

std::vector<std::string> codes(const std::vector<StatusEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.code);
    return out;
}

// What the sender's database (TEST.A) holds, read through the v3 accessors.
void check_sender(Opened& a) {
    a.store->env().read([&](const ReadTxn& t) {
        const auto sent = a.store->list_sent(t, 100);
        REQUIRE(sent.size() == 4);
        // Newest first: the fourth (pending) … the first (with the attachment and a due date).
        CHECK(sent[3].subject == "Công văn thứ nhất");
        CHECK(sent[0].subject == "Chưa gửi được");
        size_t delivered = 0;
        for (const auto& rec : sent) {
            auto env = a.store->document(t, rec.id);
            REQUIRE(env);
            auto decoded = protocol::decode_envelope(*env);  // its own bytes, under its new key
            REQUIRE(decoded.ok());
            CHECK(decoded->id == rec.id);
            CHECK(a.store->document_size(t, rec.id) == env->size());
            const auto ds = a.store->deliveries(t, rec.id);
            REQUIRE(ds.size() == 1);
            CHECK(ds[0].recipient == "TEST.B");
            if (ds[0].state == DeliveryState::delivered) {
                ++delivered;
                REQUIRE(ds[0].receipt_id);
                CHECK(a.store->receipt(t, *ds[0].receipt_id));
            }
            auto summary = a.catalog->summary(t, rec.id);
            REQUIRE(summary);
            CHECK(summary->subject == rec.subject);
            // A short prefix of the id finds it.
            CHECK(a.store->ids_with_prefix(t, ByteView(rec.id).first(4), 10) == std::vector<Hash32>{rec.id});
        }
        CHECK(delivered == 3);
        CHECK(a.store->outbox_total(t) == 1);
        CHECK(a.store->delivery(t, sent[0].id, "TEST.B")->state == DeliveryState::pending);
        // B's status reports arrived as messages: in the inbox, and on the first one's timeline.
        CHECK(a.store->list_inbox(t, 100).size() == 4);
        const auto timeline = a.catalog->timeline(t, sent[3].id, "TEST.B");
        CHECK(codes(timeline) == std::vector<std::string>{"01", "03", "04", "05", "06"});
        CHECK(timeline.back().description == "Đã xong");
        DocFilter f;
        f.text = "cong van";
        const auto found = a.catalog->query(t, f, 0);
        REQUIRE(found.size() == 1);
        CHECK(found[0].id == sent[3].id);
    });
}

}  // namespace

TEST_CASE("A schema version 2 database is migrated to version 3 and reads the same", "[storage][migrate]") {
    TempDir dir;
    const auto options = copy_of(dir, "a");
    {
        auto a = open_both(options, "TEST.A");
        CHECK(schema_version(*a.store) == 3);
        check_sender(a);
        // It goes on working: a receipt for the pending fourth retires its outbox entry.
        const Hash32 fourth = a.store->env().read([&](const ReadTxn& t) { return a.store->list_sent(t, 1)[0].id; });
        Hash32 receipt{};
        receipt.fill(7);
        REQUIRE(a.store->env()
                    .write([&](WriteTxn& t) -> Status {
                        LT_ASSIGN(bool retired, a.store->record_receipt(t, fourth, "TEST.B", 1, 2, receipt));
                        REQUIRE(retired);
                        return ok_status();
                    })
                    .ok());
        CHECK(a.store->env().read([&](const ReadTxn& t) { return a.store->outbox_total(t); }) == 0);
    }
    // Opened again: nothing more to migrate.
    auto again = open_both(options, "TEST.A");
    CHECK(schema_version(*again.store) == 3);
}

TEST_CASE("The recipient's schema version 2 database migrates: inbox, timeline and sent status reports",
          "[storage][migrate]") {
    TempDir dir;
    auto b = open_both(copy_of(dir, "b"), "TEST.B");
    CHECK(schema_version(*b.store) == 3);
    b.store->env().read([&](const ReadTxn& t) {
        const auto inbox = b.store->list_inbox(t, 100);
        REQUIRE(inbox.size() == 3);
        CHECK(inbox[2].subject == "Công văn thứ nhất");
        for (const auto& rec : inbox) {
            auto env = b.store->document(t, rec.id);
            REQUIRE(env);
            CHECK(protocol::decode_envelope(*env)->id == rec.id);
            CHECK(b.store->inbox_record(t, rec.id)->sender == "TEST.A");
            CHECK(b.catalog->summary(t, rec.id));
        }
        CHECK(codes(b.catalog->timeline(t, inbox[2].id, "TEST.B")) ==
              std::vector<std::string>{"01", "03", "04", "05", "06"});
        // Its four status reports were sent (and receipted) by B.
        const auto sent = b.store->list_sent(t, 100);
        REQUIRE(sent.size() == 4);
        for (const auto& rec : sent) CHECK(b.store->delivery(t, rec.id, "TEST.A")->state == DeliveryState::delivered);
    });
}

TEST_CASE("A schema version 2 database of another agency is refused, not migrated", "[storage][migrate]") {
    TempDir dir;
    const auto options = copy_of(dir, "a");
    auto s = Store::open(options, "TEST.B");
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error(), Catch::Contains("belongs to agency 'TEST.A'"));
    auto a = open_both(options, "TEST.A");
    check_sender(a);
}

TEST_CASE("A migration interrupted while moving the envelopes goes on at the next open", "[storage][migrate]") {
    TempDir dir;
    const auto options = copy_of(dir, "a");
    open_both(options, "TEST.A");  // migrated
    // Put the database back in the state a crash in phase 2 leaves: version 2, the phase
    // marker set, and some envelopes still under their 32-byte id keys.
    {
        auto env = Env::open(options);
        REQUIRE(env.ok());
        auto meta = (*env)->table("meta");
        auto documents = (*env)->table("documents");
        auto numbers = DocNumbers::open(**env);
        REQUIRE((meta.ok() && documents.ok() && numbers.ok()));
        size_t moved_back = 0;
        REQUIRE((*env)
                    ->write([&](WriteTxn& t) -> Status {
                        std::vector<std::pair<Hash32, uint64_t>> some;
                        numbers->scan_prefix(t, {}, [&](const Hash32& id, uint64_t n) {
                            some.emplace_back(id, n);
                            return some.size() < 3;
                        });
                        for (const auto& [id, n] : some) {
                            auto v = t.get(*documents, number_key(n));
                            if (!v) continue;
                            const Bytes envelope(v->begin(), v->end());
                            LT_TRY(t.del(*documents, number_key(n)));
                            LT_TRY(t.put(*documents, id, envelope));
                            ++moved_back;
                        }
                        const uint8_t v2[4] = {0, 0, 0, 2};
                        LT_TRY(t.put(*meta, protocol::as_bytes("schema_version"), ByteView(v2, 4)));
                        return t.put(*meta, protocol::as_bytes("migration_phase"), be64(2));
                    })
                    .ok());
        REQUIRE(moved_back == 3);
    }
    auto a = open_both(options, "TEST.A");
    CHECK(schema_version(*a.store) == 3);
    check_sender(a);
    auto meta = a.store->env().table("meta");
    REQUIRE(meta.ok());
    CHECK_FALSE(a.store->env().read([&](const ReadTxn& t) { return t.get(*meta, protocol::as_bytes("migration_phase")).has_value(); }));
}
