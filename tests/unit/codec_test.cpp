// Canonical msgpack: what the Writer emits and what Decoded/ArrayReader refuse.
#include <catch2/catch.hpp>

#include "protocol/codec.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;

namespace {
Bytes one_u64(uint64_t v) { return Writer().u64(v).take(); }

bool parses(const Bytes& b, const DecodeLimits& limits = {}) {
    return Decoded::parse(b, "test", limits).ok();
}
std::string parse_error(const Bytes& b, const DecodeLimits& limits = {}) {
    auto r = Decoded::parse(b, "test", limits);
    REQUIRE_FALSE(r.ok());
    return r.error();
}
}  // namespace

TEST_CASE("Writer encodes unsigned integers in their shortest msgpack form", "[protocol][codec]") {
    CHECK(one_u64(0) == bytes_of({0x00}));
    CHECK(one_u64(5) == bytes_of({0x05}));
    CHECK(one_u64(127) == bytes_of({0x7f}));
    CHECK(one_u64(128) == bytes_of({0xcc, 0x80}));
    CHECK(one_u64(255) == bytes_of({0xcc, 0xff}));
    CHECK(one_u64(256) == bytes_of({0xcd, 0x01, 0x00}));
    CHECK(one_u64(65535) == bytes_of({0xcd, 0xff, 0xff}));
    CHECK(one_u64(65536) == bytes_of({0xce, 0x00, 0x01, 0x00, 0x00}));
    CHECK(one_u64(0xffffffffull) == bytes_of({0xce, 0xff, 0xff, 0xff, 0xff}));
    CHECK(one_u64(0x100000000ull) == bytes_of({0xcf, 0, 0, 0, 1, 0, 0, 0, 0}));
    CHECK(one_u64(UINT64_MAX) == bytes_of({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
}

TEST_CASE("Writer encodes text as str, bytes as bin, and lists as arrays", "[protocol][codec]") {
    CHECK(Writer().str("abc").take() == bytes_of({0xa3, 'a', 'b', 'c'}));
    CHECK(Writer().str("").take() == bytes_of({0xa0}));
    const std::string s32(32, 'x');
    auto long_str = Writer().str(s32).take();
    REQUIRE(long_str.size() == 34);
    CHECK(long_str[0] == 0xd9);
    CHECK(long_str[1] == 32);
    CHECK(Writer().bin(bytes_of({1, 2, 3})).take() == bytes_of({0xc4, 0x03, 1, 2, 3}));
    CHECK(Writer().bin({}).take() == bytes_of({0xc4, 0x00}));
    CHECK(Writer().array(0).take() == bytes_of({0x90}));
    CHECK(Writer().array(3).u64(1).u64(2).u64(3).take() == bytes_of({0x93, 1, 2, 3}));
    CHECK(Writer().array(16).take() == bytes_of({0xdc, 0x00, 0x10}));
    CHECK(Writer().boolean(true).boolean(false).nil().take() == bytes_of({0xc3, 0xc2, 0xc0}));
}

TEST_CASE("Writer::raw appends pre-encoded bytes as one element", "[protocol][codec]") {
    const Bytes inner = Writer().array(2).u64(7).str("x").take();
    const Bytes outer = Writer().array(2).raw(inner).u64(9).take();
    CHECK(outer == bytes_of({0x92, 0x92, 0x07, 0xa1, 'x', 0x09}));
    auto d = Decoded::parse(outer, "raw");
    REQUIRE(d.ok());
    auto r = d->root();
    auto in = r.array("inner", 2);
    REQUIRE(in.ok());
    CHECK(*in->u64("a") == 7);
    CHECK(*in->str("b", 10) == "x");
    CHECK(*r.u64("after") == 9);
}

TEST_CASE("Writer output always parses back as canonical", "[protocol][codec]") {
    const Bytes b = Writer()
                        .array(6)
                        .u64(300)
                        .str("Công văn Hỏa tốc Đắk Nông")
                        .bin(Bytes(300, 0xab))
                        .boolean(true)
                        .nil()
                        .array(1)
                        .u64(UINT64_MAX)
                        .take();
    auto d = Decoded::parse(b, "roundtrip");
    REQUIRE(d.ok());
    auto r = d->root();
    CHECK(r.size() == 6);
    CHECK(*r.u64("n") == 300);
    CHECK(*r.str("s", 100) == "Công văn Hỏa tốc Đắk Nông");
    CHECK(r.bin("b", 300)->size() == 300);
    CHECK(*r.boolean("t") == true);
}

TEST_CASE("Decoded::parse refuses empty input", "[protocol][codec]") {
    CHECK_THAT(parse_error({}), Catch::Contains("empty"));
}

TEST_CASE("Decoded::parse refuses truncated input", "[protocol][codec]") {
    CHECK_THAT(parse_error(bytes_of({0x93, 0x01, 0x02})), Catch::Contains("truncated"));
    CHECK_FALSE(parses(bytes_of({0x91, 0xcd, 0x01})));
    CHECK_FALSE(parses(bytes_of({0x91, 0xa5, 'a', 'b'})));
    CHECK_FALSE(parses(bytes_of({0x91, 0xc4, 0x04, 1, 2})));
    const Bytes good = Writer().array(3).str("hello").bin(Bytes(40, 1)).u64(100000).take();
    for (size_t n = 1; n < good.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        CHECK_FALSE(parses(Bytes(good.begin(), good.begin() + n)));
    }
}

TEST_CASE("Decoded::parse refuses trailing bytes after the value", "[protocol][codec]") {
    CHECK_THAT(parse_error(bytes_of({0x91, 0x01, 0x00})), Catch::Contains("trailing"));
    CHECK_FALSE(parses(bytes_of({0x90, 0x90})));
}

TEST_CASE("Decoded::parse refuses non-canonical integer widths", "[protocol][codec]") {
    CHECK_THAT(parse_error(bytes_of({0x91, 0xcd, 0x00, 0x05})), Catch::Contains("canonical"));
    CHECK_FALSE(parses(bytes_of({0x91, 0xcc, 0x05})));
    CHECK_FALSE(parses(bytes_of({0x91, 0xce, 0x00, 0x00, 0x01, 0x00})));
    CHECK_FALSE(parses(bytes_of({0x91, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5})));
    CHECK_FALSE(parses(bytes_of({0x91, 0xd0, 0x05})));  // int8 holding a positive value
    CHECK(parses(bytes_of({0x91, 0x05})));
}

TEST_CASE("Decoded::parse refuses non-canonical lengths of strings, bins and arrays",
          "[protocol][codec]") {
    CHECK_FALSE(parses(bytes_of({0x91, 0xd9, 0x03, 'a', 'b', 'c'})));        // str8 for 3 bytes
    CHECK_FALSE(parses(bytes_of({0x91, 0xc5, 0x00, 0x02, 1, 2})));           // bin16 for 2 bytes
    CHECK_FALSE(parses(bytes_of({0xdc, 0x00, 0x01, 0x01})));                 // array16 for 1
    CHECK_FALSE(parses(bytes_of({0xdd, 0x00, 0x00, 0x00, 0x01, 0x01})));     // array32 for 1
}

TEST_CASE("Decoded::parse refuses a root that is not a list", "[protocol][codec]") {
    CHECK_THAT(parse_error(bytes_of({0x05})), Catch::Contains("not a list"));
    CHECK_FALSE(parses(bytes_of({0x81, 0x01, 0x02})));
    CHECK_FALSE(parses(bytes_of({0xa1, 'x'})));
}

TEST_CASE("Decoded::parse refuses maps anywhere in the value", "[protocol][codec]") {
    CHECK_FALSE(parses(bytes_of({0x91, 0x81, 0x01, 0x02})));
    CHECK_THAT(parse_error(bytes_of({0x92, 0x01, 0x91, 0x80})), Catch::Contains("map"));  // empty map
}

TEST_CASE("Decoded::parse refuses floats anywhere in the value", "[protocol][codec]") {
    CHECK_FALSE(parses(bytes_of({0x91, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0})));  // float64 1.5
    CHECK_FALSE(parses(bytes_of({0x91, 0xca, 0x3f, 0xc0, 0, 0})));              // float32 1.5
    CHECK_FALSE(parses(bytes_of({0x91, 0x91, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0})));
}

TEST_CASE("Decoded::parse refuses negative integers and extension types", "[protocol][codec]") {
    CHECK_FALSE(parses(bytes_of({0x91, 0xff})));              // -1
    CHECK_FALSE(parses(bytes_of({0x91, 0xd0, 0x80})));        // -128
    CHECK_FALSE(parses(bytes_of({0x91, 0xd4, 0x01, 0x02})));  // fixext1
}

TEST_CASE("Decoded::parse enforces each size limit", "[protocol][codec]") {
    const Bytes list3 = bytes_of({0x93, 1, 2, 3});
    DecodeLimits l;
    l.max_bytes = 3;
    CHECK_THAT(parse_error(list3, l), Catch::Contains("exceeds the limit"));
    l = {};
    l.max_array = 2;
    CHECK_FALSE(parses(list3, l));
    l.max_array = 3;
    CHECK(parses(list3, l));

    l = {};
    l.max_str = 2;
    CHECK_FALSE(parses(bytes_of({0x91, 0xa3, 'a', 'b', 'c'}), l));
    CHECK(parses(bytes_of({0x91, 0xa2, 'a', 'b'}), l));

    l = {};
    l.max_bin = 2;
    CHECK_FALSE(parses(bytes_of({0x91, 0xc4, 0x03, 1, 2, 3}), l));
    CHECK(parses(bytes_of({0x91, 0xc4, 0x02, 1, 2}), l));

    l = {};
    l.max_depth = 2;
    CHECK(parses(bytes_of({0x91, 0x91, 0x01}), l));
    CHECK_FALSE(parses(bytes_of({0x91, 0x91, 0x91, 0x01}), l));
}

TEST_CASE("Decoded::parse refuses a declared length far beyond the input", "[protocol][codec]") {
    // array32 claiming 4 billion elements, and bin32 claiming 4 GiB: refused, not allocated.
    CHECK_FALSE(parses(bytes_of({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01})));
    CHECK_FALSE(parses(bytes_of({0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x01})));
}

TEST_CASE("ArrayReader errors name the context and the field", "[protocol][codec]") {
    const Bytes b = Writer().array(5).str("x").u64(1).bin(bytes_of({1, 2})).u64(2).array(1).u64(3).take();
    auto d = Decoded::parse(b, "thing");
    REQUIRE(d.ok());

    SECTION("wrong type for u64") {
        auto r = d->root();
        auto e = r.u64("count");
        REQUIRE_FALSE(e.ok());
        CHECK_THAT(e.error(), Catch::Contains("thing") && Catch::Contains("'count'") &&
                                  Catch::Contains("not an unsigned integer"));
    }
    SECTION("wrong type for str, bin, boolean and array") {
        // A failed accessor still consumes its element, so each check starts a fresh reader
        // positioned on an unsigned integer (element 1).
        auto at_int = [&] {
            auto r = d->root();
            REQUIRE(r.str("name", 10).ok());
            return r;
        };
        auto s = at_int().str("label", 10);
        REQUIRE_FALSE(s.ok());
        CHECK_THAT(s.error(), Catch::Contains("'label'") && Catch::Contains("not text"));
        auto bi = at_int().bin("blob", 10);
        REQUIRE_FALSE(bi.ok());
        CHECK_THAT(bi.error(), Catch::Contains("'blob'") && Catch::Contains("not binary"));
        auto bo = at_int().boolean("flag");
        REQUIRE_FALSE(bo.ok());
        CHECK_THAT(bo.error(), Catch::Contains("'flag'") && Catch::Contains("not a boolean"));
        auto a = at_int().array("items", 10);
        REQUIRE_FALSE(a.ok());
        CHECK_THAT(a.error(), Catch::Contains("'items'") && Catch::Contains("not a list"));
        auto f = at_int().fixed<4>("key");
        REQUIRE_FALSE(f.ok());
        CHECK_THAT(f.error(), Catch::Contains("'key'") && Catch::Contains("not binary"));
    }
    SECTION("too long, wrong fixed size, too many entries") {
        auto r = d->root();
        auto s = r.str("name", 0);
        REQUIRE_FALSE(s.ok());
        CHECK_THAT(s.error(), Catch::Contains("'name'") && Catch::Contains("longer than 0"));
        REQUIRE(r.u64("n").ok());
        auto f = r.fixed<3>("key");
        REQUIRE_FALSE(f.ok());
        CHECK_THAT(f.error(), Catch::Contains("'key'") && Catch::Contains("exactly 3 bytes"));
        REQUIRE(r.u64("m").ok());
        auto a = r.array("items", 0);
        REQUIRE_FALSE(a.ok());
        CHECK_THAT(a.error(), Catch::Contains("'items'") && Catch::Contains("more than 0"));
    }
    SECTION("bin longer than its limit") {
        auto r = d->root();
        REQUIRE(r.str("name", 10).ok());
        REQUIRE(r.u64("n").ok());
        auto bi = r.bin("blob", 1);
        REQUIRE_FALSE(bi.ok());
        CHECK_THAT(bi.error(), Catch::Contains("'blob'") && Catch::Contains("larger than 1"));
    }
    SECTION("nested list errors carry the path") {
        auto r = d->root();
        REQUIRE(r.str("name", 10).ok());
        REQUIRE(r.u64("n").ok());
        REQUIRE(r.bin("blob", 10).ok());
        REQUIRE(r.u64("m").ok());
        auto in = r.array("items", 5);
        REQUIRE(in.ok());
        REQUIRE(in->u64("first").ok());
        auto missing = in->u64("second");
        REQUIRE_FALSE(missing.ok());
        CHECK_THAT(missing.error(), Catch::Contains("thing.items") && Catch::Contains("'second'") &&
                                        Catch::Contains("missing"));
    }
    SECTION("missing field and unconsumed fields") {
        auto r = d->root();
        CHECK_FALSE(r.finish().ok());
        REQUIRE(r.str("name", 10).ok());
        CHECK_THAT(r.finish().error(), Catch::Contains("4 unexpected extra field"));
        REQUIRE(r.u64("a").ok());
        REQUIRE(r.bin("b", 10).ok());
        REQUIRE(r.u64("c").ok());
        REQUIRE(r.array("d", 1).ok());
        CHECK(r.finish().ok());
        auto past = r.u64("e");
        REQUIRE_FALSE(past.ok());
        CHECK_THAT(past.error(), Catch::Contains("'e'") && Catch::Contains("missing"));
    }
}

TEST_CASE("ArrayReader::str refuses invalid UTF-8 text", "[protocol][codec]") {
    const Bytes b = bytes_of({0x92, 0xa2, 0xc3, 0x28, 0xa2, 0xc3, 0xa1});  // bad, then "á"
    auto d = Decoded::parse(b, "doc");
    REQUIRE(d.ok());  // the reader, which knows the field, is where text is checked
    auto r = d->root();
    auto bad = r.str("subject", 100);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error(), Catch::Contains("'subject'") && Catch::Contains("UTF-8"));
    CHECK(*r.str("ok", 100) == "\xc3\xa1");
}

TEST_CASE("is_valid_utf8 accepts Vietnamese text and every plane", "[protocol][codec]") {
    CHECK(is_valid_utf8("Công văn Hỏa tốc Đắk Nông"));
    CHECK(is_valid_utf8("Ủy ban nhân dân tỉnh Bình Định — Quyết định số 123/QĐ-UBND"));
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8(std::string_view("a\0b", 3)));
    CHECK(is_valid_utf8("\x7f"));
    CHECK(is_valid_utf8("\xc2\x80"));          // U+0080, smallest 2-byte
    CHECK(is_valid_utf8("\xe0\xa0\x80"));      // U+0800, smallest 3-byte
    CHECK(is_valid_utf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
    CHECK(is_valid_utf8("\xee\x80\x80"));      // U+E000, just above
    CHECK(is_valid_utf8("\xef\xbf\xbf"));      // U+FFFF
    CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));  // U+1F600
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
}

TEST_CASE("is_valid_utf8 refuses overlongs, surrogates and malformed sequences", "[protocol][codec]") {
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));              // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xc1\xbf"));              // overlong U+007F
    CHECK_FALSE(is_valid_utf8("\xe0\x80\xaf"));          // 3-byte overlong
    CHECK_FALSE(is_valid_utf8("\xe0\x9f\xbf"));          // overlong U+07FF
    CHECK_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));      // 4-byte overlong
    CHECK_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));      // overlong U+FFFF
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));          // U+D800
    CHECK_FALSE(is_valid_utf8("\xed\xbf\xbf"));          // U+DFFF
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));      // U+110000
    CHECK_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));  // 5-byte form
    CHECK_FALSE(is_valid_utf8("\xff"));
    CHECK_FALSE(is_valid_utf8("\x80"));                  // lone continuation
    CHECK_FALSE(is_valid_utf8("C\xc3"));                 // truncated at the end
    CHECK_FALSE(is_valid_utf8("\xe1\xbb"));              // truncated 3-byte ("ỏ" cut short)
    CHECK_FALSE(is_valid_utf8("\xc3\x28"));              // bad continuation
    CHECK_FALSE(is_valid_utf8("H\xe1\xbb\x8f" "a t\xe1\xbb"));
}

TEST_CASE("Decoded::parse_prefix parses a value followed by other bytes", "[protocol][codec]") {
    const Bytes value = Writer().array(3).u64(4).str("tiêu đề").bin(Bytes(40, 7)).take();
    Bytes buf = value;
    const Bytes tail = bytes_of({0x93, 0x01, 0xc4, 0x00, 0xff, 0x00});  // not even valid msgpack
    buf.insert(buf.end(), tail.begin(), tail.end());
    size_t consumed = 12345;
    auto d = Decoded::parse_prefix(buf, "prefix", {}, consumed);
    REQUIRE(d.ok());
    CHECK(consumed == value.size());
    auto r = d->root();
    CHECK(r.size() == 3);
    auto n = r.u64("n");
    REQUIRE(n.ok());
    CHECK(*n == 4);
    auto s = r.str("s", 100);
    REQUIRE(s.ok());
    CHECK(*s == "tiêu đề");
    auto b = r.bin("b", 100);
    REQUIRE(b.ok());
    CHECK(Bytes(b->begin(), b->end()) == Bytes(40, 7));
    CHECK(r.finish().ok());
    // The same buffer is refused by parse, which wants nothing after the value.
    CHECK_THAT(parse_error(buf), Catch::Contains("trailing"));
}

TEST_CASE("Decoded::parse_prefix with nothing after the value consumes everything", "[protocol][codec]") {
    const Bytes value = bytes_of({0x92, 0x04, 0x05});
    size_t consumed = 0;
    REQUIRE(Decoded::parse_prefix(value, "prefix", {}, consumed).ok());
    CHECK(consumed == value.size());
    // Two values back to back: only the first is consumed.
    const Bytes two = bytes_of({0x91, 0x01, 0x91, 0x02});
    auto d = Decoded::parse_prefix(two, "prefix", {}, consumed);
    REQUIRE(d.ok());
    CHECK(consumed == 2);
    auto v = d->root().u64("v");
    REQUIRE(v.ok());
    CHECK(*v == 1);
}

TEST_CASE("Decoded::parse_prefix refuses a non-canonical or malformed prefix", "[protocol][codec]") {
    size_t consumed = 0;
    const std::vector<Bytes> bad = {
        bytes_of({0x91, 0xcc, 0x05, 0x00}),              // uint8 for 5, then a byte
        bytes_of({0x92, 0x04, 0xcd, 0x00, 0x05, 0x90}),  // uint16 for 5
        bytes_of({0xdc, 0x00, 0x01, 0x01, 0x90}),        // array16 for one element
        bytes_of({0x91, 0xd9, 0x01, 'a', 0x90}),         // str8 for one byte
        bytes_of({0x81, 0x01, 0x02, 0x90}),              // a map
        bytes_of({0x05, 0x90}),                          // root not a list
        bytes_of({0x91, 0xca, 0, 0, 0, 0, 0x90}),        // a float
        bytes_of({0x92, 0x01}),                          // truncated
        {},
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        INFO("case " << i);
        CHECK_FALSE(Decoded::parse_prefix(bad[i], "prefix", {}, consumed).ok());
    }
    CHECK_THAT(Decoded::parse_prefix(bad[0], "prefix", {}, consumed).error(), Catch::Contains("canonical"));
}

TEST_CASE("Decoded::parse_prefix enforces the limits on the prefix", "[protocol][codec]") {
    size_t consumed = 0;
    DecodeLimits l;
    l.max_bin = 2;
    Bytes buf = bytes_of({0x91, 0xc4, 0x03, 1, 2, 3});
    buf.insert(buf.end(), 10, 0xee);
    CHECK_FALSE(Decoded::parse_prefix(buf, "prefix", l, consumed).ok());
    l = {};
    l.max_depth = 1;
    const Bytes deep = bytes_of({0x91, 0x91, 0x01, 0x00});
    CHECK_FALSE(Decoded::parse_prefix(deep, "prefix", l, consumed).ok());
    // max_bytes bounds the whole buffer handed in, trailing bytes included.
    l = {};
    l.max_bytes = 4;
    const Bytes five = bytes_of({0x91, 0x01, 0x00, 0x00, 0x00}), four = bytes_of({0x91, 0x01, 0x00, 0x00});
    CHECK_FALSE(Decoded::parse_prefix(five, "prefix", l, consumed).ok());
    CHECK(Decoded::parse_prefix(four, "prefix", l, consumed).ok());
    CHECK(consumed == 2);
}
