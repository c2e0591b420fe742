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

Status fsync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error("cannot open folder '" + dir + "': " + errno_text());
    const int rc = ::fsync(fd);
    const std::string err = rc == 0 ? std::string() : errno_text();
    ::close(fd);
    if (rc != 0) return make_error("cannot fsync folder '" + dir + "': " + err);
    return ok_status();
}

// Writes dir/name through a temporary file in the same folder: fsync, rename. The caller
// fsyncs the folder (once for many files).
Status write_atomic(const std::string& dir, const std::string& name, ByteView data) {
    const std::string tmp = dir + "/" + kTempPrefix + name + ".tmp";
    const std::string path = dir + "/" + name;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) return make_error("cannot create '" + tmp + "': " + errno_text());
    ::fchmod(fd, 0640);  // past the node's umask 077: the DMS's group may read it
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string err = errno_text();
            ::close(fd);
            ::unlink(tmp.c_str());
            return make_error("cannot write '" + tmp + "': " + err + "; is the disk full?");
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const std::string err = errno_text();
        ::close(fd);
        ::unlink(tmp.c_str());
        return make_error("cannot fsync '" + tmp + "': " + err);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string err = errno_text();
        ::unlink(tmp.c_str());
        return make_error("cannot rename '" + tmp + "' to '" + path + "': " + err);
    }
    return ok_status();
}

Result<Bytes> read_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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

// The name to move `name` to in `dir`: itself, or with the key appended when an earlier,
// different file of that name is already there (never overwrite what the DMS may still read).
std::string free_name(const std::string& dir, const std::string& name, const Hash32& key) {
    struct stat st {};
    if (::lstat((dir + "/" + name).c_str(), &st) != 0) return name;
    return name + "." + protocol::to_hex(key).substr(0, 16);
}

std::string one_line(std::string s) {
    std::replace_if(
        s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return s;
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
        for (const auto& e : std::filesystem::directory_iterator(path, ec))
            if (e.path().filename().string().starts_with(kTempPrefix))
                std::filesystem::remove(e.path(), ec);
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
    const std::string out = sub(m_config.drop_dir, "outgoing");
    std::vector<std::pair<std::string, DropFolders::Seen>> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(out, ec)) {
        std::string name = e.path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        struct stat st {};
        if (::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        files.push_back({std::move(name),
                         {static_cast<uint64_t>(st.st_size),
                          int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec}});
    }
    if (ec) m_log.warn("drop_scan_failed", {{"dir", out}, {"error", ec.message()}});
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::map<std::string, DropFolders::Seen> seen;
    size_t started = 0;
    for (const auto& [name, now] : files) {
        auto before = m_drop.seen.find(name);
        const bool stable = before != m_drop.seen.end() && before->second == now;
        seen[name] = now;
        if (!stable || m_drop.inflight.count(name) || started >= kFilesPerScan || batch_full())
            continue;
        ++started;
        drop_pick_up(name);
    }
    m_drop.seen = std::move(seen);
}

void NodeImpl::drop_pick_up(const std::string& name) {
    auto content = read_file(sub(m_config.drop_dir, "outgoing") + "/" + name);
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
    const std::string out = sub(m_config.drop_dir, "outgoing");
    const std::string sent = sub(m_config.drop_dir, "sent");
    const std::string target = free_name(sent, name, key);
    if (::rename((out + "/" + name).c_str(), (sent + "/" + target).c_str()) != 0) {
        // The submission is recorded: the next scan finds the key and tries the move again.
        m_log.error("drop_move_failed", {{"file", name}, {"msg", msg}, {"error", errno_text()}});
        return;
    }
    for (const auto& dir : {sent, out})
        if (auto st = fsync_dir(dir); !st.ok())
            m_log.warn("drop_fsync_failed", {{"error", st.error()}});
    m_log.info("drop_submitted", {{"file", name},
                                  {"msg", msg},
                                  {"moved_to", "sent/" + target},
                                  {"recovered", recovered ? "true" : "false"}});
}

void NodeImpl::drop_fail(const std::string& name, const Hash32& key, const std::string& reason) {
    const std::string out = sub(m_config.drop_dir, "outgoing");
    const std::string failed = sub(m_config.drop_dir, "failed");
    const std::string target = free_name(failed, name, key);
    const std::string line = one_line(reason) + "\n";
    Status st = write_atomic(failed, target + ".error", protocol::as_bytes(line));
    if (st.ok()) st = fsync_dir(failed);
    if (st.ok()) drop_crash_point("after_error_file");
    if (st.ok() && ::rename((out + "/" + name).c_str(), (failed + "/" + target).c_str()) != 0)
        st = make_error("cannot move it to '" + failed + "/" + target + "': " + errno_text());
    if (st.ok()) st = fsync_dir(failed);
    if (st.ok()) st = fsync_dir(out);
    if (!st.ok()) {
        m_log.error("drop_fail_failed",
                    {{"file", name}, {"reason", one_line(reason)}, {"error", st.error()}});
        return;
    }
    m_log.info("drop_failed",
               {{"file", name}, {"moved_to", "failed/" + target}, {"error", one_line(reason)}});
}

void NodeImpl::drop_export() {
    if (m_drop.to_export.empty()) return;
    const std::string dir = sub(m_config.drop_dir, "incoming");
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
        const Bytes xml =
            m->status ? protocol::edxml::write(protocol::edxml::from_report(m->status->report))
                      : protocol::edxml::write(protocol::edxml::from_content(m->document->content));
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
