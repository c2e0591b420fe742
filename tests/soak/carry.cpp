#include "tests/soak/carry.h"

#include <set>

namespace lienthong::soak {

namespace {

size_t node_of(const std::string& agency) {
    for (size_t i = 0; i < node_specs().size(); ++i)
        if (node_specs()[i].agency == agency) return i;
    return SIZE_MAX;
}

}  // namespace

std::vector<CarryRow> bytes_to_carry(const Snapshot& snap, const std::string& subject_prefix) {
    const size_t n = node_specs().size();
    if (tree_path(0, n - 1).empty()) return {};
    std::vector<CarryRow> rows(n);
    for (size_t s = 0; s < snap.outbox.size() && s < n; ++s) {
        if (!snap.outbox[s].contains("documents")) continue;
        for (const auto& d : snap.outbox[s].at("documents")) {
            if (d.value("subject", "").rfind(subject_prefix, 0) != 0) continue;
            const uint64_t bytes = d.value("bytes", uint64_t{0});
            std::set<std::pair<size_t, size_t>> hops;  // (from, to) links it crosses
            std::set<size_t> carriers;
            for (const auto& r : d.at("recipients")) {
                const size_t to = node_of(r.value("agency", ""));
                if (to == SIZE_MAX) continue;
                const std::vector<size_t> path = tree_path(s, to);
                for (size_t k = 0; k + 1 < path.size(); ++k) {
                    hops.insert({path[k], path[k + 1]});
                    rows[path[k]].per_recipient += bytes;
                    carriers.insert(path[k]);
                }
            }
            for (const auto& [from, to] : hops) rows[from].per_link += bytes;
            for (size_t c : carriers) ++rows[c].documents;
        }
    }
    return rows;
}

}  // namespace lienthong::soak
