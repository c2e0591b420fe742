// Reading request fields and shaping answers of the local API (api_*.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace lienthong::node {

using nlohmann::json;
using protocol::Bytes;
using protocol::ByteView;

inline json fail(const std::string& error) { return json{{"ok", false}, {"error", error}}; }

inline json binary(const Bytes& b) { return json::binary(std::vector<uint8_t>(b.begin(), b.end())); }

// Text or binary field as bytes (the DMS may send a body as either).
inline Result<Bytes> bytes_field(const json& req, const char* key) {
    if (!req.contains(key)) return Bytes{};
    const auto& v = req.at(key);
    if (v.is_binary()) return Bytes(v.get_binary().begin(), v.get_binary().end());
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        return Bytes(s.begin(), s.end());
    }
    return make_error(std::string("field '") + key + "' must be text or binary");
}

// As bytes_field, but moves binary data out of the request instead of copying it.
inline Result<Bytes> take_bytes_field(json& req, const char* key) {
    if (req.contains(key) && req.at(key).is_binary()) {
        Bytes out = std::move(static_cast<std::vector<uint8_t>&>(req.at(key).get_binary()));
        return out;
    }
    return bytes_field(req, key);
}

inline Result<std::string> string_field(const json& req, const char* key, bool required) {
    if (!req.contains(key)) {
        if (required) return make_error(std::string("field '") + key + "' is required");
        return std::string();
    }
    if (!req.at(key).is_string()) return make_error(std::string("field '") + key + "' must be text");
    return req.at(key).get<std::string>();
}

inline Result<uint64_t> uint_field(const json& req, const char* key, uint64_t def, uint64_t max) {
    if (!req.contains(key)) return def;
    const auto& v = req.at(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        return make_error(std::string("field '") + key + "' must be a whole number >= 0");
    const uint64_t n = v.get<uint64_t>();
    if (n > max) return make_error(std::string("field '") + key + "' must be at most " + std::to_string(max));
    return n;
}

inline std::string hash_hex(ByteView data) {
    return protocol::to_hex(protocol::hash_domain("lienthong/v1/attachment", data));
}


}  // namespace lienthong::node
