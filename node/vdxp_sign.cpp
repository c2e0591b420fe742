#include "node/vdxp_sign.h"

#include <sodium.h>

#include <cctype>
#include <nlohmann/json.hpp>

namespace lienthong::node::vdxp {

namespace {

constexpr std::string_view kPrefix = "xroadvnpt-";

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string hex_byte(uint8_t b) {
    static const char* digits = "0123456789abcdef";
    return std::string{digits[b >> 4], digits[b & 15]};
}

// A request's text quoted in an error: ASCII, so a JSON \u escape in a key cannot carry a
// control character or a non-ASCII byte into the answer or the log.
std::string ascii_quote(std::string_view s) {
    std::string out;
    for (unsigned char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    return out;
}

}  // namespace

std::string param(const Params& p, std::initializer_list<std::string_view> keys) {
    for (auto k : keys)
        if (const auto it = p.find(std::string(k)); it != p.end()) return it->second;
    if (keys.size() == 0) return {};
    const std::string want = lower(*keys.begin());
    for (const auto& [k, v] : p)
        if (lower(k) == want) return v;
    return {};
}

Result<Params> parse_sign_header(std::string_view sign_header) {
    if (sign_header.empty()) return make_error("header XroadVnpt-sign-header is missing or empty");
    if (sign_header.size() > kMaxSignHeaderBytes)
        return make_error("header XroadVnpt-sign-header is over " + std::to_string(kMaxSignHeaderBytes) + " bytes");
    for (size_t i = 0; i < sign_header.size(); ++i) {
        const auto b = static_cast<uint8_t>(sign_header[i]);
        if (b < 0x20 || b >= 0x7f)
            return make_error("XroadVnpt-sign-header holds byte 0x" + hex_byte(b) + " at offset " + std::to_string(i) +
                              ": parameter values must be ASCII (the SDK cuts other characters to one byte, so the "
                              "request cannot be verified); send accent-free values");
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(sign_header);
    } catch (const nlohmann::json::exception&) {
        return make_error("XroadVnpt-sign-header is not JSON");
    }
    if (!j.is_object()) return make_error("XroadVnpt-sign-header must be a JSON object");
    if (j.size() > kMaxParams)
        return make_error("XroadVnpt-sign-header has " + std::to_string(j.size()) + " parameters, over " +
                          std::to_string(kMaxParams));
    Params out;
    for (const auto& [key, value] : j.items()) {
        if (lower(key).rfind(kPrefix, 0) != 0)
            return make_error("XroadVnpt-sign-header key '" + ascii_quote(key) + "' does not start with XroadVnpt-");
        std::string k = key.substr(kPrefix.size());
        if (k.empty()) return make_error("XroadVnpt-sign-header has an empty parameter name");
        std::string v;
        if (value.is_string())
            v = value.get<std::string>();
        else if (value.is_number() || value.is_boolean())
            v = value.dump();
        else
            return make_error("XroadVnpt-sign-header parameter '" + ascii_quote(key) + "' must be text");
        if (!out.emplace(k, std::move(v)).second)
            return make_error("XroadVnpt-sign-header names parameter '" + ascii_quote(k) + "' twice");
    }
    return out;
}

std::string hmac_hex(std::string_view secret, std::string_view message) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&st, mac);
    std::string out;
    for (auto b : mac) out += hex_byte(b);
    sodium_memzero(&st, sizeof st);
    return out;
}

bool hmac_matches(std::string_view secret, std::string_view message, std::string_view hash_header) {
    if (hash_header.size() != 2 * crypto_auth_hmacsha256_BYTES) return false;
    const std::string want = hmac_hex(secret, message);
    const std::string got = lower(hash_header);
    return sodium_memcmp(want.data(), got.data(), want.size()) == 0;
}

std::string java_hex_sha256(protocol::ByteView data) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data.data(), data.size());
    std::string out;
    for (auto b : h) {
        const std::string two = hex_byte(b);
        out += b < 16 ? two.substr(1) : two;
    }
    return out;
}

Result<protocol::ByteView> file_from_body(protocol::ByteView body, std::string_view hash_file) {
    if (hash_file.empty()) return make_error("parameter hash-file is missing: the SDK always sends it with sendEdoc");
    const std::string want = lower(hash_file);
    if (body.size() >= 2 && body[body.size() - 2] == '\r' && body[body.size() - 1] == '\n') {
        const auto file = body.first(body.size() - 2);
        if (java_hex_sha256(file) == want) return file;
    }
    if (java_hex_sha256(body) == want) return body;
    return make_error("the body does not match hash-file (neither with nor without its trailing CRLF): the upload "
                      "was cut or changed; send it again");
}

}  // namespace lienthong::node::vdxp
