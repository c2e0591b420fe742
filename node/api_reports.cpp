// Local API: finding documents (filters, diacritic-insensitive subject search) and the
// overdue and statistics reports, all answered from the catalog (storage/catalog.h).
#include "node/api_util.h"
#include "node/document_json.h"
#include "node/node_impl.h"

namespace lienthong::node {

bool has_filters(const json& req) {
    for (const char* k : {"agency", "type", "from_ms", "to_ms", "status", "overdue", "min_urgency", "text"})
        if (req.contains(k)) return true;
    return false;
}

json NodeImpl::api_find(const json& req, bool outgoing) {
    storage::DocFilter f;
    f.outgoing = outgoing;
    auto agency = string_field(req, "agency", false);
    auto type = string_field(req, "type", false);
    auto status = string_field(req, "status", false);
    auto text = string_field(req, "text", false);
    for (const auto* s : {&agency, &type, &status, &text})
        if (!s->ok()) return fail(s->error());
    f.agency = *agency;
    f.type = *type;
    f.status = *status;
    f.text = *text;
    if (!f.status.empty() && !protocol::is_known_status_code(f.status) && f.status != "none")
        return fail("field 'status' must be a status code (01 02 03 04 05 06 13 15 16) or none, not '" + f.status + "'");
    auto from = uint_field(req, "from_ms", 0, UINT64_MAX);
    auto to = uint_field(req, "to_ms", 0, UINT64_MAX);
    auto urgency = uint_field(req, "min_urgency", 0, 3);
    auto limit = uint_field(req, "limit", 50, 100000);
    for (const auto* u : {&from, &to, &urgency, &limit})
        if (!u->ok()) return fail(u->error());
    f.from_ms = *from;
    f.to_ms = *to;
    if (req.contains("min_urgency")) f.min_urgency = *urgency;
    f.limit = *limit;
    if (req.contains("overdue")) {
        if (!req["overdue"].is_boolean()) return fail("field 'overdue' must be true or false");
        f.overdue_only = req["overdue"].get<bool>();
    }
    if (f.from_ms && f.to_ms && f.to_ms <= f.from_ms) return fail("'to_ms' must be after 'from_ms'");
    const uint64_t now = m_clock->now_ms();
    return m_store->env().read([&](const storage::ReadTxn& t) {
        json items = json::array();
        for (const auto& d : m_catalog->query(t, f, now)) {
            json j = summary_to_json(d);
            json states = json::object();
            for (const auto& e : m_catalog->timeline(t, d.id, "")) {
                if (e.code == "13" || e.code == "15" || e.code == "16") continue;
                states[e.recipient] = e.code;
            }
            j["status"] = states;
            items.push_back(std::move(j));
        }
        return json{{"ok", true}, {"documents", items}};
    });
}

json NodeImpl::api_report_overdue(const json& req) {
    auto as = string_field(req, "as", false);
    if (!as.ok()) return fail(as.error());
    if (!as->empty() && *as != "sender" && *as != "recipient")
        return fail("field 'as' must be sender or recipient, not '" + *as + "'");
    auto now = uint_field(req, "now_ms", m_clock->now_ms(), UINT64_MAX);
    if (!now.ok()) return fail(now.error());
    const bool outgoing = *as != "recipient";
    return m_store->env().read([&](const storage::ReadTxn& t) {
        json items = json::array();
        for (const auto& o : m_catalog->overdue(t, outgoing, *now))
            items.push_back({{"id", hex_id(o.id)},
                             {"agency", o.agency},
                             {"subject", o.subject},
                             {"document_id", o.document_id},
                             {"due_ms", o.due_ms},
                             {"days_overdue", o.days_overdue},
                             {"last_status", o.last_code}});
        return json{{"ok", true}, {"as", outgoing ? "sender" : "recipient"}, {"now_ms", *now}, {"overdue", items}};
    });
}

json NodeImpl::api_report_stats(const json& req) {
    auto from = uint_field(req, "from_ms", 0, UINT64_MAX);
    auto to = uint_field(req, "to_ms", 0, UINT64_MAX);
    if (!from.ok()) return fail(from.error());
    if (!to.ok()) return fail(to.error());
    if (*from && *to && *to <= *from) return fail("'to_ms' must be after 'from_ms'");
    return m_store->env().read([&](const storage::ReadTxn& t) {
        const auto s = m_catalog->stats(t, *from, *to);
        json agencies = json::object(), types = json::object(), dist = json::object();
        for (const auto& [a, c] : s.by_agency) agencies[a] = {{"sent", c.sent}, {"received", c.received}};
        for (const auto& [a, c] : s.by_type) types[a] = {{"sent", c.sent}, {"received", c.received}};
        for (const auto& [code, n] : s.status_distribution) dist[code] = n;
        return json{{"ok", true},
                    {"from_ms", *from},
                    {"to_ms", *to},
                    {"by_agency", agencies},
                    {"by_type", types},
                    {"with_due", s.with_due},
                    {"completed_on_time", s.completed_on_time},
                    {"on_time_rate", s.on_time_rate},
                    {"completed", s.completed},
                    {"median_completion_ms", s.median_completion_ms},
                    {"status_distribution", dist}};
    });
}

}  // namespace lienthong::node
