// root trust | root untrust — trust between federations (protocol/cross_trust.h).
//
// Offline, like the other root commands: the federation root's keeper signs a cross-trust
// record naming another federation's root and the agency code prefixes it may speak for, or
// the withdrawal of that trust. Imported at any one node ('directory import'), the record
// spreads through the federation by gossip; every node then accepts (or, after a withdrawal,
// stops accepting) records signed under that root, for those prefixes only.
#include <cstdio>

#include "admin/commands.h"
#include "admin/trust_files.h"
#include "protocol/cross_trust.h"

namespace lienthong::admin {

using namespace lienthong::protocol;

namespace {

struct CrossOpts {
    std::string key, external, out;
    std::vector<std::string> prefixes;
    uint64_t serial = 0;
    uint64_t days = 365;
};

void add_common(CLI::App* cmd, CrossOpts& o) {
    cmd->add_option("--key", o.key, "this federation's root secret key file")->required();
    cmd->add_option("--external", o.external,
                    "the other federation's root line, 'lienthong-root v1 NAME KEY' (from its "
                    "'root show')")
        ->required();
    cmd->add_option("--serial", o.serial,
                    "serial of this record; a higher one replaces a lower one (default: the "
                    "current unix time in milliseconds, so a later record wins; at equal serials "
                    "a withdrawal wins)");
    cmd->add_option("--out", o.out, "file for the armored record ('-' for stdout)")->required();
}

// Signs `r` (its root, serial and validity filled from `o`) and writes it.
int sign_and_write(const CrossOpts& o, CrossTrust r) {
    auto key = load_authority_key(o.key);
    if (!key.ok()) return report_error(key.error());
    if (key->pub.role != AuthorityRole::root)
        return report_error("'" + o.key +
                            "' is an issuer key; only the federation root may trust another "
                            "federation");
    auto external = AuthorityKey::from_line(o.external);
    if (!external.ok()) return report_error("--external: " + external.error());
    if (external->role != AuthorityRole::root)
        return report_error("--external must be a federation root line ('lienthong-root v1 ...')");
    if (external->key == key->pub.key)
        return report_error("--external is this federation's own root");
    const uint64_t now = now_ms();
    r.root = std::move(external).value();
    r.serial = o.serial != 0 ? o.serial : now;
    r.valid_from_ms = now;
    r.valid_until_ms = now + o.days * kDayMs;
    auto signed_record = sign_cross_trust(std::move(r), key->secret);
    if (!signed_record.ok()) return report_error(signed_record.error());
    if (auto st = write_record(o.out, signed_record->armor()); !st.ok()) return report_error(st.error());
    if (o.out != "-") {
        const auto& c = signed_record.value();
        std::string prefixes;
        for (const auto& p : c.prefixes) prefixes += (prefixes.empty() ? "" : ",") + p;
        if (c.withdrawn)
            std::printf("withdrawal of trust in federation '%s' (serial %llu), written to %s\n",
                        c.root.name.c_str(), static_cast<unsigned long long>(c.serial), o.out.c_str());
        else
            std::printf("trust in federation '%s' for %s (serial %llu, until %s), written to %s\n",
                        c.root.name.c_str(), prefixes.c_str(), static_cast<unsigned long long>(c.serial),
                        format_time(c.valid_until_ms).c_str(), o.out.c_str());
        std::printf("import it at any node of this federation: lienthong-admin directory import %s\n",
                    o.out.c_str());
    }
    return 0;
}

}  // namespace

void add_root_federation(CLI::App* root, int& rc) {
    auto* trust = root->add_subcommand(
        "trust", "sign trust in another federation's root for some agency code prefixes");
    auto t = std::make_shared<CrossOpts>();
    add_common(trust, *t);
    trust
        ->add_option("--for", t->prefixes,
                     "agency code prefix the other root may speak for (repeatable or comma-separated)")
        ->required()
        ->delimiter(',');
    trust->add_option("--days", t->days, "validity in days (default 365)")->check(CLI::Range(1, 3650));
    trust->callback([&rc, t] {
        CrossTrust r;
        r.prefixes = t->prefixes;
        rc = sign_and_write(*t, std::move(r));
    });

    auto* untrust = root->add_subcommand(
        "untrust", "sign the withdrawal of trust in another federation's root");
    auto u = std::make_shared<CrossOpts>();
    add_common(untrust, *u);
    untrust->callback([&rc, u] {
        CrossTrust r;
        r.withdrawn = true;
        rc = sign_and_write(*u, std::move(r));
    });
}

}  // namespace lienthong::admin
