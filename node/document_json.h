// The official-document model as JSON for the local API (show, export), and the flat request
// fields of `send` read into it. See node/API.md.
#pragma once

#include <nlohmann/json.hpp>

#include "protocol/document.h"
#include "protocol/status.h"
#include "storage/catalog.h"

namespace lienthong::node {

nlohmann::json meta_to_json(const protocol::DocumentMeta& m);
// Reads subject, doc_type, doc_type_code, number, notation, signer, signer_position,
// signer_competence, document_id, promulgation_place, urgency, confidentiality, due_ms,
// business (new|revoke|update|replace), reason, sphere, page_amount from a request.
Status meta_from_request(const nlohmann::json& req, protocol::DocumentMeta& m);
nlohmann::json event_to_json(const storage::StatusEvent& e);
nlohmann::json summary_to_json(const storage::DocSummary& d);
storage::DocSummary summarize(const protocol::Hash32& id, bool outgoing, const protocol::DocumentContent& c,
                              uint64_t registered_ms);

}  // namespace lienthong::node
