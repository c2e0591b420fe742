// Local API operations that submit official documents: send, send_batch and import (edXML),
// and processing status reports. Reading them back (show, export) is in api_show.cpp. See
// node/API.md.
#include <sodium.h>

#include "node/api_util.h"
#include "node/document_json.h"
#include "node/edxml_view.h"
#include "node/node_impl.h"
#include "protocol/edxml_convert.h"

namespace lienthong::node {

namespace {
Hash32 to_hash(ByteView b) {
    Hash32 h{};
    std::copy(b.begin(), b.end(), h.begin());
    return h;
}

}  // namespace

// --- submission ------------------------------------------------------------------------------

Status NodeImpl::check_policy(const protocol::DocumentContent& c) {
    if (c.meta.confidentiality == 0) return ok_status();
    static const char* kLevels[] = {"thường", "mật", "tối mật", "tuyệt mật"};
    for (const auto& r : c.recipients)
        if (!m_config.confidential_to.count(r))
            return make_error("document is marked " + std::string(kLevels[std::min<uint64_t>(c.meta.confidentiality, 3)]) +
                              " (confidentiality " + std::to_string(c.meta.confidentiality) +
                              ") and policy keeps such documents off the network: recipient '" + r +
                              "' is not listed in the config key 'confidential_to'");
    return ok_status();
}

// Resolves which of our documents a revoke/update/replace acts on, from its DocumentId: the
// Bussiness DocumentId when it names one of our documents, else the MessageHeader DocumentId
// (real updates carry the original's id in the header and an unrelated one in Bussiness).
Status NodeImpl::resolve_acts_on(protocol::DocumentContent& c) {
    auto& m = c.meta;
    if (m.business.business_doc_type == protocol::BusinessDocType::New || m.acts_on.size() == 32) return ok_status();
    const std::string action(protocol::business_doc_type_name(m.business.business_doc_type));
    std::vector<std::string> keys;
    for (const auto* k : {&m.business.document_id, &m.document_id})
        if (!k->empty() && std::find(keys.begin(), keys.end(), *k) == keys.end()) keys.push_back(*k);
    if (keys.empty())
        return make_error("a " + action +
                          " must name the document it acts on: give its DocumentId (or acts_on with its message id)");
    for (const auto& key : keys) {
        const auto found = m_store->env().read(
            [&](const storage::ReadTxn& t) { return m_catalog->by_business_key(t, c.sender, key); });
        std::vector<Hash32> originals;
        for (const auto& [id, type] : found)
            if (type == 0) originals.push_back(id);
        if (originals.empty()) continue;
        if (originals.size() > 1)
            return make_error("DocumentId '" + key + "' names " + std::to_string(originals.size()) +
                              " documents sent here; give acts_on with the message id");
        m.acts_on.assign(originals[0].begin(), originals[0].end());
        return ok_status();
    }
    std::string named;
    for (const auto& k : keys) named += (named.empty() ? "'" : " or '") + k + "'";
    return make_error("no document with DocumentId " + named + " was sent by " + c.sender + "; a " + action +
                      " can only act on a document this node sent");
}

Result<PreparedSend> NodeImpl::prepare_document(protocol::DocumentContent c) {
    LT_TRY(check_policy(c));
    LT_TRY(resolve_acts_on(c));
    if (c.meta.acts_on.size() == 32) {
        const auto target = to_hash(c.meta.acts_on);
        const auto sum = m_store->env().read([&](const storage::ReadTxn& t) { return m_catalog->summary(t, target); });
        if (!sum || !sum->outgoing || sum->sender != c.sender)
            return make_error("acts_on names " + hex_id(target).substr(0, 16) + ", which is not a document this node sent");
    }
    if (c.meta.document_id.empty())
        c.meta.document_id = c.sender + "," + protocol::edxml::ms_to_date(c.created_ms) + "," +
                             (c.meta.code.code_number.empty()
                                  ? std::to_string(c.created_ms)
                                  : c.meta.code.code_number +
                                        (c.meta.code.code_notation.empty() ? "" : "/" + c.meta.code.code_notation));
    std::vector<protocol::PublicIdentity> keys;
    for (const auto& r : c.recipients) {
        if (r == m_config.agency) {  // a loop-back test: delivered to our own inbox (self_delivery.cpp)
            keys.push_back(m_identity.pub);
            continue;
        }
        auto it = ensure_link(r);
        if (it == m_links.end()) {
            if (const auto why = dir_why_unusable(r); !why.empty()) return make_error("recipient '" + r + "' refused: " + why);
            return make_error("unknown recipient '" + r +
                              "': this node has no peer with that agency code (add it with 'lienthong-admin peer add')");
        }
        keys.push_back(it->second.record.identity);
    }
    auto sealed = protocol::seal_document(c, m_identity, keys, &m_shared_keys);
    if (!sealed.ok()) return sealed.take_error();
    // Only the wire travels on from here: a large document is not kept three times over.
    Bytes().swap(sealed->envelope.env.payload);
    Bytes().swap(c.body);
    for (auto& a : c.attachments) Bytes().swap(a.data);
    Bytes().swap(c.edxml);
    if (sealed->envelope.wire.size() > m_config.limits.max_envelope_bytes)
        return make_error("document is " + std::to_string(sealed->envelope.wire.size()) +
                          " bytes, over limits.max_envelope_bytes (" +
                          std::to_string(m_config.limits.max_envelope_bytes) + ")");
    PreparedSend p;
    p.rec = std::make_shared<storage::SentRecord>();
    auto& rec = *p.rec;
    rec.id = sealed->envelope.id;
    rec.created_ms = c.created_ms;
    rec.content_hash = sealed->content_hash;
    rec.subject = c.meta.subject;
    rec.recipients = c.recipients;
    rec.size = sealed->envelope.wire.size();
    rec.urgency = c.meta.urgency;
    rec.content_key_wrapped = protocol::wrap_local(sealed->content_key, m_local_key);
    sodium_memzero(sealed->content_key.data(), sealed->content_key.size());
    p.summary = std::make_shared<storage::DocSummary>(summarize(rec.id, true, c, c.created_ms));
    p.reason = c.meta.business.reason;
    // What the catalog refuses, refused now: a failure in the group commit fails this alone,
    // but a client should hear why before anything is queued.
    LT_TRY(storage::Catalog::check_document(*p.summary));
    if (p.summary->acts_on)
        LT_TRY(storage::Catalog::check_lifecycle({*p.summary->acts_on, rec.id, p.summary->business_type, 0, p.reason}));
    p.wire = std::move(sealed->envelope.wire);
    return p;
}

QueuedSend NodeImpl::to_queued(PreparedSend p, ExtraWrite extra) {
    return QueuedSend{p.rec, std::move(p.wire),
                      [this, summary = p.summary, reason = p.reason, extra](storage::WriteTxn& t, const Hash32&) -> Status {
                          LT_TRY(m_catalog->put_document(t, *summary));
                          auto e = audit_event(document_event_kind(summary->business_type, "sent"));
                          e.msg = summary->id;
                          e.about = summary->acts_on;
                          audit_recipients(e, summary->recipients);
                          LT_TRY(audit(t, e));
                          if (summary->acts_on)
                              LT_TRY(m_catalog->add_lifecycle(t, {*summary->acts_on, summary->id, summary->business_type,
                                                                  summary->registered_ms, reason}));
                          if (extra) LT_TRY(extra(t, summary->id));
                          return ok_status();
                      }};
}

void NodeImpl::queue_prepared(PreparedSend p, Reply reply, ExtraWrite extra) {
    std::vector<QueuedSend> items;
    items.push_back(to_queued(std::move(p), std::move(extra)));
    queue_sends(std::move(items), [reply = std::move(reply)](const std::string& error, const json& ids) {
        if (!error.empty()) return reply(fail(error));
        reply(json{{"ok", true}, {"id", ids.at(0)}});
    });
}

void NodeImpl::submit_document(protocol::DocumentContent c, Reply reply, ExtraWrite extra) {
    auto p = prepare_document(std::move(c));
    if (!p.ok()) return reply(fail(p.error() + "; nothing was queued"));
    queue_prepared(std::move(p).value(), std::move(reply), std::move(extra));
}

void NodeImpl::queue_sends(std::vector<QueuedSend> items, SendsDone done) {
    auto stored = std::make_shared<std::vector<std::shared_ptr<storage::SentRecord>>>();
    for (const auto& item : items) {
        m_batch.documents += 1;
        m_batch.bytes += item.rec->size;
        stored->push_back(item.rec);
    }
    m_batch.add(
        [this, items = std::move(items)](storage::WriteTxn& t) -> Status {
            for (const auto& item : items) {
                LT_TRY(m_store->add_sent(t, *item.rec, item.wire, item.rec->created_ms));
                LT_TRY(item.index(t, item.rec->id));
            }
            return ok_status();
        },
        [this, stored, done = std::move(done)](bool ok, const std::string& error) {
            if (!ok) return done("could not store the message: " + error + "; nothing was queued", json::array());
            json ids = json::array();
            for (const auto& r : *stored) {
                const auto& rec = *r;
                ++m_counters.sent;
                std::string to;
                for (const auto& r : rec.recipients) {
                    to += (to.empty() ? "" : ",") + r;
                    wake_outbox(r, rec.urgency);
                }
                m_log.info("queued", {{"msg", hex_id(rec.id)}, {"to", to}, {"bytes", std::to_string(rec.size)}});
                ids.push_back(hex_id(rec.id));
            }
            done("", ids);
        });
}

// Where (document, recipient) stands, from the catalog: the state check_status judges.
protocol::ProcessingState NodeImpl::processing_state(const storage::ReadTxn& t, const Hash32& doc,
                                                     const std::string& recipient) {
    std::vector<uint64_t> changes;
    for (const auto& l : m_catalog->lifecycle(t, doc)) changes.push_back(l.recorded_ms);
    return storage::Catalog::replay(m_catalog->timeline(t, doc, recipient), changes);
}

void NodeImpl::submit_status(StatusRequest sr, Reply reply, ExtraWrite extra) {
    const auto bad = [&](const std::string& e) { reply(fail(e + "; nothing was sent")); };
    const auto sum = m_store->env().read([&](const storage::ReadTxn& t) { return m_catalog->summary(t, sr.document); });
    if (!sum) return bad("no document " + hex_id(sr.document).substr(0, 16) + " is registered here");
    const bool by_sender = sum->outgoing;
    std::vector<std::string> informed;
    if (by_sender) {
        informed = sr.informed.empty() ? sum->recipients : sr.informed;
        for (const auto& a : informed)
            if (std::find(sum->recipients.begin(), sum->recipients.end(), a) == sum->recipients.end())
                return bad("'" + a + "' is not a recipient of document " + hex_id(sr.document).substr(0, 16));
    } else {
        informed = {sum->sender};
    }
    // Check every report first: all are sent, or none.
    for (const auto& a : informed) {
        const std::string whose = by_sender ? a : m_config.agency;
        const auto state = m_store->env().read([&](const storage::ReadTxn& t) { return processing_state(t, sr.document, whose); });
        if (auto st = protocol::check_status(state, sr.code, by_sender); !st.ok())
            return bad(st.error() + (by_sender ? " (at " + a + ")" : ""));
        if (ensure_link(a) == m_links.end()) {
            if (const auto why = dir_why_unusable(a); !why.empty()) return bad("'" + a + "' refused: " + why);
            return bad("'" + a + "' is not a peer of this node (add it with 'lienthong-admin peer add')");
        }
    }
    std::vector<QueuedSend> items;
    for (size_t k = 0; k < informed.size(); ++k) {
        const auto& a = informed[k];
        protocol::StatusReport r;
        r.reporter = m_config.agency;
        r.informed = a;
        r.created_ms = m_clock->now_ms();
        r.document = sr.document;
        r.code = sr.code;
        r.staff = sr.staff;
        r.description = sr.description;
        r.time_ms = sr.time_ms ? sr.time_ms : r.created_ms;
        r.from = sr.from;
        if (r.from.organ_id.empty()) r.from.organ_id = m_config.agency;
        if (r.from.organ_name.empty()) r.from.organ_name = m_config.name;
        r.response_for = sr.response_for;
        if (r.response_for.document_id.empty()) {
            r.response_for.organ_id = sum->sender;
            r.response_for.document_id = sum->document_id;
            r.response_for.code = sum->code_number + (sum->code_notation.empty() ? "" : "/" + sum->code_notation);
        }
        r.edxml = sr.edxml;  // an imported status: the file itself, exported as given
        auto sealed = protocol::seal_status(r, m_identity, m_links.at(a).record.identity, &m_shared_keys);
        if (!sealed.ok()) return bad(sealed.error());
        auto rec = std::make_shared<storage::SentRecord>();
        rec->id = sealed->envelope.id;
        rec->created_ms = r.created_ms;
        rec->content_hash = sealed->content_hash;
        rec->subject = "status " + r.code + " (" + std::string(protocol::status_code_name(r.code)) + "): " + sum->subject;
        rec->recipients = {a};
        rec->size = sealed->envelope.wire.size();
        rec->urgency = sum->urgency;
        rec->content_key_wrapped = protocol::wrap_local(sealed->content_key, m_local_key);
        sodium_memzero(sealed->content_key.data(), sealed->content_key.size());
        storage::StatusEvent e;
        e.document = sr.document;
        e.recipient = by_sender ? a : m_config.agency;
        e.reporter = m_config.agency;
        e.code = r.code;
        e.time_ms = r.time_ms;
        e.recorded_ms = r.created_ms;
        e.staff = r.staff;
        e.description = r.description;
        e.message_id = rec->id;
        if (auto st = storage::Catalog::check_status(e); !st.ok()) return bad(st.error());
        const bool last = k + 1 == informed.size();
        items.push_back(QueuedSend{rec, std::move(sealed->envelope.wire),
                                   [this, e, extra, last, to = rec->recipients](storage::WriteTxn& t, const Hash32& id) -> Status {
                                       LT_ASSIGN(auto seq, m_store->next_seq(t));
                                       if (auto added = m_catalog->add_status(t, e, seq); !added.ok())
                                           return added.take_error();
                                       auto a = audit_event("status_sent");
                                       a.msg = id;
                                       a.about = e.document;
                                       audit_recipients(a, to);
                                       a.detail += (a.detail.empty() ? "" : " ") + std::string("code=") + e.code;
                                       LT_TRY(audit(t, a));
                                       if (last && extra) LT_TRY(extra(t, id));
                                       return ok_status();
                                   }});
    }
    queue_sends(std::move(items), [reply](const std::string& error, const json& ids) {
        if (!error.empty()) return reply(fail(error));
        reply(json{{"ok", true}, {"id", ids.at(0)}, {"ids", ids}});
    });
}

// --- requests --------------------------------------------------------------------------------

Result<protocol::DocumentContent> NodeImpl::content_from_request(json& req) {
    if (!req.is_object()) return make_error("a document must be a map with the fields of 'send'");
    protocol::DocumentContent c;
    c.sender = m_config.agency;
    c.created_ms = m_clock->now_ms();
    if (!req.contains("to") || !req["to"].is_array() || req["to"].empty())
        return make_error("field 'to' must be a non-empty list of agency codes");
    for (const auto& t : req["to"]) {
        if (!t.is_string()) return make_error("field 'to' must hold agency codes as text");
        c.recipients.push_back(t.get<std::string>());
    }
    LT_TRY(meta_from_request(req, c.meta));
    if (req.contains("acts_on")) {
        LT_ASSIGN(auto text, string_field(req, "acts_on", true));
        auto target = resolve_id(text);
        if (!target.ok()) return make_error("acts_on: " + target.error());
        c.meta.acts_on.assign(target->begin(), target->end());
    }
    LT_ASSIGN(c.body, take_bytes_field(req, "body"));
    if (req.contains("attachments")) {
        if (!req["attachments"].is_array()) return make_error("field 'attachments' must be a list");
        for (auto& a : req["attachments"]) {
            if (!a.is_object()) return make_error("each attachment must be a map with name, mime, data");
            auto name = string_field(a, "name", true);
            auto mime = string_field(a, "mime", false);
            auto data = take_bytes_field(a, "data");
            if (!name.ok()) return make_error("attachment " + name.error());
            if (!mime.ok()) return make_error("attachment " + mime.error());
            if (!data.ok()) return make_error("attachment " + data.error());
            c.attachments.push_back(
                {*name, mime->empty() ? "application/octet-stream" : *mime, std::move(data).value(), {}});
        }
    }
    return c;
}

void NodeImpl::api_send(const Bytes& rid, json& req) {
    auto c = content_from_request(req);
    if (!c.ok()) return api_reply(rid, fail(c.error() + "; nothing was queued"));
    submit_document(std::move(c).value(), [this, rid](const json& j) { api_reply(rid, j); });
}

// Many documents in one request: each is checked and sealed first, then all are queued in
// the same group commit, so all are queued or none (a DMS catching up pays one round trip).
void NodeImpl::api_send_batch(const Bytes& rid, json& req) {
    const auto bad = [&](const std::string& e) { api_reply(rid, fail(e + "; nothing was queued")); };
    if (!req.contains("documents") || !req["documents"].is_array() || req["documents"].empty())
        return bad("field 'documents' must be a non-empty list of documents, each with the fields of 'send'");
    auto& docs = req["documents"];
    if (docs.size() > m_config.limits.batch_documents)
        return bad("send_batch takes at most " + std::to_string(m_config.limits.batch_documents) +
                   " documents (limits.batch_documents), got " + std::to_string(docs.size()));
    std::vector<PreparedSend> prepared;
    prepared.reserve(docs.size());
    for (size_t i = 0; i < docs.size(); ++i) {
        auto c = content_from_request(docs[i]);
        if (!c.ok()) return bad("documents[" + std::to_string(i) + "]: " + c.error());
        auto p = prepare_document(std::move(c).value());
        if (!p.ok()) return bad("documents[" + std::to_string(i) + "]: " + p.error());
        prepared.push_back(std::move(p).value());
    }
    std::vector<QueuedSend> items;
    for (auto& p : prepared) items.push_back(to_queued(std::move(p)));
    queue_sends(std::move(items), [this, rid](const std::string& error, const json& ids) {
        if (!error.empty()) return api_reply(rid, fail(error));
        api_reply(rid, json{{"ok", true}, {"ids", ids}});
    });
}

void NodeImpl::import_edxml(ByteView xml, const std::vector<std::string>& only_to, Reply reply, ExtraWrite extra,
                            ImportKind kind) {
    auto msg = protocol::edxml::parse(xml);
    if (!msg.ok()) return reply(fail(msg.error() + "; nothing was sent"));
    const bool is_status = std::holds_alternative<protocol::edxml::Status>(*msg);
    if (kind == ImportKind::document && is_status)
        return reply(fail("the file is an edXML Status message, not a document: send it as messagetype status; "
                          "nothing was sent"));
    if (kind == ImportKind::status && !is_status)
        return reply(fail("the file is an edXML document, not a Status message: send it as messagetype edoc; "
                          "nothing was sent"));
    // Policy: by default a bad issuer's signature is carried and flagged, the recipient decides.
    if (m_config.edxml.refuse_invalid_signature) {
        const auto check = protocol::edxml::verify_signature(xml, load_trusted_cas(m_config.edxml.trusted_ca_dir));
        if (check.state == protocol::edxml::SignatureState::Invalid)
            return reply(fail("the issuer's XML-DSig signature is invalid: " + check.reason +
                              "; edxml.refuse_invalid_signature is set, so nothing was sent"));
    }
    if (auto* doc = std::get_if<protocol::edxml::Document>(&*msg)) {
        if (doc->from.organ_id != m_config.agency)
            return reply(fail("From/OrganId is '" + doc->from.organ_id + "', not this node's agency '" +
                              m_config.agency + "'; nothing was sent"));
        std::vector<std::string> recipients;
        for (const auto& o : doc->to)
            if (only_to.empty() || std::find(only_to.begin(), only_to.end(), o.organ_id) != only_to.end())
                recipients.push_back(o.organ_id);
        for (const auto& a : only_to)
            if (std::find(recipients.begin(), recipients.end(), a) == recipients.end())
                return reply(fail("'" + a + "' is not among the document's To agencies; nothing was sent"));
        // The file itself travels: the recipient exports these exact bytes, issuer's signature included.
        auto c = protocol::edxml::to_content(*doc, m_config.agency, recipients, m_clock->now_ms(),
                                             Bytes(xml.begin(), xml.end()));
        if (!c.ok()) return reply(fail(c.error() + "; nothing was sent"));
        return submit_document(std::move(c).value(), std::move(reply), std::move(extra));
    }
    const auto& st = std::get<protocol::edxml::Status>(*msg);
    if (st.from.organ_id != m_config.agency)
        return reply(fail("From/OrganId is '" + st.from.organ_id + "', not this node's agency '" + m_config.agency +
                          "'; nothing was sent"));
    auto r = protocol::edxml::to_report(st);
    if (!r.ok()) return reply(fail(r.error() + "; nothing was sent"));
    const auto& rf = st.response_for;
    // ResponseFor/OrganId names the other party: the sender of a document we received (a
    // recipient's 01-16), or the recipient of one we sent (the sender's 13, as in the samples).
    const auto found = m_store->env().read([&](const storage::ReadTxn& t) {
        auto theirs = m_catalog->by_business_key(t, rf.organ_id, rf.document_id);
        return theirs.empty() ? m_catalog->by_business_key(t, m_config.agency, rf.document_id) : theirs;
    });
    if (found.empty())
        return reply(fail("ResponseFor names DocumentId '" + rf.document_id + "', which no document from '" +
                          rf.organ_id + "' or from this node has; nothing was sent"));
    Hash32 doc = found.back().first;
    for (const auto& [id, type] : found)
        if (type == 0) doc = id;  // a status answers the document itself, not its later changes
    StatusRequest sr;
    sr.document = doc;
    sr.code = r->code;
    sr.staff = r->staff;
    sr.description = r->description;
    sr.time_ms = r->time_ms;
    sr.from = r->from;
    sr.response_for = r->response_for;
    sr.edxml.assign(xml.begin(), xml.end());
    sr.informed = only_to;
    submit_status(std::move(sr), std::move(reply), std::move(extra));
}

void NodeImpl::api_import(const Bytes& rid, const json& req) {
    auto data = bytes_field(req, "data");
    if (!data.ok()) return api_reply(rid, fail(data.error()));
    std::vector<std::string> only_to;
    if (req.contains("to")) {
        if (!req["to"].is_array()) return api_reply(rid, fail("field 'to' must be a list of agency codes"));
        for (const auto& t : req["to"]) {
            if (!t.is_string()) return api_reply(rid, fail("field 'to' must hold agency codes as text"));
            only_to.push_back(t.get<std::string>());
        }
    }
    import_edxml(*data, only_to, [this, rid](const json& j) { api_reply(rid, j); });
}

void NodeImpl::api_set_status(const Bytes& rid, const json& req) {
    const auto bad = [&](const std::string& e) { api_reply(rid, fail(e + "; nothing was sent")); };
    auto id_text = string_field(req, "id", true);
    if (!id_text.ok()) return bad(id_text.error());
    auto id = resolve_id(*id_text);
    if (!id.ok()) return bad(id.error());
    StatusRequest sr;
    sr.document = *id;
    auto code = string_field(req, "code", true);
    auto description = string_field(req, "description", false);
    auto staff = string_field(req, "staff", false);
    auto department = string_field(req, "department", false);
    for (const auto* f : {&code, &description, &staff, &department})
        if (!f->ok()) return bad(f->error());
    sr.code = *code;
    sr.description = *description;
    sr.staff.staff = *staff;
    sr.staff.department = *department;
    if (req.contains("to")) {
        auto to = string_field(req, "to", true);
        if (!to.ok()) return bad(to.error());
        sr.informed = {*to};
    }
    submit_status(std::move(sr), [this, rid](const json& j) { api_reply(rid, j); });
}

}  // namespace lienthong::node
