// Helpers shared by the unit tests: temporary directories, deterministic identities and
// byte-level conveniences. Nothing here is clever: a helper that could hide a bug in the code
// under test belongs in that test instead.
#pragma once

#include <sodium.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "protocol/bytes.h"
#include "protocol/identity.h"

namespace lienthong::testing {

using protocol::Bytes;
using protocol::ByteView;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/lienthong-unit-XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        m_path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return m_path; }
    std::string file(const std::string& name) const { return m_path + "/" + name; }

private:
    std::string m_path;
};

// An identity whose keys are derived from `seed_byte` repeated: the same on every run.
inline protocol::SecretIdentity seeded_identity(const std::string& agency, uint8_t seed_byte) {
    protocol::SecretIdentity id;
    id.pub.agency = agency;
    uint8_t seed[crypto_sign_SEEDBYTES];
    std::memset(seed, seed_byte, sizeof seed);
    crypto_sign_seed_keypair(id.pub.sign_key.data(), id.sign_secret.data(), seed);
    uint8_t box_seed[crypto_box_SEEDBYTES];
    std::memset(box_seed, seed_byte ^ 0x5a, sizeof box_seed);
    crypto_box_seed_keypair(id.pub.box_key.data(), id.box_secret.data(), box_seed);
    return id;
}

inline Bytes bytes_of(std::initializer_list<int> v) {
    Bytes out;
    for (int b : v) out.push_back(static_cast<uint8_t>(b));
    return out;
}

inline Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// `n` bytes of a fixed pattern that no compressor or accidental equality will flatter.
inline Bytes pattern_bytes(size_t n, uint8_t salt) {
    Bytes out(n);
    uint32_t x = 0x9e3779b9u ^ salt;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = static_cast<uint8_t>(x);
    }
    return out;
}

}  // namespace lienthong::testing
