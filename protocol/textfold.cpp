#include "protocol/textfold.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <unordered_set>

namespace lienthong::protocol {
namespace {

// NFKC (COMPOSE | COMPAT) with case folding, combining marks stripped after decomposition,
// control characters dropped (line breaks and tabs become spaces) and default-ignorable
// code points (soft hyphen, zero-width space, BOM) dropped. STABLE keeps the result fixed
// across Unicode versions for assigned code points, which matters because the folded form
// is persisted as index keys. Unassigned code points pass through rather than being
// refused, so text using characters newer than the installed utf8proc still indexes.
constexpr utf8proc_option_t kFoldOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |
    UTF8PROC_STRIPCC | UTF8PROC_IGNORE);

// đ has no canonical decomposition (the stroke is part of the letter, not a mark), so
// STRIPMARK leaves it alone. It is applied before case folding, hence both cases.
utf8proc_int32_t map_d_with_stroke(utf8proc_int32_t cp, void*) {
    return (cp == 0x0110 || cp == 0x0111) ? utf8proc_int32_t{'d'} : cp;
}

const utf8proc_uint8_t* bytes(std::string_view s) {
    return reinterpret_cast<const utf8proc_uint8_t*>(s.data());
}

// Decodes one code point at the start of `s`; returns its length, or a negative utf8proc
// error if `s` does not start with a valid UTF-8 sequence.
utf8proc_ssize_t next_code_point(std::string_view s, utf8proc_int32_t& cp) {
    return utf8proc_iterate(bytes(s), static_cast<utf8proc_ssize_t>(s.size()), &cp);
}

bool is_space(utf8proc_int32_t cp) {
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return true;
    const auto cat = utf8proc_category(cp);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP;
}

bool is_term_char(utf8proc_int32_t cp) {
    switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO:
        case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL:
        case UTF8PROC_CATEGORY_NO:
            return true;
        default:
            return false;
    }
}

// Collapses each run of white space in valid UTF-8 to one ASCII space and trims both ends.
std::string collapse_spaces(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool pending_space = false;
    while (!text.empty()) {
        utf8proc_int32_t cp = 0;
        const auto n = static_cast<size_t>(next_code_point(text, cp));  // valid: utf8proc wrote it
        if (is_space(cp)) {
            pending_space = !out.empty();
        } else {
            if (pending_space) out.push_back(' ');
            pending_space = false;
            out.append(text.substr(0, n));
        }
        text.remove_prefix(n);
    }
    return out;
}

}  // namespace

Result<std::string> fold(std::string_view utf8) {
    // Validate first, to say where the text is broken; utf8proc_map only says that it is.
    for (std::string_view rest = utf8; !rest.empty();) {
        utf8proc_int32_t cp = 0;
        const auto n = next_code_point(rest, cp);
        if (n < 0) {
            return make_error("text to fold is not valid UTF-8 at byte " +
                              std::to_string(utf8.size() - rest.size()) +
                              "; convert it to UTF-8 (e.g. from TCVN3 or Windows-1258) before "
                              "indexing or searching it");
        }
        rest.remove_prefix(static_cast<size_t>(n));
    }
    if (utf8.empty()) return std::string{};

    utf8proc_uint8_t* raw = nullptr;
    const auto len = utf8proc_map_custom(bytes(utf8), static_cast<utf8proc_ssize_t>(utf8.size()),
                                         &raw, kFoldOptions, map_d_with_stroke, nullptr);
    const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(raw, &std::free);
    if (len < 0) {
        return make_error(std::string("folding text failed in utf8proc: ") + utf8proc_errmsg(len) +
                          "; the text is " + std::to_string(utf8.size()) +
                          " bytes, try a shorter one");
    }
    return collapse_spaces(
        std::string_view(reinterpret_cast<const char*>(owned.get()), static_cast<size_t>(len)));
}

std::vector<std::string> search_terms(std::string_view folded) {
    std::vector<std::string> terms;
    std::unordered_set<std::string_view> seen;  // views into `folded`
    size_t start = 0;
    bool in_term = false;
    auto finish = [&](size_t end) {
        if (in_term && seen.insert(folded.substr(start, end - start)).second)
            terms.emplace_back(folded.substr(start, end - start));
        in_term = false;
    };
    for (size_t pos = 0; pos < folded.size();) {
        utf8proc_int32_t cp = 0;
        const auto n = next_code_point(folded.substr(pos), cp);
        if (n < 0) {  // not folded text; the byte separates terms, as documented
            finish(pos);
            pos += 1;
            continue;
        }
        if (is_term_char(cp)) {
            if (!in_term) start = pos;
            in_term = true;
        } else {
            finish(pos);
        }
        pos += static_cast<size_t>(n);
    }
    finish(folded.size());
    return terms;
}

bool matches(std::string_view folded_haystack, std::string_view folded_query) {
    const auto haystack = search_terms(folded_haystack);
    for (const auto& q : search_terms(folded_query)) {
        if (std::none_of(haystack.begin(), haystack.end(),
                         [&](const std::string& h) { return h.starts_with(q); }))
            return false;
    }
    return true;
}

}  // namespace lienthong::protocol
