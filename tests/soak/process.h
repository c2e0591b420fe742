// Runs a command to completion with a deadline and captures what it printed. The soak driver
// calls testbed.sh and lienthong-admin through this from two threads at once, so every pipe is
// close-on-exec: a node that testbed.sh starts in the background never holds another
// command's pipe open. Thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace lienthong::soak {

struct CommandResult {
    int exit_code = -1;  // the command's exit status; -1 when killed at its deadline or by a signal
    bool timed_out = false;  // killed (SIGKILL) because it outlived its deadline
    std::string out;         // its stdout
    std::string err;         // its stderr
    bool ok() const { return exit_code == 0; }
    // "exit 3: <first line of stderr>" or "timed out after N ms", for messages.
    std::string describe() const;
};

// REQUIRES: argv is not empty; argv[0] is a path or a name found on PATH.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds deadline);

// Prints one line to stdout, whole, prefixed with the seconds since the first call.
void print_line(const std::string& line);

}  // namespace lienthong::soak
