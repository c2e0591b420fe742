// backup, restore, verify, compact: the database's own maintenance. Unlike the other
// commands these read the database files directly (as LMDB's mdb_copy does), not through the
// node's API: a backup is taken whether the node runs or not (LMDB lets another process read
// a consistent snapshot while the node writes), and restore and compact need it stopped.
// They run as root or as the node's user.
#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "admin/backup_file.h"
#include "admin/commands.h"
#include "node/config.h"
#include "node/keyfile.h"
#include "storage/audit_log.h"
#include "storage/resync_marks.h"
#include "storage/store.h"

namespace lienthong::admin {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Holds <dir>/node.lock, the lock a running node holds: while held, no node starts on `dir`.
class NodeLock {
public:
    ~NodeLock() {
        if (m_fd >= 0) ::close(m_fd);
    }
    Status take(const std::string& dir) {
        LT_ASSIGN(const bool taken, try_take(dir));
        if (!taken) return make_error("a lienthong-node is running on '" + dir + "'; stop it first (systemctl stop lienthong)");
        return ok_status();
    }
    // false: a node holds it.
    Result<bool> try_take(const std::string& dir) {
        const std::string path = dir + "/node.lock";
        m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (m_fd < 0) return make_error("cannot open '" + path + "': " + std::strerror(errno));
        if (::flock(m_fd, LOCK_EX | LOCK_NB) == 0) return true;
        if (errno == EWOULDBLOCK) return false;
        return make_error("cannot lock '" + path + "': " + std::strerror(errno));
    }

private:
    int m_fd = -1;
};

// The data directory: --dir, else the config's data_dir.
Result<std::string> data_dir_of(const Globals& g, const std::string& dir_option) {
    if (!dir_option.empty()) return dir_option;
    auto config = node::load_config(g.config_path);
    if (!config.ok()) return make_error(config.error() + " (or name the data directory with --dir)");
    return config->data_dir;
}

Status give_to(const std::string& path, uid_t uid, gid_t gid) {
    if (::chown(path.c_str(), uid, gid) != 0)
        return make_error("cannot give '" + path + "' to uid " + std::to_string(uid) + ": " + std::strerror(errno));
    return ok_status();
}

void print_counts(const std::map<std::string, uint64_t>& counts) {
    for (const auto& [table, n] : counts) std::printf("  %-11s %llu\n", table.c_str(), static_cast<unsigned long long>(n));
}

// Appends `e` to the audit log of the database in `dir`, where no node runs (the caller holds
// its lock): what restore records, and backup when the node is stopped.
Status audit_offline(const std::string& dir, const storage::AuditEvent& e) {
    storage::EnvOptions eo;
    eo.dir = dir;
    eo.max_tables = 64;
    LT_ASSIGN(auto env, storage::Env::open(eo));
    LT_ASSIGN(auto log, storage::AuditLog::open(*env));
    return env->write([&](storage::WriteTxn& t) { return log->append(t, e); });
}

// What restore writes into the restored database, in one transaction: its audit entry, and
// the mark that makes the node ask its peers for what they delivered after `taken_ms`.
Status mark_restored(const std::string& dir, const storage::AuditEvent& e, uint64_t taken_ms) {
    storage::EnvOptions eo;
    eo.dir = dir;
    eo.max_tables = 64;
    LT_ASSIGN(auto env, storage::Env::open(eo));
    LT_ASSIGN(auto log, storage::AuditLog::open(*env));
    LT_ASSIGN(auto marks, storage::ResyncMarks::open(*env));
    return env->write([&](storage::WriteTxn& t) -> Status {
        LT_TRY(log->append(t, e));
        return marks->restored(t, taken_ms);
    });
}

storage::AuditEvent admin_event(std::string kind, const std::string& detail) {
    storage::AuditEvent e;
    e.kind = std::move(kind);
    e.time_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    e.user = current_user();
    e.detail = detail;
    return e;
}

// --- backup ---------------------------------------------------------------------------------

struct BackupOpts {
    std::string out, dir, passphrase_file;
    bool with_keys = false;
};

// The backup's audit entry, with the file's BLAKE2b-256 and the admin's user: the running node
// records it (through its API, as it records other admin commands); when none runs on `dir`,
// it goes into the database directly.
Status record_backup(const Globals& g, const std::string& dir, const std::string& file) {
    std::error_code ec;
    const uint64_t size = fs::file_size(file, ec);
    if (ec) return make_error("cannot size '" + file + "': " + ec.message());
    LT_ASSIGN(const std::string hash, hash_file_range(file, 0, size));
    const auto why = [&](const std::string& error) {
        return make_error("the backup '" + file + "' was written, but its audit entry was not: " + error);
    };
    NodeLock lock;
    auto free = lock.try_take(dir);
    if (!free.ok()) return why(free.error());
    if (*free) {
        if (auto st = audit_offline(dir, admin_event("backup", "file_blake2b=" + hash)); !st.ok()) return why(st.error());
        return ok_status();
    }
    auto r = call_node(g, json{{"op", "audit_backup"}, {"file_blake2b", hash}});
    if (!r.ok()) return why(r.error());
    return ok_status();
}

Status take_backup(const Globals& g, const BackupOpts& o, BackupManifest& m) {
    LT_ASSIGN(const std::string dir, data_dir_of(g, o.dir));
    if (fs::exists(o.out)) return make_error("'" + o.out + "' exists; refusing to overwrite it (choose another --out)");
    std::optional<std::string> passphrase;
    protocol::Bytes key_file;
    if (o.with_keys) {
        if (o.passphrase_file.empty()) return make_error("--with-keys needs --passphrase-file: keys are only ever stored encrypted");
        LT_ASSIGN(passphrase, read_passphrase(o.passphrase_file));
        auto config = node::load_config(g.config_path);
        if (!config.ok()) return make_error(config.error() + " (--with-keys reads the key file the config names)");
        LT_ASSIGN(const std::string text, read_file(config->key_file));
        key_file.assign(text.begin(), text.end());
    } else if (!o.passphrase_file.empty()) {
        return make_error("--passphrase-file without --with-keys: a backup holds no keys unless asked");
    }
    // 1. A compacted copy of one snapshot, in a directory of its own beside the output.
    const std::string tmp = o.out + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    if (!fs::create_directory(tmp, ec)) return make_error("cannot create '" + tmp + "': " + ec.message());
    struct Cleanup {
        std::string path;
        ~Cleanup() {
            std::error_code e;
            fs::remove_all(path, e);
        }
    } cleanup{tmp};
    const std::string copy = tmp + "/data.mdb";
    {
        LT_ASSIGN(auto store, storage::Store::open_read_only(dir));
        const int fd = ::open(copy.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return make_error("cannot create '" + copy + "': " + std::strerror(errno));
        auto st = store->env().copy_compact(fd);
        if (st.ok() && ::fsync(fd) != 0) st = make_error("cannot fsync '" + copy + "': " + std::strerror(errno));
        ::close(fd);
        LT_TRY(st);
    }
    // 2. The manifest, from the copy itself: the counts are those of the snapshot.
    {
        LT_ASSIGN(auto snapshot, storage::Store::open_read_only(tmp));
        snapshot->env().read([&](const storage::ReadTxn& t) {
            const auto id = snapshot->identity(t);
            m.agency = id.agency;
            m.schema_version = id.schema_version;
            m.counts = snapshot->table_counts(t);
            return 0;
        });
    }
    m.created_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    m.database_bytes = fs::file_size(copy, ec);
    if (ec) return make_error("cannot size '" + copy + "': " + ec.message());
    LT_ASSIGN(m.database_blake2b_256, hash_file_range(copy, 0, m.database_bytes));
    protocol::Bytes sealed;
    if (passphrase) {
        SealedKeys k;
        LT_ASSIGN(sealed, seal_keys(key_file, *passphrase, k));
        sodium_memzero(key_file.data(), key_file.size());
        k.bytes = sealed.size();
        protocol::Hash32 h{};
        crypto_generichash(h.data(), h.size(), sealed.data(), sealed.size(), nullptr, 0);
        k.blake2b_256 = protocol::to_hex(h);
        m.keys = k;
    }
    // 3. The file: written beside, fsync'd, renamed into place.
    const std::string part = o.out + ".part";
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return make_error("cannot create '" + part + "': " + std::strerror(errno));
    const std::string head = std::string(kBackupMagic) + m.to_json_line() + "\n";
    Status st = write_all(fd, head.data(), head.size());
    if (st.ok()) {
        auto h = hash_file_range(copy, 0, m.database_bytes, fd);  // copies, and checks the copy read back the same
        if (!h.ok()) st = h.take_error();
        else if (*h != m.database_blake2b_256) st = make_error("the copy changed while it was written out");
    }
    if (st.ok()) st = write_all(fd, sealed.data(), sealed.size());
    if (st.ok() && ::fsync(fd) != 0) st = make_error("cannot fsync '" + part + "': " + std::strerror(errno));
    ::close(fd);
    if (st.ok() && ::rename(part.c_str(), o.out.c_str()) != 0)
        st = make_error("cannot rename '" + part + "' to '" + o.out + "': " + std::strerror(errno));
    if (!st.ok()) {
        ::unlink(part.c_str());
        return st;
    }
    const std::string parent = fs::absolute(o.out).parent_path().string();
    LT_TRY(fsync_path(parent, true));
    return record_backup(g, dir, o.out);
}

// --- restore --------------------------------------------------------------------------------

struct RestoreOpts {
    std::string file, dir, agency, passphrase_file, keys_out, user;
};

Status do_restore(const Globals& g, const RestoreOpts& o, BackupReader& r) {
    LT_ASSIGN(r, open_backup(o.file));
    const auto& m = r.manifest;
    std::string expected = o.agency;
    if (expected.empty()) {
        auto config = node::load_config(g.config_path);
        if (!config.ok())
            return make_error("say which agency this node is, with --agency or a config (-c): " + config.error());
        expected = config->agency;
    }
    if (m.agency != expected)
        return make_error("backup '" + o.file + "' is of agency '" + m.agency + "', not '" + expected +
                          "'; refusing to restore another agency's database");
    if (m.schema_version > storage::kSchemaVersion)
        return make_error("backup '" + o.file + "' has schema version " + std::to_string(m.schema_version) +
                          ", newer than this lienthong-admin knows (" + std::to_string(storage::kSchemaVersion) +
                          "); restore it with a newer lienthong-admin");
    if (!o.keys_out.empty() && !m.keys) return make_error("backup '" + o.file + "' holds no keys (it was taken without --with-keys)");
    if (!o.keys_out.empty() && fs::exists(o.keys_out))
        return make_error("'" + o.keys_out + "' exists; refusing to overwrite a key file");
    std::optional<uid_t> uid;
    gid_t gid = 0;
    if (!o.user.empty()) {
        const passwd* pw = ::getpwnam(o.user.c_str());
        if (!pw) return make_error("--user: no user '" + o.user + "' on this system");
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    // Keys first: a wrong passphrase stops the restore before anything is written.
    protocol::Bytes keys;
    if (!o.keys_out.empty()) {
        if (o.passphrase_file.empty()) return make_error("--keys-out needs --passphrase-file");
        LT_ASSIGN(const std::string passphrase, read_passphrase(o.passphrase_file));
        std::ifstream in(o.file, std::ios::binary);
        protocol::Bytes sealed(m.keys->bytes);
        in.seekg(static_cast<std::streamoff>(r.keys_offset));
        in.read(reinterpret_cast<char*>(sealed.data()), static_cast<std::streamsize>(sealed.size()));
        if (!in) return make_error("cannot read the keys of backup '" + o.file + "'");
        protocol::Hash32 h{};
        crypto_generichash(h.data(), h.size(), sealed.data(), sealed.size(), nullptr, 0);
        if (protocol::to_hex(h) != m.keys->blake2b_256) return make_error("backup '" + o.file + "' is damaged: its keys do not match their hash");
        LT_ASSIGN(keys, open_keys(sealed, passphrase, *m.keys));
    }
    std::error_code ec;
    fs::create_directories(o.dir, ec);
    if (ec) return make_error("cannot create '" + o.dir + "': " + ec.message());
    NodeLock lock;
    LT_TRY(lock.take(o.dir));
    const std::string target = o.dir + "/data.mdb";
    if (fs::exists(target))
        return make_error("'" + o.dir + "' already holds a database; move it aside first (restore never overwrites one)");
    const std::string part = target + ".restore";
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return make_error("cannot create '" + part + "': " + std::strerror(errno));
    auto h = hash_file_range(o.file, r.database_offset, m.database_bytes, fd);
    Status st = h.ok() ? ok_status() : h.take_error();
    if (st.ok() && *h != m.database_blake2b_256)
        st = make_error("backup '" + o.file + "' is damaged: its database does not match the manifest's hash");
    if (st.ok() && ::fsync(fd) != 0) st = make_error("cannot fsync '" + part + "': " + std::strerror(errno));
    ::close(fd);
    if (st.ok() && ::rename(part.c_str(), target.c_str()) != 0)
        st = make_error("cannot rename '" + part + "': " + std::strerror(errno));
    if (!st.ok()) {
        ::unlink(part.c_str());
        return st;
    }
    LT_TRY(fsync_path(o.dir, true));
    // The restore's audit entry, in the restored database itself (no node runs on it).
    // Its file hash is the whole file's, as the backup's own entry names it.
    std::error_code size_ec;
    const uint64_t file_bytes = fs::file_size(o.file, size_ec);
    if (size_ec) return make_error("cannot size '" + o.file + "': " + size_ec.message());
    LT_ASSIGN(const std::string file_hash, hash_file_range(o.file, 0, file_bytes));
    const std::string detail = "file_blake2b=" + file_hash + " taken=" + format_time(m.created_ms);
    if (auto st = mark_restored(o.dir, admin_event("restore", detail), m.created_ms); !st.ok())
        return make_error("the database was restored into '" + o.dir + "', but its restore mark was not written: " + st.error() +
                          "; move it aside and restore again");
    if (!o.keys_out.empty()) {
        const int kfd = ::open(o.keys_out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (kfd < 0) return make_error("cannot create '" + o.keys_out + "': " + std::strerror(errno));
        Status ks = write_all(kfd, keys.data(), keys.size());
        if (ks.ok() && ::fsync(kfd) != 0) ks = make_error("cannot fsync '" + o.keys_out + "'");
        ::close(kfd);
        sodium_memzero(keys.data(), keys.size());
        LT_TRY(ks);
        if (uid) LT_TRY(give_to(o.keys_out, *uid, gid));
    }
    if (uid) {
        LT_TRY(give_to(o.dir, *uid, gid));
        for (const auto& e : fs::directory_iterator(o.dir)) LT_TRY(give_to(e.path().string(), *uid, gid));
    }
    return ok_status();
}

}  // namespace

void add_backup(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("backup", "write a consistent copy of the database (the node may be running) with a manifest");
    auto o = std::make_shared<BackupOpts>();
    cmd->add_option("--out", o->out, "the backup file to write (never overwritten)")->required();
    cmd->add_option("--dir", o->dir, "the data directory (default: the config's data_dir)");
    cmd->add_flag("--with-keys", o->with_keys, "also the node's key file, sealed with a passphrase");
    cmd->add_option("--passphrase-file", o->passphrase_file, "file whose first line is the passphrase (12+ characters)");
    cmd->add_flag("--json", g.json, "print the manifest as JSON");
    cmd->callback([&g, &rc, o] {
        BackupManifest m;
        if (auto st = take_backup(g, *o, m); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        if (g.json) return print_json(json::parse(m.to_json_line()));
        std::printf("backup of %s (schema %u) written to %s\n", m.agency.c_str(), m.schema_version, o->out.c_str());
        std::printf("database: %s, BLAKE2b-256 %s\n", format_bytes(m.database_bytes).c_str(), m.database_blake2b_256.c_str());
        print_counts(m.counts);
        std::printf(m.keys ? "keys: included, sealed with the passphrase\n" : "keys: not included (--with-keys to add them)\n");
    });
}

void add_restore(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("restore", "restore a backup into an empty data directory (the node stopped)");
    auto o = std::make_shared<RestoreOpts>();
    cmd->add_option("file", o->file, "the backup file")->required();
    cmd->add_option("--dir", o->dir, "the data directory to restore into (must hold no database)")->required();
    cmd->add_option("--agency", o->agency, "this node's agency (default: the config's); another agency's backup is refused");
    cmd->add_option("--keys-out", o->keys_out, "write the backup's key file here (never overwritten)");
    cmd->add_option("--passphrase-file", o->passphrase_file, "file whose first line is the backup's passphrase");
    cmd->add_option("--user", o->user, "give the restored files to this user (the Debian package's: lienthong)");
    cmd->callback([&g, &rc, o] {
        BackupReader r;
        if (auto st = do_restore(g, *o, r); !st.ok()) {
            rc = report_error(st.error());
            return;
        }
        std::printf("restored the backup of %s taken %s into %s\n", r.manifest.agency.c_str(),
                    format_time(r.manifest.created_ms).c_str(), o->dir.c_str());
        print_counts(r.manifest.counts);
        if (!o->keys_out.empty()) std::printf("keys written to %s (mode 0600)\n", o->keys_out.c_str());
        std::printf("next: start the node; it asks its peers for what they delivered after the backup (see README, backups)\n");
    });
}

void add_verify(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand(
        "verify", "check every stored envelope's signature, every receipt and every index (reports, never repairs)");
    auto dir = std::make_shared<std::string>();
    cmd->add_option("--dir", *dir, "the data directory (default: the config's data_dir); a copy works too");
    cmd->add_flag("--json", g.json, "print JSON");
    cmd->callback([&g, &rc, dir] {
        auto d = data_dir_of(g, *dir);
        if (!d.ok()) {
            rc = report_error(d.error());
            return;
        }
        // Our own keys, from the key file the config names (current and earlier ones).
        std::vector<protocol::SignPublicKey> own;
        std::string key_note;
        if (auto config = node::load_config(g.config_path); config.ok()) {
            if (auto ring = node::load_key_ring(config->key_file); ring.ok())
                for (const auto& k : *ring) own.push_back(k.pub.sign_key);
            else
                key_note = ring.error();
        } else {
            key_note = config.error();
        }
        auto store = storage::Store::open_read_only(*d);
        if (!store.ok()) {
            rc = report_error(store.error());
            return;
        }
        const auto report = (*store)->env().read([&](const storage::ReadTxn& t) { return (*store)->verify(t, own); });
        rc = report.problem_count == 0 ? 0 : 1;
        if (g.json) {
            json problems = json::array();
            for (const auto& p : report.problems) problems.push_back({{"table", p.table}, {"key", p.key}, {"what", p.what}});
            return print_json({{"ok", report.problem_count == 0},
                               {"envelopes", report.envelopes},
                               {"envelopes_signed", report.envelopes_signed},
                               {"receipts", report.receipts},
                               {"receipts_signed", report.receipts_signed},
                               {"index_entries", report.index_entries},
                               {"unverifiable_by_sender", report.unverifiable_by_sender},
                               {"problem_count", report.problem_count},
                               {"problems", problems}});
        }
        if (!key_note.empty()) std::printf("note: this node's own keys are not known (%s)\n", key_note.c_str());
        std::printf("envelopes:     %llu, %llu with a valid signature\n", static_cast<unsigned long long>(report.envelopes),
                    static_cast<unsigned long long>(report.envelopes_signed));
        std::printf("receipts:      %llu, %llu with a valid signature\n", static_cast<unsigned long long>(report.receipts),
                    static_cast<unsigned long long>(report.receipts_signed));
        std::printf("index entries: %llu\n", static_cast<unsigned long long>(report.index_entries));
        for (const auto& [sender, n] : report.unverifiable_by_sender)
            std::printf("no key here for %s: %llu signature(s) not checked\n", sender.c_str(), static_cast<unsigned long long>(n));
        for (const auto& p : report.problems)
            std::printf("PROBLEM %s %s: %s\n", p.table.c_str(), p.key.c_str(), p.what.c_str());
        if (report.problem_count > report.problems.size())
            std::printf("... and %llu more\n", static_cast<unsigned long long>(report.problem_count - report.problems.size()));
        std::printf(report.problem_count == 0 ? "OK: no problem found\n" : "%llu problem(s) found; nothing was changed\n",
                    static_cast<unsigned long long>(report.problem_count));
    });
}

void add_compact(CLI::App& app, Globals& g, int& rc) {
    auto* cmd = app.add_subcommand("compact", "rewrite the database without its free pages (the node stopped)");
    auto dir = std::make_shared<std::string>();
    cmd->add_option("--dir", *dir, "the data directory (default: the config's data_dir)");
    cmd->callback([&g, &rc, dir] {
        const auto run = [&]() -> Status {
            LT_ASSIGN(const std::string d, data_dir_of(g, *dir));
            NodeLock lock;
            LT_TRY(lock.take(d));
            const std::string target = d + "/data.mdb", part = d + "/data.mdb.compact";
            struct stat before{};
            if (::stat(target.c_str(), &before) != 0) return make_error("no database in '" + d + "'");
            {
                LT_ASSIGN(auto store, storage::Store::open_read_only(d));
                const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0) return make_error("cannot create '" + part + "': " + std::strerror(errno));
                Status st = store->env().copy_compact(fd);
                if (st.ok() && ::fsync(fd) != 0) st = make_error("cannot fsync '" + part + "'");
                ::close(fd);
                if (!st.ok()) {
                    ::unlink(part.c_str());
                    return st;
                }
            }
            LT_TRY(give_to(part, before.st_uid, before.st_gid));
            if (::rename(part.c_str(), target.c_str()) != 0) return make_error("cannot replace '" + target + "': " + std::strerror(errno));
            LT_TRY(fsync_path(d, true));
            struct stat after{};
            ::stat(target.c_str(), &after);
            std::printf("compacted %s: %s -> %s\n", target.c_str(), format_bytes(static_cast<uint64_t>(before.st_size)).c_str(),
                        format_bytes(static_cast<uint64_t>(after.st_size)).c_str());
            return ok_status();
        };
        if (auto st = run(); !st.ok()) rc = report_error(st.error());
    });
}

}  // namespace lienthong::admin
