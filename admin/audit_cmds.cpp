// lienthong-admin audit: the node's audit log (issue 18). show and export ask the node;
// verify reads the database files (the node's, or a copy) and asks the node for the heads its
// peers witness; check needs neither the node nor its database, only the file and a public key.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "admin/audit_archive.h"
#include "admin/commands.h"
#include "node/config.h"
#include "protocol/audit.h"
#include "storage/audit_log.h"
#include "storage/store.h"

namespace lienthong::admin {

using nlohmann::json;

namespace {

// "123" → a seq; "YYYY-MM-DD" → 00:00 of that day in Vietnam time (UTC+7), in ms.
struct Bound {
    std::optional<uint64_t> seq, ms;
};
Result<Bound> parse_bound(const std::string& text, const std::string& option) {
    Bound b;
    if (text.empty()) return b;
    if (text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 19) {
        b.seq = std::stoull(text);
        return b;
    }
    std::tm tm{};
    std::istringstream in(text);
    in >> std::get_time(&tm, "%Y-%m-%d");
    if (in.fail() || !in.eof() || text.size() != 10)
        return make_error(option + " '" + text + "' is neither an entry number nor a date YYYY-MM-DD");
    const int mday = tm.tm_mday, mon = tm.tm_mon;
    const std::time_t day = timegm(&tm);
    if (tm.tm_mday != mday || tm.tm_mon != mon) return make_error(option + " '" + text + "' is not a real date");
    b.ms = static_cast<uint64_t>(day - 7 * 3600) * 1000;
    return b;
}

void print_entry(const json& e) {
    if (e.contains("error")) {
        std::printf("%6llu  (unreadable: %s)\n", static_cast<unsigned long long>(e["seq"].get<uint64_t>()),
                    e["error"].get<std::string>().c_str());
        return;
    }
    std::string ids;
    if (e.contains("msg")) ids += " msg=" + e["msg"].get<std::string>().substr(0, 16);
    if (e.contains("about")) ids += " about=" + e["about"].get<std::string>().substr(0, 16);
    for (const char* k : {"agency", "peer", "user"})
        if (e.contains(k)) ids += std::string(" ") + k + "=" + e[k].get<std::string>();
    if (e.contains("detail")) ids += " detail=\"" + e["detail"].get<std::string>() + "\"";
    std::printf("%6llu  %s  %-26s%s\n", static_cast<unsigned long long>(e["seq"].get<uint64_t>()),
                format_time(e["time_ms"].get<uint64_t>()).c_str(), e["kind"].get<std::string>().c_str(), ids.c_str());
}

void add_show(CLI::App* audit, Globals& g, int& rc) {
    struct Opts {
        std::string from, to, kind, id;
        uint64_t limit = 1000;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = audit->add_subcommand("show", "list audit entries, oldest first");
    cmd->add_option("--from", o->from, "from this entry number, or this day (YYYY-MM-DD, Vietnam time)");
    cmd->add_option("--to", o->to, "up to this entry number, or before this day");
    cmd->add_option("--kind", o->kind, "only entries of this kind (document_sent, peer_added, ...)");
    cmd->add_option("--id", o->id, "only entries about this message (its id or an unambiguous prefix)");
    cmd->add_option("--limit", o->limit, "at most this many entries (default 1000)");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, o] {
        json req{{"op", "audit_show"}, {"limit", o->limit}};
        auto from = parse_bound(o->from, "--from");
        auto to = parse_bound(o->to, "--to");
        if (!from.ok()) return void(rc = report_error(from.error()));
        if (!to.ok()) return void(rc = report_error(to.error()));
        if (from->seq) req["from_seq"] = *from->seq;
        if (from->ms) req["since_ms"] = *from->ms;
        if (to->seq) req["to_seq"] = *to->seq;
        if (to->ms) req["until_ms"] = *to->ms - 1;
        if (!o->kind.empty()) req["kind"] = o->kind;
        if (!o->id.empty()) req["id"] = o->id;
        auto r = call_node(g, req);
        if (!r.ok()) return void(rc = report_error(r.error()));
        if (g.json) return print_json(*r);
        for (const auto& e : (*r)["entries"]) print_entry(e);
        std::printf("head: entry %llu, %s%s\n", static_cast<unsigned long long>((*r)["head_seq"].get<uint64_t>()),
                    (*r)["head"].get<std::string>().substr(0, 16).c_str(),
                    (*r)["more"].get<bool>() ? " (more entries match: raise --limit)" : "");
    });
}

// What audit verify found against the peers' heads.
struct Witnessing {
    bool asked = false;
    std::string note;  // why the peers were not asked
    uint64_t heads = 0, agree = 0;
    std::vector<std::string> problems;
    std::optional<uint64_t> first_bad_from, first_bad_to;  // the first disagreement: somewhere in [from, to]
    std::vector<std::string> unanswered;
    std::vector<protocol::SignPublicKey> keys;  // the node's signing keys, current first
    uint64_t archived_unchecked = 0;            // heads of archived entries no archive given holds
    std::optional<uint64_t> restored_at;        // a restore entry explaining a disagreement (the first)
};

// REQUIRES: `archived` holds the archive files given, linked to the log's archived point.
Witnessing check_witnesses(const Globals& g, storage::AuditLog& log, storage::Env& env, uint64_t wait_ms,
                           const ArchivedPart& archived) {
    Witnessing w;
    auto r = call_node(g, json{{"op", "audit_witnesses"}, {"wait_ms", wait_ms}});
    if (!r.ok()) {
        w.note = r.error();
        return w;
    }
    w.asked = true;
    auto& keys = w.keys;
    for (const auto& k : (*r)["sign_keys"])
        if (auto key = protocol::fixed_from_base64<32>(k.get<std::string>(), "sign key"); key.ok()) keys.push_back(*key);
    for (const auto& a : (*r)["unanswered"]) w.unanswered.push_back(a.get<std::string>());
    // Per seq a peer holds: whether our entry there has the head's hash.
    std::map<uint64_t, bool> agreement;
    env.read([&](const storage::ReadTxn& t) {
        const auto head = log.head(t);
        const auto point = log.archived(t);
        const uint64_t archived_to = point ? point->seq : 0;
        // The restores the log records (seq, time): a head signed before one, past its entry,
        // names history the restore replaced; said so, still a failure (it is lost).
        std::vector<std::pair<uint64_t, uint64_t>> restores;
        log.scan(t, 1, [&](uint64_t seq, protocol::ByteView v) {
            if (auto e = protocol::decode_audit_entry(v); e.ok() && e->kind == "restore") restores.emplace_back(seq, e->time_ms);
            return true;
        });
        const auto lost_in_restore = [&](const protocol::AuditHead& h) -> std::string {
            for (const auto& [seq, time] : restores)
                if (seq <= h.seq && h.time_ms <= time) {
                    w.restored_at = std::min(w.restored_at.value_or(seq), seq);
                    return " (signed before the restore recorded at entry " + std::to_string(seq) +
                           ": history after the backup was lost with the database it replaced)";
                }
            return "";
        };
        for (const auto& [peer, heads] : (*r)["peers"].items()) {
            for (const auto& hj : heads) {
                auto wire = protocol::from_base64(hj["signed"].get<std::string>());
                auto h = wire.ok() ? protocol::decode_audit_head(*wire) : Result<protocol::AuditHead>(wire.take_error());
                bool signed_ok = false;
                for (const auto& k : keys) signed_ok = signed_ok || (h.ok() && protocol::verify_audit_head(k, *h));
                if (!signed_ok) {
                    w.problems.push_back("peer " + peer + " holds a head not signed by this node's keys (ignored)");
                    continue;
                }
                ++w.heads;
                if (h->seq == 0) continue;
                // An archived entry: its hash is in an archive given, or, for the last one, the
                // archived point itself.
                std::optional<protocol::Hash32> hash;
                if (h->seq == archived_to) hash = point->head;
                else if (h->seq < archived_to) hash = archived.hash_of(h->seq);
                else if (const auto entry = log.entry(t, h->seq)) hash = protocol::audit_entry_hash(*entry);
                if (!hash && h->seq < archived_to) {
                    ++w.archived_unchecked;
                    continue;
                }
                const bool same = hash && *hash == h->head;
                if (same) {
                    ++w.agree;
                } else if (h->seq > head.seq) {
                    w.problems.push_back("peer " + peer + " holds a head at entry " + std::to_string(h->seq) +
                                         " but the log ends at entry " + std::to_string(head.seq) + ": entries are missing" +
                                         lost_in_restore(*h));
                } else {
                    w.problems.push_back("entry " + std::to_string(h->seq) + " does not match the head peer " + peer +
                                         " holds (signed " + format_time(h->time_ms) + ")" + lost_in_restore(*h));
                }
                auto [it, fresh] = agreement.emplace(h->seq, same);
                if (!fresh) it->second = it->second && same;
            }
        }
        return 0;
    });
    // The first seq that disagrees, and the last agreeing one before it: the first changed
    // entry lies between them (a chain recomputed after the change hides which one).
    uint64_t last_good = 0;
    for (const auto& [seq, ok] : agreement) {
        if (ok) {
            last_good = seq;
            continue;
        }
        w.first_bad_from = last_good + 1;
        w.first_bad_to = seq;
        break;
    }
    return w;
}

void add_verify(CLI::App* audit, Globals& g, int& rc) {
    struct Opts {
        std::string dir;
        bool offline = false;
        uint64_t wait_ms = 3000;
        std::vector<std::string> archives;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = audit->add_subcommand(
        "verify", "recompute the audit log's hash chain and check it against the heads the node's peers witnessed");
    cmd->add_option("--dir", o->dir, "the data directory (default: the config's data_dir); a copy works too");
    cmd->add_flag("--offline", o->offline, "check the chain only; do not ask the running node for its peers' heads");
    cmd->add_option("--wait-ms", o->wait_ms, "how long the node waits for its peers' answers (default 3000, at most 30000)");
    cmd->add_option("--archive", o->archives,
                    "an archive file 'audit archive' wrote (repeat for several): checked, and linked to the log");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, o] {
        std::string dir = o->dir;
        if (dir.empty()) {
            auto config = node::load_config(g.config_path);
            if (!config.ok()) return void(rc = report_error(config.error() + " (or name the data directory with --dir)"));
            dir = config->data_dir;
        }
        auto store = storage::Store::open_read_only(dir);
        if (!store.ok()) return void(rc = report_error(store.error()));
        auto log = storage::AuditLog::open((*store)->env());
        if (!log.ok()) return void(rc = report_error("the database in '" + dir + "' has no audit log: " + log.error()));
        const auto chain = (*store)->env().read([&](const storage::ReadTxn& t) { return (*log)->verify(t); });
        const auto [point, stored_key] = (*store)->env().read(
            [&](const storage::ReadTxn& t) { return std::make_pair((*log)->archived(t), (*log)->sign_key(t)); });
        // The node's keys, to check the archived point and the archives: the running node names
        // its current and earlier ones; offline, the one the database last started with.
        std::vector<protocol::SignPublicKey> keys;
        if (!o->offline) {
            auto r = call_node(g, json{{"op", "audit_head"}});
            if (r.ok() && r->contains("sign_keys"))
                for (const auto& text : (*r)["sign_keys"])
                    if (auto k = protocol::fixed_from_base64<32>(text.get<std::string>(), "sign key"); k.ok()) keys.push_back(*k);
        }
        if (stored_key) keys.push_back(*stored_key);
        ArchivedPart archived;
        if (!o->archives.empty() || point) archived = link_archives(o->archives, keys, point);
        Witnessing w;
        if (!o->offline) w = check_witnesses(g, **log, (*store)->env(), o->wait_ms, archived);
        w.problems.insert(w.problems.begin(), archived.problems.begin(), archived.problems.end());
        // The first bad entry: where the chain breaks, or before that where a witness disagrees.
        std::optional<uint64_t> first_bad;
        std::string first_bad_text;
        if (chain.first_bad) {
            first_bad = chain.first_bad->seq;
            first_bad_text = "entry " + std::to_string(chain.first_bad->seq) + " " + chain.first_bad->why;
        }
        if (w.first_bad_from && (!first_bad || *w.first_bad_from < *first_bad)) {
            first_bad = w.first_bad_from;
            first_bad_text = *w.first_bad_from == *w.first_bad_to
                                 ? "entry " + std::to_string(*w.first_bad_to) + " differs from what the peers witnessed"
                                 : "an entry from " + std::to_string(*w.first_bad_from) + " to " +
                                       std::to_string(*w.first_bad_to) +
                                       " was changed (the chain after it was recomputed; the peers' heads disagree from entry " +
                                       std::to_string(*w.first_bad_to) + ")";
            // A restore inside that run explains it: the entries from the restore on replace
            // the ones the peers witnessed, which went with the lost database.
            if (w.restored_at && *w.restored_at >= *w.first_bad_from && *w.restored_at <= *w.first_bad_to) {
                first_bad = w.restored_at;
                first_bad_text = "entry " + std::to_string(*w.restored_at) +
                                 " records a restore from a backup: the entries the peers witnessed after the backup (up to entry " +
                                 std::to_string(*w.first_bad_to) + ") were lost with the database it replaced";
            }
        }
        const bool ok = !first_bad && w.problems.empty();
        rc = ok ? 0 : 1;
        if (g.json) {
            json out{{"verified", ok}, {"entries", chain.entries}, {"head_seq", chain.head.seq},
                     {"head", protocol::to_hex(chain.head.hash)}, {"peers_asked", w.asked},
                     {"witnessed_heads", w.heads}, {"witnessed_agree", w.agree}, {"problems", w.problems},
                     {"unanswered", w.unanswered}, {"archived_to", chain.start.seq},
                     {"archives", archived.archives.size()}, {"archives_linked", archived.linked},
                     {"archives_from", archived.from_seq}, {"witnessed_archived_unchecked", w.archived_unchecked}};
            if (first_bad) {
                out["first_bad"] = *first_bad;
                out["first_bad_text"] = first_bad_text;
            }
            if (!w.note.empty()) out["note"] = w.note;
            return print_json(out);
        }
        std::printf("entries: %llu, head entry %llu %s\n", static_cast<unsigned long long>(chain.entries),
                    static_cast<unsigned long long>(chain.head.seq), protocol::to_hex(chain.head.hash).substr(0, 16).c_str());
        std::printf("chain:   %s\n", chain.first_bad ? ("BROKEN at entry " + std::to_string(chain.first_bad->seq)).c_str() : "whole");
        if (chain.start.seq > 0 && archived.linked)
            std::printf("archived: entries %llu..%llu, in %zu archive files given, linked to the log\n",
                        static_cast<unsigned long long>(archived.from_seq), static_cast<unsigned long long>(chain.start.seq),
                        archived.archives.size());
        else if (chain.start.seq > 0 && o->archives.empty())
            std::printf("archived: entries up to %llu, not checked (give their files with --archive)\n",
                        static_cast<unsigned long long>(chain.start.seq));
        if (w.asked)
            std::printf("peers:   %llu heads witnessed, %llu agree%s\n", static_cast<unsigned long long>(w.heads),
                        static_cast<unsigned long long>(w.agree),
                        w.unanswered.empty() ? "" : (" (" + std::to_string(w.unanswered.size()) + " peers did not answer)").c_str());
        else if (!o->offline)
            std::printf("peers:   not asked (%s)\n", w.note.c_str());
        for (const auto& p : w.problems) std::printf("problem: %s\n", p.c_str());
        if (first_bad) std::printf("FAILED: first bad entry: %s\n", first_bad_text.c_str());
        else std::printf("OK\n");
    });
}

void add_publish(CLI::App* audit, Globals& g, int& rc) {
    auto* cmd = audit->add_subcommand("publish", "sign the log's head now and send it to every connected peer");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc] {
        auto r = call_node(g, json{{"op", "audit_head"}, {"publish", true}});
        if (!r.ok()) return void(rc = report_error(r.error()));
        if (g.json) return print_json(*r);
        const auto& h = (*r)["head"];
        std::printf("head entry %llu %s signed and sent\n", static_cast<unsigned long long>(h["seq"].get<uint64_t>()),
                    h["head"].get<std::string>().substr(0, 16).c_str());
    });
}

void add_export(CLI::App* audit, Globals& g, int& rc) {
    auto id = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto* cmd = audit->add_subcommand(
        "export", "write every audit entry about a document, with the heads that witness them, to a file 'audit check' verifies");
    cmd->add_option("--id", *id, "the document's id (or an unambiguous prefix)")->required();
    cmd->add_option("--out", *out, "the file to write (must not exist)")->required();
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, id, out] {
        if (std::ifstream(*out).good()) return void(rc = report_error("'" + *out + "' exists; refusing to overwrite it"));
        auto r = call_node(g, json{{"op", "audit_export"}, {"id", *id}});
        if (!r.ok()) return void(rc = report_error(r.error()));
        const auto& file = (*r)["file"].get_binary();
        std::ofstream f(*out, std::ios::binary);
        f.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
        f.close();
        if (!f) return void(rc = report_error("cannot write '" + *out + "'"));
        if (g.json) return print_json(json{{"ok", true}, {"out", *out}, {"entries", (*r)["entries"]}, {"heads", (*r)["heads"]}});
        std::printf("wrote %s: entries %llu..%llu, %llu signed heads\n", out->c_str(),
                    static_cast<unsigned long long>((*r)["first_seq"].get<uint64_t>()),
                    static_cast<unsigned long long>((*r)["head_seq"].get<uint64_t>()),
                    static_cast<unsigned long long>((*r)["heads"].get<uint64_t>()));
    });
}

// audit check of an archive file (protocol/audit_archive.h); returns the exit code.
int check_archive(const Globals& g, const std::string& path, const std::string& bytes,
                  const std::optional<protocol::SignPublicKey>& expected) {
    std::vector<protocol::SignPublicKey> keys;
    if (expected) keys.push_back(*expected);
    auto c = protocol::check_audit_archive(protocol::as_bytes(bytes), keys);
    if (!c.ok()) return report_error("audit archive '" + path + "' does not check: " + c.error());
    if (g.json) {
        print_json(json{{"ok", true}, {"archive", true}, {"agency", c->a.agency}, {"sign_key", protocol::to_base64(c->a.sign_key)},
                        {"key_given", expected.has_value()}, {"first_seq", c->first_seq}, {"last_seq", c->last_seq},
                        {"first_time_ms", c->first_time_ms}, {"last_time_ms", c->last_time_ms}, {"before_ms", c->a.before_ms},
                        {"first_prev", protocol::to_hex(c->a.first_prev)}, {"end", protocol::to_hex(c->end.head)}});
        return 0;
    }
    std::printf("OK: archive of %s, entries %llu..%llu (%s to %s, all before %s), end %s\n", c->a.agency.c_str(),
                static_cast<unsigned long long>(c->first_seq), static_cast<unsigned long long>(c->last_seq),
                format_time(c->first_time_ms).c_str(), format_time(c->last_time_ms).c_str(),
                format_time(c->a.before_ms).c_str(), protocol::to_hex(c->end.head).substr(0, 16).c_str());
    if (c->first_seq > 1)
        std::printf("links to entry %llu (%s), the end of the archive before it\n",
                    static_cast<unsigned long long>(c->first_seq - 1), protocol::to_hex(c->a.first_prev).substr(0, 16).c_str());
    if (!expected)
        std::printf("note: checked with the key the file names (%s); give --key or --identity to check it is the node's\n",
                    protocol::to_base64(c->a.sign_key).c_str());
    return 0;
}

void add_check(CLI::App* audit, Globals& g, int& rc) {
    auto file = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    auto identity = std::make_shared<std::string>();
    auto* cmd = audit->add_subcommand("check", "check an audit export or archive with public keys only (no node, no database)");
    cmd->add_option("file", *file, "the file 'audit export' or 'audit archive' wrote")->required();
    cmd->add_option("--key", *key, "the node's public signing key (base64), as its identity line shows it");
    cmd->add_option("--identity", *identity, "the node's identity line (lienthong-id v1 ...), instead of --key");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, file, key, identity] {
        std::optional<protocol::SignPublicKey> expected;
        if (!key->empty()) {
            auto k = protocol::fixed_from_base64<32>(*key, "--key");
            if (!k.ok()) return void(rc = report_error(k.error()));
            expected = *k;
        } else if (!identity->empty()) {
            auto id = protocol::PublicIdentity::from_line(*identity);
            if (!id.ok()) return void(rc = report_error("--identity: " + id.error()));
            expected = id->sign_key;
        }
        auto bytes = read_file(*file);
        if (!bytes.ok()) return void(rc = report_error(bytes.error()));
        if (protocol::is_audit_archive(protocol::as_bytes(*bytes))) return void(rc = check_archive(g, *file, *bytes, expected));
        auto c = protocol::check_audit_export(protocol::as_bytes(*bytes), expected);
        if (!c.ok()) return void(rc = report_error("audit export '" + *file + "' does not check: " + c.error()));
        if (g.json) {
            json entries = json::array();
            for (const auto& e : c->about_doc) {
                json j{{"seq", e.seq}, {"time_ms", e.time_ms}, {"kind", e.kind}, {"agency", e.agency}, {"peer", e.peer},
                       {"detail", e.detail}};
                if (e.msg) j["msg"] = protocol::to_hex(*e.msg);
                if (e.about) j["about"] = protocol::to_hex(*e.about);
                entries.push_back(j);
            }
            return print_json(json{{"ok", true}, {"agency", c->x.agency}, {"sign_key", protocol::to_base64(c->x.sign_key)},
                                   {"key_given", expected.has_value()}, {"doc", protocol::to_hex(c->x.doc)},
                                   {"entries_about_doc", entries}, {"heads", c->heads_ok}, {"witnesses", c->x.witnesses},
                                   {"witnessed_seq", c->witnessed_seq}});
        }
        std::printf("OK: %s, document %s, %zu entries about it, %zu signed heads (held by:", c->x.agency.c_str(),
                    protocol::to_hex(c->x.doc).substr(0, 16).c_str(), c->about_doc.size(), c->heads_ok);
        for (const auto& w : c->x.witnesses) std::printf(" %s", w.c_str());
        std::printf(")\n");
        for (const auto& e : c->about_doc)
            std::printf("%6llu  %s  %-26s %s\n", static_cast<unsigned long long>(e.seq), format_time(e.time_ms).c_str(),
                        e.kind.c_str(), e.agency.c_str());
        if (!expected)
            std::printf("note: checked with the key the file names (%s); give --key or --identity to check it is the node's\n",
                        protocol::to_base64(c->x.sign_key).c_str());
    });
}

}  // namespace

void add_audit(CLI::App& app, Globals& g, int& rc) {
    auto* audit = app.add_subcommand("audit", "the node's tamper-evident audit log");
    audit->require_subcommand(1);
    add_show(audit, g, rc);
    add_verify(audit, g, rc);
    add_publish(audit, g, rc);
    add_export(audit, g, rc);
    add_check(audit, g, rc);
    add_audit_archive(audit, g, rc);
}

}  // namespace lienthong::admin
