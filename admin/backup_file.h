// The backup file of `lienthong-admin backup` (admin/maintenance_cmds.cpp):
//
//   "lienthong-backup v1\n"
//   the manifest: one line of JSON, then "\n" (at most kMaxManifestBytes)
//   the database: manifest.database.bytes bytes, a compacted LMDB data.mdb (mdb_env_copy2 with
//                 MDB_CP_COMPACT: one read snapshot, taken while the node runs)
//   the keys:     manifest.keys.bytes bytes (0 without --with-keys): the node's key file sealed
//                 with crypto_secretbox under a key derived from a passphrase by crypto_pwhash
//                 (Argon2id, salt, limits and nonce in the manifest)
//
// The manifest: {"format":1, "agency", "schema_version", "created_ms", "created", "counts":
// {table: entries}, "database": {"bytes", "blake2b_256"}, "keys": null or {"bytes",
// "blake2b_256", "kdf":"argon2id13", "opslimit", "memlimit", "salt", "cipher":
// "xsalsa20poly1305", "nonce"}}; the hashes are BLAKE2b-256 (crypto_generichash) in hex, so a
// damaged file is found before anything is restored from it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace lienthong::admin {

constexpr std::string_view kBackupMagic = "lienthong-backup v1\n";
constexpr size_t kMaxManifestBytes = 64 * 1024;

struct SealedKeys {
    uint64_t bytes = 0;
    std::string blake2b_256;
    uint64_t opslimit = 0;
    uint64_t memlimit = 0;
    std::string salt_hex;
    std::string nonce_hex;
};

struct BackupManifest {
    std::string agency;
    uint32_t schema_version = 0;
    uint64_t created_ms = 0;
    std::map<std::string, uint64_t> counts;
    uint64_t database_bytes = 0;
    std::string database_blake2b_256;
    std::optional<SealedKeys> keys;

    std::string to_json_line() const;  // without the final "\n"
    static Result<BackupManifest> from_json_line(const std::string& line);
};

// A backup file opened for reading: its manifest checked against the file's size, and where
// the database and the keys start.
struct BackupReader {
    std::string path;
    BackupManifest manifest;
    uint64_t database_offset = 0;
    uint64_t keys_offset = 0;
};
Result<BackupReader> open_backup(const std::string& path);

// Seals `plain` (a key file's bytes) under `passphrase`; fills `keys` (without bytes/hash).
Result<protocol::Bytes> seal_keys(const protocol::Bytes& plain, const std::string& passphrase, SealedKeys& keys);
Result<protocol::Bytes> open_keys(const protocol::Bytes& sealed, const std::string& passphrase, const SealedKeys& keys);

// The passphrase in `path`: its first line. Refuses one shorter than 12 characters.
Result<std::string> read_passphrase(const std::string& path);

// Streaming BLAKE2b-256 of a file's byte range, in hex; copies the range to `copy_fd` as well
// when it is >= 0.
Result<std::string> hash_file_range(const std::string& path, uint64_t offset, uint64_t length, int copy_fd = -1);

}  // namespace lienthong::admin
