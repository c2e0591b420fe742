// Text folding for Vietnamese search: "Công văn", "CÔNG VĂN" and "cong van" all fold to
// "cong van", so a user finds a document without typing its diacritics.
//
// fold() is the one normalisation every indexed text and every query goes through. Its
// output is what the LMDB search index stores: search_terms(fold(text)) are the index keys,
// so the index never needs, and never holds, the original text. Changing what fold() or
// search_terms() produce therefore changes the index format: an index built by one version
// must be rebuilt (not merely reopened) by a version that folds differently.
//
// The fold is Unicode's, done by utf8proc, not a hand-made accent table:
//   NFKC compatibility mapping ("ﬁ" -> "fi", full-width "Ａ" -> "a", no-break space -> " "),
//   case folding ("Đ" -> "đ", "ß" -> "ss"), removal of every combining mark after canonical
//   decomposition (tones and the circumflex, breve and horn: "ặ" -> "a", "ự" -> "u"),
//   removal of control and default-ignorable characters (soft hyphen, zero-width space, BOM),
// plus the one Vietnamese letter Unicode does not decompose: đ/Đ (U+0111/U+0110) -> "d".
// Input in NFC or NFD (e.g. text from macOS file names) folds to the same bytes.
//
// Stripping marks is right for Vietnamese and Latin scripts; in scripts whose vowels are
// combining marks (Thai, Devanagari) it merges words, which costs precision, not recall.
//
// Thread safety: every function here is pure and may be called from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace lienthong::protocol {

// Folds UTF-8 text to its search form: compatibility- and case-folded, combining marks
// removed, đ -> d, each run of white space (any Unicode space or line break) replaced by one
// ASCII space, and no space at either end. The result is valid NFC UTF-8; folding it again
// returns it unchanged. An empty or all-space input folds to "".
// Fails, saying at which byte, if `utf8` is not valid UTF-8 (including surrogates and
// overlong forms); nothing is guessed or replaced.
Result<std::string> fold(std::string_view utf8);

// Splits folded text into search terms: maximal runs of letters and digits (Unicode
// categories L* and N*). Everything else, including / - , . and spaces, separates terms, so
// the document number "7816/VPCP-TTĐT" yields "7816", "vpcp", "ttdt" and each of those
// finds it. Terms come in order of first appearance, each once.
// REQUIRES: `folded` is the output of fold(). Other input is not rejected, but is not
// folded either, and any invalid UTF-8 byte in it is treated as a separator.
std::vector<std::string> search_terms(std::string_view folded);

// True if every term of the query is a prefix of some term of the haystack: "hoa tien"
// matches "hoa tien", "cong" matches "cong van", "hoa tien" does not match "hoa vang".
// Terms are matched independently and in any order. A query with no terms (empty, or only
// punctuation) matches every haystack; a caller that wants "no query, no results" checks
// search_terms(query).empty() first.
// REQUIRES: both arguments are outputs of fold().
bool matches(std::string_view folded_haystack, std::string_view folded_query);

}  // namespace lienthong::protocol
