// The node's secret key file: one line, mode 0600, refused if anyone else can read it.
//   lienthong-secret v1 <agency> sign:<base64url 64 bytes> box:<base64url 32 bytes>
// Lines starting with '#' are comments. Public keys are derived from the secret ones.
#pragma once

#include <string>

#include "protocol/identity.h"

namespace lienthong::node {

Result<protocol::SecretIdentity> load_key_file(const std::string& path);
// Fails if the file exists (never overwrite a key); creates it with mode 0600.
Status write_key_file(const std::string& path, const protocol::SecretIdentity& id);

}  // namespace lienthong::node
