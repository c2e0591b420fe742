// Catalog: business keys and lifecycle chains, status timelines and their dedup, damaged
// values, diacritic-insensitive search (issue 3, acceptance 7) and the inbox/outbox filters.
#include <algorithm>
#include <catch2/catch.hpp>

#include "catalog_fixture.h"
#include "protocol/codec.h"

using namespace lienthong;
using namespace lienthong::storage;
using namespace lienthong::testing::catalog;

TEST_CASE(
    "Catalog files documents under their business key and records lifecycle actions against the "
    "target",
    "[storage][catalog]") {
    Fixture f;
    DocSummary original = outgoing(1, {"A"}, 1000, 0, "Quyết định ban đầu", "Quyết định");
    DocSummary update = original;
    update.id = id_of(2);
    update.registered_ms = 2000;
    update.business_type = static_cast<uint8_t>(protocol::BusinessDocType::Update);
    update.acts_on = original.id;
    DocSummary other_sender = original;  // the same DocumentId text from another agency
    other_sender.id = id_of(3);
    other_sender.sender = "000.00.99.X";
    f.put(original);
    f.put(update);
    f.put(other_sender);

    auto filed = f.env->read(
        [&](const ReadTxn& t) { return f.cat->by_business_key(t, kUs, original.document_id); });
    std::sort(filed.begin(), filed.end());
    REQUIRE(filed == std::vector<std::pair<Hash32, uint8_t>>{{id_of(1), 0}, {id_of(2), 2}});
    auto none =
        f.env->read([&](const ReadTxn& t) { return f.cat->by_business_key(t, kUs, "no such id"); });
    CHECK(none.empty());

    auto back = f.env->read([&](const ReadTxn& t) { return f.cat->summary(t, update.id); });
    REQUIRE(back);
    CHECK(back->acts_on == original.id);
    CHECK(back->business_type == 2);
    CHECK(back->subject == "Quyết định ban đầu");

    // Recorded out of id order: the chain reads oldest first.
    f.revoke(original.id, id_of(9), 5000);
    f.act(LifecycleEvent{original.id, id_of(8), 2, 3000, "Cập nhật nơi nhận"});
    auto chain = f.env->read([&](const ReadTxn& t) { return f.cat->lifecycle(t, original.id); });
    REQUIRE(chain.size() == 2);
    CHECK(chain[0].action == id_of(8));
    CHECK(chain[0].type == 2);
    CHECK(chain[0].reason == "Cập nhật nơi nhận");
    CHECK(chain[1].action == id_of(9));
    CHECK(chain[1].type == 1);
    CHECK(chain[1].recorded_ms == 5000);
    CHECK(f.env->read([&](const ReadTxn& t) { return f.cat->lifecycle(t, update.id); }).empty());

    // Re-putting a document replaces its index entries rather than adding to them.
    DocSummary renamed = original;
    renamed.subject = "Quyết định đã sửa";
    renamed.registered_ms = 1500;
    f.put(renamed);
    DocFilter q;
    q.text = "ban dau";  // still the subject of the update and of the other sender's document
    CHECK(ids(f.query(q)) == std::set<Hash32>{id_of(2), id_of(3)});
    q.text = "da sua";
    CHECK(ids(f.query(q)) == std::set<Hash32>{original.id});
    DocFilter all;
    CHECK(f.query(all).size() == 3);
}

TEST_CASE("a lifecycle action counts only when its sender is the target's", "[storage][catalog]") {
    Fixture f;
    f.put(incoming(1, "000.00.02.B", 1000, 5 * kDay));
    // Another agency's revoke of B's document: recorded (an older node stored such), never shown.
    f.act(LifecycleEvent{id_of(1), id_of(9), 1, 2000, "giả mạo"}, "000.00.03.C");
    CHECK(f.env->read([&](const ReadTxn& t) { return f.cat->lifecycle(t, id_of(1)); }).empty());
    CHECK(f.overdue(false, 10 * kDay).size() == 1);  // still owed: not revoked
    // B's own revoke counts.
    f.act(LifecycleEvent{id_of(1), id_of(8), 1, 3000, "thu hồi"}, "000.00.02.B");
    const auto chain = f.env->read([&](const ReadTxn& t) { return f.cat->lifecycle(t, id_of(1)); });
    REQUIRE(chain.size() == 1);
    CHECK(chain[0].action == id_of(8));
    CHECK(f.overdue(false, 10 * kDay).empty());
}

TEST_CASE("add_status ignores a status message it has already recorded", "[storage][catalog]") {
    Fixture f;
    f.put(outgoing(1, {"A", "AB"}, 1000));
    const Hash32 msg = id_of(77);
    CHECK(f.status(id_of(1), "A", "01", 2000));  // the 01 a receipt implies: no message id
    CHECK(f.status(id_of(1), "A", "03", 3000, msg));
    CHECK_FALSE(f.status(id_of(1), "A", "03", 3000, msg));
    CHECK_FALSE(f.status(id_of(1), "AB", "05", 3500, msg));  // the same message, whatever it says
    CHECK(f.status(id_of(1), "AB", "01", 2500));
    CHECK(f.env->read([&](const ReadTxn& t) { return f.cat->has_status_message(t, msg); }));
    CHECK_FALSE(
        f.env->read([&](const ReadTxn& t) { return f.cat->has_status_message(t, id_of(78)); }));

    // "A" is a prefix of "AB": each timeline holds only its own events.
    auto a = f.env->read([&](const ReadTxn& t) { return f.cat->timeline(t, id_of(1), "A"); });
    REQUIRE(a.size() == 2);
    CHECK(a[0].code == "01");
    CHECK(a[1].code == "03");
    CHECK(a[1].message_id == msg);
    CHECK(a[1].recipient == "A");
    CHECK(a[1].recorded_ms == 3001);
    auto both = f.env->read([&](const ReadTxn& t) { return f.cat->timeline(t, id_of(1), ""); });
    REQUIRE(both.size() == 3);
    // In the order of the reported times, across recipients (A 01 at 2000, AB 01 at 2500, A 03 at 3000).
    CHECK(both[0].recipient == "A");
    CHECK(both[1].recipient == "AB");
    CHECK(both[2].recipient == "A");
    CHECK(both[2].code == "03");

    StatusEvent bad;
    bad.document = id_of(1);
    bad.recipient = "A";
    bad.code = "07";
    auto st = f.env->write([&](WriteTxn& t) -> Status {
        LT_ASSIGN(auto added, f.cat->add_status(t, bad, 99));
        (void)added;
        return ok_status();
    });
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Catch::Contains("07"));
}

TEST_CASE("A damaged summary or status value is skipped, not crashed on", "[storage][catalog]") {
    Fixture f;
    f.put(outgoing(1, {"A"}, 1000, 2000, "Công văn hỏng"));
    f.put(outgoing(2, {"A"}, 1100, 2000, "Công văn lành"));
    f.put(incoming(3, "B", 1200, 2000, "Báo cáo hỏng"));
    f.status(id_of(2), "A", "01", 1500);
    auto summaries = f.env->table("doc_summary");
    auto statuses = f.env->table("statuses");
    REQUIRE(summaries.ok());
    REQUIRE(statuses.ok());
    // Not msgpack at all; and a well-formed list with the wrong shape.
    const Bytes garbage = lienthong::testing::bytes_of({0xc1, 0xff, 0x00});
    const Bytes wrong_shape = protocol::Writer().array(2).u64(1).str("x").take();
    // Records are keyed by the documents' local numbers (storage/doc_numbers.h).
    auto numbers = DocNumbers::open(*f.env);
    REQUIRE(numbers.ok());
    auto number = [&](int i) {
        auto n = f.env->read([&](const ReadTxn& t) { return numbers->find(t, id_of(i)); });
        REQUIRE(n);
        return *n;
    };
    const uint64_t n1 = number(1), n2 = number(2), n3 = number(3);
    Bytes bad_event_key = number_key(n2);
    bad_event_key.push_back('A');
    bad_event_key.push_back(0);
    const Bytes seq = be64(1000);
    bad_event_key.insert(bad_event_key.end(), seq.begin(), seq.end());
    REQUIRE(f.env
                ->write([&](WriteTxn& t) -> Status {
                    LT_TRY(t.put(*summaries, number_key(n1, id_of(1)), garbage));
                    LT_TRY(t.put(*summaries, number_key(n3, id_of(3)), wrong_shape));
                    return t.put(*statuses, bad_event_key, garbage);
                })
                .ok());

    CHECK_FALSE(f.env->read([&](const ReadTxn& t) { return f.cat->summary(t, id_of(1)); }));
    CHECK(f.env->read([&](const ReadTxn& t) { return f.cat->summary(t, id_of(2)); }));
    DocFilter all;
    CHECK(ids(f.query(all)) == std::set<Hash32>{id_of(2)});
    DocFilter text;
    text.text = "cong van";  // both subjects are indexed; only the readable one is returned
    CHECK(ids(f.query(text)) == std::set<Hash32>{id_of(2)});
    auto tl = f.env->read([&](const ReadTxn& t) { return f.cat->timeline(t, id_of(2), "A"); });
    REQUIRE(tl.size() == 1);
    CHECK(tl[0].code == "01");
    auto late = f.overdue(true, 10 * kDay);
    REQUIRE(late.size() == 1);
    CHECK(late[0].id == id_of(2));
    CHECK(f.overdue(false, 10 * kDay).empty());
    auto s = f.stats(0, 0);
    CHECK(s.with_due == 1);
    CHECK(s.by_agency.size() == 1);

    // Re-putting the damaged document repairs it.
    f.put(outgoing(1, {"A"}, 1000, 2000, "Công văn hỏng"));
    CHECK(f.query(text).size() == 2);
}

TEST_CASE(
    "Search is diacritic- and case-insensitive and finds only matching subjects (issue 3, "
    "acceptance 7)",
    "[storage][catalog]") {
    Fixture f;
    f.put(outgoing(1, {"A"}, 1000, 0, "Công văn về việc triển khai"));
    f.put(outgoing(2, {"A"}, 2000, 0, "Quyết định khen thưởng xã Hòa Tiến"));
    f.put(incoming(3, "B", 3000, 0, "Kế hoạch phát triển tỉnh Đắk Nông"));
    f.put(incoming(4, "B", 4000, 0, "Báo cáo tình hình Hòa Vang"));
    f.put(outgoing(5, {"C"}, 5000, 0, "Thông báo số 7816/VPCP-TTĐT"));
    auto find = [&](const std::string& text) {
        DocFilter q;
        q.text = text;
        return ids(f.query(q));
    };
    CHECK(find("cong van") == std::set<Hash32>{id_of(1)});
    CHECK(find("CÔNG VĂN") == std::set<Hash32>{id_of(1)});
    CHECK(find("hoa tien") == std::set<Hash32>{id_of(2)});
    CHECK(find("tien hoa") == std::set<Hash32>{id_of(2)});  // terms in any order
    CHECK(find("dak nong") == std::set<Hash32>{id_of(3)});
    CHECK(find("ĐẮK NÔNG") == std::set<Hash32>{id_of(3)});
    CHECK(find("Đắk") == std::set<Hash32>{id_of(3)});
    CHECK(find("hoa vang") == std::set<Hash32>{id_of(4)});
    // Terms match as prefixes, so "hoa" also finds "hoạch" of "Kế hoạch".
    CHECK(find("hoa") == std::set<Hash32>{id_of(2), id_of(3), id_of(4)});
    CHECK(find("xa hoa") == std::set<Hash32>{id_of(2)});
    CHECK(find("trien") == std::set<Hash32>{id_of(1), id_of(3)});
    CHECK(find("ttdt") == std::set<Hash32>{id_of(5)});
    CHECK(find("7816/VPCP") == std::set<Hash32>{id_of(5)});
    CHECK(find("hoa binh").empty());
    CHECK(find("quyết định đắk nông").empty());
    CHECK(find("zzz").empty());
    CHECK(find(std::string("\xff\xfe")).empty());  // not UTF-8: nothing, not everything

    // Newest first, bounded by the limit.
    DocFilter q;
    q.text = "hoa";
    q.limit = 2;
    auto got = f.query(q);
    REQUIRE(got.size() == 2);
    CHECK(got[0].id == id_of(4));
    CHECK(got[1].id == id_of(3));
}

TEST_CASE("Filters select by direction, agency, type, date range, status, overdue and urgency",
          "[storage][catalog]") {
    Fixture f;
    const uint64_t now = 20 * kDay;
    DocSummary d1 = outgoing(1, {"A", "B"}, 1 * kDay, 5 * kDay, "Công văn khẩn", "Công văn");
    d1.urgency = 1;
    DocSummary d2 = outgoing(2, {"B"}, 2 * kDay, 30 * kDay, "Quyết định", "Quyết định");
    DocSummary d3 = incoming(3, "A", 3 * kDay, 4 * kDay, "Báo cáo hỏa tốc", "Báo cáo");
    d3.urgency = 3;
    DocSummary d4 = incoming(4, "C", 4 * kDay, 0, "Công văn thường", "Công văn");
    DocSummary d5 = outgoing(5, {"C"}, 5 * kDay, 6 * kDay, "Công văn đã thu hồi", "Công văn");
    for (const auto& d : {d1, d2, d3, d4, d5}) f.put(d);
    f.status(d1.id, "A", "01", 1 * kDay + kHour);
    f.status(d1.id, "A", "06", 3 * kDay);
    f.status(d1.id, "B", "01", 1 * kDay + kHour);  // B owes d1
    f.status(d2.id, "B", "01", 2 * kDay + kHour);
    f.status(d2.id, "B", "06", 2 * kDay + 2 * kHour);
    f.status(d3.id, kUs, "01", 3 * kDay);
    f.status(d3.id, kUs, "04", 3 * kDay + kHour);  // we owe d3
    f.revoke(d5.id, id_of(50), 5 * kDay + kHour);  // revoked: nobody owes it

    auto run = [&](auto set) {
        DocFilter q;
        set(q);
        auto got = f.query(q, now);
        std::vector<Hash32> out;
        for (const auto& d : got) out.push_back(d.id);
        return out;
    };
    CHECK(run([](DocFilter&) {}) == std::vector<Hash32>{d5.id, d4.id, d3.id, d2.id, d1.id});
    CHECK(run([](DocFilter& q) { q.outgoing = false; }) == std::vector<Hash32>{d4.id, d3.id});
    CHECK(run([](DocFilter& q) { q.agency = "A"; }) == std::vector<Hash32>{d3.id, d1.id});
    CHECK(run([](DocFilter& q) { q.agency = "B"; }) == std::vector<Hash32>{d2.id, d1.id});
    CHECK(run([](DocFilter& q) { q.type = "Công văn"; }) ==
          std::vector<Hash32>{d5.id, d4.id, d1.id});
    CHECK(run([&](DocFilter& q) { q.type = d2.type_code; }) == std::vector<Hash32>{d2.id});
    CHECK(run([](DocFilter& q) { q.type = "công văn"; }).empty());  // case-sensitive
    CHECK(run([](DocFilter& q) {
              q.from_ms = 2 * kDay;
              q.to_ms = 4 * kDay;
          }) == std::vector<Hash32>{d3.id, d2.id});
    CHECK(run([](DocFilter& q) { q.from_ms = 4 * kDay; }) == std::vector<Hash32>{d5.id, d4.id});
    CHECK(run([](DocFilter& q) { q.to_ms = 2 * kDay + 1; }) == std::vector<Hash32>{d2.id, d1.id});
    CHECK(run([](DocFilter& q) { q.status = "06"; }) == std::vector<Hash32>{d2.id, d1.id});
    CHECK(run([](DocFilter& q) { q.status = "01"; }) == std::vector<Hash32>{d1.id});
    CHECK(run([](DocFilter& q) { q.status = "04"; }) == std::vector<Hash32>{d3.id});
    CHECK(run([](DocFilter& q) { q.status = "none"; }) == std::vector<Hash32>{d5.id, d4.id});
    CHECK(run([](DocFilter& q) { q.overdue_only = true; }) == std::vector<Hash32>{d3.id, d1.id});
    CHECK(run([](DocFilter& q) { q.min_urgency = 1; }) == std::vector<Hash32>{d3.id, d1.id});
    CHECK(run([](DocFilter& q) { q.min_urgency = 2; }) == std::vector<Hash32>{d3.id});
    CHECK(run([](DocFilter& q) { q.limit = 2; }) == std::vector<Hash32>{d5.id, d4.id});
    // Combined.
    CHECK(run([](DocFilter& q) {
              q.text = "cong van";
              q.outgoing = true;
          }) == std::vector<Hash32>{d5.id, d1.id});
    CHECK(run([](DocFilter& q) {
              q.text = "cong van";
              q.overdue_only = true;
          }) == std::vector<Hash32>{d1.id});
    CHECK(run([](DocFilter& q) {
              q.agency = "B";
              q.overdue_only = true;
              q.min_urgency = 1;
          }) == std::vector<Hash32>{d1.id});
    CHECK(run([](DocFilter& q) {
              q.agency = "C";
              q.type = "Công văn";
              q.from_ms = 4 * kDay + 1;
          }) == std::vector<Hash32>{d5.id});
    // Before d1's due date nothing is overdue.
    DocFilter early;
    early.overdue_only = true;
    CHECK(f.query(early, 4 * kDay).empty());
}
