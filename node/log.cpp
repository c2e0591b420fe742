#include "node/log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <sys/stat.h>

#include "node/clock.h"

namespace lienthong::node {

namespace {
class SystemClock final : public Clock {
public:
    uint64_t now_ms() override {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    }
};

// Length of the valid UTF-8 sequence starting at v[i] (1-4), or 0 if none starts there.
size_t utf8_length(std::string_view v, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(v[k]); };
    const unsigned char c = b(i);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > v.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    if (n == 2 && c < 0xC2) return 0;                          // overlong
    if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;      // overlong
    if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;     // surrogate
    if (n == 4 && (c > 0xF4 || (c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) >= 0x90))) return 0;
    return n;
}

// What a terminal or a log shipper could take for something other than text of this value:
// C0 and C1 controls, DEL, the Unicode line and paragraph separators, bytes that are not UTF-8.
bool needs_escape(std::string_view v, size_t i, size_t len) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (len == 0) return true;
    if (len == 1) return c < 0x20 || c == 0x7F;
    if (len == 2) return c == 0xC2 && static_cast<unsigned char>(v[i + 1]) < 0xA0;  // U+0080..U+009F
    if (len == 3)
        return c == 0xE2 && static_cast<unsigned char>(v[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(v[i + 2]) == 0xA8 || static_cast<unsigned char>(v[i + 2]) == 0xA9);
    return false;
}

void append_escaped(std::string& line, std::string_view v, size_t i, size_t len) {
    static constexpr char kHex[] = "0123456789abcdef";
    const auto c = static_cast<unsigned char>(v[i]);
    if (len == 1 && c == '\n') return void(line.append("\\n"));
    if (len == 1 && c == '\r') return void(line.append("\\r"));
    if (len == 1 && c == '\t') return void(line.append("\\t"));
    // One \xNN per byte: an escaped value is never mistaken for the raw bytes it replaced.
    for (size_t k = 0; k < std::max<size_t>(len, 1); ++k) {
        const auto b = static_cast<unsigned char>(v[i + k]);
        line.append("\\x").push_back(kHex[b >> 4]);
        line.push_back(kHex[b & 0xF]);
    }
}
}  // namespace

void append_log_value(std::string& line, std::string_view v) {
    bool quote = v.empty(), plain = true;
    for (size_t i = 0; i < v.size();) {
        const size_t len = utf8_length(v, i);
        const char c = v[i];
        if (needs_escape(v, i, len)) plain = false;
        if (c == ' ' || c == '"' || c == '=' || c == '\\') quote = true;
        i += std::max<size_t>(len, 1);
    }
    if (plain && !quote) {
        line.append(v);
        return;
    }
    line.push_back('"');
    for (size_t i = 0; i < v.size();) {
        const size_t len = utf8_length(v, i);
        if (needs_escape(v, i, len)) {
            append_escaped(line, v, i, len);
        } else {
            if (v[i] == '"' || v[i] == '\\') line.push_back('\\');
            line.append(v.substr(i, len));
        }
        i += std::max<size_t>(len, 1);
    }
    line.push_back('"');
}

std::unique_ptr<Clock> make_system_clock() { return std::make_unique<SystemClock>(); }

bool parse_log_level(std::string_view text, LogLevel& out) {
    if (text == "debug") out = LogLevel::debug;
    else if (text == "info") out = LogLevel::info;
    else if (text == "warn") out = LogLevel::warn;
    else if (text == "error") out = LogLevel::error;
    else return false;
    return true;
}

bool parse_log_format(std::string_view text, LogFormat& out) {
    if (text == "text") out = LogFormat::text;
    else if (text == "json") out = LogFormat::json;
    else return false;
    return true;
}

std::string utc_time(uint64_t ms) {
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return ts;
}

std::string format_log_line(LogFormat format, uint64_t time_ms, LogLevel level, std::string_view agency,
                            std::string_view event, const LogField* begin, const LogField* end) {
    static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    const std::time_t secs = static_cast<std::time_t>(time_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(time_ms % 1000));
    if (format == LogFormat::json) {
        // An ordered object: the fixed keys first, then the fields in the order logged. A field
        // named like a fixed key (none is) would replace it rather than make a duplicate key.
        nlohmann::ordered_json j;
        j["time"] = ts;
        j["level"] = kNames[static_cast<int>(level)];
        j["agency"] = std::string(agency);
        j["event"] = std::string(event);
        for (const LogField* f = begin; f != end; ++f) j[std::string(f->first)] = std::string(f->second);
        return j.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    }
    std::string line;
    line.reserve(160);
    line.append(ts).append(" ").append(kNames[static_cast<int>(level)]).append(" agency=");
    line.append(agency).append(" event=").append(event);
    for (const LogField* f = begin; f != end; ++f) {
        line.push_back(' ');
        line.append(f->first).push_back('=');
        append_log_value(line, f->second);
    }
    line.push_back('\n');
    return line;
}

void Logger::write(LogLevel level, std::string_view event, const Field* begin, const Field* end) const {
    if (!enabled(level)) return;
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::string line = format_log_line(m_format, static_cast<uint64_t>(ms), level, m_agency, event, begin, end);
    if (m_priority_prefix) line.insert(0, journal_priority_prefix(level));
    std::fwrite(line.data(), 1, line.size(), stderr);
}

bool journal_stream_matches(const char* journal_stream, int fd) {
    if (journal_stream == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    char extra = 0;
    if (std::sscanf(journal_stream, "%llu:%llu%c", &dev, &ino, &extra) != 2) return false;
    struct stat st {};
    if (fstat(fd, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

std::string_view journal_priority_prefix(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "<7>";
        case LogLevel::info: return "<6>";
        case LogLevel::warn: return "<4>";
        case LogLevel::error: return "<3>";
    }
    return "<6>";
}

bool LogThrottle::allow(const std::string& key, uint64_t now_ms, uint64_t& suppressed) {
    auto it = m_keys.find(key);
    if (it == m_keys.end()) {
        if (m_keys.size() >= kMaxKeys) m_keys.clear();
        m_keys[key] = Entry{now_ms, 0};
        suppressed = 0;
        return true;
    }
    if (now_ms < it->second.last_ms + m_interval_ms) {
        ++it->second.suppressed;
        return false;
    }
    suppressed = it->second.suppressed;
    it->second = Entry{now_ms, 0};
    return true;
}

}  // namespace lienthong::node
