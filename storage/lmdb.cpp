#include "storage/lmdb.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace lienthong::storage {

namespace {
MDB_val to_val(ByteView b) {
    return MDB_val{b.size(), const_cast<uint8_t*>(b.data())};
}
ByteView from_val(const MDB_val& v) { return {static_cast<const uint8_t*>(v.mv_data), v.mv_size}; }
}  // namespace

std::string lmdb_error(int rc) {
    if (rc == ENOSPC) return "the disk is full; free space and the node will continue";
    return mdb_strerror(rc);
}

std::string storage_failure_text(int rc, std::optional<uint64_t> free_bytes, const std::string& dir) {
    constexpr uint64_t kNearlyFull = 64ull << 20;
    const bool full = rc == ENOSPC || ((rc == EIO || rc == EFBIG || rc == EDQUOT) && free_bytes && *free_bytes < kNearlyFull);
    if (full)
        return "the disk holding '" + dir + "' is full (" + (free_bytes ? std::to_string(*free_bytes >> 20) : "?") +
               " MiB free): free space there (old backups, logs, other files); the node keeps what it has and "
               "continues on its own once there is room";
    if (rc == EIO)
        return std::string(mdb_strerror(rc)) + " writing to '" + dir +
               "': the disk or file system failed (see the kernel log, dmesg); the node keeps what it committed "
               "and tries again";
    return mdb_strerror(rc);
}

std::optional<uint64_t> free_disk_bytes(const std::string& dir) {
    struct statvfs s {};
    if (::statvfs(dir.c_str(), &s) != 0) return std::nullopt;
    return uint64_t(s.f_bavail) * s.f_frsize;
}

ReadTxn::~ReadTxn() {
    if (m_txn) mdb_txn_abort(m_txn);
}

std::optional<ByteView> ReadTxn::get(MDB_dbi table, ByteView key) const {
    if (!m_txn) return std::nullopt;  // the transaction could not begin (see Env::read)
    MDB_val k = to_val(key), v{};
    if (mdb_get(m_txn, table, &k, &v) != 0) return std::nullopt;
    return from_val(v);
}

void ReadTxn::scan(MDB_dbi table, ByteView from,
                   const std::function<bool(ByteView, ByteView)>& fn) const {
    MDB_cursor* cur = nullptr;
    if (!m_txn || mdb_cursor_open(m_txn, table, &cur) != 0) return;
    MDB_val k = to_val(from), v{};
    int rc = from.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST)
                          : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (!fn(from_val(k), from_val(v))) break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
}

void ReadTxn::scan_prefix(MDB_dbi table, ByteView prefix,
                          const std::function<bool(ByteView, ByteView)>& fn) const {
    scan(table, prefix, [&](ByteView k, ByteView v) {
        // memcmp with an empty prefix may get a null pointer, which is undefined behaviour.
        if (k.size() < prefix.size() ||
            (!prefix.empty() && std::memcmp(k.data(), prefix.data(), prefix.size()) != 0))
            return false;
        return fn(k, v);
    });
}

void ReadTxn::scan_reverse(MDB_dbi table, const std::function<bool(ByteView, ByteView)>& fn) const {
    MDB_cursor* cur = nullptr;
    if (!m_txn || mdb_cursor_open(m_txn, table, &cur) != 0) return;
    MDB_val k{}, v{};
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_LAST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV))
        if (!fn(from_val(k), from_val(v))) break;
    mdb_cursor_close(cur);
}

std::optional<std::pair<ByteView, ByteView>> ReadTxn::last(MDB_dbi table) const {
    MDB_cursor* cur = nullptr;
    if (!m_txn || mdb_cursor_open(m_txn, table, &cur) != 0) return std::nullopt;
    MDB_val k{}, v{};
    std::optional<std::pair<ByteView, ByteView>> out;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0) out.emplace(from_val(k), from_val(v));
    mdb_cursor_close(cur);
    return out;
}

size_t ReadTxn::count(MDB_dbi table) const {
    MDB_stat st{};
    if (!m_txn || mdb_stat(m_txn, table, &st) != 0) return 0;
    return st.ms_entries;
}

Status WriteTxn::check(int rc, const char* what) {
    if (rc == 0) return ok_status();
    if (rc == MDB_MAP_FULL) m_map_full = true;
    return make_error(std::string("storage ") + what + " failed: " + lmdb_error(rc));
}

Status WriteTxn::put(MDB_dbi table, ByteView key, ByteView value) {
    MDB_val k = to_val(key), v = to_val(value);
    return check(mdb_put(m_txn, table, &k, &v, 0), "put");
}

Status WriteTxn::put_last(MDB_dbi table, ByteView key, ByteView value) {
    MDB_val k = to_val(key), v = to_val(value);
    const int rc = mdb_put(m_txn, table, &k, &v, MDB_APPEND);
    if (rc != MDB_KEYEXIST) return check(rc, "put");
    k = to_val(key);
    v = to_val(value);
    return check(mdb_put(m_txn, table, &k, &v, 0), "put");
}

Status WriteTxn::del(MDB_dbi table, ByteView key) {
    MDB_val k = to_val(key);
    const int rc = mdb_del(m_txn, table, &k, nullptr);
    if (rc == MDB_NOTFOUND) return ok_status();
    return check(rc, "delete");
}

Result<std::unique_ptr<Env>> Env::open(const EnvOptions& options) {
    if (!options.read_only) {
        std::error_code ec;
        std::filesystem::create_directories(options.dir, ec);
        if (ec) return make_error("cannot create data directory '" + options.dir + "': " + ec.message());
        ::chmod(options.dir.c_str(), 0700);
    } else if (!std::filesystem::exists(options.dir + "/data.mdb")) {
        return make_error("no database in '" + options.dir + "' (no data.mdb there)");
    }
    std::unique_ptr<Env> env(new Env());
    env->m_read_only = options.read_only;
    env->m_dir = options.dir;
    env->m_map_bytes = options.initial_map_bytes;
    env->m_max_map_bytes = options.max_map_bytes;
    int rc = mdb_env_create(&env->m_env);
    if (rc != 0) return make_error("cannot create LMDB environment: " + lmdb_error(rc));
    mdb_env_set_maxdbs(env->m_env, options.max_tables);
    // Respect a map that already grew larger than our initial size.
    mdb_env_set_mapsize(env->m_env, options.initial_map_bytes);
    rc = mdb_env_open(env->m_env, options.dir.c_str(), MDB_NOTLS | MDB_NORDAHEAD | (options.read_only ? MDB_RDONLY : 0),
                      0600);
    if (rc != 0)
        return make_error("cannot open database in '" + options.dir + "': " + lmdb_error(rc) +
                          " (is another lienthong-node using this data directory?)");
    int dead = 0;
    mdb_reader_check(env->m_env, &dead);  // free reader slots of a killed process
    MDB_envinfo info{};
    mdb_env_info(env->m_env, &info);
    env->m_map_bytes = std::max(env->m_map_bytes, info.me_mapsize);
    env->locate_map();
    return env;
}

Env::~Env() {
    if (m_env) mdb_env_close(m_env);
}

Result<MDB_dbi> Env::table(const std::string& name) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(m_env, nullptr, m_read_only ? MDB_RDONLY : 0, &txn);
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(m_env, 0) == 0)
        rc = mdb_txn_begin(m_env, nullptr, m_read_only ? MDB_RDONLY : 0, &txn);
    if (rc != 0) return make_error("cannot begin transaction: " + lmdb_error(rc));
    MDB_dbi dbi = 0;
    rc = mdb_dbi_open(txn, name.c_str(), m_read_only ? 0 : MDB_CREATE, &dbi);
    if (rc != 0) {
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND)
            return make_error("the database in '" + m_dir + "' has no table '" + name + "': not a lienthong database, or one too old");
        return make_error("cannot open table '" + name + "': " + lmdb_error(rc));
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) return make_error("cannot create table '" + name + "': " + lmdb_error(rc));
    return dbi;
}

Status Env::write_once(const std::function<Status(WriteTxn&)>& fn, bool& map_full) {
    map_full = false;
    MDB_txn* raw = nullptr;
    int rc = mdb_txn_begin(m_env, nullptr, 0, &raw);
    if (rc != 0) return make_error("cannot begin write transaction: " + lmdb_error(rc));
    WriteTxn txn(raw);
    Status st = fn(txn);
    map_full = txn.map_full();
    if (st.ok() && !map_full) {
        txn.m_txn = nullptr;
        rc = mdb_txn_commit(raw);
        if (rc == 0) return ok_status();
        if (rc != MDB_MAP_FULL)
            return make_error("storage commit failed: " + storage_failure_text(rc, free_disk_bytes(m_dir), m_dir));
        map_full = true;
    }
    if (map_full) return make_error("storage map is full");
    return st;  // the transaction is aborted by its destructor
}

// LMDB does not expose where it mapped the file (me_mapaddr is set only with MDB_FIXEDMAP),
// so find the mapping of data.mdb in /proc/self/maps. Called after open and after growth.
void Env::locate_map() {
    m_map_addr = nullptr;
    m_map_len = 0;
    std::ifstream maps("/proc/self/maps");
    const std::string file = std::filesystem::weakly_canonical(m_dir + "/data.mdb").string();
    std::string line;
    while (std::getline(maps, line)) {
        if (line.size() < file.size() || line.compare(line.size() - file.size(), file.size(), file) != 0) continue;
        uintptr_t lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2 || hi <= lo) continue;
        if (hi - lo > m_map_len) {
            m_map_addr = reinterpret_cast<void*>(lo);
            m_map_len = hi - lo;
        }
    }
}

size_t Env::used_bytes() const {
    MDB_envinfo info{};
    MDB_stat st{};
    if (mdb_env_info(m_env, &info) != 0 || mdb_env_stat(m_env, &st) != 0) return 0;
    return (info.me_last_pgno + 1) * static_cast<size_t>(st.ms_psize);
}

void Env::release_map_pages() const {
    if (m_map_addr) ::madvise(m_map_addr, m_map_len, MADV_DONTNEED);
}

Status Env::copy_compact(int fd) const {
    int rc = mdb_env_copyfd2(m_env, fd, MDB_CP_COMPACT);
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(m_env, 0) == 0) rc = mdb_env_copyfd2(m_env, fd, MDB_CP_COMPACT);
    if (rc != 0) return make_error("cannot copy the database in '" + m_dir + "': " + lmdb_error(rc));
    return ok_status();
}

Status Env::grow_map() {
    if (m_map_bytes * 2 > m_max_map_bytes)
        return make_error("storage is full at its maximum map size of " + std::to_string(m_max_map_bytes >> 20) +
                          " MiB; free disk space or raise the limit");
    const int rc = mdb_env_set_mapsize(m_env, m_map_bytes * 2);
    if (rc != 0) return make_error("cannot grow the storage map: " + lmdb_error(rc));
    m_map_bytes *= 2;
    locate_map();
    return ok_status();
}

Status Env::write(const std::function<Status(WriteTxn&)>& fn) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        bool map_full = false;
        Status st = write_once(fn, map_full);
        if (!map_full) return st;
        LT_TRY(grow_map());
    }
    return make_error("storage write kept running out of map space");
}

}  // namespace lienthong::storage
