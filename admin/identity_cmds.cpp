// init, id, status
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "admin/commands.h"
#include "node/config.h"
#include "node/keyfile.h"

namespace lienthong::admin {

using nlohmann::json;

namespace {
// init --user: the key file becomes the service user's (the node refuses a key others can
// read, so it must own it), the config root's and readable by the user's group.
Status give_to_service_user(const std::string& user, const std::string& key_path, const std::string& cfg_path) {
    const passwd* pw = ::getpwnam(user.c_str());
    if (!pw) return make_error("--user: no user '" + user + "' on this system (the Debian package creates 'lienthong')");
    if (::chown(key_path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        return make_error("cannot give '" + key_path + "' to user '" + user + "': " + std::strerror(errno) +
                          " (run init as root)");
    if (::chown(cfg_path.c_str(), 0, pw->pw_gid) != 0 || ::chmod(cfg_path.c_str(), 0640) != 0)
        return make_error("cannot make '" + cfg_path + "' readable by group of '" + user + "': " + std::strerror(errno) +
                          " (run init as root)");
    return ok_status();
}

// A path written into the YAML skeleton between double quotes.
Status check_skeleton_path(const std::string& path, const std::string& option) {
    if (path.empty()) return make_error(option + ": must not be empty");
    for (const unsigned char c : path)
        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\')
            return make_error(option + ": a path with a quote, a backslash or a control character is not accepted");
    return ok_status();
}
}  // namespace

void add_init(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("init", "create this node's keys and a commented config skeleton");
    struct Opts {
        std::string agency, name, listen = "tcp://127.0.0.1:7001", dir = ".", data_dir = "data", user;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--agency", o->agency, "agency code (mã định danh), e.g. 000.00.31.H14")->required();
    cmd->add_option("--name", o->name, "display name of the agency");
    cmd->add_option("--listen", o->listen, "where peers will connect (default tcp://127.0.0.1:7001)");
    cmd->add_option("--dir", o->dir, "directory for node.yaml and node.key (default .)");
    cmd->add_option("--data-dir", o->data_dir,
                    "the node's database directory, absolute or relative to --dir (default data; the Debian "
                    "package's is /var/lib/lienthong)");
    cmd->add_option("--user", o->user,
                    "give the key file to this user and make the config readable by its group (as root; the "
                    "Debian package runs the node as 'lienthong')");
    cmd->callback([&g, &rc, o] {
        (void)g;
        if (auto st = protocol::check_agency(o->agency, "--agency"); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        if (auto st = node::check_endpoint(o->listen, true, "--listen"); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        if (auto st = check_skeleton_path(o->data_dir, "--data-dir"); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        std::error_code ec;
        std::filesystem::create_directories(o->dir, ec);
        const std::string key_path = o->dir + "/node.key", cfg_path = o->dir + "/node.yaml";
        if (std::filesystem::exists(cfg_path)) {
            rc = report_error("'" + cfg_path + "' already exists; refusing to overwrite it");
            return;
        }
        const auto id = protocol::SecretIdentity::generate(o->agency);
        if (auto st = node::write_key_file(key_path, id); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        std::ofstream out(cfg_path);
        out << node::config_skeleton(o->agency, o->name.empty() ? o->agency : o->name, o->listen, o->data_dir);
        out.close();
        if (!out) {
            rc = report_error("cannot write '" + cfg_path + "'");
            return;
        }
        if (!o->user.empty()) {
            if (auto st = give_to_service_user(o->user, key_path, cfg_path); !st.ok()) {
                rc = report_error(st.error());
                return;
            }
        }
        std::printf("created %s (secret, mode 0600) and %s\n", key_path.c_str(), cfg_path.c_str());
        std::printf("public identity (give it to each peer's admin):\n  %s\n", id.pub.to_line().c_str());
        std::printf("next: add peers to %s, then run: lienthong-node --config %s\n", cfg_path.c_str(), cfg_path.c_str());
    });
}

void add_id(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("id", "print this node's public identity, ready to paste into a peer's config");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc] {
        auto config = node::load_config(g.config_path);
        if (!config.ok()) {
            rc = report_error(config.error());
            return;
        }
        auto id = node::load_key_file(config->key_file);
        if (!id.ok()) {
            rc = report_error(id.error());
            return;
        }
        const std::string line = id->pub.to_line();
        std::string endpoint = config->listen;
        if (auto p = endpoint.find("://*:"); p != std::string::npos) endpoint.replace(p + 3, 1, "<this-host>");
        if (g.json) {
            print_json(json{{"agency", id->pub.agency}, {"identity", line}, {"endpoint", endpoint}});
            return;
        }
        std::printf("%s\n\n# for a peer's node.yaml, under 'peers:'\n", line.c_str());
        std::printf("  - agency: \"%s\"\n    endpoint: \"%s\"\n    identity: \"%s\"\n", id->pub.agency.c_str(),
                    endpoint.c_str(), line.c_str());
    });
}

void add_key(CLI::App& app, Globals& g, int& rc) {
    auto* key = app.add_subcommand("key", "manage this node's key pairs");
    key->require_subcommand(1);
    auto* rotate = key->add_subcommand(
        "rotate", "make new key pairs; earlier keys stay in the key file to open and verify what was sent under them");
    rotate->callback([&g, &rc] {
        auto config = node::load_config(g.config_path);
        if (!config.ok()) {
            rc = report_error(config.error());
            return;
        }
        // A running node keeps its keys until it restarts; say so rather than guess.
        const bool running = call_node(g, {{"op", "status"}}).ok();
        auto old = node::load_key_file(config->key_file);
        if (!old.ok()) {
            rc = report_error(old.error());
            return;
        }
        const auto fresh = protocol::SecretIdentity::generate(old->pub.agency);
        if (auto st = node::rotate_key_file(config->key_file, fresh); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        std::printf("rotated the keys of %s in %s (earlier keys kept, marked 'previous')\n", fresh.pub.agency.c_str(),
                    config->key_file.c_str());
        std::printf("new public identity:\n  %s\n", fresh.pub.to_line().c_str());
        std::printf("next: 'lienthong-admin enroll request' and have the new record issued (serial above the current "
                    "one), 'lienthong-admin enroll import' it%s; pinned peers must update this identity line.\n",
                    running ? ", then restart the node (it is running with the old keys)" : ", then start the node");
    });
}

void add_reload(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand(
        "reload", "make the running node re-read its config (as SIGHUP): log_level, confidential_to, retry, peers");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc] {
        auto r = call_node(g, {{"op", "reload"}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        const auto list = [](const json& a) {
            std::string out;
            for (const auto& k : a) out += (out.empty() ? "" : ", ") + k.get<std::string>();
            return out.empty() ? std::string("nothing") : out;
        };
        std::printf("applied: %s\n", list((*r)["applied"]).c_str());
        if (!(*r)["restart_needed"].empty())
            std::printf("changed, needs a restart: %s\n", list((*r)["restart_needed"]).c_str());
    });
}

void add_status(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("status", "show whether the node runs, its queues and counters");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc] {
        auto r = call_node(g, {{"op", "status"}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        const auto& j = *r;
        std::printf("agency:          %s (%s)\n", j["agency"].get<std::string>().c_str(), j["name"].get<std::string>().c_str());
        std::printf("listen:          %s\n", j["listen"].get<std::string>().c_str());
        std::printf("uptime:          %llu s\n", static_cast<unsigned long long>(j["uptime_ms"].get<uint64_t>() / 1000));
        std::printf("peers:           %llu (%llu connected)\n", static_cast<unsigned long long>(j["peers"].get<uint64_t>()),
                    static_cast<unsigned long long>(j["peers_connected"].get<uint64_t>()));
        std::printf("outbox pending:  %llu\n", static_cast<unsigned long long>(j["outbox_pending"].get<uint64_t>()));
        std::printf("inbox total:     %llu\n", static_cast<unsigned long long>(j["inbox_total"].get<uint64_t>()));
        std::printf("counters:        %s\n", j["counters"].dump().c_str());
    });
}

}  // namespace lienthong::admin
