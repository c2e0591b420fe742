// Thin RAII layer over LMDB: one environment, named tables, read and write transactions.
//
// Durability: the environment is opened without MDB_NOSYNC/MDB_NOMETASYNC, so a successful
// Env::write() has been fsync'd. Group commit is the caller's job: put many changes in one
// write() (the engine does one write per loop turn).
// Thread-safety: Env may be shared; a transaction belongs to the thread that began it. There
// is one writer (LMDB serialises writers anyway); readers never block.
#pragma once

#include <lmdb.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace lienthong::storage {

using protocol::Bytes;
using protocol::ByteView;

struct EnvOptions {
    std::string dir;                         // created if missing (mode 0700), unless read_only
    // Another process's database (a running node's, for a backup or a check): opened with
    // MDB_RDONLY, nothing created; table() finds existing tables only.
    bool read_only = false;
    size_t initial_map_bytes = 256u << 20;   // the map doubles on MDB_MAP_FULL
    size_t max_map_bytes = 1ull << 40;
    unsigned max_tables = 64;
};

class Env;

class ReadTxn {
public:
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;
    virtual ~ReadTxn();

    // The returned view is valid until the transaction ends.
    std::optional<ByteView> get(MDB_dbi table, ByteView key) const;
    // Calls fn(key, value) for keys >= `from` in order while fn returns true.
    void scan(MDB_dbi table, ByteView from, const std::function<bool(ByteView, ByteView)>& fn) const;
    // Like scan, but only keys starting with `prefix`.
    void scan_prefix(MDB_dbi table, ByteView prefix,
                     const std::function<bool(ByteView, ByteView)>& fn) const;
    // Calls fn(key, value) from the last key backwards while fn returns true.
    void scan_reverse(MDB_dbi table, const std::function<bool(ByteView, ByteView)>& fn) const;
    // Last entry in the table, if any.
    std::optional<std::pair<ByteView, ByteView>> last(MDB_dbi table) const;
    size_t count(MDB_dbi table) const;
    MDB_txn* raw() const { return m_txn; }

protected:
    friend class Env;
    explicit ReadTxn(MDB_txn* txn) : m_txn(txn) {}
    MDB_txn* m_txn;
};

class WriteTxn : public ReadTxn {
public:
    Status put(MDB_dbi table, ByteView key, ByteView value);
    // As put, for a key that usually sorts after every key in the table (a sequence number):
    // then LMDB fills the last page before starting a new one, where put would split it in
    // half, leaving the table's pages half empty and writing twice as many. Any other key is
    // put as by put.
    Status put_last(MDB_dbi table, ByteView key, ByteView value);
    // Deleting a missing key is not an error.
    Status del(MDB_dbi table, ByteView key);
    bool map_full() const { return m_map_full; }

private:
    friend class Env;
    explicit WriteTxn(MDB_txn* txn) : ReadTxn(txn) {}
    Status check(int rc, const char* what);
    bool m_map_full = false;
};

class Env {
public:
    static Result<std::unique_ptr<Env>> open(const EnvOptions& options);
    ~Env();

    // Opens (creating if needed) a named table. Call before any other transaction.
    Result<MDB_dbi> table(const std::string& name);

    // Runs fn in a write transaction and commits it with fsync. If the map fills, the
    // transaction is aborted, the map doubled and fn run again: fn must not have effects
    // outside the transaction. Nothing is committed if fn returns an error.
    Status write(const std::function<Status(WriteTxn&)>& fn);
    // One attempt, for a writer thread: sets map_full (and fails) instead of growing the map,
    // because growing needs every transaction of the process closed. The owner of all
    // threads then calls grow_map() and tries again.
    Status write_once(const std::function<Status(WriteTxn&)>& fn, bool& map_full);
    // REQUIRES: no transaction is open in this process.
    Status grow_map();

    // Runs fn in a read-only snapshot. If LMDB cannot begin one (reader table full), fn sees
    // an empty database rather than crashing; the next read tries again.
    template <class F>
    auto read(F&& fn) const -> decltype(fn(std::declval<const ReadTxn&>())) {
        MDB_txn* txn = nullptr;
        int rc = mdb_txn_begin(m_env, nullptr, MDB_RDONLY, &txn);
        // Another process (the node, when this is lienthong-admin) grew the map: adopt its size.
        if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(m_env, 0) == 0)
            rc = mdb_txn_begin(m_env, nullptr, MDB_RDONLY, &txn);
        if (rc != 0) txn = nullptr;
        struct Guard : ReadTxn {
            explicit Guard(MDB_txn* t) : ReadTxn(t) {}
        } guard(txn);
        return fn(static_cast<const ReadTxn&>(guard));
    }

    // Writes a consistent copy of the database as of one read transaction to `fd`, without its
    // free pages (mdb_env_copyfd2 with MDB_CP_COMPACT). Writers go on meanwhile; the copy is
    // not fsync'd (the caller does it).
    Status copy_compact(int fd) const;

    size_t map_bytes() const { return m_map_bytes; }
    // The part of the map the database uses (its last page), for the node's metrics.
    size_t used_bytes() const;
    // Drops the map's pages from this process's resident set. They stay in the page cache
    // (the map is read-only: LMDB writes with pwrite), so the next access is a minor fault.
    // Safe while other threads read: a dropped page faults back in with the same bytes.
    void release_map_pages() const;
    const std::string& dir() const { return m_dir; }

private:
    Env() = default;
    void locate_map();
    MDB_env* m_env = nullptr;
    void* m_map_addr = nullptr;  // LMDB's read-only mapping of data.mdb (for release_map_pages)
    size_t m_map_len = 0;
    size_t m_map_bytes = 0;
    size_t m_max_map_bytes = 0;
    bool m_read_only = false;
    std::string m_dir;
};

std::string lmdb_error(int rc);
// What to tell the admin when a write to the database in `dir` failed with `rc`, given the
// space left there. LMDB reports a short write to a full disk as EIO (it sees the failed
// write, not why), so an I/O error with little space left is reported as a full disk.
std::string storage_failure_text(int rc, std::optional<uint64_t> free_bytes, const std::string& dir);
// Bytes available to this process on the file system holding `dir`.
std::optional<uint64_t> free_disk_bytes(const std::string& dir);

}  // namespace lienthong::storage
