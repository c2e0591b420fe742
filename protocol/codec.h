// Canonical msgpack encoding and bounded, non-throwing decoding.
//
// Canonical form: arrays only (no maps), unsigned integers in their shortest form, text as
// msgpack str (valid UTF-8), bytes as msgpack bin, no floats, no trailing bytes. The Writer
// can only produce that form; Decoded::parse refuses anything else by re-encoding what it
// parsed and comparing byte for byte. Signatures are taken over these exact bytes.
//
// Thread-safety: none needed; every object here is used by one thread at a time.
#pragma once

#include <msgpack.hpp>

#include <memory>

#include "protocol/bytes.h"

namespace lienthong::protocol {

class Writer {
public:
    Writer();
    Writer& array(size_t n);
    Writer& u64(uint64_t v);
    Writer& boolean(bool v);
    Writer& str(std::string_view s);
    Writer& bin(ByteView b);
    Writer& nil();
    // Appends already-encoded canonical bytes as one element.
    Writer& raw(ByteView encoded);
    // Makes room for `n` more bytes: a large value is then written without reallocating.
    Writer& reserve(size_t n);
    // The bytes written (a large message moved out, not copied); the Writer is empty afterwards.
    Bytes take();
    size_t size() const { return m_sink.bytes.size(); }

private:
    // What msgpack's packer writes into: our byte vector itself, so take() needs no copy.
    struct Sink {
        Bytes bytes;
        // Inserted as bytes, not chars: from char* g++ 12 copies one byte at a time, which was
        // a fifth of a sender's CPU with 1 MiB documents; from uint8_t* it is one memmove.
        void write(const char* p, size_t n) {
            const auto* b = reinterpret_cast<const uint8_t*>(p);
            bytes.insert(bytes.end(), b, b + n);
        }
    };
    Sink m_sink;
    msgpack::packer<Sink> m_pk;
};

// A msgpack-cxx unpack reference function: text and binary values refer to the parsed bytes
// instead of being copied (those bytes must then outlive the parsed object).
inline bool refer_in_place(msgpack::type::object_type type, std::size_t, void*) {
    return type == msgpack::type::STR || type == msgpack::type::BIN;
}

struct DecodeLimits {
    size_t max_bytes = 64u << 20;
    size_t max_array = 100000;
    size_t max_str = 1u << 20;
    size_t max_bin = 64u << 20;
    size_t max_depth = 8;
};

// A cursor over the elements of one msgpack array. Every accessor returns an error naming
// `what` when the next element is missing or has the wrong type or size.
class ArrayReader {
public:
    ArrayReader(const msgpack::object* items, size_t count, std::string context)
        : m_items(items), m_count(count), m_context(std::move(context)) {}

    size_t size() const { return m_count; }
    size_t remaining() const { return m_count - m_pos; }
    Result<uint64_t> u64(std::string_view what);
    Result<bool> boolean(std::string_view what);
    Result<std::string> str(std::string_view what, size_t max_len);
    Result<ByteView> bin(std::string_view what, size_t max_len);
    template <size_t N>
    Result<std::array<uint8_t, N>> fixed(std::string_view what) {
        LT_ASSIGN(auto b, bin(what, N));
        if (b.size() != N) return fail(what, "must be exactly " + std::to_string(N) + " bytes");
        std::array<uint8_t, N> out{};
        std::copy(b.begin(), b.end(), out.begin());
        return out;
    }
    Result<ArrayReader> array(std::string_view what, size_t max_len);
    // Succeeds only when every element was consumed.
    Status finish();

private:
    Result<const msgpack::object*> next(std::string_view what);
    Error fail(std::string_view what, std::string_view problem) const;

    const msgpack::object* m_items;
    size_t m_count;
    size_t m_pos = 0;
    std::string m_context;
};

// Owns a parsed msgpack value whose root is an array.
class Decoded {
public:
    // Parses `bytes`, refusing oversize, malformed, trailing or non-canonical input. Text and
    // binary values are read where they lie: `bytes` must outlive the Decoded and every
    // ByteView read from it (a copy was a fifth of a receiver's time with 1 MiB documents).
    static Result<Decoded> parse(ByteView bytes, std::string_view context,
                                 const DecodeLimits& limits = {});
    // Like parse, for a value followed by other bytes: sets `consumed` to the value's length.
    static Result<Decoded> parse_prefix(ByteView bytes, std::string_view context, const DecodeLimits& limits,
                                        size_t& consumed);
    // A temporary would be gone before the values read from it.
    static Result<Decoded> parse(const Bytes&& bytes, std::string_view context, const DecodeLimits& limits = {}) = delete;
    static Result<Decoded> parse_prefix(const Bytes&& bytes, std::string_view context, const DecodeLimits& limits,
                                        size_t& consumed) = delete;
    ArrayReader root() const;

private:
    std::shared_ptr<msgpack::object_handle> m_handle;
    std::string m_context;
};

}  // namespace lienthong::protocol
