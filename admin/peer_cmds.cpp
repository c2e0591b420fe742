// peer add | remove | list
#include <cstdio>

#include "admin/commands.h"

namespace lienthong::admin {

using nlohmann::json;

void add_peer(CLI::App& app, Globals& g, int& rc) {
    auto* peer = app.add_subcommand("peer", "manage the peers this node trusts and delivers to");
    peer->require_subcommand(1);

    auto* add = peer->add_subcommand("add", "trust a peer and start delivering to it (no restart needed)");
    auto identity = std::make_shared<std::string>();
    auto endpoint = std::make_shared<std::string>();
    add->add_option("--identity", *identity, "the peer's 'lienthong-id v1 ...' line (from 'lienthong-admin id' there)")->required();
    add->add_option("--endpoint", *endpoint, "where to reach the peer, e.g. tcp://10.1.2.3:7001")->required();
    add->callback([&g, &rc, identity, endpoint] {
        auto r = call_node(g, {{"op", "peer_add"}, {"identity", *identity}, {"endpoint", *endpoint}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        std::printf("peer %s added\n", (*r)["agency"].get<std::string>().c_str());
    });

    auto* rm = peer->add_subcommand("remove", "stop trusting a peer (its pending documents are kept)");
    auto agency = std::make_shared<std::string>();
    rm->add_option("agency", *agency, "the peer's agency code")->required();
    rm->callback([&g, &rc, agency] {
        auto r = call_node(g, {{"op", "peer_remove"}, {"agency", *agency}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        std::printf("peer %s removed (%llu pending documents kept)\n", agency->c_str(),
                    static_cast<unsigned long long>((*r)["pending_kept"].get<uint64_t>()));
        if (r->contains("note")) std::printf("note: %s\n", (*r)["note"].get<std::string>().c_str());
    });

    auto* list = peer->add_subcommand("list", "peers with state (or the relay in use), last contact, backlog, bytes in flight, retry timer, last error");
    list->add_flag("--json", g.json, "print JSON");
    list->callback([&g, &rc] {
        auto r = call_node(g, {{"op", "peer_list"}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        std::printf("%-20s %-26s %-21s %7s %15s %8s %9s  %s\n", "AGENCY", "STATE", "LAST CONTACT", "BACKLOG",
                    "IN FLIGHT", "RETRY IN", "DELIVERED", "LAST ERROR");
        for (const auto& p : (*r)["peers"]) {
            const uint64_t retry = p.value("retry_in_ms", uint64_t{0});
            const std::string in_flight = std::to_string(p["in_flight"].get<uint64_t>()) + " / " +
                                          format_bytes(p["in_flight_bytes"].get<uint64_t>());
            std::printf("%-20s %-26s %-21s %7llu %15s %8s %9llu  %s\n", p["agency"].get<std::string>().c_str(),
                        p["state"].get<std::string>().c_str(), format_time(p["last_contact_ms"].get<uint64_t>()).c_str(),
                        static_cast<unsigned long long>(p["queue"].get<uint64_t>()), in_flight.c_str(),
                        retry == 0 ? "-" : (std::to_string((retry + 999) / 1000) + " s").c_str(),
                        static_cast<unsigned long long>(p["delivered"].get<uint64_t>()),
                        p["last_error"].get<std::string>().empty() ? "-" : p["last_error"].get<std::string>().c_str());
        }
    });
}

void add_transfers(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("transfers", "large documents arriving in chunks: progress and rate");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc] {
        auto r = call_node(g, {{"op", "transfers"}});
        if (!r.ok()) {
            rc = report_error(r.error());
            return;
        }
        if (g.json) return print_json(*r);
        if ((*r)["transfers"].empty()) {
            std::printf("no transfers in progress\n");
            return;
        }
        for (const auto& t : (*r)["transfers"]) {
            const double total = double(t["bytes"].get<uint64_t>()), have = double(t["have_bytes"].get<uint64_t>());
            const int filled = total > 0 ? static_cast<int>(30.0 * have / total) : 0;
            const std::string bar = std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(30 - filled), '.');
            std::printf("%.16s from %-20s [%s] %5.1f%%  %s of %s  %s/s\n", t["id"].get<std::string>().c_str(),
                        t["from"].get<std::string>().c_str(), bar.c_str(), total > 0 ? 100.0 * have / total : 0.0,
                        format_bytes(t["have_bytes"].get<uint64_t>()).c_str(), format_bytes(t["bytes"].get<uint64_t>()).c_str(),
                        format_bytes(t["rate_bps"].get<uint64_t>()).c_str());
        }
    });
}

}  // namespace lienthong::admin
