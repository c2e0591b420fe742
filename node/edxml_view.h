// What show and export say about an edXML file a document or status carries as given
// (DocumentContent::edxml, StatusReport::edxml): its SHA-256 (so a recipient can cmp it with
// the sender's file), the issuer's XML-DSig signature as this node checks it from the bytes it
// holds, every TraceHeader, the whole Bussiness block, and the oddities accepted in it. See
// node/API.md (show).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/edxml.h"
#include "protocol/edxml_dsig.h"

namespace lienthong::node {

// The PEM certificates in `dir` (files ending .pem or .crt, at most 1,000 of 1 MiB each);
// empty for an empty `dir`. Unreadable files are skipped: a signature they would have anchored
// shows as "unverified", which says what to fix.
std::vector<std::string> load_trusted_cas(const std::string& dir);

nlohmann::json signature_json(const protocol::edxml::SignatureCheck& check);
nlohmann::json business_json(const protocol::Business& b);
// The "edxml" object of show for a carried document file (`parsed` from it) or status file.
nlohmann::json carried_document_json(protocol::ByteView xml, const protocol::edxml::Document& parsed,
                                     const std::vector<std::string>& trusted_cas);
nlohmann::json carried_status_json(protocol::ByteView xml, const std::vector<std::string>& trusted_cas);

}  // namespace lienthong::node
