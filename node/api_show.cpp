// Local API operations that read stored documents back: show and export (raw or edXML),
// with each signature checked again. See node/API.md.
#include <sodium.h>

#include "node/api_util.h"
#include "node/document_json.h"
#include "node/node_impl.h"
#include "node/edxml_view.h"
#include "protocol/edxml_convert.h"
#include "protocol/edxml_zip.h"

namespace lienthong::node {

// A peer's signing key: pinned (config or admin), or from its directory record.
std::optional<protocol::SignPublicKey> NodeImpl::known_sign_key(const storage::ReadTxn& t, const std::string& agency) {
    if (agency == m_config.agency) return m_identity.pub.sign_key;  // a self-addressed document's receipt
    if (auto it = m_links.find(agency); it != m_links.end()) return it->second.record.identity.sign_key;
    if (auto p = m_store->peer(t, agency)) return p->identity.sign_key;
    if (auto it = m_dir.current.find(agency); it != m_dir.current.end()) return it->second.sign_key;
    return std::nullopt;
}

Result<StoredMessage> NodeImpl::open_stored(const Hash32& id) {
    StoredMessage m;
    std::optional<Bytes> wire;
    std::optional<protocol::SignPublicKey> sender_key_opt;
    m_store->env().read([&](const storage::ReadTxn& t) {
        wire = m_store->document(t, id);
        m.sent = m_store->sent_record(t, id);
        m.inbox = m_store->inbox_record(t, id);
        m.deliveries = m_store->deliveries(t, id);
        if (m.inbox) sender_key_opt = known_sign_key(t, m.inbox->sender);
        return 0;
    });
    if (!wire) return make_error("message " + hex_id(id).substr(0, 16) + " is not stored here");
    auto se = protocol::decode_envelope(*wire, m_limits);
    if (!se.ok()) return make_error("stored message is damaged: " + se.error());
    m.envelope = std::move(se).value();
    protocol::SignPublicKey sender_key{};
    if (m.envelope.env.from == m_config.agency) {
        sender_key = m_identity.pub.sign_key;
    } else if (sender_key_opt) {
        sender_key = *sender_key_opt;
    } else {
        m.key_known = false;
    }
    m.signature_valid = m.key_known && protocol::verify_envelope(m.envelope, sender_key);
    // Signed under an earlier key (rotated since) or by an agency revoked since: any
    // directory record of the sender may hold the key it signed with.
    for (const auto& [rid_, rec] : m_dir.nodes) {
        if (m.signature_valid || rec.agency != m.envelope.env.from) continue;
        m.key_known = true;
        m.signature_valid = protocol::verify_envelope(m.envelope, rec.sign_key);
    }
    std::optional<protocol::ContentKey> key;
    if (m.sent) {
        auto k = protocol::unwrap_local(m.sent->content_key_wrapped, m_local_key);
        for (size_t i = 0; !k.ok() && i < m_previous_local_keys.size(); ++i)  // stored before a key rotation
            k = protocol::unwrap_local(m.sent->content_key_wrapped, m_previous_local_keys[i]);
        if (!k.ok()) return k.take_error();
        key = *k;
    }
    if (m.envelope.env.kind == protocol::Kind::status) {
        auto st = key ? protocol::open_status_with_key(m.envelope, *key)
                      : protocol::open_status(m.envelope, m_identity, &m_shared_keys);
        for (size_t i = 0; !key && !st.ok() && i < m_previous.size(); ++i) st = protocol::open_status(m.envelope, m_previous[i]);
        if (!st.ok()) return make_error("cannot open status report: " + st.error());
        m.status = std::move(st).value();
    } else {
        auto doc = key ? protocol::open_document_with_key(m.envelope, *key, m_limits)
                       : protocol::open_document(m.envelope, m_identity, m_limits, &m_shared_keys);
        for (size_t i = 0; !key && !doc.ok() && i < m_previous.size(); ++i)
            doc = protocol::open_document(m.envelope, m_previous[i], m_limits);
        if (!doc.ok()) return make_error("cannot open document: " + doc.error());
        m.document = std::move(doc).value();
    }
    if (key) sodium_memzero(key->data(), key->size());
    return m;
}

json NodeImpl::api_show(const json& req, bool with_content) {
    auto id_text = string_field(req, "id", true);
    if (!id_text.ok()) return fail(id_text.error());
    auto id = resolve_id(*id_text);
    if (!id.ok()) return fail(id.error());
    auto format = string_field(req, "format", false);
    if (!format.ok()) return fail(format.error());
    if (!format->empty() && *format != "edxml" && *format != "raw")
        return fail("field 'format' must be raw or edxml, not '" + *format + "'");
    // A document this node only carries as a relay: it cannot read it, it says where it goes.
    uint64_t held_bytes = 0;  // the relay's copy; deleted once every recipient has it
    const auto carried = m_store->env().read([&](const storage::ReadTxn& t) {
        const bool own = m_store->sent_record(t, *id) || m_store->inbox_record(t, *id);
        if (own) return std::vector<storage::TransitRecord>{};
        held_bytes = m_store->document_size(t, *id).value_or(0);
        return m_store->transits(t, *id);
    });
    if (!carried.empty()) {
        json transit = json::array();
        for (const auto& tr : carried)
            transit.push_back({{"to", tr.to}, {"from_hop", tr.from_hop}, {"origin", tr.origin},
                               {"received_ms", tr.received_ms}, {"via", tr.via}, {"custody_ms", tr.custody_ms},
                               {"state", tr.delivered ? "delivered" : tr.refused ? "refused" : "pending"}});
        return json{{"ok", true}, {"id", hex_id(*id)}, {"direction", "transit"}, {"envelope_bytes", held_bytes},
                    {"transit", transit}};
    }
    auto m = open_stored(*id);
    if (!m.ok()) return fail(m.error());
    json out{{"ok", true},
             {"id", hex_id(*id)},
             {"kind", m->status ? "status" : "document"},
             {"direction", m->sent ? "sent" : "received"},
             {"sender", m->envelope.env.from},
             {"recipients", m->envelope.env.to},
             {"created_ms", m->envelope.env.created_ms},
             {"envelope_bytes", m->envelope.wire.size()},
             {"signatures",
              {{"sender_key_known", m->key_known},
               {"envelope_valid", m->signature_valid},
               // The signature covers a commitment to the content, checked when opening.
               {"content_valid", m->signature_valid}}}};
    if (m->inbox) out["received_ms"] = m->inbox->received_ms;
    // A sender revoked since: what it signed before the revocation still stands, and says so.
    if (m->envelope.env.from != m_config.agency) {
        uint64_t revoked_at = 0;
        for (const auto& [rid_, rec] : m_dir.nodes) {
            if (rec.agency != m->envelope.env.from) continue;
            for (const auto& r : m_dir.revocations)
                if (r.names(rec.agency, protocol::RevokedKind::node, rec.serial, rec.valid_from_ms) &&
                    (revoked_at == 0 || r.revoked_at_ms < revoked_at))
                    revoked_at = r.revoked_at_ms;
        }
        if (revoked_at) {
            out["sender_revoked_at_ms"] = revoked_at;
            out["signed_before_revocation"] = m->envelope.env.created_ms < revoked_at;
        }
    }
    json dels = json::array();
    for (const auto& d : m->deliveries)
        dels.push_back({{"agency", d.recipient},
                        {"state", storage::delivery_state_name(d.state)},
                        {"queued_ms", d.queued_ms},
                        {"receipt_ms", d.receipt_ms},
                        {"acked_ms", d.acked_ms},
                        {"attempts", d.attempts},
                        {"last_error", d.last_error},
                        // The path: direct, or the relay that took custody (then on to the recipient).
                        {"via", d.via},
                        {"custody_ms", d.custody_ms},
                        {"path", d.via.empty() ? json::array({m_config.agency, d.recipient})
                                               : json::array({m_config.agency, d.via, d.recipient})}});
    out["deliveries"] = dels;
    if (m->status) {
        const auto& r = m->status->report;
        out["content_hash"] = protocol::to_hex(m->status->content_hash);
        out["status"] = {{"document", hex_id(r.document)}, {"code", r.code},
                         {"name", std::string(protocol::status_code_name(r.code))},
                         {"time_ms", r.time_ms}, {"staff", r.staff.staff}, {"department", r.staff.department},
                         {"description", r.description}};
        // An imported status exports as the very file that was imported.
        if (!r.edxml.empty()) out["original_edxml"] = carried_status_json(r.edxml, load_trusted_cas(m_config.edxml.trusted_ca_dir));
        if (*format == "edxml")
            out["edxml"] = binary(edxml_of(*m));
        return out;
    }
    auto& c = m->document->content;
    if (!c.edxml.empty()) {
        auto parsed = protocol::edxml::complete_from_edxml(c);
        if (!parsed.ok()) return fail("document " + hex_id(*id).substr(0, 16) + ": " + parsed.error());
        out["original_edxml"] = carried_document_json(c.edxml, *parsed, load_trusted_cas(m_config.edxml.trusted_ca_dir));
    }
    // Attachments as the document system meant them: a part the national library zipped is
    // given unzipped, unless the request asks for the parts as carried (raw_parts).
    bool raw_parts = false;
    if (req.contains("raw_parts")) {
        if (!req["raw_parts"].is_boolean()) return fail("field 'raw_parts' must be true or false");
        raw_parts = req["raw_parts"].get<bool>();
    }
    json atts = json::array();
    for (const auto& a : c.attachments) {
        json aj{{"name", a.name}, {"mime", a.mime}, {"description", a.description}};
        if (!a.encoded_mime.empty()) aj["encoded_mime"] = a.encoded_mime;
        const bool zipped = protocol::edxml::is_library_zipped(a.mime, a.name, a.data);
        aj["zipped"] = zipped;
        aj["part_bytes"] = a.data.size();
        const Bytes* given = &a.data;
        Bytes unzipped;
        if (zipped && !raw_parts) {
            auto u = protocol::edxml::unzip_part(a.data, m_limits.max_envelope_bytes);
            if (u.ok()) {
                unzipped = std::move(u).value();
                given = &unzipped;
            } else {
                aj["unzip_error"] = u.error();  // the part as carried, and why it is not unzipped
            }
        }
        aj["unzipped"] = given == &unzipped;
        aj["bytes"] = given->size();
        aj["hash"] = hash_hex(*given);
        if (with_content && *format != "edxml") aj["data"] = binary(*given);
        atts.push_back(std::move(aj));
    }
    out["content_hash"] = protocol::to_hex(m->document->content_hash);
    out["meta"] = meta_to_json(c.meta);
    for (const char* k : {"subject", "doc_type", "number", "notation", "signer", "urgency", "confidentiality", "due_ms",
                          "document_id", "business"})
        out[k] = out["meta"][k];
    out["body_bytes"] = c.body.size();
    out["attachments"] = atts;
    if (with_content && *format != "edxml") out["body"] = binary(c.body);
    // An imported document exports as the very file that was imported (the issuer's signature
    // in it still verifies); a native one as the edXML written from its fields.
    if (*format == "edxml")
        out["edxml"] = binary(edxml_of(*m));
    m_store->env().read([&](const storage::ReadTxn& t) {
        json timeline = json::array();
        for (const auto& e : m_catalog->timeline(t, *id, "")) timeline.push_back(event_to_json(e));
        out["timeline"] = timeline;
        json chain = json::array();
        for (const auto& l : m_catalog->lifecycle(t, *id)) {
            chain.push_back({{"action", hex_id(l.action)},
                             {"business", std::string(protocol::business_doc_type_name(
                                              static_cast<protocol::BusinessDocType>(l.type)))},
                             {"recorded_ms", l.recorded_ms},
                             {"reason", l.reason}});
            if (l.type == static_cast<uint8_t>(protocol::BusinessDocType::Revoke)) out["revoked"] = true;
        }
        out["lifecycle"] = chain;
        if (!out.contains("revoked")) out["revoked"] = false;
        return 0;
    });
    return out;
}

}  // namespace lienthong::node
