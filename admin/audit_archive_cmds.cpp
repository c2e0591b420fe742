// lienthong-admin audit archive: asks the node to prepare a signed archive of its entries
// before a time, writes it to --out and fsyncs it, and only then asks the node to delete them
// (node/audit_archive.cpp). The file checks with 'audit check' and links to the remaining log
// with 'audit verify --archive'.
#include "admin/audit_archive.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace lienthong::admin {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// "YYYY-MM-DD" (00:00 Vietnam time, UTC+7), "YYYY-MM-DDTHH:MM:SS" (Vietnam time) or the same
// ending in Z (UTC) → ms since the epoch.
Result<uint64_t> parse_instant(const std::string& text, const std::string& option) {
    const auto bad = [&] {
        return make_error(option + " '" + text + "' is not a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM:SS[Z]");
    };
    std::string body = text;
    const bool utc = !body.empty() && body.back() == 'Z';
    if (utc) body.pop_back();
    std::tm tm{};
    std::istringstream in(body);
    if (body.size() == 10) in >> std::get_time(&tm, "%Y-%m-%d");
    else if (body.size() == 19) in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    else return bad();
    if (in.fail() || (utc && body.size() == 10)) return bad();
    in.peek();
    if (!in.eof()) return bad();
    const int mday = tm.tm_mday, mon = tm.tm_mon, hour = tm.tm_hour, min = tm.tm_min, sec = tm.tm_sec;
    const std::time_t t = timegm(&tm);
    if (t < 0 || tm.tm_mday != mday || tm.tm_mon != mon || tm.tm_hour != hour || tm.tm_min != min || tm.tm_sec != sec)
        return make_error(option + " '" + text + "' is not a real date and time");
    return static_cast<uint64_t>(t - (utc ? 0 : 7 * 3600)) * 1000;
}

uint64_t now_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string blake2b_hex(protocol::ByteView b) {
    protocol::Hash32 h{};
    crypto_generichash(h.data(), h.size(), b.data(), b.size(), nullptr, 0);
    return protocol::to_hex(h);
}

// The output file, created before the node is asked anything (so a bad --out changes nothing)
// and removed again unless kept.
class OutFile {
public:
    ~OutFile() {
        if (m_fd >= 0) ::close(m_fd);
        if (!m_keep && !m_path.empty()) ::unlink(m_path.c_str());
    }
    Status create(const std::string& path) {
        m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (m_fd < 0 && errno == EEXIST) return make_error("'" + path + "' exists; refusing to overwrite it (choose another --out)");
        if (m_fd < 0) return make_error("cannot create '" + path + "': " + std::strerror(errno));
        m_path = path;
        return ok_status();
    }
    // Writes and fsyncs the file and its directory entry: after this it survives a crash.
    Status write_durably(protocol::ByteView bytes) {
        LT_TRY(write_all(m_fd, bytes.data(), bytes.size()));
        if (::fsync(m_fd) != 0) return make_error("cannot fsync '" + m_path + "': " + std::strerror(errno));
        ::close(m_fd);
        m_fd = -1;
        m_keep = true;
        return fsync_path(fs::absolute(m_path).parent_path().string(), true);
    }

private:
    std::string m_path;
    int m_fd = -1;
    bool m_keep = false;
};

struct ArchiveOpts {
    std::string before, out;
};

Result<json> archive(const Globals& g, const ArchiveOpts& o) {
    LT_ASSIGN(const uint64_t before, parse_instant(o.before, "--before"));
    if (before > now_ms())
        return make_error("--before '" + o.before + "' is in the future: only entries written before now can be archived");
    OutFile out;
    LT_TRY(out.create(o.out));
    LT_ASSIGN(json prepared, call_node(g, json{{"op", "audit_archive_prepare"}, {"before_ms", before}}));
    const auto& file = prepared.at("file").get_binary();
    const protocol::ByteView bytes(file.data(), file.size());
    // The file as a third party will check it, before anything is deleted.
    if (auto c = protocol::check_audit_archive(bytes); !c.ok())
        return make_error("the node's archive does not check (" + c.error() + "); nothing was deleted");
    const std::string hash = blake2b_hex(bytes);
    if (hash != prepared.at("file_blake2b").get<std::string>())
        return make_error("the archive changed on its way from the node; nothing was deleted");
    LT_TRY(out.write_durably(bytes));
    auto done = call_node(g, json{{"op", "audit_archive_commit"}, {"last_seq", prepared.at("last_seq")}, {"file_blake2b", hash}});
    if (!done.ok())
        return make_error("'" + o.out + "' was written, but the node kept the entries (" + done.error() +
                          "); the file repeats entries still in the log and may be deleted");
    return json{{"ok", true},
                {"out", o.out},
                {"first_seq", prepared.at("first_seq")},
                {"last_seq", prepared.at("last_seq")},
                {"entries", prepared.at("entries")},
                {"more", prepared.at("more")},
                {"file_blake2b", hash}};
}

}  // namespace

void add_audit_archive(CLI::App* audit, Globals& g, int& rc) {
    auto o = std::make_shared<ArchiveOpts>();
    auto* cmd = audit->add_subcommand(
        "archive", "move the entries written before a time to a file signed by the node; the log stays checkable");
    cmd->add_option("--before", o->before, "archive entries written before this day (YYYY-MM-DD, Vietnam time) or time "
                                           "(YYYY-MM-DDTHH:MM:SS, Vietnam time; with Z, UTC)")
        ->required();
    cmd->add_option("--out", o->out, "the archive file to write (must not exist)")->required();
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, o] {
        auto r = archive(g, *o);
        if (!r.ok()) return void(rc = report_error(r.error()));
        if (g.json) return print_json(*r);
        std::printf("archived entries %llu..%llu (%llu) to %s, BLAKE2b-256 %s\n",
                    static_cast<unsigned long long>((*r)["first_seq"].get<uint64_t>()),
                    static_cast<unsigned long long>((*r)["last_seq"].get<uint64_t>()),
                    static_cast<unsigned long long>((*r)["entries"].get<uint64_t>()), o->out.c_str(),
                    (*r)["file_blake2b"].get<std::string>().c_str());
        std::printf("the log now starts after entry %llu; keep the file: 'audit verify --archive %s' links it to the log\n",
                    static_cast<unsigned long long>((*r)["last_seq"].get<uint64_t>()), o->out.c_str());
        if ((*r)["more"].get<bool>())
            std::printf("more entries are older than %s (at most %zu go in one file): run it again with another --out\n",
                        o->before.c_str(), protocol::kMaxArchiveEntries);
    });
}

std::optional<protocol::Hash32> ArchivedPart::hash_of(uint64_t seq) const {
    for (const auto& a : archives)
        if (seq >= a.first_seq && seq <= a.last_seq) return a.hashes[seq - a.first_seq];
    return std::nullopt;
}

ArchivedPart link_archives(const std::vector<std::string>& files, const std::vector<protocol::SignPublicKey>& keys,
                           const std::optional<protocol::AuditHead>& point) {
    ArchivedPart p;
    if (point && std::none_of(keys.begin(), keys.end(), [&](const auto& k) { return protocol::verify_audit_head(k, *point); }))
        p.problems.push_back("the archived point (entry " + std::to_string(point->seq) +
                             ") is not signed by this node's keys");
    std::vector<std::string> names;
    for (const auto& f : files) {
        auto bytes = read_file(f);
        if (!bytes.ok()) {
            p.problems.push_back(bytes.error());
            continue;
        }
        auto c = protocol::check_audit_archive(protocol::as_bytes(*bytes), keys);
        if (!c.ok()) {
            p.problems.push_back("archive '" + f + "' does not check: " + c.error());
            continue;
        }
        p.archives.push_back(std::move(*c));
        names.push_back(f);
    }
    if (p.archives.empty()) return p;
    std::vector<size_t> order(p.archives.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p.archives[a].first_seq < p.archives[b].first_seq; });
    std::vector<protocol::ArchiveCheck> sorted;
    for (size_t i : order) sorted.push_back(std::move(p.archives[i]));
    p.archives = std::move(sorted);
    p.from_seq = p.archives.front().first_seq;
    for (size_t i = 1; i < p.archives.size(); ++i) {
        const auto &prev = p.archives[i - 1], &cur = p.archives[i];
        if (cur.first_seq != prev.last_seq + 1)
            p.problems.push_back("entries " + std::to_string(prev.last_seq + 1) + ".." + std::to_string(cur.first_seq - 1) +
                                 " are in none of the archives given");
        else if (cur.a.first_prev != prev.hashes.back())
            p.problems.push_back("the archive from entry " + std::to_string(cur.first_seq) +
                                 " does not link to the one before it (entry " + std::to_string(prev.last_seq) + ")");
    }
    const auto& last = p.archives.back();
    if (!point) {
        p.problems.push_back("the database holds no archived point, but archives were given");
    } else if (last.last_seq < point->seq) {
        p.problems.push_back("entries " + std::to_string(last.last_seq + 1) + ".." + std::to_string(point->seq) +
                             " were archived, but are in none of the archives given");
    } else if (last.last_seq > point->seq) {
        p.problems.push_back("an archive reaches entry " + std::to_string(last.last_seq) + ", past the archived point (entry " +
                             std::to_string(point->seq) + ")");
    } else if (last.hashes.back() != point->head) {
        p.problems.push_back("archived entry " + std::to_string(point->seq) + " differs from the archived point the log starts from");
    } else {
        p.linked = true;
    }
    return p;
}

}  // namespace lienthong::admin
