// The local API's messages are msgpack maps, handled as nlohmann::json. nlohmann's own
// from_msgpack reads binary fields one byte at a time (a 1 MiB body took about 5 ms of the
// node's loop); json_from_msgpack parses with msgpack-cxx, referring to str and bin data in
// place, and builds the json with one copy of each.
#pragma once

#include <nlohmann/json.hpp>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace lienthong::node {

// The json of one msgpack value that fills `bytes` exactly. Map keys must be text, and all
// text valid UTF-8 (bytes travel as binary); extension types, and nesting deeper than 64, are
// refused. A key given twice keeps its last value.
Result<nlohmann::json> json_from_msgpack(protocol::ByteView bytes);

}  // namespace lienthong::node
