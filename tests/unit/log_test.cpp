// Log lines: every value a peer, a document or a file name can carry is written so that it
// cannot forge a line or reach a terminal as a control sequence.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "node/log.h"

using lienthong::node::append_log_value;
using lienthong::node::journal_priority_prefix;
using lienthong::node::journal_stream_matches;
using lienthong::node::LogLevel;
using lienthong::node::LogThrottle;

namespace {
std::string value(std::string_view v) {
    std::string line;
    append_log_value(line, v);
    return line;
}
}  // namespace

TEST_CASE("plain values, Vietnamese included, are written bare", "[node]") {
    CHECK(value("000.00.31.H14") == "000.00.31.H14");
    CHECK(value("Sở_Y_tế") == "Sở_Y_tế");
    CHECK(value("") == "\"\"");
}

TEST_CASE("spaces, quotes, equals signs and backslashes are quoted and escaped", "[node]") {
    CHECK(value("Báo cáo tháng") == "\"Báo cáo tháng\"");
    CHECK(value("a=b") == "\"a=b\"");
    CHECK(value("say \"hi\"") == "\"say \\\"hi\\\"\"");
    CHECK(value("C:\\x") == "\"C:\\\\x\"");
}

TEST_CASE("control characters in a value cannot forge a log line", "[node]") {
    // A peer's Reject reason or a drop-folder file name trying to start a line of its own.
    const std::string forged = "x\r\n2026-12-05T00:00:00.000Z INFO agency=A event=delivered";
    const std::string out = value(forged);
    CHECK(out.find('\n') == std::string::npos);
    CHECK(out.find('\r') == std::string::npos);
    CHECK(out == "\"x\\r\\n2026-12-05T00:00:00.000Z INFO agency=A event=delivered\"");
    CHECK(value("tab\there") == "\"tab\\there\"");
    // ESC (a terminal escape sequence), NUL, DEL: every byte as \xNN.
    CHECK(value("\x1b[2J") == "\"\\x1b[2J\"");
    CHECK(value(std::string("a\0b", 3)) == "\"a\\x00b\"");
    CHECK(value("a\x7f") == "\"a\\x7f\"");
}

TEST_CASE("C1 controls, line separators and bytes that are not UTF-8 are escaped", "[node]") {
    CHECK(value("a\xc2\x85z") == "\"a\\xc2\\x85z\"");      // U+0085 NEXT LINE
    CHECK(value("a\xc2\x9b" "31m") == "\"a\\xc2\\x9b31m\"");  // U+009B CSI
    CHECK(value("a\xe2\x80\xa8z") == "\"a\\xe2\\x80\\xa8z\"");  // U+2028 LINE SEPARATOR
    CHECK(value("a\xff\x9b") == "\"a\\xff\\x9b\"");         // not UTF-8
    CHECK(value("\xe1\xba") == "\"\\xe1\\xba\"");            // a sequence cut short
    CHECK(value("\xc2\xa0") == "\xc2\xa0");                  // U+00A0 is text
}

TEST_CASE("a throttled event is logged once per interval with the count it held back", "[node]") {
    LogThrottle t(1000);
    uint64_t suppressed = 99;
    CHECK(t.allow("peer/bad_signature", 0, suppressed));
    CHECK(suppressed == 0);
    for (int i = 0; i < 5; ++i) CHECK_FALSE(t.allow("peer/bad_signature", 10 + i, suppressed));
    CHECK(t.allow("peer/other", 20, suppressed));  // another key is its own
    CHECK(t.allow("peer/bad_signature", 1000, suppressed));
    CHECK(suppressed == 5);
}

TEST_CASE("log format json: one object per line, fixed keys first, nothing raw outside printable ASCII", "[node]") {
    using namespace lienthong::node;
    const LogField fields[] = {{"peer", "000.00.31.H14"}, {"subject", "Báo cáo\n2026 \x1b[2J"}, {"bad", "\xff"}};
    const std::string line = format_log_line(LogFormat::json, 1764945501123, LogLevel::warn, "000.00.00.H41",
                                             "refused", std::begin(fields), std::end(fields));
    REQUIRE(line.back() == '\n');
    const std::string body = line.substr(0, line.size() - 1);
    CHECK(body.find('\n') == std::string::npos);
    for (const unsigned char c : body) CHECK((c >= 0x20 && c < 0x7F));
    CHECK(body.rfind(R"({"time":"2025-12-05T14:38:21.123Z","level":"WARN","agency":"000.00.00.H41","event":"refused","peer":)", 0) == 0);
    const auto j = nlohmann::json::parse(body);
    CHECK(j.at("subject") == "Báo cáo\n2026 \x1b[2J");  // the value survives, escaped on the line
    CHECK(j.at("bad") == "\xEF\xBF\xBD");               // a byte that is not UTF-8: U+FFFD
    LogFormat f{};
    CHECK(parse_log_format("json", f));
    CHECK(f == LogFormat::json);
    CHECK_FALSE(parse_log_format("xml", f));
}

TEST_CASE("the text format is unchanged by the json option", "[node]") {
    using namespace lienthong::node;
    const LogField fields[] = {{"peer", "a b"}};
    CHECK(format_log_line(LogFormat::text, 1764945501123, LogLevel::info, "X", "e", std::begin(fields), std::end(fields)) ==
          "2025-12-05T14:38:21.123Z INFO agency=X event=e peer=\"a b\"\n");
}

TEST_CASE("under systemd each line carries its syslog priority for the journal", "[node]") {
    CHECK(journal_priority_prefix(LogLevel::debug) == "<7>");
    CHECK(journal_priority_prefix(LogLevel::info) == "<6>");
    CHECK(journal_priority_prefix(LogLevel::warn) == "<4>");
    CHECK(journal_priority_prefix(LogLevel::error) == "<3>");
    // JOURNAL_STREAM names the device and inode of the stream systemd connected: only a
    // descriptor that is that very stream gets the prefixes.
    char path[] = "/tmp/lienthong-journal-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    struct stat st {};
    REQUIRE(fstat(fd, &st) == 0);
    const std::string same = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    CHECK(journal_stream_matches(same.c_str(), fd));
    CHECK_FALSE(journal_stream_matches(other.c_str(), fd));
    CHECK_FALSE(journal_stream_matches(nullptr, fd));
    CHECK_FALSE(journal_stream_matches("", fd));
    CHECK_FALSE(journal_stream_matches((same + "x").c_str(), fd));
    CHECK_FALSE(journal_stream_matches("12:not-a-number", fd));
    close(fd);
    unlink(path);
}
