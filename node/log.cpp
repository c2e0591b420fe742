#include "node/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

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

void append_value(std::string& line, std::string_view v) {
    const bool quote = v.empty() || v.find_first_of(" \t\"=") != std::string_view::npos;
    if (!quote) {
        line.append(v);
        return;
    }
    line.push_back('"');
    for (char c : v) {
        if (c == '"' || c == '\\') line.push_back('\\');
        if (c == '\n') {
            line.append("\\n");
            continue;
        }
        line.push_back(c);
    }
    line.push_back('"');
}
}  // namespace

std::unique_ptr<Clock> make_system_clock() { return std::make_unique<SystemClock>(); }

bool parse_log_level(std::string_view text, LogLevel& out) {
    if (text == "debug") out = LogLevel::debug;
    else if (text == "info") out = LogLevel::info;
    else if (text == "warn") out = LogLevel::warn;
    else if (text == "error") out = LogLevel::error;
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

void Logger::log(LogLevel level, std::string_view event, Fields fields) const {
    if (!enabled(level)) return;
    static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    std::string line;
    line.reserve(160);
    line.append(ts).append(" ").append(kNames[static_cast<int>(level)]).append(" agency=");
    line.append(m_agency).append(" event=").append(event);
    for (const auto& [k, v] : fields) {
        line.push_back(' ');
        line.append(k).push_back('=');
        append_value(line, v);
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
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
