// The node's audit log (issue 18): events appended in the transactions that make them durable
// (each caller), the log's head signed and sent to the peers who witness it, the heads we
// witness for them, and the API's audit requests.
#include <algorithm>

#include "node/api_util.h"
#include "node/node_impl.h"

namespace lienthong::node {

namespace {
constexpr uint64_t kMinHeadGapMs = 1000;       // a peer's heads stored at most this often
constexpr uint64_t kMaxWitnessWaitMs = 30000;  // how long audit_witnesses may wait for peers
constexpr size_t kMaxShow = 100000;

json head_json(const protocol::AuditHead& h) {
    return json{{"agency", h.agency}, {"seq", h.seq}, {"head", protocol::to_hex(h.head)}, {"time_ms", h.time_ms},
                {"signed", protocol::to_base64(protocol::encode_audit_head(h))}};
}

json entry_json(const protocol::AuditEntry& e, const Hash32& hash) {
    json j{{"seq", e.seq}, {"time_ms", e.time_ms}, {"kind", e.kind}, {"hash", protocol::to_hex(hash)}};
    if (e.msg) j["msg"] = protocol::to_hex(*e.msg);
    if (e.about) j["about"] = protocol::to_hex(*e.about);
    if (!e.agency.empty()) j["agency"] = e.agency;
    if (!e.peer.empty()) j["peer"] = e.peer;
    if (!e.user.empty()) j["user"] = e.user;
    if (!e.detail.empty()) j["detail"] = e.detail;
    return j;
}
}  // namespace

Result<std::string> request_user(const json& req) {
    LT_ASSIGN(auto user, string_field(req, "user", false));
    if (user.size() > protocol::kMaxAgencyLength) return make_error("field 'user' is longer than 64 bytes");
    for (const unsigned char c : user)
        if (c < 0x20 || c == 0x7f) return make_error("field 'user' holds a control character");
    if (!protocol::is_valid_utf8(user)) return make_error("field 'user' is not valid UTF-8");
    return user;
}

namespace {
// A full id is taken as it is (the log may name what is no longer stored: a relay's envelope);
// a prefix is resolved against the stored documents.
Result<Hash32> full_id(const std::string& text) {
    if (text.size() != 64) return make_error("not full");
    auto b = protocol::from_hex(text);
    if (!b.ok() || b->size() != 32) return make_error("not hex");
    Hash32 h{};
    std::copy(b->begin(), b->end(), h.begin());
    return h;
}
}  // namespace

std::string document_event_kind(uint8_t business_type, const char* dir) {
    static constexpr const char* kNames[] = {"document_", "revoke_", "update_", "replace_"};
    return std::string(business_type < 4 ? kNames[business_type] : "document_") + dir;
}

void audit_recipients(storage::AuditEvent& e, const std::vector<std::string>& to) {
    if (to.size() == 1) {
        e.agency = to[0];
        return;
    }
    e.detail = "to=";
    for (size_t i = 0; i < to.size(); ++i) e.detail += (i ? "," : "") + to[i];
}

storage::AuditEvent NodeImpl::audit_event(std::string kind) const {
    storage::AuditEvent e;
    e.kind = std::move(kind);
    e.time_ms = m_clock->now_ms();
    return e;
}

Status NodeImpl::audit(storage::WriteTxn& t, const storage::AuditEvent& e) const {
    if (!m_config.audit.enabled) return ok_status();
    return m_audit->append(t, e);
}

void NodeImpl::audit_later(storage::AuditEvent e) {
    if (!m_config.audit.enabled) return;
    m_batch.writes.push_back([this, e = std::move(e)](storage::WriteTxn& t) { return audit(t, e); });
}

Status NodeImpl::audit_start(storage::WriteTxn& t) {
    const auto& key = m_identity.pub.sign_key;
    const auto last = m_audit->sign_key(t);
    if (last && *last != key) {
        auto e = audit_event("key_rotated");
        e.agency = m_config.agency;
        e.detail = "from=" + protocol::to_base64(*last) + " to=" + protocol::to_base64(key);
        LT_TRY(audit(t, e));
    }
    if (!last || *last != key) LT_TRY(m_audit->set_sign_key(t, key));
    auto e = audit_event("node_started");
    e.agency = m_config.agency;
    e.detail = "sign=" + protocol::to_base64(key);
    return audit(t, e);
}

protocol::AuditHead NodeImpl::publish_audit_head(const std::string& why) {
    const auto pos = m_store->env().read([&](const storage::ReadTxn& t) { return m_audit->head(t); });
    const auto head = protocol::sign_audit_head(m_identity, pos.seq, pos.hash, m_clock->now_ms());
    m_batch.writes.push_back([this, head](storage::WriteTxn& t) { return m_audit->put_head(t, head); });
    size_t sent = 0;
    for (auto& [agency, link] : m_links)
        if (link.connected && send_frame(*link.dealer, protocol::AuditHeadFrame{head})) ++sent;
    m_log.info("audit_head_sent", {{"seq", std::to_string(head.seq)}, {"head", protocol::short_id(head.head)},
                                   {"peers", std::to_string(sent)}, {"why", why}});
    return head;
}

void NodeImpl::audit_timers(uint64_t now) {
    finish_witness_requests(false);
    if (m_config.audit.head_interval_ms == 0 || !m_config.audit.enabled) return;
    if (m_next_head_ms == 0) m_next_head_ms = now + m_config.audit.head_interval_ms;
    if (now < m_next_head_ms) return;
    m_next_head_ms = now + m_config.audit.head_interval_ms;
    publish_audit_head("interval");
}

// Router side: a peer's signed head, to witness. Kept only when it verifies with the key we
// know for that peer; a second head for a seq we hold with another hash is the evidence that
// its log was rewritten: logged, and the first kept.
void NodeImpl::on_audit_head(const Bytes&, const std::string& peer, const protocol::AuditHeadFrame& f) {
    const auto& h = f.head;
    if (h.agency != peer)
        return log_refusal("audit_head_refused", peer, "wrong_agency", "", "head of agency '" + h.agency + "' sent by another");
    const auto key = sender_key(peer);
    if (!key || !protocol::verify_audit_head(*key, h))
        return log_refusal("audit_head_refused", peer, "bad_signature", "", "audit head does not verify with the peer's key");
    const uint64_t now = m_clock->now_ms();
    auto& heard = m_head_heard_ms[peer];
    if (heard != 0 && now < heard + kMinHeadGapMs)
        return log_refusal("audit_head_refused", peer, "too_often", "", "audit heads come faster than one a second");
    heard = now;
    const auto kept = m_store->env().read([&](const storage::ReadTxn& t) { return m_audit->heads_of(t, peer); });
    for (const auto& w : kept)
        if (auto old = protocol::decode_audit_head(w); old.ok() && old->seq == h.seq && old->head != h.head)
            m_log.error("audit_head_conflict", {{"peer", peer}, {"seq", std::to_string(h.seq)},
                                                {"held", protocol::to_hex(old->head)}, {"sent", protocol::to_hex(h.head)},
                                                {"note", "the peer signed two heads for one seq: its log was rewritten"}});
    m_batch.writes.push_back([this, h](storage::WriteTxn& t) { return m_audit->put_head(t, h); });
    m_log.debug("audit_head_witnessed", {{"peer", peer}, {"seq", std::to_string(h.seq)}});
}

void NodeImpl::on_audit_heads_want(const Bytes& rid, const std::string& peer) {
    const auto wires = m_store->env().read([&](const storage::ReadTxn& t) { return m_audit->heads_of(t, peer); });
    protocol::AuditHeadsFrame out;
    for (const auto& w : wires)
        if (auto h = protocol::decode_audit_head(w); h.ok() && out.heads.size() < protocol::kMaxAuditHeadsInFrame)
            out.heads.push_back(std::move(*h));
    send_frame(*m_router, out, rid);
}

// Dealer side: the heads of our log a peer holds. Only those signed by one of our keys count.
void NodeImpl::on_audit_heads(PeerLink& link, const protocol::AuditHeadsFrame& f) {
    const std::string peer = link.record.identity.agency;
    std::vector<protocol::AuditHead> good;
    for (const auto& h : f.heads) {
        bool ok = h.agency == m_config.agency && protocol::verify_audit_head(m_identity.pub.sign_key, h);
        for (size_t i = 0; !ok && i < m_previous.size(); ++i)
            ok = h.agency == m_config.agency && protocol::verify_audit_head(m_previous[i].pub.sign_key, h);
        if (ok)
            good.push_back(h);
        else
            log_refusal("audit_heads_refused", peer, "bad_signature", "", "a head the peer holds is not signed by our key");
    }
    m_witnessed[peer] = std::move(good);
    for (auto& r : m_witness_requests) r.waiting.erase(peer);
    finish_witness_requests(false);
}

void NodeImpl::finish_witness_requests(bool expired) {
    const uint64_t now = m_clock->now_ms();
    for (auto it = m_witness_requests.begin(); it != m_witness_requests.end();) {
        if (!expired && !it->waiting.empty() && now < it->deadline_ms) {
            ++it;
            continue;
        }
        json peers = json::object();
        for (const auto& a : it->asked) {
            if (it->waiting.count(a)) continue;
            json list = json::array();
            for (const auto& h : m_witnessed[a]) list.push_back(head_json(h));
            peers[a] = list;
        }
        json silent = json::array();
        for (const auto& a : it->waiting) silent.push_back(a);
        json keys = json::array({protocol::to_base64(m_identity.pub.sign_key)});
        for (const auto& p : m_previous) keys.push_back(protocol::to_base64(p.pub.sign_key));
        api_reply(it->rid, json{{"ok", true}, {"agency", m_config.agency}, {"sign_keys", keys}, {"peers", peers},
                                {"unanswered", silent}});
        it = m_witness_requests.erase(it);
    }
}

json NodeImpl::api_audit_show(const json& req) {
    const auto from = uint_field(req, "from_seq", 1, UINT64_MAX);
    const auto to = uint_field(req, "to_seq", UINT64_MAX, UINT64_MAX);
    const auto since = uint_field(req, "since_ms", 0, UINT64_MAX);
    const auto until = uint_field(req, "until_ms", UINT64_MAX, UINT64_MAX);
    const auto limit = uint_field(req, "limit", 1000, kMaxShow);
    const auto kind = string_field(req, "kind", false);
    const auto id_text = string_field(req, "id", false);
    for (const auto* r : {&from, &to, &since, &until, &limit})
        if (!r->ok()) return fail(r->error());
    if (!kind.ok()) return fail(kind.error());
    if (!id_text.ok()) return fail(id_text.error());
    std::optional<Hash32> id;
    if (!id_text->empty()) {
        auto r = full_id(*id_text);
        if (!r.ok()) r = resolve_id(*id_text);
        if (!r.ok()) return fail(r.error());
        id = *r;
    }
    json out = json::array();
    bool more = false;
    const auto head = m_store->env().read([&](const storage::ReadTxn& t) {
        m_audit->scan(t, std::max<uint64_t>(*from, 1), [&](uint64_t seq, ByteView v) {
            if (seq > *to) return false;
            auto e = protocol::decode_audit_entry(v);
            if (!e.ok()) {
                out.push_back(json{{"seq", seq}, {"error", e.error()}});
                return out.size() < *limit;
            }
            if (e->time_ms < *since || e->time_ms > *until) return true;
            if (!kind->empty() && e->kind != *kind) return true;
            if (id && !(e->msg && *e->msg == *id) && !(e->about && *e->about == *id)) return true;
            if (out.size() >= *limit) {
                more = true;
                return false;
            }
            out.push_back(entry_json(*e, protocol::audit_entry_hash(v)));
            return true;
        });
        return m_audit->head(t);
    });
    return json{{"ok", true}, {"entries", out}, {"more", more}, {"head_seq", head.seq},
                {"head", protocol::to_hex(head.hash)}, {"enabled", m_config.audit.enabled}};
}

json NodeImpl::api_audit_head(const json& req) {
    const bool publish = req.contains("publish") && req["publish"].is_boolean() && req["publish"].get<bool>();
    if (req.contains("publish") && !req["publish"].is_boolean()) return fail("field 'publish' must be true or false");
    protocol::AuditHead h;
    if (publish) {
        auto user = request_user(req);
        if (!user.ok()) return fail(user.error());
        auto e = audit_event("admin_command");
        e.user = *user;
        e.detail = "audit publish";
        audit_later(e);
        h = publish_audit_head("admin");
    } else {
        const auto pos = m_store->env().read([&](const storage::ReadTxn& t) { return m_audit->head(t); });
        h = protocol::sign_audit_head(m_identity, pos.seq, pos.hash, m_clock->now_ms());
    }
    json keys = json::array({protocol::to_base64(m_identity.pub.sign_key)});
    for (const auto& p : m_previous) keys.push_back(protocol::to_base64(p.pub.sign_key));
    return json{{"ok", true}, {"head", head_json(h)}, {"sign_key", protocol::to_base64(m_identity.pub.sign_key)},
                {"sign_keys", keys}};
}

void NodeImpl::api_audit_witnesses(const Bytes& rid, const json& req) {
    const auto wait = uint_field(req, "wait_ms", 3000, kMaxWitnessWaitMs);
    if (!wait.ok()) return api_reply(rid, fail(wait.error()));
    WitnessRequest r;
    r.rid = rid;
    r.deadline_ms = m_clock->now_ms() + *wait;
    for (auto& [agency, link] : m_links)
        if (link.connected && send_frame(*link.dealer, protocol::AuditHeadsWantFrame{})) {
            r.asked.insert(agency);
            r.waiting.insert(agency);
        }
    m_witness_requests.push_back(std::move(r));
    finish_witness_requests(false);
}

// The export of a document (protocol/audit.h): every entry from the first about it to the
// head, a head signed now, and the heads peers hold of us that fall in that run.
json NodeImpl::api_audit_export(const json& req) {
    auto id_text = string_field(req, "id", true);
    if (!id_text.ok()) return fail(id_text.error());
    auto id = full_id(*id_text);
    if (!id.ok()) id = resolve_id(*id_text);
    if (!id.ok()) return fail(id.error());
    protocol::AuditExport x;
    x.agency = m_config.agency;
    x.sign_key = m_identity.pub.sign_key;
    x.doc = *id;
    x.created_ms = m_clock->now_ms();
    storage::AuditHeadPos head;
    std::string error;
    m_store->env().read([&](const storage::ReadTxn& t) {
        head = m_audit->head(t);
        uint64_t first = 0;
        m_audit->scan(t, 1, [&](uint64_t seq, ByteView v) {
            auto e = protocol::decode_audit_entry(v);
            if (e.ok() && ((e->msg && *e->msg == *id) || (e->about && *e->about == *id))) {
                first = seq;
                return false;
            }
            return true;
        });
        if (first == 0) return 0;
        m_audit->scan(t, first, [&](uint64_t seq, ByteView v) {
            if (seq > head.seq) return false;
            x.entries.emplace_back(v.begin(), v.end());
            return true;
        });
        return 0;
    });
    if (x.entries.empty()) return fail("the audit log holds no entry about " + hex_id(*id));
    const uint64_t first_seq = head.seq + 1 - x.entries.size();
    x.heads.push_back(protocol::encode_audit_head(protocol::sign_audit_head(m_identity, head.seq, head.hash, x.created_ms)));
    x.witnesses.push_back("self");
    for (const auto& [peer, heads] : m_witnessed)
        for (const auto& h : heads)
            if (h.seq >= first_seq && h.seq <= head.seq && x.heads.size() < 64) {
                x.heads.push_back(protocol::encode_audit_head(h));
                x.witnesses.push_back(peer);
            }
    const Bytes file = protocol::write_audit_export(x, m_identity);
    return json{{"ok", true}, {"file", binary(file)}, {"entries", x.entries.size()}, {"heads", x.heads.size()},
                {"first_seq", first_seq}, {"head_seq", head.seq}};
}

}  // namespace lienthong::node
