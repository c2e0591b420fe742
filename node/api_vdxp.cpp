// The national hub's API, the event loop's side: the ops the HTTP threads (vdxp_http.cpp) send
// over the in-process API socket once a request is authenticated, and those lienthong-admin
// sends to manage the systems. Each maps a hub call onto the node's own machinery: uploads are
// imported exactly as `import` does, the receive queues are storage/vdxp_tables.h, the sending
// state is the node's delivery records and receipts. See README "Connecting a document system".
#include <filesystem>

#include "node/api_util.h"
#include "node/node_impl.h"
#include "protocol/edxml_convert.h"

namespace lienthong::node {

namespace {

// A DocId as the hub's clients keep it: the first 24 hex digits of the message id (96 bits,
// the length of the hub's own ids), file-name safe; resolve_id finds the message from it.
std::string doc_id_of(const Hash32& id) { return hex_id(id).substr(0, 24); }

Result<storage::VdxpQueue> queue_field(const json& req) {
    auto q = string_field(req, "queue", false);
    if (!q.ok()) return q.take_error();
    if (q->empty() || *q == "edoc") return storage::VdxpQueue::edoc;
    if (*q == "status") return storage::VdxpQueue::status;
    return make_error("field 'queue' must be edoc or status, not '" + q->substr(0, 40) + "'");
}

}  // namespace

Bytes edxml_of(const StoredMessage& m) {
    if (m.status) {
        const auto& r = m.status->report;
        return r.edxml.empty() ? protocol::edxml::write(protocol::edxml::from_report(r)) : r.edxml;
    }
    const auto& c = m.document->content;
    return c.edxml.empty() ? protocol::edxml::write(protocol::edxml::from_content(c)) : c.edxml;
}

void NodeImpl::api_vdxp_send(const Bytes& rid, json& req) {
    const auto reply = [this, rid](const json& j) { api_reply(rid, j); };
    auto system = string_field(req, "system", true);
    auto type = string_field(req, "messagetype", false);
    auto data = take_bytes_field(req, "data");
    for (const auto* f : {&system, &type})
        if (!f->ok()) return reply(fail(f->error()));
    if (!data.ok()) return reply(fail(data.error()));
    if (data->empty()) return reply(fail("the upload is empty: the body must be the edXML file"));
    ImportKind kind = ImportKind::any;
    if (*type == "edoc") kind = ImportKind::document;
    else if (*type == "status") kind = ImportKind::status;
    else if (!type->empty()) return reply(fail("messagetype must be edoc or status, not '" + type->substr(0, 40) + "'"));
    std::vector<std::string> only_to;
    if (req.contains("to")) {
        if (!req["to"].is_array()) return reply(fail("field 'to' must be a list of agency codes"));
        for (const auto& t : req["to"]) {
            if (!t.is_string()) return reply(fail("field 'to' must hold agency codes as text"));
            only_to.push_back(t.get<std::string>());
        }
    }
    // The SDK (and the JDK under it) resends an upload after a timeout: the same file from the
    // same system is the same upload, answered with its DocId and sent once.
    const auto key = storage::VdxpTables::upload_key(*system, *data);
    const auto done = m_store->env().read([&](const storage::ReadTxn& t) { return m_vdxp->upload(t, key); });
    if (done && !done->ids.empty())
        return reply(json{{"ok", true}, {"doc_id", doc_id_of(done->ids.front())}, {"id", hex_id(done->ids.front())},
                          {"repeated", true}});
    auto [it, first] = m_vdxp_inflight.try_emplace(key);
    it->second.push_back(reply);
    if (!first) return;  // answered with the upload being committed
    import_edxml(
        *data, only_to,
        [this, key](const json& j) {
            auto node = m_vdxp_inflight.extract(key);
            json out = j;
            if (j.value("ok", false)) out["doc_id"] = j.value("id", "").substr(0, 24);
            if (node)
                for (const auto& r : node.mapped()) r(out);
        },
        [this, key, system = *system, now = m_clock->now_ms()](storage::WriteTxn& t, const Hash32& id) {
            return m_vdxp->add_upload_id(t, key, system, now, id);
        },
        kind);
}

json NodeImpl::api_vdxp_list(const json& req) {
    auto queue = queue_field(req);
    if (!queue.ok()) return fail(queue.error());
    auto limit = uint_field(req, "limit", 1000, 100000);
    if (!limit.ok()) return fail(limit.error());
    return m_store->env().read([&](const storage::ReadTxn& t) {
        json items = json::array();
        for (const auto& q : m_vdxp->pending(t, *queue, *limit)) {
            const auto rec = m_store->inbox_record(t, q.id);
            if (!rec) continue;
            const auto ack = m_vdxp->ack(t, q.id);
            items.push_back({{"doc_id", doc_id_of(q.id)},
                             {"id", hex_id(q.id)},
                             {"from", rec->sender},
                             {"to", m_config.agency},
                             {"created_ms", rec->created_ms ? rec->created_ms : rec->received_ms},
                             {"received_ms", rec->received_ms},
                             {"updated_ms", ack ? ack->time_ms : rec->received_ms},
                             {"state", ack ? storage::vdxp_ack_name(ack->state) : "initial"},
                             {"subject", rec->subject}});
        }
        return json{{"ok", true}, {"items", items}};
    });
}

json NodeImpl::api_vdxp_count(const json& req) {
    auto queue = queue_field(req);
    if (!queue.ok()) return fail(queue.error());
    return json{{"ok", true},
                {"count", m_store->env().read([&](const storage::ReadTxn& t) { return m_vdxp->pending_count(t, *queue); })}};
}

// A received message by the docId a system was given; sent or carried ones are not its to fetch.
Result<storage::InboxRecord> NodeImpl::vdxp_received(const json& req) {
    auto text = string_field(req, "doc_id", true);
    if (!text.ok()) return text.take_error();
    auto id = resolve_id(*text);
    if (!id.ok()) return make_error("unknown docId '" + text->substr(0, 64) + "': " + id.error());
    auto rec = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->inbox_record(t, *id); });
    if (!rec) return make_error("docId '" + text->substr(0, 64) + "' is not a message this agency received");
    return *rec;
}

json NodeImpl::api_vdxp_get(const json& req) {
    auto rec = vdxp_received(req);
    if (!rec.ok()) return fail(rec.error());
    auto m = open_stored(rec->id);
    if (!m.ok()) return fail(m.error());
    return json{{"ok", true}, {"kind", m->status ? "status" : "document"}, {"data", binary(edxml_of(*m))}};
}

void NodeImpl::api_vdxp_ack(const Bytes& rid, const json& req) {
    auto rec = vdxp_received(req);
    if (!rec.ok()) return api_reply(rid, fail(rec.error()));
    auto state_text = string_field(req, "state", true);
    auto system = string_field(req, "system", false);
    auto description = string_field(req, "description", false);
    for (const auto* f : {&state_text, &system, &description})
        if (!f->ok()) return api_reply(rid, fail(f->error()));
    storage::VdxpAck ack{storage::VdxpAckState::processing, m_clock->now_ms(), *system, description->substr(0, 1000)};
    if (*state_text == "done") ack.state = storage::VdxpAckState::done;
    else if (*state_text == "fail") ack.state = storage::VdxpAckState::fail;
    else if (*state_text != "processing")
        return api_reply(rid, fail("status must be done, fail or processing, not '" + state_text->substr(0, 40) + "'"));
    const auto before = m_store->env().read([&](const storage::ReadTxn& t) { return m_vdxp->ack(t, rec->id); });
    if (before && before->state != storage::VdxpAckState::processing) {
        // Retries happen (the SDK resends on a timeout): the same answer again is no change.
        if (before->state == ack.state) return api_reply(rid, json{{"ok", true}, {"state", *state_text}, {"repeated", true}});
        return api_reply(rid, fail("docId " + doc_id_of(rec->id) + " was acknowledged " +
                                   storage::vdxp_ack_name(before->state) + " already; it cannot become " + *state_text));
    }
    const auto id = rec->id;
    const auto seq = rec->seq;
    m_batch.add(
        [this, id, seq, ack](storage::WriteTxn& t) -> Status {
            LT_TRY(m_vdxp->set_ack(t, id, seq, ack));
            auto a = audit_event("dms_acknowledged");
            a.msg = id;
            a.user = ack.system;
            a.detail = std::string("state=") + storage::vdxp_ack_name(ack.state);
            return audit(t, a);
        },
        [this, rid, id, ack](bool ok, const std::string& error) {
            if (!ok) return api_reply(rid, fail("could not record the acknowledgement: " + error));
            m_log.info("vdxp_ack", {{"msg", hex_id(id)}, {"system", ack.system}, {"state", storage::vdxp_ack_name(ack.state)}});
            api_reply(rid, json{{"ok", true}, {"state", storage::vdxp_ack_name(ack.state)}});
        });
}

json NodeImpl::api_vdxp_sent(const json& req) {
    auto text = string_field(req, "doc_id", false);
    if (!text.ok()) return fail(text.error());
    std::vector<Hash32> ids;
    if (!text->empty()) {
        auto id = resolve_id(*text);
        if (!id.ok()) return fail("unknown docId '" + text->substr(0, 64) + "': " + id.error());
        ids.push_back(*id);
    }
    return m_store->env().read([&](const storage::ReadTxn& t) {
        if (ids.empty())  // no docId: the latest 500 documents this agency sent, newest first
            for (const auto& s : m_store->list_sent(t, 500)) ids.push_back(s.id);
        json rows = json::array();
        for (const auto& id : ids) {
            const auto rec = m_store->sent_record(t, id);
            if (!rec) {
                if (ids.size() == 1) return fail("docId '" + *text + "' is not a message this agency sent");
                continue;
            }
            const auto sum = m_catalog->summary(t, id);
            for (const auto& d : m_store->deliveries(t, id)) {
                std::string state = storage::delivery_state_name(d.state);
                if (d.state == storage::DeliveryState::pending && (d.attempts > 0 || d.custody_ms)) state = "sent";
                std::string code;
                if (sum) code = processing_state(t, id, d.recipient).code;
                rows.push_back({{"doc_id", doc_id_of(id)},
                                {"id", hex_id(id)},
                                {"kind", sum ? "edoc" : "status"},
                                {"to", d.recipient},
                                {"subject", rec->subject},
                                {"notation", sum ? (sum->code_number.empty() ? sum->code_notation
                                                                            : sum->code_number + "/" + sum->code_notation)
                                                 : ""},
                                {"created_ms", rec->created_ms},
                                {"state", state},
                                {"receipt_ms", d.receipt_ms},
                                {"last_error", d.last_error},
                                {"via", d.via},
                                {"status_code", code},
                                {"status_name", code.empty() ? "" : std::string(protocol::status_code_name(code))}});
            }
        }
        return json{{"ok", true}, {"rows", rows}};
    });
}

json NodeImpl::api_vdxp_agencies() {
    json out = json::array();
    std::set<std::string> seen;
    const auto add = [&](const std::string& code, const std::string& name, const std::string& parent, uint64_t serial,
                         uint64_t modified_ms, bool deleted, bool peer) {
        if (!seen.insert(code).second) return;
        out.push_back({{"code", code}, {"name", name}, {"parent", parent}, {"serial", serial},
                       {"modified_ms", modified_ms}, {"deleted", deleted}, {"peer", peer}});
    };
    add(m_config.agency, m_config.name, "", 0, m_started_ms, false, false);
    for (const auto& [agency, r] : m_dir.current)
        add(agency, r.name, r.parent, r.serial, r.valid_from_ms, false, m_links.count(agency) > 0);
    for (const auto& [agency, link] : m_links) add(agency, "", "", 0, link.record.added_ms, false, true);
    // Agencies whose every record is revoked or expired: listed as deleted, so an address book
    // that synchronises drops them.
    for (const auto& [id, r] : m_dir.nodes) add(r.agency, r.name, r.parent, r.serial, r.valid_until_ms, true, false);
    return json{{"ok", true}, {"agencies", out}};
}

}  // namespace lienthong::node
