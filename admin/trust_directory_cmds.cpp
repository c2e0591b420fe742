// directory verify | import | list | show
//
// verify (offline): every record of the given files is verified against the others (issuer
// records and revocations found there) and the --root lines, and printed with its state:
// VALID, SUPERSEDED (valid, but a higher serial of the same agency is too) or INVALID with the
// reason. The exit code is 1 when any block is invalid.
//
// import, list, show (online, over the node's local API): import hands armored records to the
// running node, which verifies each against its own trust roots, keeps what verifies and
// spreads it by gossip; list and show print the node's directory as it holds it now. import
// exits 1 when the node refused any record, show when it knows nothing of the agency.
#include <chrono>
#include <cstdio>
#include <variant>

#include "admin/commands.h"
#include "admin/trust_files.h"
#include "protocol/cross_trust.h"
#include "protocol/trust.h"
#include "protocol/trust_file.h"

namespace lienthong::admin {

using nlohmann::json;
using namespace lienthong::protocol;

namespace {

// One armored block of the files given to 'directory verify', decoded or not.
struct DirectoryItem {
    std::string where;  // file, and block number when the file holds several
    // The decoded record, or (string) why the block could not be read or decoded.
    std::variant<std::string, IssuerRecord, NodeRecord, EnrollmentRequest, Revocation, CrossTrust> record;
};

std::string chain_text(const VerifiedChain& c) {
    std::string s = "root '" + c.anchor.root.name + "'";
    for (const auto& i : c.issuers) s += " > " + i.agency;
    return s;
}

struct Verdict {
    std::string state, kind, agency, serial, detail;
};

// `configured`: the --root lines (v.roots adds the external roots cross-trust records grant).
Verdict judge(const DirectoryItem& item, const TrustView& v, std::span<const NodeRecord> nodes,
              std::span<const TrustAnchor> configured) {
    const auto trusted = [](const TrustResult<VerifiedChain>& r, Verdict out, std::string detail) {
        if (!r.ok()) {
            out.state = "INVALID";
            out.detail = std::string(failure_name(r.error().failure)) + ": " + r.error().message;
            return out;
        }
        out.state = "VALID";
        out.detail = detail + (detail.empty() ? "" : "; ") + "chain: " + chain_text(r.value());
        if (r->revoked_from_ms != 0)
            out.detail += "; revoked from " + format_time(r->revoked_from_ms);
        return out;
    };
    if (const auto* err = std::get_if<std::string>(&item.record))
        return {"INVALID", "-", "-", "-", *err};
    if (const auto* r = std::get_if<IssuerRecord>(&item.record))
        return trusted(verify_issuer_record(*r, v),
                       {"", "issuer record", r->agency, std::to_string(r->serial), ""},
                       "prefix '" + r->prefix + "', depth " + std::to_string(r->max_depth) +
                           ", until " + format_time(r->valid_until_ms));
    if (const auto* r = std::get_if<NodeRecord>(&item.record)) {
        Verdict out = trusted(verify_node_record(*r, v),
                              {"", "node record", r->agency, std::to_string(r->serial), ""},
                              "until " + format_time(r->valid_until_ms));
        const auto current = select_current_record(r->agency, nodes, v);
        if (out.state == "VALID" && current && nodes[*current].id() != r->id()) {
            out.state = "SUPERSEDED";
            out.detail = "by serial " + std::to_string(nodes[*current].serial);
        }
        return out;
    }
    if (const auto* r = std::get_if<EnrollmentRequest>(&item.record)) {
        auto st = verify_enrollment_request(*r);
        return {st.ok() ? "VALID" : "INVALID", "enroll request", r->agency, "-",
                st.ok() ? "proof of possession verifies; created " + format_time(r->created_ms)
                        : st.error()};
    }
    if (const auto* r = std::get_if<CrossTrust>(&item.record)) {
        const auto c = verify_cross_trust(*r, configured, v.now_ms);
        Verdict out{c.ok() ? "VALID" : "INVALID", "cross-trust", r->root.name, std::to_string(r->serial), ""};
        if (!c.ok()) {
            out.detail = std::string(failure_name(c.error().failure)) + ": " + c.error().message;
            return out;
        }
        std::string prefixes;
        for (const auto& p : r->prefixes) prefixes += (prefixes.empty() ? "" : ",") + p;
        out.detail = (r->withdrawn ? "withdraws trust" : "trusts it for " + prefixes + " until " +
                                                              format_time(r->valid_until_ms)) +
                     "; signed by root '" + c->root.name + "'";
        return out;
    }
    const auto& r = std::get<Revocation>(item.record);
    return trusted(
        verify_revocation(r, v),
        {"", r.kind == RevokedKind::node ? "revocation" : "issuer revocation", r.agency,
         r.serial == 0 ? "all" : "<=" + std::to_string(r.serial), ""},
        "since " + format_time(r.revoked_at_ms) + ", reason: " + printable(r.reason, 200));
}

std::vector<DirectoryItem> read_directory_files(const std::vector<std::string>& files) {
    std::vector<DirectoryItem> items;
    for (const auto& file : files) {
        auto text = read_file(file);
        auto blocks = text.ok() ? read_trust_file(*text)
                                : Result<std::vector<TrustFileBlock>>(text.take_error());
        if (!blocks.ok()) {
            items.push_back({file, blocks.error()});
            continue;
        }
        for (size_t i = 0; i < blocks->size(); ++i) {
            auto& b = (*blocks)[i];
            DirectoryItem item{blocks->size() > 1 ? file + "#" + std::to_string(i + 1) : file,
                               std::string()};
            if (b.record.ok())
                std::visit([&](auto& r) { item.record = std::move(r); }, b.record.value());
            else
                item.record = b.record.error();
            items.push_back(std::move(item));
        }
    }
    return items;
}

std::string str(const json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

uint64_t num(const json& j, const char* key) {
    return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<uint64_t>() : 0;
}

std::string chain_of(const json& node) {
    if (str(node, "root").empty()) return "-";
    std::string s = "root '" + str(node, "root") + "'";
    for (const auto& c : node["chain"]) s += " > " + c.get<std::string>();
    return s;
}

std::string first_endpoint(const json& node) {
    return node["endpoints"].empty() ? "-" : node["endpoints"][0].get<std::string>();
}

std::string revoked_which(const json& r) {
    return num(r, "serial") == 0 ? "all records" : "serial <= " + std::to_string(num(r, "serial"));
}

void add_directory_import(CLI::App* dir, Globals& g, int& rc) {
    auto* cmd = dir->add_subcommand(
        "import", "give armored records to the running node: it verifies, keeps and spreads them");
    auto file = std::make_shared<std::string>();
    cmd->add_option("file", *file,
                    "a file of armored node records, issuer records, revocations and cross-trust "
                    "records, in any order")
        ->required();
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, file] {
        auto text = read_file(*file);
        if (!text.ok()) {
            rc = report_error(text.error());
            return;
        }
        auto r = call_node(
            g, {{"op", "directory_import"},
                {"data", json::binary(std::vector<uint8_t>(text->begin(), text->end()))}});
        if (!r.ok()) {
            rc = report_error(*file + ": " + r.error());
            return;
        }
        const json& refused = (*r)["refused"];
        if (g.json)
            print_json(*r);
        else
            std::printf("%llu added, %llu already known, %zu refused\n",
                        static_cast<unsigned long long>(num(*r, "added")),
                        static_cast<unsigned long long>(num(*r, "known")), refused.size());
        for (const auto& x : refused)
            report_error(*file + ": refused " + str(x, "kind") + ": " + str(x, "error"));
        if (!refused.empty()) rc = 1;
    });
}

void add_directory_list(CLI::App* dir, Globals& g, int& rc) {
    auto* cmd = dir->add_subcommand(
        "list", "the node's directory: node records with state and chain, issuers, revocations");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc] {
        auto r = call_node(g, {{"op", "directory_list"}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        std::printf("%-22s %-12s %6s %-7s %-28s %s\n", "AGENCY", "STATE", "SERIAL", "LINKED",
                    "ENDPOINT", "CHAIN");
        for (const auto& n : (*r)["nodes"])
            std::printf("%-22s %-12s %6llu %-7s %-28s %s\n", str(n, "agency").c_str(),
                        str(n, "state").c_str(), static_cast<unsigned long long>(num(n, "serial")),
                        n["linked"].get<bool>() ? "yes" : "no", first_endpoint(n).c_str(),
                        chain_of(n).c_str());
        if (!(*r)["issuers"].empty()) std::printf("\nissuer records:\n");
        for (const auto& i : (*r)["issuers"])
            std::printf("  %-22s %-12s serial %llu, prefix '%s', depth %llu, until %s\n",
                        str(i, "agency").c_str(), str(i, "state").c_str(),
                        static_cast<unsigned long long>(num(i, "serial")), str(i, "prefix").c_str(),
                        static_cast<unsigned long long>(num(i, "max_depth")),
                        format_time(num(i, "valid_until_ms")).c_str());
        if (!(*r)["revocations"].empty()) std::printf("\nrevocations:\n");
        for (const auto& x : (*r)["revocations"])
            std::printf("  %-22s %s since %s: %s\n", str(x, "agency").c_str(),
                        revoked_which(x).c_str(), format_time(num(x, "revoked_at_ms")).c_str(),
                        str(x, "reason").c_str());
        if (!(*r)["federations"].empty()) std::printf("\nother federations:\n");
        for (const auto& f : (*r)["federations"]) {
            std::string prefixes;
            for (const auto& p : f["prefixes"]) prefixes += (prefixes.empty() ? "" : ",") + p.get<std::string>();
            std::printf("  %-22s %-12s serial %llu, for %s, until %s\n", str(f, "federation").c_str(),
                        str(f, "state").c_str(), static_cast<unsigned long long>(num(f, "serial")),
                        prefixes.empty() ? "-" : prefixes.c_str(), format_time(num(f, "valid_until_ms")).c_str());
        }
        std::printf("\n%llu records, digest %s\n",
                    static_cast<unsigned long long>(num(*r, "records")),
                    str(*r, "digest").substr(0, 16).c_str());
    });
}

void add_directory_show(CLI::App* dir, Globals& g, int& rc) {
    auto* cmd = dir->add_subcommand(
        "show", "every record the node holds for one agency, with chain, validity and state");
    auto agency = std::make_shared<std::string>();
    cmd->add_option("agency", *agency, "the agency code")->required();
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, agency] {
        auto r = call_node(g, {{"op", "directory_list"}, {"agency", *agency}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        const json &nodes = (*r)["nodes"], &issuers = (*r)["issuers"], &revs = (*r)["revocations"];
        if (nodes.empty() && issuers.empty() && revs.empty()) {
            rc = report_error("the node's directory holds no record of '" + *agency +
                              "' (import it with 'directory import', or wait for gossip)");
            return;
        }
        if (g.json) return print_json(*r);
        for (const auto& n : nodes) {
            std::printf("node record %s serial %llu: %s\n", str(n, "agency").c_str(),
                        static_cast<unsigned long long>(num(n, "serial")), str(n, "state").c_str());
            std::printf("  name:      %s\n", str(n, "name").c_str());
            std::string eps;
            for (const auto& e : n["endpoints"])
                eps += (eps.empty() ? "" : ", ") + e.get<std::string>();
            std::printf("  endpoints: %s\n", eps.empty() ? "-" : eps.c_str());
            std::printf("  parent:    %s\n",
                        str(n, "parent").empty() ? "-" : str(n, "parent").c_str());
            std::printf("  valid:     %s to %s\n", format_time(num(n, "valid_from_ms")).c_str(),
                        format_time(num(n, "valid_until_ms")).c_str());
            std::printf("  chain:     %s\n", chain_of(n).c_str());
            std::printf("  linked:    %s\n", n["linked"].get<bool>() ? "yes" : "no");
            std::printf("  id:        %s\n", str(n, "id").c_str());
            if (!str(n, "error").empty()) std::printf("  why:       %s\n", str(n, "error").c_str());
        }
        for (const auto& i : issuers)
            std::printf("issuer record %s serial %llu: %s; prefix '%s', depth %llu, until %s\n",
                        str(i, "agency").c_str(), static_cast<unsigned long long>(num(i, "serial")),
                        str(i, "state").c_str(), str(i, "prefix").c_str(),
                        static_cast<unsigned long long>(num(i, "max_depth")),
                        format_time(num(i, "valid_until_ms")).c_str());
        for (const auto& x : revs)
            std::printf("revocation of %s (%s) since %s: %s\n", str(x, "agency").c_str(),
                        revoked_which(x).c_str(), format_time(num(x, "revoked_at_ms")).c_str(),
                        str(x, "reason").c_str());
    });
}

}  // namespace

void add_directory(CLI::App& app, Globals& g, int& rc) {
    auto* dir = app.add_subcommand(
        "directory", "federation records: verify files offline; import, list, show on the node");
    dir->require_subcommand(1);
    add_directory_import(dir, g, rc);
    add_directory_list(dir, g, rc);
    add_directory_show(dir, g, rc);
    auto* verify = dir->add_subcommand(
        "verify", "re-check armored records against trusted roots; exit 1 if any is invalid");
    struct Opts {
        std::vector<std::string> files, roots;
        size_t max_depth = kDefaultMaxDepth;
        uint64_t at = 0;
    };
    auto o = std::make_shared<Opts>();
    verify
        ->add_option("files", o->files,
                     "files of armored records: node and issuer records, revocations, requests")
        ->required();
    verify
        ->add_option("--root", o->roots,
                     "a trusted root line, 'lienthong-root v1 ...' [for:PREFIX,...] (repeatable)")
        ->required();
    verify
        ->add_option("--max-depth", o->max_depth,
                     "issuer records allowed between root and record (default 3)")
        ->check(CLI::Range(0, static_cast<int>(kMaxDelegationDepth)));
    verify->add_option("--at", o->at, "check at this unix time in ms instead of now");
    verify->add_flag("--json", g.json, "print JSON");
    verify->callback([&g, &rc, o] {
        std::vector<TrustAnchor> anchors;
        for (const auto& line : o->roots) {
            auto a = TrustAnchor::from_line(line);
            if (!a.ok()) {
                rc = report_error("--root: " + a.error());
                return;
            }
            anchors.push_back(std::move(a).value());
        }
        const auto items = read_directory_files(o->files);
        std::vector<IssuerRecord> issuers;
        std::vector<NodeRecord> nodes;
        std::vector<Revocation> revocations;
        for (const auto& item : items) {
            if (const auto* r = std::get_if<IssuerRecord>(&item.record)) issuers.push_back(*r);
            if (const auto* r = std::get_if<NodeRecord>(&item.record)) nodes.push_back(*r);
            if (const auto* r = std::get_if<Revocation>(&item.record)) revocations.push_back(*r);
        }
        std::vector<CrossTrust> cross;
        for (const auto& item : items)
            if (const auto* r = std::get_if<CrossTrust>(&item.record)) cross.push_back(*r);
        const uint64_t at = o->at != 0 ? o->at : now_ms();
        auto roots = anchors;
        for (auto& a : external_anchors(cross, anchors, at)) roots.push_back(std::move(a));
        const TrustView view{roots, issuers, revocations, at, o->max_depth};
        bool any_invalid = false;
        json out = json::array();
        for (const auto& item : items) {
            const Verdict v = judge(item, view, nodes, anchors);
            any_invalid = any_invalid || v.state == "INVALID";
            if (g.json)
                out.push_back({{"file", item.where},
                               {"state", v.state},
                               {"kind", v.kind},
                               {"agency", v.agency},
                               {"serial", v.serial},
                               {"detail", v.detail}});
            else
                std::printf("%-10s %-17s %-22s %-6s %s  (%s)\n", v.state.c_str(), v.kind.c_str(),
                            v.agency.c_str(), v.serial.c_str(), v.detail.c_str(),
                            item.where.c_str());
        }
        if (g.json) print_json(json{{"records", out}, {"all_valid", !any_invalid}});
        if (any_invalid) rc = 1;
    });
}

}  // namespace lienthong::admin
