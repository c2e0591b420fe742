// The request signing of the national hub's API as its Java SDK does it (../shared/vdxp/SPEC.md
// §2), seen from the server: what a request's XroadVnpt- headers say and whether they are
// signed by a system's secret.
//
// The SDK signs the JSON text it sends in `XroadVnpt-sign-header` (compact JSON, its keys in
// the client's HashMap order) with HMAC-SHA256 keyed by the UTF-8 bytes of the secret, hex in
// `XroadVnpt-hash-header`. The server HMACs the received bytes, never a rebuilt JSON, and takes
// the parameters from that signed JSON. There is no freshness: the SDK's timestamp never
// changes, so none is checked (SPEC §2.2).
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace lienthong::node::vdxp {

// The signed parameters: keys without the "XroadVnpt-" prefix, in their case (the SDK's map
// may hold both docId and docid: one of them left over from an earlier call), values as given.
using Params = std::map<std::string, std::string>;

// The value of the first of `keys` present (exact case), else of a key equal to the first
// ignoring case; "" when none.
std::string param(const Params& p, std::initializer_list<std::string_view> keys);

constexpr size_t kMaxSignHeaderBytes = 16 * 1024;
constexpr size_t kMaxParams = 64;

// Parses the bytes of XroadVnpt-sign-header: a JSON object of text (or number) values, every
// byte printable ASCII (SPEC §2.3: the SDK cuts other characters to one byte, so such a
// request could never be verified). Errors are one ASCII line naming the problem.
Result<Params> parse_sign_header(std::string_view sign_header);

// hex(HMAC-SHA256(key = secret bytes, msg)), 64 lower-case digits.
std::string hmac_hex(std::string_view secret, std::string_view message);

// Whether `hash_header` (hex, either case) is the HMAC of `message` under `secret`; compared in
// constant time.
bool hmac_matches(std::string_view secret, std::string_view message, std::string_view hash_header);

// SHA-256 of `data` as the SDK writes hash-file: each byte as Integer.toHexString(b & 0xff),
// so without zero padding (0x0a is "a") and possibly shorter than 64 digits.
std::string java_hex_sha256(protocol::ByteView data);

// The uploaded file from a sendEdoc body (the file's bytes followed by CRLF, SPEC §5.1):
// `body` with one trailing CRLF removed when `hash_file` says the file ends before it; as
// given when the hash matches the whole body. Error when neither matches.
Result<protocol::ByteView> file_from_body(protocol::ByteView body, std::string_view hash_file);

}  // namespace lienthong::node::vdxp
