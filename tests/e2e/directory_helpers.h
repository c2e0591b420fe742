// Helpers for e2e tests of the federation directory: what a node's directory and links hold,
// and a plain text document sent and followed to its receipt.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace lienthong::e2e {

// Agencies whose record the node uses now ("current" in directory_list).
inline std::set<std::string> current_agencies(TestNode& n) {
    auto r = n.call({{"op", "directory_list"}}, 5000);
    std::set<std::string> out;
    if (!r.ok()) return out;
    for (const auto& rec : (*r)["nodes"])
        if (rec["state"] == "current") out.insert(rec["agency"].get<std::string>());
    return out;
}

// Agencies the node has a link to (configured, added, or made from the directory).
inline std::set<std::string> linked_peers(TestNode& n) {
    std::set<std::string> out;
    const json list = n.api({{"op", "peer_list"}});
    for (const auto& p : list.at("peers")) out.insert(p.at("agency").get<std::string>());
    return out;
}

// How many receipts the sender holds for `id` that verify and name the document's hash.
inline size_t valid_receipts(TestNode& sender, const std::string& id) {
    auto r = sender.call({{"op", "receipt"}, {"id", id}}, 5000);
    if (!r.ok()) return 0;
    size_t n = 0;
    for (const auto& x : (*r)["receipts"])
        if (x["signature_valid"] == true && x["hash_matches"] == true) ++n;
    return n;
}

// The sender holds one receipt for `id` that verifies and names the document's hash.
inline bool has_receipt(TestNode& sender, const std::string& id) { return valid_receipts(sender, id) == 1; }

inline bool in_inbox(TestNode& n, const std::string& id) {
    for (const auto& x : inbox_ids(n))
        if (x == id) return true;
    return false;
}

// Sends a document whose one attachment (scan.pdf) is `scan`; the API's answer.
inline json send_scan(TestNode& from, const std::vector<std::string>& to, const std::string& subject,
                      const protocol::Bytes& scan) {
    return from.api({{"op", "send"},
                     {"to", to},
                     {"subject", subject},
                     {"body", json::binary(std::vector<uint8_t>{'x'})},
                     {"attachments", json::array({{{"name", "scan.pdf"}, {"mime", "application/pdf"}, {"data", json::binary(scan)}}})}});
}

// The chunked transfer of `id` in progress at `n` ("transfers"), or null.
inline json transfer_of(TestNode& n, const std::string& id) {
    auto r = n.call({{"op", "transfers"}}, 5000);
    if (!r.ok()) return json();
    for (const auto& t : (*r)["transfers"])
        if (t["id"] == id) return t;
    return json();
}

// Sends a one-recipient text document; the API's answer (check "ok", read "id").
inline json send_text(TestNode& from, const std::string& to, const std::string& subject) {
    const std::string body = "body of " + subject;
    return from.api({{"op", "send"},
                     {"to", json::array({to})},
                     {"subject", subject},
                     {"body", json::binary(std::vector<uint8_t>(body.begin(), body.end()))}});
}

}  // namespace lienthong::e2e
