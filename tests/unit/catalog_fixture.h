// Shared by the catalog tests: a temporary environment with a Catalog, and builders of
// outgoing and incoming document summaries.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "storage/catalog.h"
#include "storage/store.h"
#include "test_util.h"

namespace lienthong::testing::catalog {

using namespace lienthong::storage;

constexpr uint64_t kHour = 3600000;
constexpr uint64_t kDay = 24 * kHour;
inline constexpr const char* kUs = "000.00.31.H14";

inline Hash32 id_of(unsigned n) {
    Hash32 h{};
    h.fill(0x5a);
    h[0] = static_cast<uint8_t>(n >> 8);
    h[1] = static_cast<uint8_t>(n & 0xff);
    return h;
}

struct Fixture {
    lienthong::testing::TempDir dir;
    std::unique_ptr<Env> env;
    std::unique_ptr<Catalog> cat;
    uint64_t seq = 0;

    Fixture() {
        EnvOptions o;
        o.dir = dir.file("db");
        o.initial_map_bytes = 64u << 20;
        auto e = Env::open(o);
        REQUIRE(e.ok());
        env = std::move(e).value();
        auto c = Catalog::open(*env);
        REQUIRE(c.ok());
        cat = std::move(c).value();
    }

    void put(const DocSummary& d) {
        auto st = env->write([&](WriteTxn& t) { return cat->put_document(t, d); });
        INFO((st.ok() ? std::string() : st.error()));
        REQUIRE(st.ok());
    }

    bool status(const Hash32& doc, const std::string& recipient, const std::string& code,
                uint64_t time_ms, std::optional<Hash32> message = std::nullopt) {
        StatusEvent e;
        e.document = doc;
        e.recipient = recipient;
        e.reporter = code == "13" ? "sender" : recipient;
        e.code = code;
        e.time_ms = time_ms;
        e.recorded_ms = time_ms + 1;
        e.message_id = message;
        bool added = false;
        auto st = env->write([&](WriteTxn& t) -> Status {
            LT_ASSIGN(added, cat->add_status(t, e, ++seq));
            return ok_status();
        });
        REQUIRE(st.ok());
        return added;
    }

    void revoke(const Hash32& target, const Hash32& action, uint64_t at) {
        act(LifecycleEvent{target, action, static_cast<uint8_t>(protocol::BusinessDocType::Revoke), at,
                           "Thu hồi do sai sót"});
    }

    // Records `e`; with `sender`, also the summary of its action as sent by `sender`.
    void act(const LifecycleEvent& e, std::optional<std::string> sender = std::nullopt) {
        auto st = env->write([&](WriteTxn& t) -> Status {
            if (auto target = cat->summary(t, e.target); target && sender) {
                DocSummary a = *target;
                a.id = e.action;
                a.sender = *sender;
                a.registered_ms = e.recorded_ms;
                a.subject = "Văn bản thu hồi, cập nhật";
                a.document_id.clear();
                a.due_ms = 0;
                a.business_type = e.type;
                a.acts_on = e.target;
                LT_TRY(cat->put_document(t, a));
            }
            return cat->add_lifecycle(t, e);
        });
        REQUIRE(st.ok());
    }

    std::vector<DocSummary> query(const DocFilter& f, uint64_t now_ms = 0) {
        return env->read([&](const ReadTxn& t) { return cat->query(t, f, now_ms); });
    }
    std::vector<OverdueItem> overdue(bool outgoing, uint64_t now_ms) {
        return env->read([&](const ReadTxn& t) { return cat->overdue(t, outgoing, now_ms); });
    }
    StatsReport stats(uint64_t from, uint64_t to) {
        return env->read([&](const ReadTxn& t) { return cat->stats(t, from, to); });
    }
};

inline DocSummary outgoing(unsigned n, std::vector<std::string> to, uint64_t registered,
                           uint64_t due = 0, std::string subject = "Công văn",
                           std::string type_name = "Công văn") {
    DocSummary d;
    d.id = id_of(n);
    d.outgoing = true;
    d.sender = kUs;
    d.recipients = std::move(to);
    d.created_ms = registered;
    d.registered_ms = registered;
    d.document_id = std::string(kUs) + ",2024/05/01," + std::to_string(n) + "/UBND-VP";
    d.subject = std::move(subject);
    d.type_name = std::move(type_name);
    d.type_code = d.type_name.empty() ? "" : std::to_string(d.type_name.size());
    d.due_ms = due;
    return d;
}

inline DocSummary incoming(unsigned n, std::string from, uint64_t registered, uint64_t due = 0,
                           std::string subject = "Báo cáo", std::string type_name = "Báo cáo") {
    DocSummary d = outgoing(n, {kUs}, registered, due, std::move(subject), std::move(type_name));
    d.outgoing = false;
    d.sender = std::move(from);
    d.document_id = d.sender + ",2024/05/01," + std::to_string(n) + "/BC";
    return d;
}

inline std::set<Hash32> ids(const std::vector<DocSummary>& docs) {
    std::set<Hash32> out;
    for (const auto& d : docs) out.insert(d.id);
    return out;
}

}  // namespace lienthong::testing::catalog
