// The local API (ipc://<data_dir>/api.sock): requests from lienthong-admin and the clerk's
// document system. See node/API.md for every request with an example.
#include <sodium.h>

#include "node/node_impl.h"

namespace lienthong::node {

using nlohmann::json;

namespace {

json fail(const std::string& error) { return json{{"ok", false}, {"error", error}}; }

json binary(const Bytes& b) { return json::binary(std::vector<uint8_t>(b.begin(), b.end())); }

// Text or binary field as bytes (the DMS may send a body as either).
Result<Bytes> bytes_field(const json& req, const char* key) {
    if (!req.contains(key)) return Bytes{};
    const auto& v = req.at(key);
    if (v.is_binary()) return Bytes(v.get_binary().begin(), v.get_binary().end());
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        return Bytes(s.begin(), s.end());
    }
    return make_error(std::string("field '") + key + "' must be text or binary");
}

Result<std::string> string_field(const json& req, const char* key, bool required) {
    if (!req.contains(key)) {
        if (required) return make_error(std::string("field '") + key + "' is required");
        return std::string();
    }
    if (!req.at(key).is_string()) return make_error(std::string("field '") + key + "' must be text");
    return req.at(key).get<std::string>();
}

Result<uint64_t> uint_field(const json& req, const char* key, uint64_t def, uint64_t max) {
    if (!req.contains(key)) return def;
    const auto& v = req.at(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        return make_error(std::string("field '") + key + "' must be a whole number >= 0");
    const uint64_t n = v.get<uint64_t>();
    if (n > max) return make_error(std::string("field '") + key + "' must be at most " + std::to_string(max));
    return n;
}

std::string hash_hex(ByteView data) {
    return protocol::to_hex(protocol::hash_domain("lienthong/v1/attachment", data));
}

}  // namespace

void NodeImpl::api_reply(const Bytes& routing_id, const json& resp) {
    try {
        const auto bytes = json::to_msgpack(resp);
        m_api->send(zmq::buffer(routing_id), zmq::send_flags::sndmore);
        m_api->send(zmq::message_t(), zmq::send_flags::sndmore);
        m_api->send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
        m_log.warn("api_reply_failed", {{"error", e.what()}});
    }
}

void NodeImpl::on_api_readable() {
    for (int n = 0; n < 256 && !batch_full(); ++n) {
        std::vector<zmq::message_t> parts;
        try {
            zmq::message_t part;
            if (!m_api->recv(part, zmq::recv_flags::dontwait)) break;
            parts.push_back(std::move(part));
            while (parts.back().more()) {
                zmq::message_t more;
                (void)m_api->recv(more, zmq::recv_flags::none);
                if (parts.size() < 4) parts.push_back(std::move(more));
            }
        } catch (const zmq::error_t&) {
            break;
        }
        if (parts.size() != 3 || parts[1].size() != 0) continue;  // not a REQ envelope
        const Bytes rid(parts[0].data<uint8_t>(), parts[0].data<uint8_t>() + parts[0].size());
        json req;
        try {
            req = json::from_msgpack(parts[2].data<uint8_t>(), parts[2].data<uint8_t>() + parts[2].size());
        } catch (const json::exception& e) {
            api_reply(rid, fail(std::string("request is not valid msgpack: ") + e.what()));
            continue;
        }
        if (!req.is_object() || !req.contains("op") || !req["op"].is_string()) {
            api_reply(rid, fail("request must be a map with an 'op' text field"));
            continue;
        }
        handle_api(rid, req);
    }
}

void NodeImpl::handle_api(const Bytes& rid, const json& req) {
    const std::string op = req["op"].get<std::string>();
    try {
        if (op == "status") return api_reply(rid, api_status());
        if (op == "send") return api_send(rid, req);
        if (op == "inbox") return api_reply(rid, api_inbox(req));
        if (op == "outbox") return api_reply(rid, api_outbox(req));
        if (op == "show") return api_reply(rid, api_show(req, false));
        if (op == "export") return api_reply(rid, api_show(req, true));
        if (op == "receipt") return api_reply(rid, api_receipt(req));
        if (op == "peer_add") return api_peer_add(rid, req);
        if (op == "peer_remove") return api_peer_remove(rid, req);
        if (op == "peer_list") return api_reply(rid, api_peer_list());
    } catch (const json::exception& e) {
        return api_reply(rid, fail("bad request for '" + op + "': " + e.what()));
    }
    api_reply(rid, fail("unknown op '" + op +
                        "' (known: status, send, inbox, outbox, show, export, receipt, peer_add, "
                        "peer_remove, peer_list)"));
}

json NodeImpl::api_status() {
    const auto [pending, inbox] = m_store->env().read([&](const storage::ReadTxn& t) {
        return std::make_pair(m_store->outbox_total(t), m_store->inbox_count(t));
    });
    json rejected = json::object();
    for (const auto& [k, v] : m_counters.rejected) rejected[k] = v;
    size_t connected = 0;
    for (const auto& [a, l] : m_links) connected += l.connected ? 1 : 0;
    return json{{"ok", true},
                {"agency", m_config.agency},
                {"name", m_config.name},
                {"identity", m_identity.pub.to_line()},
                {"listen", m_config.listen},
                {"uptime_ms", m_clock->now_ms() - m_started_ms},
                {"outbox_pending", pending},
                {"inbox_total", inbox},
                {"peers", m_links.size()},
                {"peers_connected", connected},
                {"counters",
                 {{"received", m_counters.received},
                  {"duplicates", m_counters.duplicates},
                  {"receipts", m_counters.receipts},
                  {"sent", m_counters.sent},
                  {"refused_connections", m_counters.refused_connections},
                  {"links_closed", m_counters.links_closed},
                  {"commits", m_counters.commits},
                  {"rejected", rejected}}}};
}

void NodeImpl::api_send(const Bytes& rid, const json& req) {
    const auto bad = [&](const std::string& e) { api_reply(rid, fail(e + "; nothing was queued")); };
    protocol::DocumentContent c;
    c.sender = m_config.agency;
    c.created_ms = m_clock->now_ms();
    if (!req.contains("to") || !req["to"].is_array() || req["to"].empty())
        return bad("field 'to' must be a non-empty list of agency codes");
    for (const auto& t : req["to"]) {
        if (!t.is_string()) return bad("field 'to' must hold agency codes as text");
        c.recipients.push_back(t.get<std::string>());
    }
    auto subject = string_field(req, "subject", false);
    auto doc_type = string_field(req, "doc_type", false);
    auto number = string_field(req, "number", false);
    auto signer = string_field(req, "signer", false);
    auto body = bytes_field(req, "body");
    auto urgency = uint_field(req, "urgency", 0, 3);
    auto conf = uint_field(req, "confidentiality", 0, 3);
    auto due = uint_field(req, "due_ms", 0, UINT64_MAX);
    for (const auto* s : {&subject, &doc_type, &number, &signer})
        if (!s->ok()) return bad(s->error());
    if (!body.ok()) return bad(body.error());
    for (const auto* u : {&urgency, &conf, &due})
        if (!u->ok()) return bad(u->error());
    c.meta.subject = *subject;
    c.meta.doc_type = *doc_type;
    c.meta.number = *number;
    c.meta.signer = *signer;
    c.meta.urgency = *urgency;
    c.meta.confidentiality = *conf;
    c.meta.due_ms = *due;
    c.body = std::move(body).value();
    if (c.meta.confidentiality > 0)
        return bad("confidentiality level " + std::to_string(c.meta.confidentiality) +
                   " (mật or above) may not be sent over the network by this node's policy");
    if (req.contains("attachments")) {
        if (!req["attachments"].is_array()) return bad("field 'attachments' must be a list");
        for (const auto& a : req["attachments"]) {
            if (!a.is_object()) return bad("each attachment must be a map with name, mime, data");
            auto name = string_field(a, "name", true);
            auto mime = string_field(a, "mime", false);
            auto data = bytes_field(a, "data");
            if (!name.ok()) return bad("attachment " + name.error());
            if (!mime.ok()) return bad("attachment " + mime.error());
            if (!data.ok()) return bad("attachment " + data.error());
            c.attachments.push_back({*name, mime->empty() ? "application/octet-stream" : *mime, std::move(data).value()});
        }
    }
    std::vector<protocol::PublicIdentity> keys;
    for (const auto& r : c.recipients) {
        auto it = m_links.find(r);
        if (it == m_links.end())
            return bad("unknown recipient '" + r + "': this node has no peer with that agency code (add it with 'lienthong-admin peer add')");
        keys.push_back(it->second.record.identity);
    }
    auto sealed = protocol::seal_document(c, m_identity, keys, &m_shared_keys);
    if (!sealed.ok()) return bad(sealed.error());
    if (sealed->envelope.wire.size() > m_config.limits.max_envelope_bytes)
        return bad("document is " + std::to_string(sealed->envelope.wire.size()) + " bytes, over limits.max_envelope_bytes (" +
                   std::to_string(m_config.limits.max_envelope_bytes) + ")");
    auto rec = std::make_shared<storage::SentRecord>();
    rec->id = sealed->envelope.id;
    rec->created_ms = c.created_ms;
    rec->content_hash = sealed->content_hash;
    rec->subject = c.meta.subject;
    rec->recipients = c.recipients;
    rec->size = sealed->envelope.wire.size();
    rec->urgency = c.meta.urgency;
    rec->content_key_wrapped = protocol::wrap_local(sealed->content_key, m_local_key);
    sodium_memzero(sealed->content_key.data(), sealed->content_key.size());
    const uint64_t now = c.created_ms;
    m_batch.documents += 1;
    m_batch.bytes += rec->size;
    m_batch.writes.push_back([this, rec, now, wire = std::move(sealed->envelope.wire)](storage::WriteTxn& t) {
        return m_store->add_sent(t, *rec, wire, now);
    });
    m_batch.after.push_back([this, rec, rid](bool ok, const std::string& error) {
        if (!ok) return api_reply(rid, fail("could not store the document: " + error + "; nothing was queued"));
        ++m_counters.sent;
        std::string to;
        for (const auto& r : rec->recipients) {
            to += (to.empty() ? "" : ",") + r;
            if (auto it = m_links.find(r); it != m_links.end()) {
                it->second.has_more = true;
                if (rec->urgency > 0) it->second.cursor.clear();  // may sort before the cursor
            }
        }
        m_log.info("queued", {{"msg", hex_id(rec->id)}, {"to", to}, {"bytes", std::to_string(rec->size)}});
        api_reply(rid, json{{"ok", true}, {"id", hex_id(rec->id)}});
    });
}

json NodeImpl::api_inbox(const json& req) {
    auto limit = uint_field(req, "limit", 50, 100000);
    if (!limit.ok()) return fail(limit.error());
    return m_store->env().read([&](const storage::ReadTxn& t) {
        json items = json::array();
        for (const auto& r : m_store->list_inbox(t, *limit))
            items.push_back({{"id", hex_id(r.id)}, {"sender", r.sender}, {"subject", r.subject},
                             {"received_ms", r.received_ms}, {"bytes", r.size}});
        return json{{"ok", true}, {"total", m_store->inbox_count(t)}, {"documents", items}};
    });
}

json NodeImpl::api_outbox(const json& req) {
    auto limit = uint_field(req, "limit", 50, 100000);
    if (!limit.ok()) return fail(limit.error());
    const bool pending_only = req.value("pending", false);
    return m_store->env().read([&](const storage::ReadTxn& t) {
        json items = json::array();
        for (const auto& s : m_store->list_sent(t, pending_only ? SIZE_MAX : *limit)) {
            json recips = json::array();
            bool pending = false;
            for (const auto& d : m_store->deliveries(t, s.id)) {
                pending |= d.state == storage::DeliveryState::pending;
                recips.push_back({{"agency", d.recipient},
                                  {"state", d.state == storage::DeliveryState::pending ? "pending" : "delivered"},
                                  {"receipt_ms", d.receipt_ms},
                                  {"last_error", d.last_error}});
            }
            if (pending_only && !pending) continue;
            items.push_back({{"id", hex_id(s.id)}, {"subject", s.subject}, {"created_ms", s.created_ms},
                             {"bytes", s.size}, {"recipients", recips}});
            if (items.size() >= *limit) break;
        }
        return json{{"ok", true}, {"pending_total", m_store->outbox_total(t)}, {"documents", items}};
    });
}

Result<Hash32> NodeImpl::resolve_id(const std::string& text) {
    if (text.size() < 8 || text.size() > 64 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return make_error("'" + text.substr(0, 80) + "' is not a message id (8 to 64 hex digits)");
    std::string lower = text;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto prefix = protocol::from_hex(lower.substr(0, lower.size() / 2 * 2));
    if (!prefix.ok()) return prefix.take_error();
    const auto ids = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->ids_with_prefix(t, *prefix, 100); });
    std::vector<Hash32> matches;
    for (const auto& id : ids)
        if (hex_id(id).rfind(lower, 0) == 0) matches.push_back(id);
    if (matches.empty()) return make_error("no document with id " + text + " on this node");
    if (matches.size() > 1) return make_error("id " + text + " is ambiguous; give more digits");
    return matches[0];
}

json NodeImpl::api_show(const json& req, bool with_content) {
    auto id_text = string_field(req, "id", true);
    if (!id_text.ok()) return fail(id_text.error());
    auto id = resolve_id(*id_text);
    if (!id.ok()) return fail(id.error());
    struct Loaded {
        std::optional<Bytes> doc;
        std::optional<storage::SentRecord> sent;
        std::optional<storage::InboxRecord> inbox;
        std::vector<storage::DeliveryRecord> deliveries;
        std::optional<storage::PeerRecord> sender_peer;
    };
    auto l = m_store->env().read([&](const storage::ReadTxn& t) {
        Loaded x;
        x.doc = m_store->document(t, *id);
        x.sent = m_store->sent_record(t, *id);
        x.inbox = m_store->inbox_record(t, *id);
        x.deliveries = m_store->deliveries(t, *id);
        if (x.inbox) x.sender_peer = m_store->peer(t, x.inbox->sender);
        return x;
    });
    if (!l.doc) return fail("document " + *id_text + " is not stored here");
    auto se = protocol::decode_envelope(*l.doc, m_limits);
    if (!se.ok()) return fail("stored document is damaged: " + se.error());
    protocol::SignPublicKey sender_key{};
    bool key_known = true;
    if (se->env.from == m_config.agency)
        sender_key = m_identity.pub.sign_key;
    else if (l.sender_peer)
        sender_key = l.sender_peer->identity.sign_key;
    else
        key_known = false;
    const bool env_sig = key_known && protocol::verify_envelope(*se, sender_key);
    Result<protocol::OpenedDocument> opened = make_error("document is neither sent nor received here");
    if (l.sent) {
        auto key = protocol::unwrap_local(l.sent->content_key_wrapped, m_local_key);
        if (!key.ok()) return fail(key.error());
        opened = protocol::open_document_with_key(*se, *key, m_limits);
    } else {
        opened = protocol::open_document(*se, m_identity, m_limits, &m_shared_keys);
    }
    if (!opened.ok()) return fail("cannot open document: " + opened.error());
    const auto& c = opened->content;
    json atts = json::array();
    for (const auto& a : c.attachments) {
        json aj{{"name", a.name}, {"mime", a.mime}, {"bytes", a.data.size()}, {"hash", hash_hex(a.data)}};
        if (with_content) aj["data"] = binary(a.data);
        atts.push_back(std::move(aj));
    }
    json out{{"ok", true},
             {"id", hex_id(*id)},
             {"direction", l.sent ? "sent" : "received"},
             {"sender", c.sender},
             {"recipients", c.recipients},
             {"created_ms", c.created_ms},
             {"subject", c.meta.subject},
             {"doc_type", c.meta.doc_type},
             {"number", c.meta.number},
             {"signer", c.meta.signer},
             {"urgency", c.meta.urgency},
             {"confidentiality", c.meta.confidentiality},
             {"due_ms", c.meta.due_ms},
             {"body_bytes", c.body.size()},
             {"content_hash", protocol::to_hex(opened->content_hash)},
             {"attachments", atts},
             {"signatures",
              {{"sender_key_known", key_known},
               {"envelope_valid", env_sig},
               // The signature covers a commitment to the content, checked when opening.
               {"content_valid", env_sig}}}};
    if (with_content) out["body"] = binary(c.body);
    if (l.inbox) out["received_ms"] = l.inbox->received_ms;
    json dels = json::array();
    for (const auto& d : l.deliveries)
        dels.push_back({{"agency", d.recipient},
                        {"state", d.state == storage::DeliveryState::pending ? "pending" : "delivered"},
                        {"queued_ms", d.queued_ms},
                        {"receipt_ms", d.receipt_ms},
                        {"acked_ms", d.acked_ms},
                        {"attempts", d.attempts},
                        {"last_error", d.last_error}});
    out["deliveries"] = dels;
    return out;
}

json NodeImpl::api_receipt(const json& req) {
    auto id_text = string_field(req, "id", true);
    if (!id_text.ok()) return fail(id_text.error());
    auto id = resolve_id(*id_text);
    if (!id.ok()) return fail(id.error());
    struct Item {
        std::string agency;
        Bytes wire;
        protocol::SignPublicKey key{};
        bool key_known = false;
    };
    std::vector<Item> items;
    std::optional<Hash32> expected_hash;
    std::string pending;
    m_store->env().read([&](const storage::ReadTxn& t) {
        const auto load = [&](const std::string& agency, const Hash32& receipt_id, std::optional<protocol::SignPublicKey> key) {
            Item it{agency, {}, {}, false};
            if (auto w = m_store->receipt(t, receipt_id)) it.wire = std::move(*w);
            if (key) {
                it.key = *key;
                it.key_known = true;
            }
            items.push_back(std::move(it));
        };
        if (auto s = m_store->sent_record(t, *id)) {
            expected_hash = s->content_hash;
            for (const auto& d : m_store->deliveries(t, *id)) {
                if (!d.receipt_id) {
                    pending += (pending.empty() ? "" : ",") + d.recipient;
                    continue;
                }
                std::optional<protocol::SignPublicKey> key;
                if (auto p = m_store->peer(t, d.recipient)) key = p->identity.sign_key;
                load(d.recipient, *d.receipt_id, key);
            }
        } else if (auto r = m_store->inbox_record(t, *id)) {
            expected_hash = r->content_hash;
            load(m_config.agency, r->receipt_id, m_identity.pub.sign_key);
        }
        return 0;
    });
    if (!expected_hash) return fail("no document with id " + *id_text + " on this node");
    json out = json::array();
    for (const auto& it : items) {
        auto se = protocol::decode_envelope(it.wire, m_limits);
        if (!se.ok()) {
            out.push_back({{"agency", it.agency}, {"error", "stored receipt is damaged: " + se.error()}});
            continue;
        }
        auto r = protocol::parse_receipt(*se);
        const protocol::ReceiptEntry* entry = nullptr;
        if (r.ok())
            for (const auto& e : r->entries)
                if (e.message_id == *id) entry = &e;
        const bool sig = it.key_known && protocol::verify_envelope(*se, it.key);
        out.push_back({{"agency", it.agency},
                       {"received_ms", r.ok() ? r->received_ms : 0},
                       {"document_hash", entry ? protocol::to_hex(entry->document_hash) : ""},
                       {"hash_matches", entry && entry->document_hash == *expected_hash},
                       {"signature_valid", sig && r.ok() && r->recipient == it.agency},
                       {"receipt_id", hex_id(se->id)},
                       {"documents_in_receipt", r.ok() ? r->entries.size() : 0},
                       {"receipt", protocol::to_base64(it.wire)}});
    }
    return json{{"ok", true}, {"id", hex_id(*id)}, {"receipts", out}, {"pending", pending}};
}

void NodeImpl::api_peer_add(const Bytes& rid, const json& req) {
    auto line = string_field(req, "identity", true);
    auto endpoint = string_field(req, "endpoint", true);
    if (!line.ok()) return api_reply(rid, fail(line.error()));
    if (!endpoint.ok()) return api_reply(rid, fail(endpoint.error()));
    auto id = protocol::PublicIdentity::from_line(*line);
    if (!id.ok()) return api_reply(rid, fail(id.error()));
    if (auto st = check_endpoint(*endpoint, false, "endpoint"); !st.ok()) return api_reply(rid, fail(st.error()));
    if (id->agency == m_config.agency) return api_reply(rid, fail("cannot add this node itself as a peer"));
    for (const auto& [a, l] : m_links)
        if (a != id->agency && l.record.identity.box_key == id->box_key)
            return api_reply(rid, fail("that key already belongs to peer '" + a + "'"));
    storage::PeerRecord rec{*id, *endpoint, "admin", m_clock->now_ms()};
    m_batch.writes.push_back([this, rec](storage::WriteTxn& t) { return m_store->put_peer(t, rec); });
    m_batch.after.push_back([this, rec, rid](bool ok, const std::string& error) {
        if (!ok) return api_reply(rid, fail("could not store the peer: " + error));
        if (auto st = add_link(rec); !st.ok()) return api_reply(rid, fail(st.error()));
        api_reply(rid, json{{"ok", true}, {"agency", rec.identity.agency}});
    });
}

void NodeImpl::api_peer_remove(const Bytes& rid, const json& req) {
    auto agency = string_field(req, "agency", true);
    if (!agency.ok()) return api_reply(rid, fail(agency.error()));
    if (!m_links.count(*agency)) return api_reply(rid, fail("no peer '" + *agency + "' (see 'lienthong-admin peer list')"));
    const std::string a = *agency;
    m_batch.writes.push_back([this, a](storage::WriteTxn& t) { return m_store->remove_peer(t, a); });
    m_batch.after.push_back([this, a, rid](bool ok, const std::string& error) {
        if (!ok) return api_reply(rid, fail("could not remove the peer: " + error));
        const bool from_config = m_links.count(a) && m_links.at(a).record.source == "config";
        remove_link(a);
        const size_t pending = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->outbox_depth(t, a); });
        m_log.info("peer_removed", {{"peer", a}, {"pending_kept", std::to_string(pending)}});
        json out{{"ok", true}, {"agency", a}, {"pending_kept", pending}};
        if (from_config) out["note"] = "this peer is in the config file and comes back at restart unless removed there";
        api_reply(rid, out);
    });
}

json NodeImpl::api_peer_list() {
    json items = json::array();
    m_store->env().read([&](const storage::ReadTxn& t) {
        for (const auto& [agency, l] : m_links)
            items.push_back({{"agency", agency},
                             {"endpoint", l.record.endpoint},
                             {"source", l.record.source},
                             {"state", l.connected ? "connected" : "disconnected"},
                             {"last_contact_ms", l.last_contact_ms},
                             {"queue", m_store->outbox_depth(t, agency)},
                             {"in_flight", l.inflight.size()},
                             {"in_flight_bytes", l.inflight_bytes},
                             {"delivered", l.delivered},
                             {"retries", l.retries},
                             {"backoff_ms", l.backoff_ms},
                             {"last_error", l.last_error},
                             {"identity", l.record.identity.to_line()}});
        return 0;
    });
    return json{{"ok", true}, {"peers", items}};
}

}  // namespace lienthong::node
