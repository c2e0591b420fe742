// The document systems of the national hub's API: loading them for the HTTP threads and the
// admin's `lienthong-admin vdxp add-system|list-systems|remove-system|rotate-secret`.
// A system from the config is changed in the config (its secret in its secret_file, which
// rotate-secret rewrites); one added by the admin lives in the vdxp_systems table with its
// secret in <data_dir>/vdxp/<systemid>.secret, outside the database and so outside backups.
#include <sys/stat.h>

#include "node/api_util.h"
#include "node/node_impl.h"

namespace lienthong::node {

Status NodeImpl::vdxp_load_systems(const NodeConfig& config) {
    std::vector<VdxpSystem> systems;
    for (const auto& s : config.vdxp.systems) {
        auto secret = read_secret_file(s.secret_file);
        if (!secret.ok()) return make_error("vdxp system '" + s.systemid + "': " + secret.error());
        systems.push_back({s.systemid, s.agency, *secret, s.secret_file, "config"});
    }
    const auto stored = m_store->env().read([&](const storage::ReadTxn& t) { return m_vdxp->systems(t); });
    for (const auto& s : stored) {
        if (std::any_of(systems.begin(), systems.end(), [&](const VdxpSystem& c) { return c.systemid == s.systemid; }))
            continue;  // the config's entry wins
        auto secret = read_secret_file(s.secret_file);
        if (!secret.ok()) {  // the others still work; this one is refused until mended
            m_log.error("vdxp_system_unusable", {{"system", s.systemid}, {"error", secret.error()}});
            continue;
        }
        systems.push_back({s.systemid, s.agency, *secret, s.secret_file, "admin"});
    }
    m_vdxp_systems->replace(std::move(systems));
    return ok_status();
}

void NodeImpl::api_vdxp_system(const Bytes& rid, const json& req) {
    const auto bad = [&](const std::string& e) { api_reply(rid, fail(e)); };
    auto action = string_field(req, "action", true);
    auto systemid = string_field(req, "systemid", false);
    auto given = string_field(req, "secret", false);
    auto user = request_user(req);
    for (const auto* f : {&action, &systemid, &given})
        if (!f->ok()) return bad(f->error());
    if (!user.ok()) return bad(user.error());
    if (*action == "list") {
        json out = json::array();
        for (const auto& s : m_vdxp_systems->all())
            out.push_back({{"systemid", s.systemid}, {"agency", s.agency}, {"source", s.source}, {"secret_file", s.secret_file}});
        return api_reply(rid, json{{"ok", true}, {"systems", out}, {"listen", m_config.vdxp.listen}});
    }
    if (auto st = check_vdxp_systemid(*systemid, "system id"); !st.ok()) return bad(st.error());
    const auto existing = m_vdxp_systems->find(*systemid);
    const std::string secret = given->empty() ? new_secret() : *given;
    if (auto st = check_secret(secret); !st.ok()) return bad(st.error());
    if (*action == "add" || *action == "rotate") {
        std::string file;
        if (*action == "add") {
            if (existing) return bad("system '" + *systemid + "' exists already (" + existing->source + "); use rotate-secret");
            const std::string dir = m_config.data_dir + "/vdxp";
            ::mkdir(dir.c_str(), 0700);
            file = dir + "/" + *systemid + ".secret";
        } else {
            if (!existing) return bad("no system '" + *systemid + "' (list them with 'lienthong-admin vdxp list-systems')");
            file = existing->secret_file;
        }
        if (auto st = write_secret_file(file, secret); !st.ok()) return bad(st.error());
        storage::VdxpSystemRecord rec{*systemid, m_config.agency, file, m_clock->now_ms()};
        const bool add = *action == "add";
        m_batch.add(
            [this, rec, add, user = *user](storage::WriteTxn& t) -> Status {
                if (add) LT_TRY(m_vdxp->put_system(t, rec));
                auto a = audit_event(add ? "vdxp_system_added" : "vdxp_secret_rotated");
                a.user = user;
                a.agency = rec.agency;
                a.detail = "system=" + rec.systemid;
                return audit(t, a);
            },
            [this, rid, rec, secret, add](bool ok, const std::string& error) {
                if (!ok) return api_reply(rid, fail("could not store system '" + rec.systemid + "': " + error));
                if (auto st = vdxp_load_systems(m_config); !st.ok()) m_log.error("vdxp_systems_unusable", {{"error", st.error()}});
                m_log.info(add ? "vdxp_system_added" : "vdxp_secret_rotated", {{"system", rec.systemid}});
                api_reply(rid, json{{"ok", true}, {"systemid", rec.systemid}, {"agency", rec.agency},
                                    {"secret", secret}, {"secret_file", rec.secret_file}});
            });
        return;
    }
    if (*action == "remove") {
        if (!existing) return bad("no system '" + *systemid + "' (list them with 'lienthong-admin vdxp list-systems')");
        if (existing->source == "config")
            return bad("system '" + *systemid + "' is listed in the config (vdxp.systems): remove it there and reload");
        const std::string id = *systemid, file = existing->secret_file;
        m_batch.add(
            [this, id, user = *user](storage::WriteTxn& t) -> Status {
                LT_TRY(m_vdxp->remove_system(t, id));
                auto a = audit_event("vdxp_system_removed");
                a.user = user;
                a.detail = "system=" + id;
                return audit(t, a);
            },
            [this, rid, id, file](bool ok, const std::string& error) {
                if (!ok) return api_reply(rid, fail("could not remove system '" + id + "': " + error));
                ::unlink(file.c_str());
                if (auto st = vdxp_load_systems(m_config); !st.ok()) m_log.error("vdxp_systems_unusable", {{"error", st.error()}});
                m_log.info("vdxp_system_removed", {{"system", id}});
                api_reply(rid, json{{"ok", true}, {"systemid", id}});
            });
        return;
    }
    bad("field 'action' must be add, list, remove or rotate, not '" + action->substr(0, 40) + "'");
}

}  // namespace lienthong::node
