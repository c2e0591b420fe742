// root init|show, issuer init|delegate, enroll request|issue|import, revoke (directory
// commands are in trust_directory_cmds.cpp).
//
// Commands of the federation's root of trust (protocol/trust.h). All but 'enroll import' are
// offline: they never talk to a running node. 'enroll import' hands the node its own record
// (over the local API), which it then announces to its peers by gossip. Secret keys are written
// with mode 0600 and never overwritten; a secret key file that others can read is refused. Records
// are written as armored text, or to stdout with `--out -`.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "admin/commands.h"
#include "admin/trust_files.h"
#include "node/config.h"
#include "node/keyfile.h"
#include "protocol/trust.h"

namespace lienthong::admin {

using nlohmann::json;
using namespace lienthong::protocol;

namespace {


// What a signing key may grant: everything for a root; for an issuer, what its own record
// (from --issuer-record, the highest serial valid now) delegates to it.
struct Authority {
    AuthoritySecret key;
    std::optional<IssuerRecord> record;
};

Result<Authority> load_authority(const std::string& key_path, const std::string& record_path,
                                 uint64_t now) {
    Authority a;
    LT_ASSIGN(a.key, load_authority_key(key_path));
    if (a.key.pub.role == AuthorityRole::root) return a;
    if (record_path.empty())
        return make_error("'" + key_path +
                          "' is an issuer key: give its issuer record with --issuer-record");
    LT_ASSIGN(auto records, load_issuer_records(record_path));
    for (const auto& r : records)
        if (r.key == a.key.pub.key && r.valid_from_ms <= now && now < r.valid_until_ms &&
            (!a.record || r.serial > a.record->serial))
            a.record = r;
    if (!a.record)
        return make_error("'" + record_path +
                          "' holds no issuer record for this key that is valid now");
    return a;
}

// The validity a new record may have under `a`: [now, now + days), cut to the issuer's end.
std::pair<uint64_t, uint64_t> validity(const Authority& a, uint64_t now, uint64_t days) {
    uint64_t until = now + days * kDayMs;
    if (a.record && until > a.record->valid_until_ms) {
        until = a.record->valid_until_ms;
        std::fprintf(stderr, "note: validity shortened to the end of your issuer record, %s\n",
                     format_time(until).c_str());
    }
    return {now, until};
}

// The node record in `text` meant for this node (agency and both keys match `self`), checked
// before the node sees it. Issuer records (the record's chain) may come with it.
Result<NodeRecord> own_record_in(const std::string& file, const std::string& text,
                                 const PublicIdentity& self) {
    auto blocks = dearmor_all(text);
    if (!blocks.ok()) return make_error("'" + file + "': " + blocks.error());
    std::optional<NodeRecord> mine;
    for (const auto& b : *blocks) {
        if (b.label == IssuerRecord::kLabel) continue;
        if (b.label != NodeRecord::kLabel)
            return make_error("'" + file + "' holds a '" + b.label +
                              "'; give this node's record (and its issuer records) only, or use "
                              "'directory import' for other records");
        if (mine)
            return make_error("'" + file +
                              "' holds more than one node record; give only this node's own");
        auto r = NodeRecord::decode(b.data);
        if (!r.ok()) return make_error("'" + file + "': " + r.error());
        mine = std::move(r).value();
    }
    if (!mine) return make_error("'" + file + "' holds no node record");
    if (mine->agency != self.agency)
        return make_error("'" + file + "' is the record of '" + mine->agency +
                          "', not of this node ('" + self.agency + "')");
    if (mine->sign_key != self.sign_key || mine->box_key != self.box_key)
        return make_error(
            "'" + file +
            "' was issued for other keys than this node's (an old request, or another "
            "node's): run 'enroll request' again and have it issued");
    return *mine;
}

}  // namespace

void add_root(CLI::App& app, Globals& g, int& rc) {
    (void)g;
    auto* root = app.add_subcommand("root", "create or show a federation root key (kept offline)");
    root->require_subcommand(1);

    auto* init = root->add_subcommand(
        "init", "create a federation root key; prints the line every node trusts");
    auto name = std::make_shared<std::string>();
    auto dir = std::make_shared<std::string>(".");
    init->add_option("--name", *name, "federation name, e.g. hagiang")->required();
    init->add_option("--out", *dir, "directory for root.key (secret) and root.pub (default .)");
    init->callback([&rc, name, dir] {
        if (!is_valid_agency(*name)) {
            rc = report_error("--name '" + printable(*name) +
                              "' is not a valid federation name (1-64 of A-Z a-z 0-9 . _ -)");
            return;
        }
        std::error_code ec;
        std::filesystem::create_directories(*dir, ec);
        const auto key = AuthoritySecret::generate(AuthorityRole::root, *name);
        const std::string key_path = *dir + "/root.key", pub_path = *dir + "/root.pub";
        if (auto st = write_file(key_path, key.to_text(), true); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        if (auto st = write_file(pub_path, key.pub.to_line() + "\n", false); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        std::printf("created %s (secret, mode 0600: keep it offline) and %s\n", key_path.c_str(),
                    pub_path.c_str());
        std::printf("federation root (give this line to every node of the federation):\n  %s\n",
                    key.pub.to_line().c_str());
    });

    auto* show = root->add_subcommand("show", "print the public line of a root or issuer key file");
    auto key_path = std::make_shared<std::string>("root.key");
    show->add_option("--key", *key_path, "the secret key file (default ./root.key)");
    show->callback([&rc, key_path] {
        auto key = load_authority_key(*key_path);
        if (!key.ok()) {
            rc = report_error(key.error());
            return;
        }
        std::printf("%s\nkey id: %s\n", key->pub.to_line().c_str(),
                    short_key_id(key->pub.id()).c_str());
    });
    add_root_federation(root, rc);
}

void add_issuer(CLI::App& app, Globals& g, int& rc) {
    (void)g;
    auto* issuer =
        app.add_subcommand("issuer", "create an issuer key, or delegate enrollment to one");
    issuer->require_subcommand(1);

    auto* init = issuer->add_subcommand(
        "init", "create an issuer key for an agency that will enroll others");
    struct InitOpts {
        std::string agency, dir = ".";
    };
    auto io = std::make_shared<InitOpts>();
    init->add_option("--agency", io->agency, "the issuing agency's code, e.g. 000.00.31.H14")
        ->required();
    init->add_option("--out", io->dir, "directory for issuer.key (default .)");
    init->callback([&rc, io] {
        if (auto st = check_agency(io->agency, "--agency"); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        std::error_code ec;
        std::filesystem::create_directories(io->dir, ec);
        const auto key = AuthoritySecret::generate(AuthorityRole::issuer, io->agency);
        const std::string path = io->dir + "/issuer.key";
        if (auto st = write_file(path, key.to_text(), true); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        std::printf("created %s (secret, mode 0600)\n", path.c_str());
        std::printf(
            "issuer key (give this line to the root or parent issuer for 'issuer delegate'):\n  "
            "%s\n",
            key.pub.to_line().c_str());
    });

    auto* del = issuer->add_subcommand(
        "delegate", "sign an issuer record: lets a key enroll agencies under a prefix");
    struct DelegateOpts {
        std::string key, issuer_record, pubkey, agency, name, prefix, out;
        bool prefix_given = false;
        uint64_t depth = 0, serial = 0, valid_days = 0;
    };
    auto o = std::make_shared<DelegateOpts>();
    del->add_option("--key", o->key, "the root's (or a parent issuer's) secret key file")
        ->required();
    del->add_option("--issuer-record", o->issuer_record,
                    "the parent issuer's own record, when --key is an issuer key");
    del->add_option("--pubkey", o->pubkey,
                    "the new issuer's 'lienthong-issuer v1 ...' line (from 'issuer init')")
        ->required();
    del->add_option("--agency", o->agency, "the new issuer's agency code (default: from --pubkey)");
    del->add_option("--name", o->name, "display name of the new issuer (default: its agency code)");
    del->add_option(
           "--prefix", o->prefix,
           "agency code prefix it may enroll, e.g. 000.00.31.H14. (\"\" = every agency, root only)")
        ->required();
    del->add_option("--depth", o->depth,
                    "further levels of issuers it may delegate (default 0: enrolls nodes only)")
        ->check(CLI::Range(0, static_cast<int>(kMaxDelegationDepth)));
    del->add_option("--serial", o->serial,
                    "serial of this record, higher than any earlier one for the issuer")
        ->required()
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
    del->add_option("--valid-days", o->valid_days, "days the delegation is valid, from now")
        ->required()
        ->check(CLI::Range(1, 36500));
    del->add_option("--out", o->out, "file for the armored issuer record ('-' for stdout)")
        ->required();
    del->callback([&rc, o] {
        const uint64_t now = now_ms();
        auto pub = AuthorityKey::from_line(o->pubkey);
        if (!pub.ok() || pub->role != AuthorityRole::issuer) {
            rc = report_error("--pubkey: " + (pub.ok()
                                                  ? std::string("a root key cannot be delegated to")
                                                  : pub.error()));
            return;
        }
        if (!o->agency.empty() && o->agency != pub->name) {
            rc = report_error("--agency '" + o->agency +
                              "' differs from the agency in --pubkey, '" + pub->name + "'");
            return;
        }
        auto a = load_authority(o->key, o->issuer_record, now);
        if (!a.ok()) {
            rc = report_error(a.error());
            return;
        }
        if (a->record) {
            const IssuerRecord& p = *a->record;
            if (o->prefix.empty() || !prefix_covers(p.prefix, o->prefix)) {
                rc = report_error("--prefix '" + o->prefix +
                                  "' is not inside your own delegated prefix '" + p.prefix + "'");
                return;
            }
            if (p.max_depth == 0) {
                rc = report_error(
                    "your issuer record (depth 0) lets you enroll nodes but not delegate to other "
                    "issuers");
                return;
            }
            if (o->depth >= p.max_depth) {
                rc = report_error("--depth " + std::to_string(o->depth) +
                                  " is too deep: your record allows at most " +
                                  std::to_string(p.max_depth - 1));
                return;
            }
        }
        const auto [from, until] = validity(*a, now, o->valid_days);
        IssuerRecord r;
        r.agency = pub->name;
        r.name = o->name.empty() ? pub->name : o->name;
        r.key = pub->key;
        r.prefix = o->prefix;
        r.max_depth = o->depth;
        r.serial = o->serial;
        r.valid_from_ms = from;
        r.valid_until_ms = until;
        auto signed_r = sign_issuer_record(r, a->key.secret);
        if (!signed_r.ok()) {
            rc = report_error(signed_r.error());
            return;
        }
        if (auto st = write_record(o->out, signed_r->armor()); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        if (o->out != "-")
            std::printf(
                "issuer record for %s (serial %llu): prefix '%s', depth %llu, valid until %s, "
                "written to %s\n",
                r.agency.c_str(), static_cast<unsigned long long>(r.serial), r.prefix.c_str(),
                static_cast<unsigned long long>(r.max_depth), format_time(until).c_str(),
                o->out.c_str());
    });
}

void add_enroll(CLI::App& app, Globals& g, int& rc) {
    auto* enroll = app.add_subcommand("enroll", "ask for, issue, or install a signed node record");
    enroll->require_subcommand(1);

    auto* req = enroll->add_subcommand(
        "request", "write this node's signed enrollment request (uses --config)");
    struct RequestOpts {
        std::vector<std::string> endpoints;
        std::string parent, out;
    };
    auto ro = std::make_shared<RequestOpts>();
    req->add_option("--endpoint", ro->endpoints,
                    "where peers reach this node, e.g. tcp://10.1.2.3:7001 (repeatable; default: "
                    "the config's listen address)");
    req->add_option("--parent", ro->parent,
                    "the parent agency's code, e.g. the district of a commune");
    req->add_option("--out", ro->out, "file for the armored request ('-' for stdout)")->required();
    req->callback([&g, &rc, ro] {
        auto config = node::load_config(g.config_path);
        if (!config.ok()) {
            rc = report_error(config.error() + " (give the node's config with --config)");
            return;
        }
        auto id = node::load_key_file(config->key_file);
        if (!id.ok()) {
            rc = report_error(id.error());
            return;
        }
        EnrollmentRequest r;
        r.agency = id->pub.agency;
        r.name = config->name.empty() ? config->agency : config->name;
        r.sign_key = id->pub.sign_key;
        r.box_key = id->pub.box_key;
        r.endpoints = ro->endpoints;
        if (r.endpoints.empty()) {
            if (config->listen.find("://*:") != std::string::npos) {
                rc = report_error("the config listens on '" + config->listen +
                                  "'; give the address peers use with --endpoint");
                return;
            }
            r.endpoints = {config->listen};
        }
        r.parent = ro->parent;
        r.created_ms = now_ms();
        auto s = sign_enrollment_request(r, id->sign_secret);
        if (!s.ok()) {
            rc = report_error(s.error());
            return;
        }
        if (auto st = write_record(ro->out, s->armor()); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        if (ro->out != "-")
            std::printf(
                "enrollment request for %s written to %s; give it to your issuer (USB stick or "
                "email)\n",
                r.agency.c_str(), ro->out.c_str());
    });

    auto* issue = enroll->add_subcommand(
        "issue", "check an enrollment request and sign its node record (root or issuer)");
    struct IssueOpts {
        std::string request, key, issuer_record, out;
        uint64_t serial = 0, valid_days = 0;
    };
    auto io = std::make_shared<IssueOpts>();
    issue->add_option("request", io->request, "the request file from 'enroll request'")->required();
    issue->add_option("--key", io->key, "the root's or issuer's secret key file")->required();
    issue->add_option("--issuer-record", io->issuer_record,
                      "your issuer record, when --key is an issuer key");
    issue
        ->add_option("--serial", io->serial,
                     "serial of the record, higher than any earlier one for the agency")
        ->required()
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 62));
    issue->add_option("--valid-days", io->valid_days, "days the record is valid, from now")
        ->required()
        ->check(CLI::Range(1, 36500));
    issue->add_option("--out", io->out, "file for the armored node record ('-' for stdout)")
        ->required();
    issue->callback([&rc, io] {
        const uint64_t now = now_ms();
        auto text = read_file(io->request);
        if (!text.ok()) {
            rc = report_error(text.error());
            return;
        }
        auto req = EnrollmentRequest::from_armor(*text);
        if (!req.ok()) {
            rc = report_error("'" + io->request + "': " + req.error());
            return;
        }
        if (auto st = verify_enrollment_request(*req); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        auto a = load_authority(io->key, io->issuer_record, now);
        if (!a.ok()) {
            rc = report_error(a.error());
            return;
        }
        if (a->record && !prefix_covers(a->record->prefix, req->agency)) {
            rc = report_error("agency '" + req->agency + "' is outside your delegated prefix '" +
                              a->record->prefix +
                              "'; the request must go to the issuer responsible for it");
            return;
        }
        const auto [from, until] = validity(*a, now, io->valid_days);
        auto rec = sign_node_record(node_record_for(*req, io->serial, from, until), a->key.secret);
        if (!rec.ok()) {
            rc = report_error(rec.error());
            return;
        }
        if (auto st = write_record(io->out, rec->armor()); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        if (io->out != "-")
            std::printf("node record for %s (%s), serial %llu, valid until %s, written to %s\n",
                        rec->agency.c_str(), rec->name.c_str(),
                        static_cast<unsigned long long>(rec->serial), format_time(until).c_str(),
                        io->out.c_str());
    });

    auto* imp = enroll->add_subcommand(
        "import", "install this node's issued record in the running node, which announces it");
    auto file = std::make_shared<std::string>();
    imp->add_option("file", *file,
                    "the node record from 'enroll issue', with its issuer records if any")
        ->required();
    imp->callback([&g, &rc, file] {
        auto config = node::load_config(g.config_path);
        if (!config.ok()) {
            rc = report_error(config.error() + " (give the node's config with --config)");
            return;
        }
        auto id = node::load_key_file(config->key_file);
        if (!id.ok()) {
            rc = report_error(id.error());
            return;
        }
        auto text = read_file(*file);
        if (!text.ok()) {
            rc = report_error(text.error());
            return;
        }
        auto mine = own_record_in(*file, *text, id->pub);
        if (!mine.ok()) {
            rc = report_error(mine.error());
            return;
        }
        auto r = call_node(
            g, {{"op", "directory_import"},
                {"data", json::binary(std::vector<uint8_t>(text->begin(), text->end()))}});
        if (!r.ok()) {
            rc = report_error(*file + ": " + r.error());
            return;
        }
        for (const auto& x : (*r)["refused"]) {
            rc = report_error(*file + ": refused " + x["kind"].get<std::string>() + ": " +
                              x["error"].get<std::string>());
        }
        if (rc != 0) return;
        // What the node now makes of it: in use, or superseded by a higher serial it holds.
        auto list = call_node(g, {{"op", "directory_list"}, {"agency", mine->agency}});
        if (!list.ok()) {
            rc = report_error(list.error());
            return;
        }
        std::string state = "unknown";
        for (const auto& n : (*list)["nodes"])
            if (n["id"] == to_hex(mine->id())) state = n["state"].get<std::string>();
        if (state != "current") {
            rc = report_error("the node holds the record but does not use it: " + state +
                              (state == "superseded" ? " (it holds a higher serial)" : ""));
            return;
        }
        std::printf(
            "node record of %s, serial %llu, valid until %s, is in use; the node announces it to "
            "its peers\n",
            mine->agency.c_str(), static_cast<unsigned long long>(mine->serial),
            format_time(mine->valid_until_ms).c_str());
    });
}

void add_revoke(CLI::App& app, Globals& g, int& rc) {
    (void)g;
    auto* cmd = app.add_subcommand("revoke",
                                   "sign a revocation of an agency's records (root or its issuer)");
    struct Opts {
        std::string agency, reason, key, out;
        uint64_t serial = 0;
        bool issuer = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("agency", o->agency, "the agency whose records are revoked")->required();
    cmd->add_option("--reason", o->reason,
                    "why, e.g. 'key lost'; shown wherever the revocation is checked")
        ->required();
    cmd->add_option("--key", o->key, "the root's or issuer's secret key file")->required();
    cmd->add_option(
        "--serial", o->serial,
        "revoke records with this serial and older (default 0: every record issued until now)");
    cmd->add_flag("--issuer", o->issuer,
                  "revoke the agency's issuer records instead of its node records");
    cmd->add_option("--out", o->out, "file for the armored revocation ('-' for stdout)")
        ->required();
    cmd->callback([&rc, o] {
        auto key = load_authority_key(o->key);
        if (!key.ok()) {
            rc = report_error(key.error());
            return;
        }
        Revocation r;
        r.agency = o->agency;
        r.kind = o->issuer ? RevokedKind::issuer : RevokedKind::node;
        r.serial = o->serial;
        r.revoked_at_ms = now_ms();
        r.reason = o->reason;
        auto s = sign_revocation(r, key->secret);
        if (!s.ok()) {
            rc = report_error(s.error());
            return;
        }
        if (auto st = write_record(o->out, s->armor()); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        const std::string which = r.serial == 0 ? "all" : "serial <= " + std::to_string(r.serial);
        if (o->out != "-")
            std::printf("revocation of %s's %s records (%s) since %s, written to %s\n",
                        r.agency.c_str(), o->issuer ? "issuer" : "node", which.c_str(),
                        format_time(r.revoked_at_ms).c_str(), o->out.c_str());
    });
}

}  // namespace lienthong::admin
