// Byte buffers and their printable forms (hex and URL-safe base64, via libsodium).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace lienthong::protocol {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using Hash32 = std::array<uint8_t, 32>;

inline ByteView as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string to_hex(ByteView b);
Result<Bytes> from_hex(std::string_view hex);
std::string to_base64(ByteView b);  // URL-safe alphabet, no padding
Result<Bytes> from_base64(std::string_view text);

// Parses exactly N bytes from hex or base64; `what` names the value in the error.
template <size_t N>
Result<std::array<uint8_t, N>> fixed_from_base64(std::string_view text, std::string_view what) {
    auto raw = from_base64(text);
    if (!raw.ok() || raw->size() != N)
        return make_error(std::string(what) + " is not a base64 value of " + std::to_string(N) +
                          " bytes");
    std::array<uint8_t, N> out{};
    std::copy(raw->begin(), raw->end(), out.begin());
    return out;
}

// BLAKE2b-256 of `data`, with `domain` prepended so hashes of different kinds never collide.
Hash32 hash_domain(std::string_view domain, ByteView data);

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace lienthong::protocol
