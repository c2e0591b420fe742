// Files of the offline root-of-trust commands: authority keys (secret, mode 0600, never
// overwritten) and armored records (written to a file or to stdout).
#pragma once

#include <string>
#include <vector>

#include "protocol/trust.h"

namespace lienthong::admin {

constexpr uint64_t kDayMs = 86400000ull;

uint64_t now_ms();  // wall clock, unix time in ms
// Creates `path`; `secret`: mode 0600 and never over an existing file. fsync'd.
Status write_file(const std::string& path, const std::string& text, bool secret);
// An armored record to `out`, or to stdout when `out` is "-".
Status write_record(const std::string& out, const std::string& armored);
// A root or issuer secret key file; refused when others can read it.
Result<protocol::AuthoritySecret> load_authority_key(const std::string& path);
// Every block of `path`, which must all be issuer records.
Result<std::vector<protocol::IssuerRecord>> load_issuer_records(const std::string& path);

}  // namespace lienthong::admin
