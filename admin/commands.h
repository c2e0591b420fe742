// lienthong-admin subcommands: one function per subcommand, each registered with its own
// options and usage text. They talk to the node only through node/api_client, except the
// database's maintenance (backup, restore, verify, compact), which reads its files.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "protocol/result.h"

namespace lienthong::admin {

struct Globals {
    std::string config_path = "node.yaml";
    bool json = false;
};

// Each add_* registers one subcommand; its callback sets the exit code.
void add_init(CLI::App& app, Globals& g, int& rc);
void add_id(CLI::App& app, Globals& g, int& rc);
void add_status(CLI::App& app, Globals& g, int& rc);
void add_reload(CLI::App& app, Globals& g, int& rc);
void add_key(CLI::App& app, Globals& g, int& rc);
void add_peer(CLI::App& app, Globals& g, int& rc);
void add_transfers(CLI::App& app, Globals& g, int& rc);
void add_send(CLI::App& app, Globals& g, int& rc);
void add_inbox(CLI::App& app, Globals& g, int& rc);
void add_outbox(CLI::App& app, Globals& g, int& rc);
void add_show(CLI::App& app, Globals& g, int& rc);
void add_export(CLI::App& app, Globals& g, int& rc);
void add_receipt(CLI::App& app, Globals& g, int& rc);
// Official documents (official_cmds.cpp).
void add_import(CLI::App& app, Globals& g, int& rc);
void add_set_status(CLI::App& app, Globals& g, int& rc);
void add_report(CLI::App& app, Globals& g, int& rc);
// The filters inbox and outbox share.
struct Filters {
    std::string agency, type, since, until, status, text;
    bool overdue = false;
    int min_urgency = -1;
};
void add_filter_options(CLI::App* cmd, Filters& f);
Status apply_filters(const Filters& f, nlohmann::json& req);
void print_found(const nlohmann::json& response);
// Offline root-of-trust commands (trust_cmds.cpp, trust_directory_cmds.cpp): no node needed.
void add_root(CLI::App& app, Globals& g, int& rc);
void add_issuer(CLI::App& app, Globals& g, int& rc);
void add_enroll(CLI::App& app, Globals& g, int& rc);
void add_revoke(CLI::App& app, Globals& g, int& rc);
void add_directory(CLI::App& app, Globals& g, int& rc);
// root trust | untrust, under the root subcommand (federation_cmds.cpp).
void add_root_federation(CLI::App* root, int& rc);

// Database maintenance (maintenance_cmds.cpp): these read the database files directly.
void add_backup(CLI::App& app, Globals& g, int& rc);
void add_restore(CLI::App& app, Globals& g, int& rc);
void add_verify(CLI::App& app, Globals& g, int& rc);
void add_compact(CLI::App& app, Globals& g, int& rc);
// The audit log (audit_cmds.cpp): show, verify, publish, export, check.
void add_audit(CLI::App& app, Globals& g, int& rc);
void add_vdxp(CLI::App& app, Globals& g, int& rc);  // vdxp_cmds.cpp

// Shared helpers (format.cpp).
Result<nlohmann::json> call_node(const Globals& g, const nlohmann::json& request);
std::string current_user();  // the OS user lienthong-admin runs as, for the audit log
int report_error(const std::string& message);  // prints "lienthong-admin: <message>", returns 1
void print_json(const nlohmann::json& j);       // binary fields are left out
std::string format_time(uint64_t ms);           // "2026-11-27 09:11:11Z", or "-" for 0
std::string format_bytes(uint64_t n);
Result<std::string> read_file(const std::string& path);
Status write_all(int fd, const void* data, size_t size);
Status fsync_path(const std::string& path, bool directory);  // a file, or a directory's entries

}  // namespace lienthong::admin
