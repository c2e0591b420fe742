#include "node/document_json.h"

#include "node/edxml_view.h"

namespace lienthong::node {

using nlohmann::json;

namespace {
json org_json(const protocol::Organization& o) {
    return json{{"organ_id", o.organ_id}, {"organization_in_charge", o.organization_in_charge},
                {"organ_name", o.organ_name}, {"organ_add", o.organ_add}, {"email", o.email},
                {"telephone", o.telephone}, {"fax", o.fax}, {"website", o.website}};
}

Result<std::string> text(const json& req, const char* key) {
    if (!req.contains(key)) return std::string();
    if (!req.at(key).is_string()) return make_error(std::string("field '") + key + "' must be text");
    return req.at(key).get<std::string>();
}

Result<uint64_t> whole(const json& req, const char* key, uint64_t max) {
    if (!req.contains(key)) return uint64_t{0};
    const auto& v = req.at(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        return make_error(std::string("field '") + key + "' must be a whole number >= 0");
    if (v.get<uint64_t>() > max)
        return make_error(std::string("field '") + key + "' must be at most " + std::to_string(max));
    return v.get<uint64_t>();
}
}  // namespace

json meta_to_json(const protocol::DocumentMeta& m) {
    json to = json::array();
    for (const auto& o : m.to) to.push_back(org_json(o));
    json rf = json::array();
    for (const auto& f : m.response_for)
        rf.push_back({{"organ_id", f.organ_id}, {"code", f.code}, {"promulgation_date", f.promulgation_date},
                      {"document_id", f.document_id}});
    const auto& b = m.business;
    return json{{"document_id", m.document_id},
                {"subject", m.subject},
                {"doc_type", m.type.type_name},
                {"doc_type_code", m.type.type},
                {"doc_type_detail", m.type.type_detail},
                {"number", m.code.code_number},
                {"notation", m.code.code_notation},
                {"signer", m.signer.full_name},
                {"signer_position", m.signer.position},
                {"signer_competence", m.signer.competence},
                {"urgency", m.urgency},
                {"confidentiality", m.confidentiality},
                {"due_ms", m.due_ms},
                {"promulgation_place", m.promulgation.place},
                {"promulgation_date", m.promulgation.date},
                {"from", org_json(m.from)},
                {"to", to},
                {"sphere", m.other.sphere_of_promulgation},
                {"typer_notation", m.other.typer_notation},
                {"promulgation_amount", m.other.promulgation_amount},
                {"page_amount", m.other.page_amount},
                {"appendixes", m.other.appendixes},
                {"steering_type", m.steering_type},
                {"to_places", m.to_places},
                {"response_for", rf},
                {"business", std::string(protocol::business_doc_type_name(b.business_doc_type))},
                {"business_reason", b.reason},
                {"bussiness", business_json(b)},
                {"acts_on", protocol::to_hex(m.acts_on)},
                {"reply_to", protocol::to_hex(m.reply_to)}};
}

Status meta_from_request(const json& req, protocol::DocumentMeta& m) {
    const std::pair<const char*, std::string*> texts[] = {
        {"subject", &m.subject},
        {"doc_type", &m.type.type_name},
        {"doc_type_code", &m.type.type},
        {"number", &m.code.code_number},
        {"notation", &m.code.code_notation},
        {"signer", &m.signer.full_name},
        {"signer_position", &m.signer.position},
        {"signer_competence", &m.signer.competence},
        {"document_id", &m.document_id},
        {"promulgation_place", &m.promulgation.place},
        {"sphere", &m.other.sphere_of_promulgation},
        {"page_amount", &m.other.page_amount},
        {"reason", &m.business.reason},
    };
    for (const auto& [key, field] : texts) {
        LT_ASSIGN(*field, text(req, key));
    }
    LT_ASSIGN(m.urgency, whole(req, "urgency", 3));
    LT_ASSIGN(m.confidentiality, whole(req, "confidentiality", 3));
    LT_ASSIGN(m.due_ms, whole(req, "due_ms", UINT64_MAX));
    LT_ASSIGN(auto business, text(req, "business"));
    using protocol::BusinessDocType;
    if (business.empty() || business == "new")
        m.business.business_doc_type = BusinessDocType::New;
    else if (business == "revoke")
        m.business.business_doc_type = BusinessDocType::Revoke;
    else if (business == "update")
        m.business.business_doc_type = BusinessDocType::Update;
    else if (business == "replace")
        m.business.business_doc_type = BusinessDocType::Replace;
    else
        return make_error("field 'business' must be new, revoke, update or replace, not '" + business + "'");
    return ok_status();
}

json event_to_json(const storage::StatusEvent& e) {
    return json{{"recipient", e.recipient},
                {"reporter", e.reporter},
                {"code", e.code},
                {"name", std::string(protocol::status_code_name(e.code))},
                {"time_ms", e.time_ms},
                {"recorded_ms", e.recorded_ms},
                {"staff", e.staff.staff},
                {"department", e.staff.department},
                {"description", e.description},
                {"message", e.message_id ? protocol::to_hex(*e.message_id) : ""}};
}

json summary_to_json(const storage::DocSummary& d) {
    return json{{"id", protocol::to_hex(d.id)},
                {"direction", d.outgoing ? "sent" : "received"},
                {"sender", d.sender},
                {"recipients", d.recipients},
                {"created_ms", d.created_ms},
                {"registered_ms", d.registered_ms},
                {"document_id", d.document_id},
                {"subject", d.subject},
                {"doc_type", d.type_name},
                {"number", d.code_number},
                {"notation", d.code_notation},
                {"urgency", d.urgency},
                {"due_ms", d.due_ms},
                {"business", std::string(protocol::business_doc_type_name(
                                 static_cast<protocol::BusinessDocType>(d.business_type)))}};
}

storage::DocSummary summarize(const protocol::Hash32& id, bool outgoing, const protocol::DocumentContent& c,
                              uint64_t registered_ms) {
    storage::DocSummary d;
    d.id = id;
    d.outgoing = outgoing;
    d.sender = c.sender;
    d.recipients = c.recipients;
    d.created_ms = c.created_ms;
    d.registered_ms = registered_ms;
    const auto& m = c.meta;
    d.document_id = m.document_id;
    d.subject = m.subject;
    d.type_code = m.type.type;
    d.type_name = m.type.type_name;
    d.code_number = m.code.code_number;
    d.code_notation = m.code.code_notation;
    d.urgency = m.urgency;
    d.confidentiality = m.confidentiality;
    d.due_ms = m.due_ms;
    d.business_type = static_cast<uint8_t>(m.business.business_doc_type);
    if (m.acts_on.size() == 32) {
        protocol::Hash32 h{};
        std::copy(m.acts_on.begin(), m.acts_on.end(), h.begin());
        d.acts_on = h;
    }
    return d;
}

}  // namespace lienthong::node
