// Catalog reports: overdue and stats on a small hand-checked history, their edge cases, and on a
// generated history of 300 documents checked against numbers computed from the generator's own
// data (issue 3, acceptance 4).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <tuple>

#include "catalog_fixture.h"

using namespace lienthong;
using namespace lienthong::storage;
using namespace lienthong::testing::catalog;

// A history small enough to check by hand; the numbers in the comments are the derivation.
TEST_CASE("Overdue and stats reports give the hand-checked numbers on a small history",
          "[storage][catalog]") {
    Fixture f;
    const uint64_t now = 10 * kDay + 12 * kHour;
    f.put(outgoing(1, {"X", "Y"}, 1 * kDay, 5 * kDay, "A", "Công văn"));
    f.status(id_of(1), "X", "01", 1 * kDay + kHour);
    f.status(id_of(1), "X", "06", 3 * kDay);              // on time: 3d <= 5d
    f.status(id_of(1), "Y", "01", 1 * kDay + 2 * kHour);  // owed, 5.5 days late -> 5
    f.put(outgoing(2, {"X"}, 2 * kDay, 8 * kDay, "B", "Quyết định"));
    f.status(id_of(2), "X", "01", 2 * kDay);
    f.status(id_of(2), "X", "02", 2 * kDay + kHour);  // rejected: not owed
    f.put(outgoing(3, {"Y", "Z"}, 2 * kDay + kHour, 3 * kDay, "C", "Công văn"));
    f.status(id_of(3), "Y", "01", 2 * kDay + 2 * kHour);
    f.status(id_of(3), "Y", "06", 4 * kDay);  // completed late
    f.status(id_of(3), "Z", "01", 2 * kDay + 3 * kHour);
    f.status(id_of(3), "Z", "13", 2 * kDay + 4 * kHour);
    f.status(id_of(3), "Z", "15", 2 * kDay + 5 * kHour);                  // recalled: not owed
    f.put(outgoing(5, {"Z"}, 5 * kDay, 9 * kDay + 13 * kHour, "E", ""));  // owed, 23 h late -> 0
    f.put(outgoing(6, {"X"}, 3 * kDay, 4 * kDay, "F", "Công văn"));
    f.revoke(id_of(6), id_of(60), 3 * kDay + kHour);  // revoked: not owed
    f.put(incoming(7, "X", 3 * kDay + 2 * kHour, 6 * kDay, "G", "Báo cáo"));
    f.status(id_of(7), kUs, "01", 3 * kDay);
    f.status(id_of(7), kUs, "03", 3 * kDay + kHour);                // we owe it, 4.5 days -> 4
    f.put(incoming(8, "Y", 4 * kDay, 20 * kDay, "H", "Công văn"));  // not yet due

    auto out = f.overdue(true, now);
    REQUIRE(out.size() == 2);
    CHECK(out[0].id == id_of(1));
    CHECK(out[0].agency == "Y");
    CHECK(out[0].days_overdue == 5);
    CHECK(out[0].last_code == "01");
    CHECK(out[0].due_ms == 5 * kDay);
    CHECK(out[0].subject == "A");
    CHECK(out[1].id == id_of(5));
    CHECK(out[1].agency == "Z");
    CHECK(out[1].days_overdue == 0);
    CHECK(out[1].last_code == "");
    auto in = f.overdue(false, now);
    REQUIRE(in.size() == 1);
    CHECK(in[0].id == id_of(7));
    CHECK(in[0].agency == "X");
    CHECK(in[0].days_overdue == 4);
    CHECK(in[0].last_code == "03");
    CHECK(in[0].document_id == "X,2024/05/01,7/BC");

    // Pairs: 1X 1Y 2X 3Y 3Z 5Z 6X 7 8, all with a due date.
    auto s = f.stats(0, 0);
    CHECK(s.with_due == 9);
    CHECK(s.completed == 2);          // 1X, 3Y
    CHECK(s.completed_on_time == 1);  // 1X
    CHECK(s.on_time_rate == Approx(1.0 / 9));
    CHECK(s.median_completion_ms == 2 * kDay - 2 * kHour);  // lower of {2d-2h, 2d-1h}
    CHECK(s.status_distribution ==
          std::map<std::string, uint64_t>{{"06", 2}, {"01", 2}, {"02", 1}, {"03", 1}, {"none", 3}});
    REQUIRE(s.by_agency.size() == 3);
    CHECK(s.by_agency["X"].sent == 3);
    CHECK(s.by_agency["X"].received == 1);
    CHECK(s.by_agency["Y"].sent == 2);
    CHECK(s.by_agency["Y"].received == 1);
    CHECK(s.by_agency["Z"].sent == 2);
    CHECK(s.by_agency["Z"].received == 0);
    REQUIRE(s.by_type.size() == 4);
    CHECK(s.by_type["Công văn"].sent == 3);
    CHECK(s.by_type["Công văn"].received == 1);
    CHECK(s.by_type["Quyết định"].sent == 1);
    CHECK(s.by_type["(none)"].sent == 1);
    CHECK(s.by_type["Báo cáo"].received == 1);

    // [2d, 3d): documents 2 and 3 only.
    auto r = f.stats(2 * kDay, 3 * kDay);
    CHECK(r.with_due == 3);
    CHECK(r.completed == 1);
    CHECK(r.completed_on_time == 0);
    CHECK(r.median_completion_ms == 2 * kDay - 2 * kHour);
    CHECK(r.by_agency.size() == 3);
    CHECK(r.by_agency["X"].sent == 1);
    CHECK(r.status_distribution ==
          std::map<std::string, uint64_t>{{"02", 1}, {"06", 1}, {"01", 1}});
    auto empty = f.stats(30 * kDay, 40 * kDay);
    CHECK(empty.with_due == 0);
    CHECK(empty.on_time_rate == 0);
    CHECK(empty.by_agency.empty());
}

TEST_CASE(
    "Report edges: completion exactly at the due date is on time, a 16 keeps the debt, one pair "
    "per incoming document",
    "[storage][catalog]") {
    Fixture f;
    f.put(outgoing(1, {"X", "Y", "Z"}, 1 * kDay, 5 * kDay));
    f.status(id_of(1), "X", "01", 1 * kDay);
    f.status(id_of(1), "X", "06", 5 * kDay);  // exactly at the due date: on time
    f.status(id_of(1), "Y", "01", 1 * kDay);
    f.status(id_of(1), "Y", "06", 5 * kDay + 1);  // a millisecond late
    f.status(id_of(1), "Z", "01", 1 * kDay);
    f.status(id_of(1), "Z", "04", 2 * kDay);
    f.status(id_of(1), "Z", "13", 3 * kDay);  // recall requested, then refused: still owed
    f.status(id_of(1), "Z", "16", 3 * kDay + 1);
    // An incoming document is one pair: the first listed recipient that has a timeline.
    DocSummary in = incoming(2, "X", 1 * kDay, 4 * kDay);
    in.recipients = {"000.00.99.NONE", "000.00.50.LATER", "000.00.10.EARLIER"};
    f.put(in);
    f.status(in.id, "000.00.10.EARLIER", "01", 1 * kDay);
    f.status(in.id, "000.00.10.EARLIER", "06", 2 * kDay);
    f.status(in.id, "000.00.50.LATER", "01", 1 * kDay);

    auto s = f.stats(0, 0);
    CHECK(s.with_due == 4);
    CHECK(s.completed == 2);
    CHECK(s.completed_on_time == 1);
    CHECK(s.median_completion_ms == 4 * kDay);  // {4d, 4d + 1 ms}
    CHECK(s.status_distribution ==
          std::map<std::string, uint64_t>{{"06", 2}, {"04", 1}, {"01", 1}});
    auto out = f.overdue(true, 6 * kDay);
    REQUIRE(out.size() == 1);
    CHECK(out[0].agency == "Z");
    CHECK(out[0].last_code == "04");
    auto in_late = f.overdue(false, 6 * kDay);
    REQUIRE(in_late.size() == 1);
    CHECK(in_late[0].last_code == "01");
}

namespace {

// A deterministic history whose expected report numbers follow from each pair's scenario,
// without replaying status events.
enum class Scenario { None, Arrived, Working, Completed, Rejected, Recalled, RecallRefused };

struct PairModel {
    std::string recipient;
    Scenario scenario = Scenario::None;
    uint64_t arrived = 0, completed = 0;
};

struct DocModel {
    DocSummary d;
    std::vector<PairModel> pairs;
    bool revoked = false;
};

const char* last_code(Scenario s) {
    switch (s) {
        case Scenario::None:
            return "";
        case Scenario::Arrived:
            return "01";
        case Scenario::Working:
            return "05";
        case Scenario::Completed:
            return "06";
        case Scenario::Rejected:
            return "02";
        case Scenario::Recalled:
            return "03";
        case Scenario::RecallRefused:
            return "01";
    }
    return "?";
}

struct Rng {
    uint64_t x;
    uint64_t next() {  // splitmix64
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }
};

const std::vector<std::string> kAgencies = {"000.00.01.H14", "000.00.02.H14", "000.00.03.H14",
                                            "000.00.04.H14", "000.00.05.H14"};
const std::vector<std::string> kTypes = {"Công văn", "Quyết định", "Tờ trình", "Kế hoạch", ""};
constexpr uint64_t kBase = 1700000000000ull;

std::vector<DocModel> generate(unsigned count) {
    Rng rng{42};
    std::vector<DocModel> docs;
    for (unsigned i = 0; i < count; ++i) {
        DocModel m;
        const uint64_t registered = kBase + i * 3 * kHour + rng.below(kHour);
        const uint64_t due = rng.below(10) < 7 ? registered + (1 + rng.below(20)) * kDay : 0;
        const std::string type = kTypes[rng.below(kTypes.size())];
        if (rng.below(3) != 0) {
            std::vector<std::string> to;
            const size_t n = 1 + rng.below(3);
            while (to.size() < n) {
                const auto& a = kAgencies[rng.below(kAgencies.size())];
                if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(a);
            }
            m.d = outgoing(i, to, registered, due, "Văn bản " + std::to_string(i), type);
        } else {
            m.d = incoming(i, kAgencies[rng.below(kAgencies.size())], registered, due,
                           "Văn bản " + std::to_string(i), type);
            if (rng.below(4) == 0) m.d.recipients.insert(m.d.recipients.begin(), "000.00.99.OTHER");
        }
        m.d.urgency = rng.below(4);
        const std::vector<std::string> owing =
            m.d.outgoing ? m.d.recipients : std::vector<std::string>{kUs};
        for (const auto& r : owing) {
            PairModel p;
            p.recipient = r;
            p.scenario = static_cast<Scenario>(rng.below(7));
            p.arrived = registered + rng.below(6 * kHour);
            p.completed = p.arrived + kHour + rng.below(15 * kDay);
            m.pairs.push_back(p);
        }
        m.revoked = rng.below(20) == 0;
        docs.push_back(std::move(m));
    }
    return docs;
}

// Status codes and their offsets in minutes from arrival.
using Steps = std::vector<std::pair<const char*, uint64_t>>;

void record(Fixture& f, const std::vector<DocModel>& docs) {
    auto st = f.env->write([&](WriteTxn& t) -> Status {
        auto add = [&](const DocModel& m, const PairModel& p, const char* code,
                       uint64_t at) -> Status {
            StatusEvent e;
            e.document = m.d.id;
            e.recipient = p.recipient;
            e.reporter = std::string(code) == "13" ? m.d.sender : p.recipient;
            e.code = code;
            e.time_ms = at;
            e.recorded_ms = at;
            LT_ASSIGN(auto added, f.cat->add_status(t, e, ++f.seq));
            if (!added) return make_error("status not added");
            return ok_status();
        };
        for (const auto& m : docs) {
            LT_TRY(f.cat->put_document(t, m.d));
            if (m.revoked) {
                Hash32 action = m.d.id;
                action[2] = 0xa5;
                LT_TRY(f.cat->add_lifecycle(t, LifecycleEvent{m.d.id, action, 1, 0, "thu hồi"}));
            }
            for (const auto& p : m.pairs) {
                const uint64_t a = p.arrived;
                switch (p.scenario) {
                    case Scenario::None:
                        break;
                    case Scenario::Arrived:
                        LT_TRY(add(m, p, "01", a));
                        break;
                    case Scenario::Working:
                        for (auto [c, dt] : Steps{{"01", 0}, {"03", 1}, {"04", 2}, {"05", 3}})
                            LT_TRY(add(m, p, c, a + dt * 60000));
                        break;
                    case Scenario::Completed:
                        for (auto [c, dt] : Steps{{"01", 0}, {"03", 1}, {"05", 2}})
                            LT_TRY(add(m, p, c, a + dt * 60000));
                        LT_TRY(add(m, p, "06", p.completed));
                        break;
                    case Scenario::Rejected:
                        LT_TRY(add(m, p, "01", a));
                        LT_TRY(add(m, p, "02", a + 60000));
                        break;
                    case Scenario::Recalled:
                        for (auto [c, dt] : Steps{{"01", 0}, {"03", 1}, {"13", 2}, {"15", 3}})
                            LT_TRY(add(m, p, c, a + dt * 60000));
                        break;
                    case Scenario::RecallRefused:
                        for (auto [c, dt] : Steps{{"01", 0}, {"13", 1}, {"16", 2}})
                            LT_TRY(add(m, p, c, a + dt * 60000));
                        break;
                }
            }
        }
        return ok_status();
    });
    INFO((st.ok() ? std::string() : st.error()));
    REQUIRE(st.ok());
}

using OverdueRow =
    std::tuple<Hash32, std::string, uint64_t, uint64_t, std::string>;  // id agency due days code

std::vector<OverdueRow> expected_overdue(const std::vector<DocModel>& docs, bool outgoing,
                                         uint64_t now) {
    std::vector<OverdueRow> out;
    for (const auto& m : docs) {
        if (m.d.outgoing != outgoing || m.revoked || m.d.due_ms == 0 || m.d.due_ms >= now) continue;
        for (const auto& p : m.pairs) {
            if (p.scenario == Scenario::Completed || p.scenario == Scenario::Rejected ||
                p.scenario == Scenario::Recalled)
                continue;
            out.emplace_back(m.d.id, outgoing ? p.recipient : m.d.sender, m.d.due_ms,
                             (now - m.d.due_ms) / kDay, last_code(p.scenario));
        }
    }
    std::sort(out.begin(), out.end(), [](const OverdueRow& a, const OverdueRow& b) {
        return std::tie(std::get<3>(b), std::get<1>(a), std::get<2>(a), std::get<0>(a)) <
               std::tie(std::get<3>(a), std::get<1>(b), std::get<2>(b), std::get<0>(b));
    });
    return out;
}

StatsReport expected_stats(const std::vector<DocModel>& docs, uint64_t from, uint64_t to) {
    StatsReport r;
    std::vector<uint64_t> durations;
    for (const auto& m : docs) {
        if (m.d.registered_ms < from || m.d.registered_ms >= to) continue;
        auto& type = r.by_type[m.d.type_name.empty() ? "(none)" : m.d.type_name];
        (m.d.outgoing ? type.sent : type.received)++;
        if (!m.d.outgoing) r.by_agency[m.d.sender].received++;
        for (const auto& p : m.pairs) {
            if (m.d.outgoing) r.by_agency[p.recipient].sent++;
            const std::string code = last_code(p.scenario);
            r.status_distribution[code.empty() ? "none" : code]++;
            const bool done = p.scenario == Scenario::Completed;
            if (done) {
                r.completed++;
                durations.push_back(p.completed - p.arrived);
            }
            if (m.d.due_ms != 0) {
                r.with_due++;
                if (done && p.completed <= m.d.due_ms) r.completed_on_time++;
            }
        }
    }
    if (!durations.empty()) {
        std::sort(durations.begin(), durations.end());
        r.median_completion_ms = durations[(durations.size() - 1) / 2];
    }
    return r;
}

void check_same(const StatsReport& got, const StatsReport& want) {
    CHECK(got.with_due == want.with_due);
    CHECK(got.completed == want.completed);
    CHECK(got.completed_on_time == want.completed_on_time);
    CHECK(got.on_time_rate ==
          Approx(want.with_due ? double(want.completed_on_time) / want.with_due : 0));
    CHECK(got.median_completion_ms == want.median_completion_ms);
    CHECK(got.status_distribution == want.status_distribution);
    REQUIRE(got.by_agency.size() == want.by_agency.size());
    for (const auto& [agency, c] : want.by_agency) {
        INFO(agency);
        CHECK(got.by_agency.at(agency).sent == c.sent);
        CHECK(got.by_agency.at(agency).received == c.received);
    }
    REQUIRE(got.by_type.size() == want.by_type.size());
    for (const auto& [type, c] : want.by_type) {
        INFO(type);
        CHECK(got.by_type.at(type).sent == c.sent);
        CHECK(got.by_type.at(type).received == c.received);
    }
}

}  // namespace

TEST_CASE(
    "Overdue and stats reports match a generated history of 300 documents (issue 3, acceptance 4)",
    "[storage][catalog]") {
    Fixture f;
    const auto docs = generate(300);
    record(f, docs);
    // The history spans 37.5 days and due dates reach 20 days past registration: at `now` some
    // are past due, some not.
    const uint64_t now = kBase + 40 * kDay + 5 * kHour;

    for (bool outgoing : {true, false}) {
        INFO("outgoing " << outgoing);
        const auto want = expected_overdue(docs, outgoing, now);
        CHECK(want.size() > (outgoing ? 60u : 15u));  // the generator exercises the report
        const auto got = f.overdue(outgoing, now);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            INFO("row " << i);
            CHECK(got[i].id == std::get<0>(want[i]));
            CHECK(got[i].agency == std::get<1>(want[i]));
            CHECK(got[i].due_ms == std::get<2>(want[i]));
            CHECK(got[i].days_overdue == std::get<3>(want[i]));
            CHECK(got[i].last_code == std::get<4>(want[i]));
        }
        // The overdue filter selects exactly the documents with a row in the report.
        std::set<Hash32> want_ids;
        for (const auto& row : want) want_ids.insert(std::get<0>(row));
        DocFilter q;
        q.outgoing = outgoing;
        q.overdue_only = true;
        q.limit = 0;
        CHECK(ids(f.query(q, now)) == want_ids);
    }

    {
        INFO("all time");
        const auto want = expected_stats(docs, 0, UINT64_MAX);
        CHECK(want.completed > 50);
        CHECK(want.completed_on_time > 10);
        CHECK(want.completed_on_time < want.with_due);
        check_same(f.stats(0, 0), want);
    }
    {
        INFO("days 10 to 30");
        const uint64_t from = kBase + 10 * kDay, to = kBase + 30 * kDay;
        const auto want = expected_stats(docs, from, to);
        CHECK(want.with_due < expected_stats(docs, 0, UINT64_MAX).with_due);
        check_same(f.stats(from, to), want);
    }
}
