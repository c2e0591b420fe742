// Small helpers for e2e tests that drive lienthong-admin and exchange files with it (records,
// requests, keys), as an operator would.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace lienthong::e2e {

// Runs lienthong-admin and returns its stdout; throws (failing the test) with its stderr when
// it does not exit 0.
inline std::string admin(const std::vector<std::string>& args) {
    std::vector<std::string> argv{admin_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult p = run_process(argv);
    if (p.exit_code != 0) {
        std::string cmd;
        for (const auto& a : args) cmd += " " + a;
        throw std::runtime_error("lienthong-admin" + cmd + " exited " + std::to_string(p.exit_code) + ": " + p.err);
    }
    return p.out;
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace lienthong::e2e
