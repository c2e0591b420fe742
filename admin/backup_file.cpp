#include "admin/backup_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "node/log.h"
#include "protocol/identity.h"

namespace lienthong::admin {

using nlohmann::json;

namespace {

constexpr int kFormat = 1;

Result<protocol::Bytes> from_hex(const std::string& hex, size_t size, const std::string& what) {
    protocol::Bytes out(size);
    size_t len = 0;
    if (hex.size() != 2 * size || sodium_hex2bin(out.data(), size, hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
        len != size)
        return make_error("backup manifest: '" + what + "' must be " + std::to_string(size) + " bytes in hex");
    return out;
}

bool is_hash_hex(const std::string& s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Result<protocol::Bytes> derive_key(const std::string& passphrase, const protocol::Bytes& salt, uint64_t opslimit,
                                   uint64_t memlimit) {
    protocol::Bytes key(crypto_secretbox_KEYBYTES);
    if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt.data(), opslimit,
                      static_cast<size_t>(memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0)
        return make_error("cannot derive a key from the passphrase (out of memory for Argon2id?)");
    return key;
}

}  // namespace

std::string BackupManifest::to_json_line() const {
    json j{{"format", kFormat},
           {"agency", agency},
           {"schema_version", schema_version},
           {"created_ms", created_ms},
           {"created", node::utc_time(created_ms)},
           {"counts", counts},
           {"database", {{"bytes", database_bytes}, {"blake2b_256", database_blake2b_256}}},
           {"keys", nullptr}};
    if (keys)
        j["keys"] = {{"bytes", keys->bytes},       {"blake2b_256", keys->blake2b_256}, {"kdf", "argon2id13"},
                     {"opslimit", keys->opslimit}, {"memlimit", keys->memlimit},       {"salt", keys->salt_hex},
                     {"cipher", "xsalsa20poly1305"}, {"nonce", keys->nonce_hex}};
    return j.dump(-1, ' ', true);
}

Result<BackupManifest> BackupManifest::from_json_line(const std::string& line) {
    BackupManifest m;
    try {
        const json j = json::parse(line);
        if (!j.is_object()) return make_error("backup manifest is not a JSON object");
        if (j.at("format").get<int>() != kFormat)
            return make_error("backup format " + j.at("format").dump() + " is not one this lienthong-admin reads (1)");
        m.agency = j.at("agency").get<std::string>();
        if (auto st = protocol::check_agency(m.agency, "backup manifest 'agency'"); !st.ok()) return st.take_error();
        m.schema_version = j.at("schema_version").get<uint32_t>();
        m.created_ms = j.at("created_ms").get<uint64_t>();
        m.counts = j.at("counts").get<std::map<std::string, uint64_t>>();
        m.database_bytes = j.at("database").at("bytes").get<uint64_t>();
        m.database_blake2b_256 = j.at("database").at("blake2b_256").get<std::string>();
        if (!is_hash_hex(m.database_blake2b_256)) return make_error("backup manifest: database.blake2b_256 is not a hash");
        const auto& k = j.at("keys");
        if (!k.is_null()) {
            if (k.at("kdf") != "argon2id13" || k.at("cipher") != "xsalsa20poly1305")
                return make_error("backup manifest: keys sealed with an unknown kdf or cipher");
            SealedKeys s;
            s.bytes = k.at("bytes").get<uint64_t>();
            s.blake2b_256 = k.at("blake2b_256").get<std::string>();
            s.opslimit = k.at("opslimit").get<uint64_t>();
            s.memlimit = k.at("memlimit").get<uint64_t>();
            s.salt_hex = k.at("salt").get<std::string>();
            s.nonce_hex = k.at("nonce").get<std::string>();
            if (!is_hash_hex(s.blake2b_256)) return make_error("backup manifest: keys.blake2b_256 is not a hash");
            if (s.bytes > (1u << 20) || s.bytes < crypto_secretbox_MACBYTES)
                return make_error("backup manifest: keys.bytes is out of range");
            // Limits a sealing by this program uses; anything beyond would let a crafted file
            // make restore spend unbounded time or memory.
            if (s.opslimit < crypto_pwhash_OPSLIMIT_MIN || s.opslimit > crypto_pwhash_OPSLIMIT_SENSITIVE ||
                s.memlimit < crypto_pwhash_MEMLIMIT_MIN || s.memlimit > crypto_pwhash_MEMLIMIT_SENSITIVE)
                return make_error("backup manifest: keys' Argon2id limits are out of range");
            m.keys = s;
        }
    } catch (const json::exception& e) {
        return make_error(std::string("backup manifest is not valid: ") + e.what());
    }
    return m;
}

Result<BackupReader> open_backup(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("cannot read backup '" + path + "'");
    std::string magic(kBackupMagic.size(), '\0');
    in.read(magic.data(), static_cast<std::streamsize>(magic.size()));
    if (!in || magic != kBackupMagic) return make_error("'" + path + "' is not a lienthong backup (no 'lienthong-backup v1' line)");
    std::string line;
    char c = 0;
    while (in.get(c) && c != '\n') {
        if (line.size() >= kMaxManifestBytes) return make_error("backup '" + path + "': manifest longer than 64 KiB");
        line.push_back(c);
    }
    if (c != '\n') return make_error("backup '" + path + "' is cut short in its manifest");
    LT_ASSIGN(auto manifest, BackupManifest::from_json_line(line));
    BackupReader r;
    r.path = path;
    r.manifest = std::move(manifest);
    r.database_offset = kBackupMagic.size() + line.size() + 1;
    r.keys_offset = r.database_offset + r.manifest.database_bytes;
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return make_error("cannot stat '" + path + "': " + std::strerror(errno));
    const uint64_t expected = r.keys_offset + (r.manifest.keys ? r.manifest.keys->bytes : 0);
    if (static_cast<uint64_t>(st.st_size) != expected)
        return make_error("backup '" + path + "' is " + std::to_string(st.st_size) + " bytes, its manifest says " +
                          std::to_string(expected) + ": the file is cut short or was appended to");
    return r;
}

Result<protocol::Bytes> seal_keys(const protocol::Bytes& plain, const std::string& passphrase, SealedKeys& keys) {
    protocol::Bytes salt(crypto_pwhash_SALTBYTES), nonce(crypto_secretbox_NONCEBYTES);
    randombytes_buf(salt.data(), salt.size());
    randombytes_buf(nonce.data(), nonce.size());
    keys.opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
    keys.memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
    LT_ASSIGN(auto key, derive_key(passphrase, salt, keys.opslimit, keys.memlimit));
    protocol::Bytes sealed(plain.size() + crypto_secretbox_MACBYTES);
    crypto_secretbox_easy(sealed.data(), plain.data(), plain.size(), nonce.data(), key.data());
    sodium_memzero(key.data(), key.size());
    keys.salt_hex = protocol::to_hex(salt);
    keys.nonce_hex = protocol::to_hex(nonce);
    return sealed;
}

Result<protocol::Bytes> open_keys(const protocol::Bytes& sealed, const std::string& passphrase, const SealedKeys& keys) {
    LT_ASSIGN(auto salt, from_hex(keys.salt_hex, crypto_pwhash_SALTBYTES, "keys.salt"));
    LT_ASSIGN(auto nonce, from_hex(keys.nonce_hex, crypto_secretbox_NONCEBYTES, "keys.nonce"));
    if (sealed.size() < crypto_secretbox_MACBYTES) return make_error("the sealed keys are too short");
    LT_ASSIGN(auto key, derive_key(passphrase, salt, keys.opslimit, keys.memlimit));
    protocol::Bytes plain(sealed.size() - crypto_secretbox_MACBYTES);
    const int rc = crypto_secretbox_open_easy(plain.data(), sealed.data(), sealed.size(), nonce.data(), key.data());
    sodium_memzero(key.data(), key.size());
    if (rc != 0) return make_error("the passphrase does not open the keys in this backup (wrong passphrase?)");
    return plain;
}

Result<std::string> read_passphrase(const std::string& path) {
    std::ifstream in(path);
    if (!in) return make_error("cannot read the passphrase file '" + path + "'");
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() < 12) return make_error("the passphrase in '" + path + "' is shorter than 12 characters");
    return line;
}

Result<std::string> hash_file_range(const std::string& path, uint64_t offset, uint64_t length, int copy_fd) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error("cannot read '" + path + "': " + std::strerror(errno));
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, 32);
    std::vector<uint8_t> buf(1 << 20);
    uint64_t done = 0;
    while (done < length) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - done));
        const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
        if (n <= 0) {
            ::close(fd);
            return make_error("cannot read '" + path + "': " + (n == 0 ? std::string("it ends early") : std::strerror(errno)));
        }
        crypto_generichash_update(&st, buf.data(), static_cast<size_t>(n));
        for (ssize_t w = 0; copy_fd >= 0 && w < n;) {
            const ssize_t m = ::write(copy_fd, buf.data() + w, static_cast<size_t>(n - w));
            if (m < 0) {
                ::close(fd);
                return make_error(std::string("cannot write the copy: ") + std::strerror(errno));
            }
            w += m;
        }
        done += static_cast<uint64_t>(n);
    }
    ::close(fd);
    protocol::Hash32 h{};
    crypto_generichash_final(&st, h.data(), h.size());
    return protocol::to_hex(h);
}

}  // namespace lienthong::admin
