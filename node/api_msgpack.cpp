#include "node/api_msgpack.h"

#include <msgpack.hpp>

#include <algorithm>

#include "protocol/bytes.h"
#include "protocol/codec.h"

namespace lienthong::node {

namespace {

constexpr size_t kMaxDepth = 64;

Result<nlohmann::json> convert(const msgpack::object& o, size_t depth) {
    using nlohmann::json;
    if (depth > kMaxDepth) return make_error("nested deeper than " + std::to_string(kMaxDepth));
    switch (o.type) {
    case msgpack::type::NIL: return json(nullptr);
    case msgpack::type::BOOLEAN: return json(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER: return json(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER: return json(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return json(o.via.f64);
    case msgpack::type::STR: {
        std::string text(o.via.str.ptr, o.via.str.size);
        if (!protocol::is_valid_utf8(text)) return make_error("a text value is not valid UTF-8 (send bytes as binary)");
        return json(std::move(text));
    }
    case msgpack::type::BIN: {
        const auto* p = reinterpret_cast<const uint8_t*>(o.via.bin.ptr);
        return json::binary(std::vector<uint8_t>(p, p + o.via.bin.size));
    }
    case msgpack::type::ARRAY: {
        json out = json::array();
        for (uint32_t i = 0; i < o.via.array.size; ++i) {
            LT_ASSIGN(auto v, convert(o.via.array.ptr[i], depth + 1));
            out.push_back(std::move(v));
        }
        return out;
    }
    case msgpack::type::MAP: {
        json out = json::object();
        for (uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto& kv = o.via.map.ptr[i];
            if (kv.key.type != msgpack::type::STR) return make_error("a map key is not text");
            std::string key(kv.key.via.str.ptr, kv.key.via.str.size);
            if (!protocol::is_valid_utf8(key)) return make_error("a map key is not valid UTF-8");
            LT_ASSIGN(auto v, convert(kv.val, depth + 1));
            out[std::move(key)] = std::move(v);
        }
        return out;
    }
    default: return make_error("an extension type, which the API does not use");
    }
}

}  // namespace

Result<nlohmann::json> json_from_msgpack(protocol::ByteView bytes) {
    if (bytes.empty()) return make_error("empty");
    try {
        size_t offset = 0;
        // No count can exceed the bytes that would hold its elements: a forged header claiming
        // four billion is refused before anything is allocated for it.
        const auto n = static_cast<uint32_t>(std::min<size_t>(bytes.size(), 0xffffffffu));
        const msgpack::unpack_limit limit(n, n, n, n, 0, kMaxDepth + 1);
        // Str and bin data are read where they lie: the bytes outlive the parse.
        auto oh = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset, protocol::refer_in_place,
                                  nullptr, limit);
        if (offset != bytes.size()) return make_error("trailing bytes after the value");
        return convert(oh.get(), 0);
    } catch (const msgpack::insufficient_bytes&) {
        return make_error("truncated");
    } catch (const std::exception& e) {
        return make_error(std::string("malformed (") + e.what() + ")");
    }
}

}  // namespace lienthong::node
