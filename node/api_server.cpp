// The local API (ipc://<data_dir>/api.sock): requests from lienthong-admin and the clerk's
// document system. See node/API.md for every request with an example.
#include <sodium.h>

#include "node/api_msgpack.h"
#include "node/api_util.h"
#include "node/node_impl.h"

namespace lienthong::node {

using nlohmann::json;


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
        // A request is [routing id, empty, msgpack]. The parts of one message arrive together,
        // so the rest is read without waiting; a message of more parts is drained, never kept.
        std::vector<zmq::message_t> parts;
        size_t count = 0;
        try {
            zmq::message_t part;
            if (!m_api->recv(part, zmq::recv_flags::dontwait)) break;
            for (bool more = true; more; ++count) {
                more = part.more();
                if (parts.size() < 4) parts.push_back(std::move(part));
                if (more && !m_api->recv(part, zmq::recv_flags::dontwait)) break;
            }
        } catch (const zmq::error_t&) {
            break;
        }
        if (count < 2) continue;  // no routing id: nothing to answer
        const Bytes rid(parts[0].data<uint8_t>(), parts[0].data<uint8_t>() + parts[0].size());
        if (count != 3 || parts[1].size() != 0) {
            api_reply(rid, fail("request must be an empty part and one msgpack part (what a REQ socket sends); got " +
                                std::to_string(count - 1) + (count == 2 ? " part" : " parts")));
            continue;
        }
        auto parsed = json_from_msgpack(ByteView(parts[2].data<uint8_t>(), parts[2].size()));
        if (!parsed.ok()) {
            api_reply(rid, fail("request is not valid msgpack: " + parsed.error()));
            continue;
        }
        json req = std::move(parsed).value();
        parts.clear();  // parsed: a large request is not held twice
        if (!req.is_object() || !req.contains("op") || !req["op"].is_string()) {
            api_reply(rid, fail("request must be a map with an 'op' text field"));
            continue;
        }
        handle_api(rid, req);
    }
}

void NodeImpl::handle_api(const Bytes& rid, json& req) {
    const std::string op = req["op"].get<std::string>();
    try {
        if (op == "status") return api_reply(rid, api_status());
        if (op == "reload") {
            auto user = request_user(req);
            if (!user.ok()) return api_reply(rid, fail(user.error()));
            return api_reply(rid, reload_config("api", *user));
        }
        if (op == "send") return api_send(rid, req);
        if (op == "send_batch") return api_send_batch(rid, req);
        if (op == "inbox") return api_reply(rid, has_filters(req) ? api_find(req, false) : api_inbox(req));
        if (op == "outbox") return api_reply(rid, has_filters(req) ? api_find(req, true) : api_outbox(req));
        if (op == "import") return api_import(rid, req);
        if (op == "set_status") return api_set_status(rid, req);
        if (op == "report_overdue") return api_reply(rid, api_report_overdue(req));
        if (op == "report_stats") return api_reply(rid, api_report_stats(req));
        if (op == "directory_import") return api_directory_import(rid, req);
        if (op == "directory_list") return api_reply(rid, api_directory_list(req));
        if (op == "show") return api_reply(rid, api_show(req, false));
        if (op == "export") return api_reply(rid, api_show(req, true));
        if (op == "receipt") return api_reply(rid, api_receipt(req));
        if (op == "peer_add") return api_peer_add(rid, req);
        if (op == "peer_remove") return api_peer_remove(rid, req);
        if (op == "peer_list") return api_reply(rid, api_peer_list());
        if (op == "transfers") return api_reply(rid, api_transfers());
        if (op == "audit_show") return api_reply(rid, api_audit_show(req));
        if (op == "audit_head") return api_reply(rid, api_audit_head(req));
        if (op == "audit_witnesses") return api_audit_witnesses(rid, req);
        if (op == "audit_export") return api_reply(rid, api_audit_export(req));
        if (op == "vdxp_send") return api_vdxp_send(rid, req);
        if (op == "vdxp_list") return api_reply(rid, api_vdxp_list(req));
        if (op == "vdxp_count") return api_reply(rid, api_vdxp_count(req));
        if (op == "vdxp_get") return api_reply(rid, api_vdxp_get(req));
        if (op == "vdxp_ack") return api_vdxp_ack(rid, req);
        if (op == "vdxp_sent") return api_reply(rid, api_vdxp_sent(req));
        if (op == "vdxp_agencies") return api_reply(rid, api_vdxp_agencies());
        if (op == "vdxp_system") return api_vdxp_system(rid, req);
        if (op == "audit_archive_prepare") return api_reply(rid, api_audit_archive_prepare(req));
        if (op == "audit_archive_commit") return api_audit_archive_commit(rid, req);
        if (op == "audit_backup") return api_reply(rid, api_audit_backup(req));
    } catch (const json::exception& e) {
        return api_reply(rid, fail("bad request for '" + op + "': " + e.what()));
    }
    api_reply(rid, fail("unknown op '" + op +
                        "' (known: status, send, send_batch, import, set_status, inbox, outbox, show, export, receipt, "
                        "report_overdue, report_stats, directory_import, directory_list, peer_add, peer_remove, peer_list, transfers, reload, "
                        "audit_*, vdxp_*)"));
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
                                  {"state", storage::delivery_state_name(d.state)},
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
                load(d.recipient, *d.receipt_id, known_sign_key(t, d.recipient));
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
        // Signed under the key in use then: ours (current or earlier), or any non-revoked
        // directory record of the recipient (it may have rotated since).
        bool sig = it.key_known && protocol::verify_envelope(*se, it.key);
        if (!sig && it.agency == m_config.agency)
            for (const auto& k : m_previous) sig = sig || protocol::verify_envelope(*se, k.pub.sign_key);
        if (!sig && it.agency != m_config.agency && it.key_known) sig = verify_from(*se, it.agency, it.key);
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
    auto user = request_user(req);
    if (!user.ok()) return api_reply(rid, fail(user.error()));
    storage::PeerRecord rec{*id, *endpoint, "admin", m_clock->now_ms()};
    auto a = audit_event("peer_added");
    a.agency = rec.identity.agency;
    a.user = *user;
    a.detail = "source=admin endpoint=" + rec.endpoint;
    m_batch.writes.push_back([this, rec, a](storage::WriteTxn& t) -> Status {
        LT_TRY(m_store->put_peer(t, rec));
        return audit(t, a);
    });
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
    auto user = request_user(req);
    if (!user.ok()) return api_reply(rid, fail(user.error()));
    const std::string a = *agency;
    auto ev = audit_event("peer_removed");
    ev.agency = a;
    ev.user = *user;
    m_batch.writes.push_back([this, a, ev](storage::WriteTxn& t) -> Status {
        LT_TRY(m_store->remove_peer(t, a));
        return audit(t, ev);
    });
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
    const uint64_t now = m_clock->now_ms();
    m_store->env().read([&](const storage::ReadTxn& t) {
        for (const auto& [agency, l] : m_links) {
            const std::string via = relay_via(agency, now);
            // When the link next acts by itself: a reconnect after a refused handshake, or a
            // retransmission of what is in flight without a receipt.
            uint64_t retry_in_ms = 0;
            if (l.reconnect_at_ms > now) retry_in_ms = l.reconnect_at_ms - now;
            else if (l.connected && !l.inflight.empty() && l.last_progress_ms + l.retransmit_after_ms() > now)
                retry_in_ms = l.last_progress_ms + l.retransmit_after_ms() - now;
            items.push_back({{"agency", agency},
                             {"endpoint", l.record.endpoint},
                             {"source", l.record.source},
                             {"state", l.sync ? "syncing" : l.connected ? "connected" : !via.empty() ? "via " + via : "disconnected"},
                             {"via", via},
                             {"down_since_ms", l.connected ? 0 : l.down_since_ms},
                             {"relay_in_flight", l.relay_inflight.size()},
                             {"chunk_bytes_sent", l.chunk_bytes_sent},
                             {"bytes_sent", l.bytes_sent},
                             {"retry_in_ms", retry_in_ms},
                             {"last_contact_ms", l.last_contact_ms},
                             {"queue", m_store->outbox_depth(t, agency)},
                             {"in_flight", l.inflight.size()},
                             {"in_flight_bytes", l.inflight_bytes},
                             {"delivered", l.delivered},
                             {"retries", l.retries},
                             {"backoff_ms", l.backoff_ms},
                             {"last_error", l.last_error},
                             {"identity", l.record.identity.to_line()}});
        }
        return 0;
    });
    return json{{"ok", true}, {"peers", items}};
}

}  // namespace lienthong::node
