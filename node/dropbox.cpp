// Drop folders: edXML interchange through the file system for a DMS that cannot call the local
// API. Layout under drop_dir (created at start, mode 0750):
//   outgoing/  the DMS puts edXML files here; each is submitted once (document or status)
//   sent/      ... and moved here once the submission is committed
//   failed/    ... or here when it was refused, beside <name>.error: one line saying why
//   incoming/  every received document and status report as <message id>.edxml
//
// Pick-up rule for outgoing/: only regular files whose name does not start with '.' are read,
// and only once their size and modification time stayed the same for one scan (~0.5 s). The
// safe way to drop a file is to write it as ".name" in outgoing/ and rename it to "name".
// Anything else there (a symbolic link, a FIFO, a folder) is moved to failed/ with a .error
// saying what it is; it is never opened. The four folders are opened without following
// links (a folder that is a link is refused at start and reported, never used), and files in
// them are read and written relative to those open folders. A name too long to take the
// suffixes the node adds is shortened to its first bytes and the file's key. A file that
// cannot be moved out of outgoing/ is reported once and then left alone while it is there.
// A file's identity is its name plus its content: dropping the same name with the same bytes
// again after it went to sent/ is taken as the same file and not sent a second time.
//
// What stays true across a crash at any point (tables in node_impl.h, DropFolders):
//   - a file is sent at most once: its key is recorded in drop_done in the very transaction
//     that stores the submission; a file found in outgoing/ with a recorded key is only moved;
//   - a refused file never reached storage; failed/<name>.error is written (atomically) before
//     the file is moved, so a crash in between refuses it again and rewrites the same .error;
//   - a received message is written to incoming/ at least once (drop_export entry committed
//     with the message, deleted after the file is durable) under its message id, so writing
//     it again replaces the same file: it appears there once. A DMS that moves files out of
//     incoming/ should treat a name it has already taken as done (a crash between the rename
//     and the next commit writes that file again).
// Folders are made 0750 and files written 0640 despite the node's umask: the DMS may run as
// another user of the node's group. Temporary files are ".lt-<name>.tmp" in the destination
// folder; stale ones are removed at start (the node holds the data_dir lock: no other writer).
// A refusal is told from a storage failure by whether the submission reached the commit
// transaction: a failed commit leaves the file in outgoing/ to be tried again.
//
// Everything here runs on the loop thread except drop_mark_received (committer thread), which
// reads only m_drop.pending, fixed at start.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "node/node_impl.h"
#include "protocol/edxml_convert.h"

namespace lienthong::node {

namespace {

constexpr std::string_view kDropFileDomain = "lienthong/drop-file/v1";
constexpr uint64_t kScanIntervalMs = 500;
constexpr size_t kFilesPerScan = 64;    // submissions started per scan at most
constexpr size_t kExportsPerTurn = 16;  // incoming files written per loop turn at most
constexpr const char* kTempPrefix = ".lt-";

std::string sub(const std::string& root, const char* dir) {
    return root + "/" + dir;
}

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace

// An open folder, closed on scope exit. Opened with O_NOFOLLOW: a drop folder that is a
// symbolic link is refused, never followed (it could lead the node to move or quote another
// folder's files).
class DirFd {
public:
    explicit DirFd(const std::string& path)
        : m_fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)), m_path(path) {}
    ~DirFd() {
        if (m_fd >= 0) ::close(m_fd);
    }
    DirFd(const DirFd&) = delete;
    DirFd& operator=(const DirFd&) = delete;
    bool ok() const { return m_fd >= 0; }
    int fd() const { return m_fd; }
    const std::string& path() const { return m_path; }
    // Why it could not be opened (after a failed open only).
    std::string error() const {
        struct stat st {};
        if (::lstat(m_path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
            return "'" + m_path + "' is a symbolic link; make it a real folder (the node does not follow links there)";
        return "cannot open folder '" + m_path + "': " + errno_text();
    }

private:
    int m_fd;
    std::string m_path;
};

namespace {

Status fsync_dir(const DirFd& dir) {
    if (::fsync(dir.fd()) != 0) return make_error("cannot fsync folder '" + dir.path() + "': " + errno_text());
    return ok_status();
}

// Writes `name` in `dir` through a temporary file in the same folder: fsync, rename. The
// caller fsyncs the folder (once for many files).
Status write_atomic(const DirFd& dir, const std::string& name, ByteView data) {
    const std::string tmp = kTempPrefix + name + ".tmp";
    const std::string where = dir.path() + "/" + tmp;
    const int fd = ::openat(dir.fd(), tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) return make_error("cannot create '" + where + "': " + errno_text());
    ::fchmod(fd, 0640);  // past the node's umask 077: the DMS's group may read it
    const auto fail = [&](const std::string& what) {
        const std::string err = errno_text();
        ::close(fd);
        ::unlinkat(dir.fd(), tmp.c_str(), 0);
        return make_error(what + " '" + where + "': " + err);
    };
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail("cannot write (is the disk full?)");
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) return fail("cannot fsync");
    ::close(fd);
    if (::renameat(dir.fd(), tmp.c_str(), dir.fd(), name.c_str()) != 0) {
        const std::string err = errno_text();
        ::unlinkat(dir.fd(), tmp.c_str(), 0);
        return make_error("cannot rename '" + where + "' to '" + name + "': " + err);
    }
    return ok_status();
}

// Reads a regular file of `dir` (never through a link, never blocking on a FIFO).
Result<Bytes> read_file(const DirFd& dir, const std::string& name) {
    const std::string path = dir.path() + "/" + name;
    const int fd = ::openat(dir.fd(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return make_error("cannot open '" + path + "': " + errno_text());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error("'" + path + "' is not a regular file");
    }
    if (static_cast<uint64_t>(st.st_size) > protocol::edxml::kMaxInputBytes) {
        ::close(fd);
        return make_error("file is " + std::to_string(st.st_size) +
                          " bytes, over the edXML limit of " +
                          std::to_string(protocol::edxml::kMaxInputBytes));
    }
    Bytes out(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const std::string err = errno_text();
            ::close(fd);
            return make_error("cannot read '" + path + "': " + err);
        }
        if (n == 0) break;  // shrank while we read: take what is there, parse judges it
        done += static_cast<size_t>(n);
    }
    out.resize(done);
    ::close(fd);
    return out;
}

// The longest name the node gives a file it moves: with room left for the ".<key>" it may add
// (free_name), the ".error" beside it and the temporary ".lt-….tmp" that writes that.
constexpr size_t kMaxMovedName = 255 - 17 - 6 - 8;

// `name` if it fits kMaxMovedName, else its first bytes (whole UTF-8 characters) and the key:
// a name near NAME_MAX cannot take a suffix.
std::string bounded_name(const std::string& name, const Hash32& key) {
    if (name.size() <= kMaxMovedName) return name;
    size_t cut = kMaxMovedName - 17;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    return name.substr(0, cut) + "." + protocol::to_hex(key).substr(0, 16);
}

// The name to move `name` to in `dir`: itself (bounded), or with the key appended when an
// earlier, different file of that name is already there (never overwrite what the DMS may
// still read).
std::string free_name(const DirFd& dir, const std::string& name, const Hash32& key) {
    const std::string base = bounded_name(name, key);
    struct stat st {};
    if (::fstatat(dir.fd(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return base;
    return base + "." + protocol::to_hex(key).substr(0, 16);
}

std::string one_line(std::string s) {
    std::replace_if(
        s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return s;
}

// The names in a folder (not . and ..), read through its fd.
std::vector<std::string> list_names(const DirFd& dir) {
    std::vector<std::string> out;
    const int fd = ::dup(dir.fd());
    if (fd < 0) return out;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return out;
    }
    ::rewinddir(d);
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(d);
    return out;
}

const char* kind_of(mode_t mode) {
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    return "not a regular file";
}

Hash32 file_key(const std::string& name, ByteView content) {
    Bytes in(name.begin(), name.end());
    in.push_back(0);
    in.insert(in.end(), content.begin(), content.end());
    return protocol::hash_domain(kDropFileDomain, in);
}

Hash32 to_hash(ByteView b) {
    Hash32 h{};
    std::copy_n(b.begin(), std::min(b.size(), h.size()), h.begin());
    return h;
}

}  // namespace

Status NodeImpl::drop_start() {
    const std::string& root = m_config.drop_dir;
    if (root.empty()) return ok_status();
    std::error_code ec;
    if (std::filesystem::create_directories(root, ec)) ::chmod(root.c_str(), 0750);
    if (ec)
        return make_error("cannot create drop_dir '" + root + "': " + ec.message() +
                          "; check the config key drop_dir");
    for (const char* dir : {"outgoing", "sent", "failed", "incoming"}) {
        const std::string path = sub(root, dir);
        if (::mkdir(path.c_str(), 0750) == 0)
            ::chmod(path.c_str(), 0750);  // past the node's umask 077: the DMS's group may enter
        else if (errno != EEXIST)
            return make_error("cannot create drop folder '" + path + "': " + errno_text());
        const DirFd d(path);
        if (!d.ok()) return make_error("drop folder: " + d.error());
        for (const auto& name : list_names(d))
            if (name.starts_with(kTempPrefix)) ::unlinkat(d.fd(), name.c_str(), 0);
    }
    if (const char* at = std::getenv("LIENTHONG_DROP_CRASH_AT")) m_drop.crash_at = at;
    LT_ASSIGN(m_drop.done, m_store->env().table("drop_done"));
    LT_ASSIGN(m_drop.pending, m_store->env().table("drop_export"));
    m_store->env().read([&](const storage::ReadTxn& t) {
        t.scan(m_drop.pending, {}, [&](ByteView k, ByteView) {
            if (k.size() == 32) m_drop.to_export.push_back(to_hash(k));
            return true;
        });
        return 0;
    });
    m_log.info("drop_started",
               {{"dir", root}, {"exports_pending", std::to_string(m_drop.to_export.size())}});
    return ok_status();
}

void NodeImpl::drop_crash_point(std::string_view point) const {
    if (m_drop.crash_at != point) return;
    m_log.warn("crash_point", {{"at", point}});
    ::kill(::getpid(), SIGKILL);
}

Status NodeImpl::drop_mark_received(storage::WriteTxn& t, const Hash32& id) const {
    if (m_config.drop_dir.empty()) return ok_status();
    return t.put(m_drop.pending, id, {});
}

void NodeImpl::drop_on_timers(uint64_t now) {
    if (m_config.drop_dir.empty()) return;
    if (now >= m_drop.next_scan_ms) {
        m_drop.next_scan_ms = now + kScanIntervalMs;
        m_drop.to_export.insert(m_drop.to_export.end(), m_drop.export_retry.begin(),
                                m_drop.export_retry.end());
        m_drop.export_retry.clear();
        drop_scan();
    }
    drop_export();
}

void NodeImpl::drop_scan() {
    const DirFd out(sub(m_config.drop_dir, "outgoing"));
    if (!out.ok()) {
        uint64_t held = 0;
        if (m_refusals.allow("drop_folder", m_clock->now_ms(), held))
            m_log.error("drop_folder_unusable", {{"error", out.error()}, {"held_back", std::to_string(held)}});
        return;
    }
    std::vector<std::pair<std::string, DropFolders::Seen>> files;
    std::vector<std::pair<std::string, std::string>> unusable;  // (name, why)
    for (auto& name : list_names(out)) {
        if (name.empty() || name[0] == '.') continue;
        struct stat st {};
        if (::fstatat(out.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(st.st_mode)) {
            unusable.emplace_back(name, std::string("'") + name + "' is " + kind_of(st.st_mode) +
                                            ", not a regular file; put edXML files in outgoing/");
            continue;
        }
        files.push_back({std::move(name),
                         {static_cast<uint64_t>(st.st_size),
                          int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec}});
    }
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    // A name the node could not move out (logged once) is left alone while it is there.
    std::set<std::string> present;
    for (const auto& [name, why] : unusable) present.insert(name);
    for (const auto& [name, seen] : files) present.insert(name);
    std::erase_if(m_drop.given_up, [&](const std::string& n) { return !present.count(n); });
    for (const auto& [name, why] : unusable)
        if (!m_drop.given_up.count(name)) drop_fail(name, file_key(name, {}), why);
    std::map<std::string, DropFolders::Seen> seen;
    size_t started = 0;
    for (const auto& [name, now] : files) {
        auto before = m_drop.seen.find(name);
        const bool stable = before != m_drop.seen.end() && before->second == now;
        seen[name] = now;
        if (!stable || m_drop.inflight.count(name) || m_drop.given_up.count(name) || started >= kFilesPerScan ||
            batch_full())
            continue;
        ++started;
        drop_pick_up(out, name);
    }
    m_drop.seen = std::move(seen);
}

void NodeImpl::drop_pick_up(const DirFd& out, const std::string& name) {
    auto content = read_file(out, name);
    if (!content.ok()) return drop_fail(name, file_key(name, {}), content.error());
    const Hash32 key = file_key(name, *content);
    const auto recorded =
        m_store->env().read([&](const storage::ReadTxn& t) -> std::optional<Hash32> {
            auto v = t.get(m_drop.done, key);
            if (!v) return std::nullopt;
            return to_hash(*v);
        });
    if (recorded) return drop_move_sent(name, key, hex_id(*recorded), true);

    // Set in the commit transaction: an error after it is the storage's, not the file's.
    auto reached_storage = std::make_shared<std::atomic<bool>>(false);
    m_drop.inflight.insert(name);
    import_edxml(
        *content, {},
        [this, name, key, reached_storage](const nlohmann::json& j) {
            m_drop.inflight.erase(name);
            if (j.value("ok", false)) {
                drop_crash_point("after_commit");
                return drop_move_sent(name, key, j.value("id", ""), false);
            }
            const std::string error = j.value("error", "refused");
            if (reached_storage->load()) {  // stays in outgoing/: the next scan tries again
                m_log.warn("drop_retry", {{"file", name}, {"error", error}});
                return;
            }
            drop_fail(name, key, error);
        },
        [dbi = m_drop.done, key, reached_storage](storage::WriteTxn& t,
                                                  const Hash32& id) -> Status {
            reached_storage->store(true);
            return t.put(dbi, key, id);
        });
}

void NodeImpl::drop_move_sent(const std::string& name, const Hash32& key, const std::string& msg,
                              bool recovered) {
    const DirFd out(sub(m_config.drop_dir, "outgoing")), sent(sub(m_config.drop_dir, "sent"));
    Status st = !out.ok() ? make_error(out.error()) : !sent.ok() ? make_error(sent.error()) : ok_status();
    const std::string target = st.ok() ? free_name(sent, name, key) : name;
    if (st.ok() && ::renameat(out.fd(), name.c_str(), sent.fd(), target.c_str()) != 0)
        st = make_error("cannot move it to sent/: " + errno_text());
    if (!st.ok()) {
        // The submission is recorded: the key is found again and the move tried once the
        // file is seen anew (another name, or after a restart).
        m_drop.given_up.insert(name);
        m_log.error("drop_move_failed", {{"file", name}, {"msg", msg}, {"error", st.error()},
                                         {"note", "sent, but left in outgoing/; move it away by hand"}});
        return;
    }
    for (const auto* dir : {&sent, &out})
        if (auto f = fsync_dir(*dir); !f.ok()) m_log.warn("drop_fsync_failed", {{"error", f.error()}});
    m_log.info("drop_submitted", {{"file", name},
                                  {"msg", msg},
                                  {"moved_to", "sent/" + target},
                                  {"recovered", recovered ? "true" : "false"}});
}

void NodeImpl::drop_fail(const std::string& name, const Hash32& key, const std::string& reason) {
    const DirFd out(sub(m_config.drop_dir, "outgoing")), failed(sub(m_config.drop_dir, "failed"));
    Status st = !out.ok() ? make_error(out.error()) : !failed.ok() ? make_error(failed.error()) : ok_status();
    const std::string target = st.ok() ? free_name(failed, name, key) : name;
    const std::string line = one_line(reason) + "\n";
    if (st.ok()) st = write_atomic(failed, target + ".error", protocol::as_bytes(line));
    if (st.ok()) st = fsync_dir(failed);
    if (st.ok()) drop_crash_point("after_error_file");
    if (st.ok() && ::renameat(out.fd(), name.c_str(), failed.fd(), target.c_str()) != 0)
        st = make_error("cannot move it to '" + failed.path() + "/" + target + "': " + errno_text());
    if (st.ok()) st = fsync_dir(failed);
    if (st.ok()) st = fsync_dir(out);
    if (!st.ok()) {
        // Said once: the file stays where it is, and is not read again while it is there.
        m_drop.given_up.insert(name);
        m_log.error("drop_fail_failed", {{"file", name}, {"reason", one_line(reason)}, {"error", st.error()},
                                         {"note", "left in outgoing/ and not tried again; move it away by hand"}});
        return;
    }
    m_log.info("drop_failed",
               {{"file", name}, {"moved_to", "failed/" + target}, {"error", one_line(reason)}});
}

void NodeImpl::drop_export() {
    if (m_drop.to_export.empty()) return;
    const DirFd dir(sub(m_config.drop_dir, "incoming"));
    if (!dir.ok()) {
        uint64_t held = 0;
        if (m_refusals.allow("drop_folder", m_clock->now_ms(), held))
            m_log.error("drop_folder_unusable", {{"error", dir.error()}, {"held_back", std::to_string(held)}});
        m_drop.export_retry.insert(m_drop.export_retry.end(), m_drop.to_export.begin(), m_drop.to_export.end());
        m_drop.to_export.clear();
        return;
    }
    std::vector<Hash32> written;
    for (size_t n = 0; n < kExportsPerTurn && !m_drop.to_export.empty(); ++n) {
        const Hash32 id = m_drop.to_export.front();
        m_drop.to_export.pop_front();
        auto m = open_stored(id);
        if (!m.ok()) {
            m_log.error("drop_export_failed", {{"msg", hex_id(id)}, {"error", m.error()}});
            m_drop.export_retry.push_back(id);
            continue;
        }
        // An imported file is handed over as the sender's document system wrote it.
        const Bytes& carried = m->status ? m->status->report.edxml : m->document->content.edxml;
        const Bytes written_xml =
            !carried.empty() ? Bytes()
            : m->status      ? protocol::edxml::write(protocol::edxml::from_report(m->status->report))
                             : protocol::edxml::write(protocol::edxml::from_content(m->document->content));
        const Bytes& xml = carried.empty() ? written_xml : carried;
        if (auto st = write_atomic(dir, hex_id(id) + ".edxml", xml); !st.ok()) {
            m_log.error("drop_export_failed", {{"msg", hex_id(id)}, {"error", st.error()}});
            m_drop.export_retry.push_back(id);
            continue;
        }
        written.push_back(id);
    }
    if (written.empty()) return;
    if (auto st = fsync_dir(dir); !st.ok()) {
        m_log.error("drop_export_failed", {{"error", st.error()}});
        m_drop.export_retry.insert(m_drop.export_retry.end(), written.begin(), written.end());
        return;
    }
    drop_crash_point("after_export");
    for (const auto& id : written)
        m_log.info("drop_exported",
                   {{"msg", hex_id(id)}, {"file", "incoming/" + hex_id(id) + ".edxml"}});
    // Forgotten in a later commit: a crash before it exports these again, onto the same names.
    m_batch.writes.push_back([this, written](storage::WriteTxn& t) -> Status {
        for (const auto& id : written) LT_TRY(t.del(m_drop.pending, id));
        return ok_status();
    });
}

}  // namespace lienthong::node
