#include "tests/soak/check.h"

#include <algorithm>
#include <fstream>
#include <set>

namespace lienthong::soak {

namespace {

constexpr size_t kShown = 10;  // problem lines kept per kind

struct Expected {
    unsigned number = 0;
    size_t sender = 0;
    std::set<size_t> recipients;
    bool confirmed = true;  // 'send' printed its id
    unsigned urgency = 0;   // as sent (0 when not confirmed)
};

std::string role(size_t i) {
    return node_specs()[i].role;
}

size_t node_of(const std::string& agency) {
    for (size_t i = 0; i < node_specs().size(); ++i)
        if (node_specs()[i].agency == agency) return i;
    return SIZE_MAX;
}

void note(Verdict& v, std::map<std::string, size_t>& shown, const std::string& kind,
          const std::string& line, const std::string& id) {
    if (shown[kind]++ < kShown) v.problems.push_back(line);
    if (!id.empty() && v.suspects.size() < 5 &&
        std::find(v.suspects.begin(), v.suspects.end(), id) == v.suspects.end())
        v.suspects.push_back(id);
}

std::string doc_name(const std::string& id, const Expected& e) {
    std::string to;
    for (size_t r : e.recipients) to += (to.empty() ? "" : ",") + role(r);
    return "#" + std::to_string(e.number) + " " + id.substr(0, 16) + " " + role(e.sender) + "->" +
           to + (e.urgency ? " urgency " + std::to_string(e.urgency) : "");
}

}  // namespace

Snapshot take_snapshot(const Federation& fed) {
    Snapshot s;
    s.inbox.resize(fed.size());
    s.catalog.resize(fed.size());
    s.outbox.resize(fed.size(), json::object());
    for (size_t i = 0; i < fed.size(); ++i) {
        std::string err;
        if (auto in = fed.admin_json(i, {"inbox", "--limit", "100000"}, &err)) {
            for (const auto& d : in->at("documents")) ++s.inbox[i][d.at("id").get<std::string>()];
        } else {
            s.errors.push_back(role(i) + ": inbox: " + err);
        }
        // A filter makes the node answer from its catalog (the search index) instead.
        if (auto in = fed.admin_json(i, {"inbox", "--text", "soak", "--limit", "100000"}, &err)) {
            for (const auto& d : in->at("documents"))
                if (d.value("direction", "") == "received")
                    ++s.catalog[i][d.at("id").get<std::string>()];
        } else {
            s.errors.push_back(role(i) + ": inbox --text: " + err);
        }
        if (auto out = fed.admin_json(i, {"outbox", "--limit", "100000"}, &err))
            s.outbox[i] = *out;
        else
            s.errors.push_back(role(i) + ": outbox: " + err);
    }
    return s;
}

Verdict judge(const Federation& fed, const Traffic& traffic, const Snapshot& snap, bool receipts) {
    Verdict v;
    std::map<std::string, size_t> shown;
    std::map<std::string, Expected> expected;
    for (const auto& d : traffic.sent())
        expected[d.id] = Expected{
            d.number, d.sender, {d.recipients.begin(), d.recipients.end()}, true, d.urgency};

    // Each sender's outbox: what it says it sent, and each recipient's state.
    const std::string prefix = traffic.subject(0).substr(0, traffic.subject(0).find('#') + 1);
    std::map<std::string, const json*> outbox_entry;
    for (size_t s = 0; s < fed.size(); ++s) {
        if (!snap.outbox[s].contains("documents")) continue;
        for (const auto& d : snap.outbox[s].at("documents")) {
            const std::string id = d.at("id").get<std::string>();
            const std::string subject = d.at("subject").get<std::string>();
            outbox_entry[id] = &d;
            if (expected.count(id) || subject.rfind(prefix, 0) != 0) continue;
            Expected e{
                static_cast<unsigned>(std::stoul(subject.substr(prefix.size()))), s, {}, false, 0};
            for (const auto& r : d.at("recipients"))
                e.recipients.insert(node_of(r.at("agency").get<std::string>()));
            note(v, shown, "unconfirmed",
                 "document " + doc_name(id, e) +
                     " is in the sender's outbox although its 'send' did not succeed",
                 "");
            expected[id] = e;
        }
    }
    v.documents = expected.size();

    for (const auto& [id, e] : expected) {
        for (size_t r = 0; r < fed.size(); ++r) {
            const auto it = snap.inbox[r].find(id);
            const unsigned n = it == snap.inbox[r].end() ? 0 : it->second;
            if (!e.recipients.count(r)) {
                if (n > 0) {
                    ++v.misdelivered;
                    note(v, shown, "misdelivered",
                         "document " + doc_name(id, e) + " is in the inbox of " + role(r), id);
                }
                continue;
            }
            ++v.deliveries;
            const auto c = snap.catalog[r].find(id);
            const unsigned in_catalog = c == snap.catalog[r].end() ? 0 : c->second;
            if (in_catalog != 1) {
                ++v.catalog_wrong;
                note(v, shown, "catalog",
                     "document " + doc_name(id, e) + " is listed " + std::to_string(in_catalog) +
                         " times by the search index of " + role(r),
                     id);
            }
            if (n == 1)
                ++v.delivered_once;
            else if (n == 0) {
                ++v.missing;
                note(v, shown, "missing",
                     "document " + doc_name(id, e) + " is not in the inbox of " + role(r), id);
            } else {
                ++v.duplicated;
                note(v, shown, "duplicated",
                     "document " + doc_name(id, e) + " is " + std::to_string(n) +
                         " times in the inbox of " + role(r),
                     id);
            }
        }
        const auto o = outbox_entry.find(id);
        if (o == outbox_entry.end()) {
            v.pending += e.recipients.size();
            note(v, shown, "lost", "document " + doc_name(id, e) + " is not in its sender's outbox",
                 id);
            continue;
        }
        for (const auto& r : o->second->at("recipients"))
            if (r.at("state") != "delivered") {
                ++v.pending;
                note(v, shown, "pending",
                     "document " + doc_name(id, e) + ": delivery to " +
                         r.at("agency").get<std::string>() +
                         " still pending at the sender (last_error '" +
                         r.at("last_error").get<std::string>() + "')",
                     id);
            }
    }
    for (size_t r = 0; r < fed.size(); ++r)
        for (const auto& [id, n] : snap.inbox[r])
            if (!expected.count(id)) {
                v.misdelivered += n;
                note(v, shown, "unknown",
                     role(r) + "'s inbox holds " + id.substr(0, 16) +
                         ", which no node sent in this test",
                     id);
            }

    if (!receipts) return v;
    for (const auto& [id, e] : expected) {
        std::string err;
        const auto rc = fed.admin_json(e.sender, {"receipt", id}, &err);
        if (!rc) {
            note(v, shown, "receipt", "receipt " + doc_name(id, e) + " at the sender: " + err, id);
            continue;
        }
        for (size_t r : e.recipients) {
            unsigned valid = 0;
            for (const auto& x : rc->at("receipts"))
                if (x.value("agency", "") == node_specs()[r].agency &&
                    x.value("signature_valid", false) && x.value("hash_matches", false))
                    ++valid;
            if (valid >= 1)
                ++v.receipts_ok;
            else
                note(v, shown, "receipt",
                     "document " + doc_name(id, e) + ": the sender holds no verified receipt of " +
                         role(r) + " (pending: '" + rc->value("pending", "") + "')",
                     id);
        }
    }
    return v;
}

std::vector<std::string> leftover_transfers(const Federation& fed) {
    std::vector<std::string> out;
    for (size_t i = 0; i < fed.size(); ++i) {
        std::string err;
        const auto t = fed.admin_json(i, {"transfers"}, &err);
        if (!t || !t->contains("transfers")) {
            out.push_back(role(i) + ": transfers: " + (t ? "no 'transfers' in the answer" : err));
            continue;
        }
        for (const auto& x : t->at("transfers"))
            out.push_back(role(i) + " holds transfer " + x.value("id", "?").substr(0, 16) + " from " +
                          x.value("from", "?") + ": " + std::to_string(x.value("have_chunks", 0)) +
                          " of " + std::to_string(x.value("chunks", 0)) + " chunks");
    }
    return out;
}

std::string trace(const Federation& fed, const std::string& id, size_t limit) {
    std::string out;
    size_t n = 0;
    for (size_t i = 0; i < fed.size(); ++i) {
        std::ifstream in(fed.log_path(i));
        for (std::string line; std::getline(in, line);)
            if (line.find(id) != std::string::npos && n++ < limit)
                out += "    " + role(i) + ": " + line + "\n";
    }
    if (n > limit) out += "    (" + std::to_string(n - limit) + " more lines)\n";
    if (n == 0) out += "    (no log line mentions it)\n";
    return out;
}

}  // namespace lienthong::soak
