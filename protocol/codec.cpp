#include "protocol/codec.h"

namespace lienthong::protocol {

namespace {
// True if `o` holds only what the Writer can produce: arrays, unsigned integers, booleans,
// nil, str and bin. Maps, floats, negative integers and extensions re-encode to the same
// bytes, so the canonical comparison alone does not refuse them. Recursion is bounded by
// DecodeLimits::max_depth, which the unpacker has already enforced.
bool only_canonical_types(const msgpack::object& o) {
    switch (o.type) {
        case msgpack::type::NIL:
        case msgpack::type::BOOLEAN:
        case msgpack::type::POSITIVE_INTEGER:
        case msgpack::type::STR:
        case msgpack::type::BIN: return true;
        case msgpack::type::ARRAY:
            for (uint32_t i = 0; i < o.via.array.size; ++i)
                if (!only_canonical_types(o.via.array.ptr[i])) return false;
            return true;
        default: return false;
    }
}
}  // namespace

// Room for a small message up front: growing from nothing reallocates at every doubling.
Writer::Writer() : m_pk(m_sink) { m_sink.bytes.reserve(512); }

Writer& Writer::array(size_t n) {
    m_pk.pack_array(static_cast<uint32_t>(n));
    return *this;
}
Writer& Writer::u64(uint64_t v) {
    m_pk.pack_uint64(v);
    return *this;
}
Writer& Writer::boolean(bool v) {
    if (v)
        m_pk.pack_true();
    else
        m_pk.pack_false();
    return *this;
}
Writer& Writer::str(std::string_view s) {
    m_pk.pack_str(static_cast<uint32_t>(s.size()));
    m_pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    return *this;
}
Writer& Writer::bin(ByteView b) {
    m_pk.pack_bin(static_cast<uint32_t>(b.size()));
    m_pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
    return *this;
}
Writer& Writer::nil() {
    m_pk.pack_nil();
    return *this;
}
Writer& Writer::raw(ByteView encoded) {
    m_sink.bytes.insert(m_sink.bytes.end(), encoded.begin(), encoded.end());
    return *this;
}
Writer& Writer::reserve(size_t n) {
    m_sink.bytes.reserve(m_sink.bytes.size() + n);
    return *this;
}
Bytes Writer::take() {
    // A large message is handed over as it is (copying megabytes is what this avoids); a
    // small one is copied to its exact size, so no held message keeps a doubling's slack.
    constexpr size_t kMoveFrom = 64 * 1024;
    Bytes out;
    if (m_sink.bytes.size() >= kMoveFrom)
        out = std::move(m_sink.bytes);
    else
        out.assign(m_sink.bytes.begin(), m_sink.bytes.end());
    m_sink.bytes.clear();
    return out;
}

Error ArrayReader::fail(std::string_view what, std::string_view problem) const {
    return make_error(m_context + ": field '" + std::string(what) + "' " + std::string(problem));
}

Result<const msgpack::object*> ArrayReader::next(std::string_view what) {
    if (m_pos >= m_count) return fail(what, "is missing");
    return &m_items[m_pos++];
}

Result<uint64_t> ArrayReader::u64(std::string_view what) {
    LT_ASSIGN(auto o, next(what));
    if (o->type != msgpack::type::POSITIVE_INTEGER) return fail(what, "is not an unsigned integer");
    return o->via.u64;
}

Result<bool> ArrayReader::boolean(std::string_view what) {
    LT_ASSIGN(auto o, next(what));
    if (o->type != msgpack::type::BOOLEAN) return fail(what, "is not a boolean");
    return o->via.boolean;
}

Result<std::string> ArrayReader::str(std::string_view what, size_t max_len) {
    LT_ASSIGN(auto o, next(what));
    if (o->type != msgpack::type::STR) return fail(what, "is not text");
    if (o->via.str.size > max_len)
        return fail(what, "is longer than " + std::to_string(max_len) + " bytes");
    std::string s(o->via.str.ptr, o->via.str.size);
    if (!is_valid_utf8(s)) return fail(what, "is not valid UTF-8");
    return s;
}

Result<ByteView> ArrayReader::bin(std::string_view what, size_t max_len) {
    LT_ASSIGN(auto o, next(what));
    if (o->type != msgpack::type::BIN) return fail(what, "is not binary");
    if (o->via.bin.size > max_len)
        return fail(what, "is larger than " + std::to_string(max_len) + " bytes");
    return ByteView(reinterpret_cast<const uint8_t*>(o->via.bin.ptr), o->via.bin.size);
}

Result<ArrayReader> ArrayReader::array(std::string_view what, size_t max_len) {
    LT_ASSIGN(auto o, next(what));
    if (o->type != msgpack::type::ARRAY) return fail(what, "is not a list");
    if (o->via.array.size > max_len)
        return fail(what, "has more than " + std::to_string(max_len) + " entries");
    return ArrayReader(o->via.array.ptr, o->via.array.size, m_context + "." + std::string(what));
}

Status ArrayReader::finish() {
    if (m_pos != m_count)
        return make_error(m_context + ": " + std::to_string(m_count - m_pos) +
                          " unexpected extra field(s)");
    return ok_status();
}

namespace {

// The canonical check: a value re-encoded is compared with the bytes it was parsed from as
// it is written, with no buffer. A referred body is written from where it lies: no compare.
struct CompareSink {
    const char* expect;
    size_t size;
    size_t pos = 0;
    bool same = true;
    void write(const char* p, size_t n) {
        if (!same || n == 0) return;  // an empty value's data pointer may be null
        if (n > size - pos) {
            same = false;
            return;
        }
        if (p != expect + pos && std::memcmp(p, expect + pos, n) != 0) same = false;
        pos += n;
    }
};

}  // namespace

Result<Decoded> Decoded::parse(ByteView bytes, std::string_view context,
                               const DecodeLimits& limits) {
    size_t consumed = 0;
    LT_ASSIGN(auto d, parse_prefix(bytes, context, limits, consumed));
    if (consumed != bytes.size())
        return make_error(std::string(context) + ": " + std::to_string(bytes.size() - consumed) +
                          " trailing bytes after the value");
    return d;
}

Result<Decoded> Decoded::parse_prefix(ByteView bytes, std::string_view context, const DecodeLimits& limits,
                                      size_t& consumed) {
    const std::string ctx(context);
    if (bytes.size() > limits.max_bytes)
        return make_error(ctx + ": " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                          std::to_string(limits.max_bytes));
    if (bytes.empty()) return make_error(ctx + ": empty");
    Decoded d;
    d.m_context = ctx;
    try {
        size_t offset = 0;
        msgpack::unpack_limit lim(limits.max_array, 0, limits.max_str, limits.max_bin, 0,
                                  limits.max_depth);
        auto oh = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset,
                                  refer_in_place, nullptr, lim);
        consumed = offset;
        if (oh.get().type != msgpack::type::ARRAY) return make_error(ctx + ": root is not a list");
        if (!only_canonical_types(oh.get()))
            return make_error(ctx + ": contains a map, float, negative integer or extension, "
                                    "which this format never uses");
        CompareSink again{reinterpret_cast<const char*>(bytes.data()), offset};
        msgpack::pack(again, oh.get());
        if (!again.same || again.pos != offset) return make_error(ctx + ": not in canonical encoding");
        d.m_handle = std::make_shared<msgpack::object_handle>(std::move(oh));
    } catch (const msgpack::insufficient_bytes&) {
        return make_error(ctx + ": truncated");
    } catch (const std::exception& e) {
        return make_error(ctx + ": malformed (" + e.what() + ")");
    }
    return d;
}

ArrayReader Decoded::root() const {
    const auto& o = m_handle->get();
    return ArrayReader(o.via.array.ptr, o.via.array.size, m_context);
}

}  // namespace lienthong::protocol
