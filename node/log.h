// One line per event: "<UTC time> <LEVEL> agency=<us> event=<name> key=value ...".
// Values containing spaces are quoted. Errors say what to do next.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace lienthong::node {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

bool parse_log_level(std::string_view text, LogLevel& out);

class Logger {
public:
    using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

    Logger(std::string agency, LogLevel level) : m_agency(std::move(agency)), m_level(level) {}
    void log(LogLevel level, std::string_view event, Fields fields) const;
    void debug(std::string_view event, Fields f) const { log(LogLevel::debug, event, f); }
    void info(std::string_view event, Fields f) const { log(LogLevel::info, event, f); }
    void warn(std::string_view event, Fields f) const { log(LogLevel::warn, event, f); }
    void error(std::string_view event, Fields f) const { log(LogLevel::error, event, f); }
    bool enabled(LogLevel level) const { return level >= m_level; }

private:
    std::string m_agency;
    LogLevel m_level;
};

}  // namespace lienthong::node
