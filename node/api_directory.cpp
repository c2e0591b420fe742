// The directory's local API operations: directory_import, directory_list (node/API.md).
#include <algorithm>

#include "node/api_util.h"
#include "node/node_impl.h"

namespace lienthong::node {

using protocol::DirRecordKind;

void NodeImpl::api_directory_import(const Bytes& rid, const json& req) {
    auto data = bytes_field(req, "data");
    if (!data.ok()) return api_reply(rid, fail(data.error()));
    auto blocks = protocol::dearmor_all(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()));
    if (!blocks.ok()) return api_reply(rid, fail(blocks.error()));
    std::vector<std::pair<DirRecordKind, Bytes>> records;
    for (auto& b : *blocks) {
        if (b.label == protocol::NodeRecord::kLabel)
            records.emplace_back(DirRecordKind::node, std::move(b.data));
        else if (b.label == protocol::IssuerRecord::kLabel)
            records.emplace_back(DirRecordKind::issuer, std::move(b.data));
        else if (b.label == protocol::Revocation::kLabel)
            records.emplace_back(DirRecordKind::revocation, std::move(b.data));
        else if (b.label == protocol::CrossTrust::kLabel)
            records.emplace_back(DirRecordKind::cross_trust, std::move(b.data));
        else
            return api_reply(rid, fail("'" + b.label + "' is not a directory record (node record, issuer record, "
                                       "revocation or cross-trust record); nothing was imported"));
    }
    if (records.empty()) return api_reply(rid, fail("no records in the data; nothing was imported"));
    auto user = request_user(req);
    if (!user.ok()) return api_reply(rid, fail(user.error()));
    auto ev = audit_event("admin_command");
    ev.user = *user;
    ev.detail = "directory import of " + std::to_string(records.size()) + " records";
    audit_later(std::move(ev));
    auto result = std::make_shared<json>(dir_accept(std::move(records), "admin", true));
    m_batch.after.push_back([this, rid, result](bool ok, const std::string& error) {
        if (!ok) return api_reply(rid, fail("could not store the records: " + error));
        json out = *result;
        const auto& refused = out["refused"];
        // Nothing usable in it: a failure, with the first reason, so a client checking `ok` sees it.
        if (out["added"] == 0 && out["known"] == 0 && !refused.empty()) {
            std::string e = "no record imported: " + refused[0]["kind"].get<std::string>() + ": " +
                            refused[0]["error"].get<std::string>();
            if (refused.size() > 1) e += " (and " + std::to_string(refused.size() - 1) + " more refused)";
            out["ok"] = false;
            out["error"] = e;
            return api_reply(rid, out);
        }
        out["ok"] = true;
        api_reply(rid, out);
    });
}

json NodeImpl::api_directory_list(const json& req) {
    auto agency = string_field(req, "agency", false);
    if (!agency.ok()) return fail(agency.error());
    const uint64_t now = m_clock->now_ms();
    const auto view = dir_view(now);
    json nodes = json::array();
    for (const auto& [id, r] : m_dir.nodes) {
        if (!agency->empty() && r.agency != *agency) continue;
        const auto v = protocol::verify_node_record(r, view);
        const auto cur = m_dir.current.find(r.agency);
        const bool in_use = cur != m_dir.current.end() && cur->second.id() == id;
        json chain = json::array();
        if (v.ok())
            for (const auto& i : v->issuers) chain.push_back(i.agency + " (" + protocol::short_key_id(protocol::key_id(i.key)) + ")");
        nodes.push_back({{"agency", r.agency},
                         {"name", r.name},
                         {"serial", r.serial},
                         {"id", protocol::to_hex(id)},
                         {"endpoints", r.endpoints},
                         {"parent", r.parent},
                         {"valid_from_ms", r.valid_from_ms},
                         {"valid_until_ms", r.valid_until_ms},
                         {"state", v.ok() ? (in_use ? "current" : "superseded") : std::string(protocol::failure_name(v.error().failure))},
                         {"error", v.ok() ? "" : v.error().message},
                         {"root", v.ok() ? v->anchor.root.name : ""},
                         {"chain", chain},
                         {"linked", m_links.count(r.agency) > 0}});
    }
    json issuers = json::array();
    for (const auto& i : m_dir.issuers) {
        if (!agency->empty() && i.agency != *agency) continue;
        const auto v = protocol::verify_issuer_record(i, view);
        issuers.push_back({{"agency", i.agency}, {"name", i.name}, {"prefix", i.prefix}, {"serial", i.serial},
                           {"max_depth", i.max_depth}, {"valid_until_ms", i.valid_until_ms},
                           {"state", v.ok() ? "valid" : std::string(protocol::failure_name(v.error().failure))}});
    }
    json revs = json::array();
    for (const auto& r : m_dir.revocations) {
        if (!agency->empty() && r.agency != *agency) continue;
        revs.push_back({{"agency", r.agency}, {"serial", r.serial}, {"revoked_at_ms", r.revoked_at_ms}, {"reason", r.reason}});
    }
    json federations = json::array();
    for (size_t i = 0; i < m_dir.cross.size(); ++i) {
        const auto& c = m_dir.cross[i];
        if (!agency->empty()) break;
        const bool deciding = std::find(m_dir.cross_deciding.begin(), m_dir.cross_deciding.end(), i) !=
                              m_dir.cross_deciding.end();
        std::string state = !deciding      ? "superseded"
                            : c.withdrawn  ? "withdrawn"
                            : now < c.valid_from_ms ? "not yet valid"
                            : now >= c.valid_until_ms ? "expired"
                                                      : "trusted";
        federations.push_back({{"federation", c.root.name}, {"root", c.root.to_line()}, {"prefixes", c.prefixes},
                               {"serial", c.serial}, {"valid_from_ms", c.valid_from_ms},
                               {"valid_until_ms", c.valid_until_ms}, {"state", state}});
    }
    return json{{"ok", true}, {"digest", protocol::to_hex(m_dir.digest)}, {"records", m_dir.wires.size()},
                {"offered", m_dir.gossip.size()},
                {"nodes", nodes}, {"issuers", issuers}, {"revocations", revs}, {"federations", federations}};
}

}  // namespace lienthong::node
