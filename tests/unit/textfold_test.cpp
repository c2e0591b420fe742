// Diacritic- and case-insensitive folding for Vietnamese search.
#include "protocol/textfold.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace lienthong::protocol;

namespace {

std::string folded(std::string_view text) {
    auto r = fold(text);
    INFO(std::string(text));
    REQUIRE(r.ok());
    return *r;
}

bool finds(std::string_view text, std::string_view query) {
    return matches(folded(text), folded(query));
}

std::string utf8_of(char32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xc0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        s += static_cast<char>(0xe0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        s += static_cast<char>(0x80 | (cp & 0x3f));
    }
    return s;
}

}  // namespace

TEST_CASE("the user's examples are found without diacritics", "[protocol][textfold]") {
    CHECK(folded("Công văn") == "cong van");
    CHECK(folded("Hòa Tiến") == "hoa tien");
    CHECK(folded("Đắk Nông") == "dak nong");

    CHECK(finds("Công văn", "cong van"));
    CHECK(finds("Hòa Tiến", "hoa tien"));
    CHECK(finds("Đắk Nông", "dak nong"));
    CHECK(finds("Công văn", "CÔNG VĂN"));  // typing with marks finds it too

    CHECK_FALSE(finds("Công văn", "cong vang"));
    CHECK_FALSE(finds("Hòa Tiến", "hoa vang"));
    CHECK_FALSE(finds("Đắk Nông", "dak lak"));
}

TEST_CASE("every Vietnamese vowel with every tone and modifier folds to its base letter",
          "[protocol][textfold]") {
    // The base vowels and those with circumflex, breve or horn, in lower and upper case.
    const std::vector<std::pair<std::string, std::string>> vowels = {
        {"a", "a"}, {"ă", "a"}, {"â", "a"}, {"e", "e"}, {"ê", "e"}, {"i", "i"},
        {"o", "o"}, {"ô", "o"}, {"ơ", "o"}, {"u", "u"}, {"ư", "u"}, {"y", "y"},
        {"A", "a"}, {"Ă", "a"}, {"Â", "a"}, {"E", "e"}, {"Ê", "e"}, {"I", "i"},
        {"O", "o"}, {"Ô", "o"}, {"Ơ", "o"}, {"U", "u"}, {"Ư", "u"}, {"Y", "y"},
    };
    // The five tone marks as combining characters: huyền, sắc, hỏi, ngã, nặng.
    const char32_t tones[] = {0x0300, 0x0301, 0x0309, 0x0303, 0x0323};
    for (const auto& [vowel, base] : vowels) {
        CHECK(folded(vowel) == base);
        for (char32_t tone : tones) {
            // Base (or precomposed modified) vowel followed by a combining tone mark.
            CHECK(folded(vowel + utf8_of(tone)) == base);
        }
    }

    // The same letters precomposed, as Vietnamese keyboards type them (NFC).
    CHECK(folded("àáảãạ ằắẳẵặ ầấẩẫậ") == "aaaaa aaaaa aaaaa");
    CHECK(folded("èéẻẽẹ ềếểễệ") == "eeeee eeeee");
    CHECK(folded("ìíỉĩị") == "iiiii");
    CHECK(folded("òóỏõọ ồốổỗộ ờớởỡợ") == "ooooo ooooo ooooo");
    CHECK(folded("ùúủũụ ừứửữự") == "uuuuu uuuuu");
    CHECK(folded("ỳýỷỹỵ") == "yyyyy");
    CHECK(folded("ÀÁẢÃẠ ẰẮẲẴẶ ẦẤẨẪẬ ÈÉẺẼẸ ỀẾỂỄỆ ÌÍỈĨỊ") == "aaaaa aaaaa aaaaa eeeee eeeee iiiii");
    CHECK(folded("ÒÓỎÕỌ ỒỐỔỖỘ ỜỚỞỠỢ ÙÚỦŨỤ ỪỨỬỮỰ ỲÝỶỸỴ") == "ooooo ooooo ooooo uuuuu uuuuu yyyyy");
}

TEST_CASE("NFC and NFD spellings of the same text fold to the same bytes", "[protocol][textfold]") {
    // "Nguyễn" and "Thừa": precomposed, and as base letter + modifier + tone combining marks.
    const std::string nfc = "Nguy\u1EC5n Th\u1EEBa";
    const std::string nfd = "Nguye\u0302\u0303n Thu\u031B\u0300a";
    REQUIRE(nfc != nfd);
    CHECK(folded(nfc) == "nguyen thua");
    CHECK(folded(nfd) == folded(nfc));
    // Mixed: precomposed "ê" with a combining tone.
    CHECK(folded("Nguy\u00EA\u0303n") == "nguyen");
}

TEST_CASE("upper case with marks folds like lower case", "[protocol][textfold]") {
    CHECK(folded("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") == "cong hoa xa hoi chu nghia viet nam");
    CHECK(folded("ỦY BAN NHÂN DÂN TỈNH ĐẮK NÔNG") == "uy ban nhan dan tinh dak nong");
    CHECK(folded("Ủy ban") == folded("ủy BAN"));
}

TEST_CASE("đ and Đ fold to d, which Unicode decomposition alone would not do",
          "[protocol][textfold]") {
    CHECK(folded("đ") == "d");
    CHECK(folded("Đ") == "d");
    CHECK(folded("\u0111\u0110") == "dd");
    CHECK(folded("Quyết định") == "quyet dinh");
    CHECK(folded("ĐỘC LẬP - TỰ DO - HẠNH PHÚC") == "doc lap - tu do - hanh phuc");
}

TEST_CASE("invalid UTF-8 is refused and the error says where", "[protocol][textfold]") {
    const std::vector<std::string> bad = {
        "C\xf4ng v\xe3n",            // Windows-1258 / Latin-1 bytes
        "abc\x80",                   // lone continuation byte
        "\xc3",                      // truncated sequence
        "\xc0\xaf",                  // overlong "/"
        "\xed\xa0\x80",              // UTF-16 surrogate D800
        "\xf4\x90\x80\x80",          // above U+10FFFF
        std::string("ok\0\xff", 4),  // after an embedded NUL
    };
    for (const auto& s : bad) {
        auto r = fold(s);
        INFO(s);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("not valid UTF-8"));
    }
    auto r = fold("C\xf4ng");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("byte 1"));
}

TEST_CASE("empty and all-space input fold to the empty string", "[protocol][textfold]") {
    CHECK(folded("") == "");
    CHECK(folded("   ") == "");
    CHECK(folded("\t\r\n\u00A0\u3000") == "");
    CHECK(search_terms("").empty());
    CHECK(search_terms(folded(" - / . ")).empty());
}

TEST_CASE("white space runs collapse to one ASCII space and are trimmed", "[protocol][textfold]") {
    CHECK(folded("  Công \t\n văn  ") == "cong van");
    CHECK(folded("Công\u00A0văn") == "cong van");  // no-break space, common in Word files
    CHECK(folded("Công\u2003\u2028văn") == "cong van");
    CHECK(folded("Công\r\nvăn") == "cong van");
}

TEST_CASE("fold is idempotent and removes invisible characters", "[protocol][textfold]") {
    for (std::string_view s :
         {"Công văn số 7816/VPCP-TTĐT", "Hòa Tiến", "ĐẮK NÔNG", "Ａｂｃ１２"}) {
        const auto once = folded(s);
        CHECK(folded(once) == once);
    }
    CHECK(folded("Cô\u00ADng\u200B văn\uFEFF") == "cong van");  // soft hyphen, ZWSP, BOM
    CHECK(folded("Ａｂｃ１２") == "abc12");                     // full width
}

TEST_CASE("search_terms splits a document number into parts that each find it",
          "[protocol][textfold]") {
    const auto terms = search_terms(folded("Công văn số 7816/VPCP-TTĐT ngày 12.03.2024"));
    CHECK(terms == std::vector<std::string>{"cong", "van", "so", "7816", "vpcp", "ttdt", "ngay",
                                            "12", "03", "2024"});
    CHECK(search_terms("a, b; a. (b)") == std::vector<std::string>{"a", "b"});  // once each

    const auto number = folded("Số: 7816/VPCP-TTĐT");
    CHECK(matches(number, folded("7816")));
    CHECK(matches(number, folded("vpcp")));
    CHECK(matches(number, folded("ttdt")));
    CHECK(matches(number, folded("TTĐT")));
    CHECK(matches(number, folded("7816/VPCP-TTĐT")));
    CHECK(matches(number, folded("7816 vpcp")));
    CHECK_FALSE(matches(number, folded("7817")));
    CHECK_FALSE(matches(number, folded("7816/VPCP-TTg")));
}

TEST_CASE("matches wants every query term as a prefix of some haystack term",
          "[protocol][textfold]") {
    const auto haystack = folded("Công văn về việc triển khai tại xã Hòa Tiến, tỉnh Đắk Nông");
    CHECK(matches(haystack, folded("cong")));
    CHECK(matches(haystack, folded("cong van")));
    CHECK(matches(haystack, folded("co va")));     // prefixes
    CHECK(matches(haystack, folded("tien hoa")));  // any order
    CHECK(matches(haystack, folded("dak nong hoa")));
    CHECK(matches(haystack, folded("Hòa Tiến")));

    CHECK_FALSE(matches(haystack, folded("hoa vang")));  // one term missing is enough
    CHECK_FALSE(matches(haystack, folded("dak lak")));
    CHECK_FALSE(matches(haystack, folded("ong")));      // inside a word, not a prefix
    CHECK_FALSE(matches(haystack, folded("congvan")));  // longer than any term
    CHECK_FALSE(matches(folded("Hòa"), folded("hoan")));

    CHECK_FALSE(matches(folded("Đắk Nông"), folded("dak lak")));
    CHECK(matches(folded("Đắk Lắk"), folded("dak lak")));

    // No query terms: nothing to fail, so everything matches (see textfold.h).
    CHECK(matches(haystack, ""));
    CHECK(matches("", ""));
    CHECK_FALSE(matches("", folded("cong")));
}
