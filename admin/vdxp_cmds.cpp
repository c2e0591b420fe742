// vdxp add-system | list-systems | remove-system | rotate-secret: the document systems that may
// use the national hub's API on this node (README "Connecting a document system").
#include <cstdio>
#include <fstream>

#include "admin/commands.h"

namespace lienthong::admin {

using nlohmann::json;

namespace {

// A secret the hub issued, from a file (one line), to keep an existing SDK configuration.
Result<std::string> secret_from(const std::string& path) {
    if (path.empty()) return std::string();
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return make_error("cannot read --secret-file '" + path + "'");
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

void print_system(const json& r, bool new_secret) {
    std::printf("system %s acts for %s\n", r.at("systemid").get<std::string>().c_str(), r.at("agency").get<std::string>().c_str());
    std::printf("secret file: %s\n", r.at("secret_file").get<std::string>().c_str());
    if (new_secret)
        std::printf("secret: %s\n(put it in the document system's collaboration.properties as 'secret'; it is not shown again)\n",
                    r.at("secret").get<std::string>().c_str());
}

}  // namespace

void add_vdxp(CLI::App& app, Globals& g, int& rc) {
    auto* vdxp = app.add_subcommand("vdxp", "document systems that use the national hub's API (the VDXP SDK) on this node");
    vdxp->require_subcommand(1);

    const auto change = [&g, &rc](const char* action, std::shared_ptr<std::string> id, std::shared_ptr<std::string> file) {
        auto secret = secret_from(*file);
        if (!secret.ok()) {
            rc = report_error(secret.error());
            return;
        }
        json req{{"op", "vdxp_system"}, {"action", action}, {"systemid", *id}};
        if (!secret->empty()) req["secret"] = *secret;
        auto r = call_node(g, req);
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        print_system(*r, secret->empty());
    };

    auto* add = vdxp->add_subcommand("add-system", "let a document system use the API; prints its new secret");
    auto add_id = std::make_shared<std::string>();
    auto add_file = std::make_shared<std::string>();
    add->add_option("systemid", *add_id, "the system's id (the SDK's systemid), e.g. 000.00.00.H41 or IOFFICE-01")->required();
    add->add_option("--secret-file", *add_file, "keep the secret the hub issued, read from this file (one line)");
    add->add_flag("--json", g.json, "print JSON");
    add->callback([change, add_id, add_file] { change("add", add_id, add_file); });

    auto* rot = vdxp->add_subcommand("rotate-secret", "give a system a new secret (the old one stops working at once)");
    auto rot_id = std::make_shared<std::string>();
    auto rot_file = std::make_shared<std::string>();
    rot->add_option("systemid", *rot_id, "the system's id")->required();
    rot->add_option("--secret-file", *rot_file, "use the secret in this file instead of a new random one");
    rot->add_flag("--json", g.json, "print JSON");
    rot->callback([change, rot_id, rot_file] { change("rotate", rot_id, rot_file); });

    auto* rm = vdxp->add_subcommand("remove-system", "stop a system added with add-system from using the API");
    auto rm_id = std::make_shared<std::string>();
    rm->add_option("systemid", *rm_id, "the system's id")->required();
    rm->callback([&g, &rc, rm_id] {
        auto r = call_node(g, {{"op", "vdxp_system"}, {"action", "remove"}, {"systemid", *rm_id}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        std::printf("system %s removed\n", rm_id->c_str());
    });

    auto* list = vdxp->add_subcommand("list-systems", "the systems that may use the API, and where it listens");
    list->add_flag("--json", g.json, "print JSON");
    list->callback([&g, &rc] {
        auto r = call_node(g, {{"op", "vdxp_system"}, {"action", "list"}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        const std::string listen = r->value("listen", "");
        std::printf("API: %s\n", listen.empty() ? "off (set vdxp.listen in the config)" : ("http://" + listen).c_str());
        std::printf("%-32s %-16s %-7s %s\n", "SYSTEM", "AGENCY", "SOURCE", "SECRET FILE");
        for (const auto& s : r->at("systems"))
            std::printf("%-32s %-16s %-7s %s\n", s.at("systemid").get<std::string>().c_str(),
                        s.at("agency").get<std::string>().c_str(), s.at("source").get<std::string>().c_str(),
                        s.at("secret_file").get<std::string>().c_str());
    });
}

}  // namespace lienthong::admin
