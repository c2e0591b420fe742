// The node's secret key file: mode 0600, refused if anyone else can read it. The first key
// line is the current key; after a rotation, earlier keys follow, newest first, marked
// "previous" — kept to open and verify what was sent under them:
//   lienthong-secret v1 <agency> sign:<base64url 64 bytes> box:<base64url 32 bytes> [previous]
// Lines starting with '#' are comments. Public keys are derived from the secret ones.
#pragma once

#include <string>
#include <vector>

#include "protocol/identity.h"

namespace lienthong::node {

Result<protocol::SecretIdentity> load_key_file(const std::string& path);  // the current key
// The current key first, then earlier keys, newest first.
Result<std::vector<protocol::SecretIdentity>> load_key_ring(const std::string& path);
// Makes `fresh` the current key and keeps every key held so far as previous; replaces the
// file atomically (mode 0600).
Status rotate_key_file(const std::string& path, const protocol::SecretIdentity& fresh);
// Fails if the file exists (never overwrite a key); creates it with mode 0600.
Status write_key_file(const std::string& path, const protocol::SecretIdentity& id);

}  // namespace lienthong::node
