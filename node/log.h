// One line per event: "<UTC time> <LEVEL> agency=<us> event=<name> key=value ...".
// A value is written bare when it is plain text without space, quote, '=' or backslash;
// otherwise quoted, with '"' and '\' escaped. Whatever a peer or a file name may carry that
// could forge a line or drive a terminal is escaped in every value: \n \r \t, and \xNN for
// each byte of another C0 or C1 control, DEL, U+2028/U+2029, or a byte that is not UTF-8.
// Errors say what to do next.
//
// With LogFormat::json (lienthong-node --log-format json, for log shippers) each line is one
// JSON object instead: {"time":…,"level":…,"agency":…,"event":…,<field>:<value>…}, every
// value a string, everything outside printable ASCII written as a \uXXXX escape (so no raw
// control character or line separator reaches the line), a byte that is not UTF-8 as U+FFFD.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lienthong::node {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };
enum class LogFormat { text, json };

bool parse_log_level(std::string_view text, LogLevel& out);
bool parse_log_format(std::string_view text, LogFormat& out);
// Appends `v` to a log line as described at the top of this file.
void append_log_value(std::string& line, std::string_view v);
// A unix time in milliseconds as UTC, e.g. "2026-11-27T14:38:01Z", for log lines and messages.
std::string utc_time(uint64_t ms);

using LogField = std::pair<std::string_view, std::string_view>;
// One log line (with its '\n') of an event at `time_ms` (unix milliseconds).
std::string format_log_line(LogFormat format, uint64_t time_ms, LogLevel level, std::string_view agency,
                            std::string_view event, const LogField* begin, const LogField* end);

// Under systemd, stderr is a stream to the journal (JOURNAL_STREAM names its device and
// inode): each line then starts with its syslog priority, "<7>" debug, "<6>" info,
// "<4>" warning, "<3>" error, which journald takes off and keeps as the entry's priority
// (`journalctl -p warning` shows warnings and errors).
bool journal_stream_matches(const char* journal_stream, int fd);
std::string_view journal_priority_prefix(LogLevel level);

// Thread-safety: log() may be called from any thread; set_level() too (a reload).
class Logger {
public:
    using Field = LogField;
    using Fields = std::initializer_list<Field>;

    Logger(std::string agency, LogLevel level, LogFormat format = LogFormat::text, bool priority_prefix = false)
        : m_agency(std::move(agency)), m_level(level), m_format(format), m_priority_prefix(priority_prefix) {}
    void log(LogLevel level, std::string_view event, Fields fields) const { write(level, event, fields.begin(), fields.end()); }
    void log(LogLevel level, std::string_view event, const std::vector<Field>& fields) const {
        write(level, event, fields.data(), fields.data() + fields.size());
    }
    void debug(std::string_view event, Fields f) const { log(LogLevel::debug, event, f); }
    void info(std::string_view event, Fields f) const { log(LogLevel::info, event, f); }
    void warn(std::string_view event, Fields f) const { log(LogLevel::warn, event, f); }
    void error(std::string_view event, Fields f) const { log(LogLevel::error, event, f); }
    bool enabled(LogLevel level) const { return level >= m_level.load(std::memory_order_relaxed); }
    void set_level(LogLevel level) { m_level.store(level, std::memory_order_relaxed); }

private:
    void write(LogLevel level, std::string_view event, const Field* begin, const Field* end) const;
    std::string m_agency;
    std::atomic<LogLevel> m_level;
    LogFormat m_format;
    bool m_priority_prefix;
};

// Keeps an event that a peer can repeat at will (a refused connection every reconnect, a
// refused record every gossip round) to one line per key per interval. Holds at most
// kMaxKeys keys; when full it forgets them all (so it can only log more, never less).
class LogThrottle {
public:
    explicit LogThrottle(uint64_t interval_ms) : m_interval_ms(interval_ms) {}
    // True when `key` may be logged at `now_ms`; `suppressed` is then how many times it was
    // not since the last line.
    bool allow(const std::string& key, uint64_t now_ms, uint64_t& suppressed);

private:
    static constexpr size_t kMaxKeys = 10000;
    struct Entry {
        uint64_t last_ms = 0;
        uint64_t suppressed = 0;
    };
    uint64_t m_interval_ms;
    std::map<std::string, Entry> m_keys;
};

}  // namespace lienthong::node
