// Catalog: the tables, their encodings, the writes and the per-document reads. The filters and
// reports built on them are in catalog_reports.cpp.
#include "storage/catalog.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "protocol/codec.h"
#include "protocol/edxml.h"
#include "protocol/status.h"
#include "protocol/textfold.h"
#include "storage/store.h"

namespace lienthong::storage {

using protocol::as_bytes;
using protocol::as_chars;
using protocol::Decoded;
using protocol::Writer;

namespace {

constexpr size_t kMaxText = 1u << 20;  // subject, description
constexpr size_t kMaxField = 4096;     // every other text field
constexpr size_t kMaxRecipients = 4096;
constexpr size_t kSummaryFields = 16;
constexpr size_t kEventFields = 7;

Hash32 to_hash(ByteView b) {
    Hash32 h{};
    if (b.size() == h.size()) std::copy(b.begin(), b.end(), h.begin());
    return h;
}

void append(Bytes& k, ByteView b) {
    k.insert(k.end(), b.begin(), b.end());
}
void append(Bytes& k, std::string_view s) {
    append(k, as_bytes(s));
}

Bytes time_key(uint64_t ms, const Hash32& id) {
    Bytes k = be64(ms);
    append(k, id);
    return k;
}

Bytes term_key(std::string_view term, uint64_t number, const Hash32& id) {
    Bytes k;
    append(k, term);
    k.push_back(0);
    append(k, number_key(number, id));
    return k;
}

Bytes business_prefix(std::string_view sender, std::string_view document_id) {
    Bytes k;
    append(k, sender);
    k.push_back(0);
    append(k, document_id);
    k.push_back(0);
    return k;
}

Bytes timeline_prefix(uint64_t doc_number, std::string_view recipient) {
    Bytes k = number_key(doc_number, as_bytes(recipient));
    k.push_back(0);
    return k;
}

// A statuses key is the document's number (8) + recipient + 0x00 + seq (8); the recipient
// holds no 0x00.
struct StatusKey {
    std::string recipient;
    uint64_t seq = 0;
};
std::optional<StatusKey> parse_status_key(ByteView k) {
    if (k.size() < 8 + 1 + 8 || k[k.size() - 9] != 0) return std::nullopt;
    StatusKey out;
    out.recipient = std::string(as_chars(k.subspan(8, k.size() - 8 - 9)));
    out.seq = read_be64(k.subspan(k.size() - 8));
    return out;
}

Status check_text(std::string_view s, std::string_view what) {
    if (!protocol::is_valid_utf8(s))
        return make_error(std::string(what) + " is not valid UTF-8; fix the document's metadata");
    return ok_status();
}

Status check_key_part(std::string_view s, std::string_view what) {
    LT_TRY(check_text(s, what));
    if (s.find('\0') != std::string_view::npos)
        return make_error(std::string(what) + " contains a NUL character, which cannot be indexed");
    return ok_status();
}

Bytes encode(const DocSummary& d) {
    Writer w;
    w.array(kSummaryFields).boolean(d.outgoing).str(d.sender).array(d.recipients.size());
    for (const auto& r : d.recipients) w.str(r);
    w.u64(d.created_ms)
        .u64(d.registered_ms)
        .str(d.document_id)
        .str(d.subject)
        .str(d.type_code)
        .str(d.type_name)
        .str(d.code_number)
        .str(d.code_notation)
        .u64(d.urgency)
        .u64(d.confidentiality)
        .u64(d.due_ms)
        .u64(d.business_type)
        .bin(d.acts_on ? ByteView(*d.acts_on) : ByteView());
    return w.take();
}

Result<DocSummary> decode_summary(const Hash32& id, ByteView v) {
    LT_ASSIGN(auto dec, Decoded::parse(v, "document summary"));
    auto r = dec.root();
    if (r.size() != kSummaryFields)
        return make_error("document summary has " + std::to_string(r.size()) +
                          " fields, expected " + std::to_string(kSummaryFields));
    DocSummary d;
    d.id = id;
    LT_ASSIGN(d.outgoing, r.boolean("outgoing"));
    LT_ASSIGN(d.sender, r.str("sender", kMaxField));
    LT_ASSIGN(auto rs, r.array("recipients", kMaxRecipients));
    while (rs.remaining() > 0) {
        LT_ASSIGN(auto a, rs.str("recipient", kMaxField));
        d.recipients.push_back(std::move(a));
    }
    LT_ASSIGN(d.created_ms, r.u64("created_ms"));
    LT_ASSIGN(d.registered_ms, r.u64("registered_ms"));
    LT_ASSIGN(d.document_id, r.str("document_id", kMaxField));
    LT_ASSIGN(d.subject, r.str("subject", kMaxText));
    LT_ASSIGN(d.type_code, r.str("type_code", kMaxField));
    LT_ASSIGN(d.type_name, r.str("type_name", kMaxField));
    LT_ASSIGN(d.code_number, r.str("code_number", kMaxField));
    LT_ASSIGN(d.code_notation, r.str("code_notation", kMaxField));
    LT_ASSIGN(d.urgency, r.u64("urgency"));
    LT_ASSIGN(d.confidentiality, r.u64("confidentiality"));
    LT_ASSIGN(d.due_ms, r.u64("due_ms"));
    LT_ASSIGN(auto bt, r.u64("business_type"));
    if (bt > 3) return make_error("document summary has business type " + std::to_string(bt));
    d.business_type = static_cast<uint8_t>(bt);
    LT_ASSIGN(auto acts_on, r.bin("acts_on", 32));
    if (acts_on.size() == 32)
        d.acts_on = to_hash(acts_on);
    else if (!acts_on.empty())
        return make_error("document summary's acts_on is not 32 bytes");
    LT_TRY(r.finish());
    return d;
}

Bytes encode_event(const StatusEvent& e) {
    return Writer()
        .array(kEventFields)
        .str(e.reporter)
        .str(e.code)
        .u64(e.time_ms)
        .u64(e.recorded_ms)
        .array(4)
        .str(e.staff.department)
        .str(e.staff.staff)
        .str(e.staff.email)
        .str(e.staff.mobile)
        .str(e.description)
        .bin(e.message_id ? ByteView(*e.message_id) : ByteView())
        .take();
}

Result<StatusEvent> decode_event(const Hash32& doc, std::string recipient, ByteView v) {
    LT_ASSIGN(auto dec, Decoded::parse(v, "status event"));
    auto r = dec.root();
    if (r.size() != kEventFields) return make_error("status event has the wrong number of fields");
    StatusEvent e;
    e.document = doc;
    e.recipient = std::move(recipient);
    LT_ASSIGN(e.reporter, r.str("reporter", kMaxField));
    LT_ASSIGN(e.code, r.str("code", 16));
    LT_ASSIGN(e.time_ms, r.u64("time_ms"));
    LT_ASSIGN(e.recorded_ms, r.u64("recorded_ms"));
    LT_ASSIGN(auto staff, r.array("staff", 4));
    LT_ASSIGN(e.staff.department, staff.str("department", kMaxField));
    LT_ASSIGN(e.staff.staff, staff.str("staff", kMaxField));
    LT_ASSIGN(e.staff.email, staff.str("email", kMaxField));
    LT_ASSIGN(e.staff.mobile, staff.str("mobile", kMaxField));
    LT_TRY(staff.finish());
    LT_ASSIGN(e.description, r.str("description", kMaxText));
    LT_ASSIGN(auto mid, r.bin("message_id", 32));
    if (mid.size() == 32)
        e.message_id = to_hash(mid);
    else if (!mid.empty())
        return make_error("status event's message id is not 32 bytes");
    LT_TRY(r.finish());
    return e;
}

Result<LifecycleEvent> decode_lifecycle(ByteView k, ByteView v) {
    if (k.size() != 64) return make_error("lifecycle key is not two ids");
    LT_ASSIGN(auto dec, Decoded::parse(v, "lifecycle event"));
    auto r = dec.root();
    LifecycleEvent e;
    e.target = to_hash(k.subspan(0, 32));
    e.action = to_hash(k.subspan(32, 32));
    LT_ASSIGN(auto type, r.u64("type"));
    if (type > 3) return make_error("lifecycle event has business type " + std::to_string(type));
    e.type = static_cast<uint8_t>(type);
    LT_ASSIGN(e.recorded_ms, r.u64("recorded_ms"));
    LT_ASSIGN(e.reason, r.str("reason", kMaxText));
    LT_TRY(r.finish());
    return e;
}

}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::open(Env& env) {
    std::unique_ptr<Catalog> c(new Catalog());
    struct Named {
        const char* name;
        MDB_dbi* dbi;
    };
    for (auto [name, dbi] :
         {Named{"doc_summary", &c->m_summary}, Named{"doc_by_time", &c->m_by_time},
          Named{"terms", &c->m_terms}, Named{"business", &c->m_business},
          Named{"lifecycle", &c->m_lifecycle}, Named{"statuses", &c->m_statuses},
          Named{"status_msgs", &c->m_status_msgs}}) {
        LT_ASSIGN(*dbi, env.table(name));
    }
    LT_ASSIGN(c->m_numbers, DocNumbers::open(env));
    return c;
}

namespace {
// check_document without the subject, which the caller folds (put_document needs the result).
Status check_summary_fields(const DocSummary& d) {
    LT_TRY(check_key_part(d.sender, "sender"));
    for (const auto& r : d.recipients) LT_TRY(check_key_part(r, "recipient"));
    LT_TRY(check_key_part(d.document_id, "DocumentId"));
    for (auto [s, what] :
         {std::pair{&d.type_code, "type code"}, std::pair{&d.type_name, "type name"},
          std::pair{&d.code_number, "code number"}, std::pair{&d.code_notation, "code notation"}})
        LT_TRY(check_text(*s, what));
    if (d.business_type > 3) return make_error("business type " + std::to_string(d.business_type) + " is not 0-3");
    return ok_status();
}
}  // namespace

Status Catalog::check_document(const DocSummary& d) {
    LT_TRY(check_summary_fields(d));
    if (auto folded = protocol::fold(d.subject); !folded.ok())
        return make_error("cannot index the subject: " + folded.error());
    return ok_status();
}

Status Catalog::check_status(const StatusEvent& e) {
    if (e.recipient.empty())
        return make_error("a status event needs the recipient whose processing it is");
    LT_TRY(check_key_part(e.recipient, "status recipient"));
    if (std::find(std::begin(protocol::edxml::kStatusCodes),
                  std::end(protocol::edxml::kStatusCodes),
                  e.code) == std::end(protocol::edxml::kStatusCodes))
        return make_error("unknown status code '" + e.code + "'; expected 01-06, 13, 15 or 16");
    for (auto [s, what] :
         {std::pair{&e.reporter, "reporter"}, std::pair{&e.description, "description"},
          std::pair{&e.staff.department, "staff department"},
          std::pair{&e.staff.staff, "staff name"}, std::pair{&e.staff.email, "staff email"},
          std::pair{&e.staff.mobile, "staff mobile"}})
        LT_TRY(check_text(*s, what));
    return ok_status();
}

Status Catalog::check_lifecycle(const LifecycleEvent& e) {
    LT_TRY(check_text(e.reason, "lifecycle reason"));
    if (e.type > 3) return make_error("business type " + std::to_string(e.type) + " is not 0-3");
    return ok_status();
}

Status Catalog::put_document(WriteTxn& t, const DocSummary& d) {
    LT_TRY(check_summary_fields(d));
    auto folded = protocol::fold(d.subject);
    if (!folded.ok()) return make_error("cannot index the subject: " + folded.error());

    // A re-put replaces the old index entries; if the old summary is damaged its entries stay,
    // and reads ignore them because they disagree with the summary now stored.
    LT_ASSIGN(const uint64_t n, m_numbers.assign(t, d.id));
    const Bytes summary_key = number_key(n, d.id);
    if (auto old_raw = t.get(m_summary, summary_key)) {
        if (auto old = decode_summary(d.id, *old_raw); old.ok()) {
            LT_TRY(t.del(m_by_time, time_key(old->registered_ms, d.id)));
            if (auto f = protocol::fold(old->subject); f.ok())
                for (const auto& term : protocol::search_terms(*f))
                    LT_TRY(t.del(m_terms, term_key(term, n, d.id)));
            if (!old->document_id.empty()) {
                Bytes k = business_prefix(old->sender, old->document_id);
                append(k, d.id);
                LT_TRY(t.del(m_business, k));
            }
        }
    }
    const Bytes empty;
    LT_TRY(t.put_last(m_summary, summary_key, encode(d)));
    LT_TRY(t.put_last(m_by_time, time_key(d.registered_ms, d.id), empty));
    for (const auto& term : protocol::search_terms(*folded))
        LT_TRY(t.put(m_terms, term_key(term, n, d.id), empty));
    if (!d.document_id.empty()) {
        Bytes k = business_prefix(d.sender, d.document_id);
        append(k, d.id);
        const uint8_t type = d.business_type;
        LT_TRY(t.put_last(m_business, k, ByteView(&type, 1)));
    }
    return ok_status();
}

Result<bool> Catalog::add_status(WriteTxn& t, const StatusEvent& e, uint64_t seq) {
    LT_TRY(check_status(e));
    if (e.message_id) {
        if (t.get(m_status_msgs, *e.message_id)) return false;
        Bytes v(e.document.begin(), e.document.end());
        append(v, e.recipient);
        LT_TRY(t.put(m_status_msgs, *e.message_id, v));
    }
    LT_ASSIGN(const uint64_t n, m_numbers.assign(t, e.document));
    Bytes k = timeline_prefix(n, e.recipient);
    append(k, be64(seq));
    LT_TRY(t.put_last(m_statuses, k, encode_event(e)));
    return true;
}

Status Catalog::add_lifecycle(WriteTxn& t, const LifecycleEvent& e) {
    LT_TRY(check_lifecycle(e));
    Bytes k(e.target.begin(), e.target.end());
    append(k, e.action);
    return t.put(m_lifecycle, k,
                 Writer().array(3).u64(e.type).u64(e.recorded_ms).str(e.reason).take());
}

std::optional<DocSummary> Catalog::summary(const ReadTxn& t, const Hash32& id) const {
    const auto n = m_numbers.find(t, id);
    if (!n) return std::nullopt;
    auto raw = t.get(m_summary, number_key(*n, id));
    if (!raw) return std::nullopt;
    auto d = decode_summary(id, *raw);
    if (!d.ok()) return std::nullopt;  // damaged: see the top of catalog.h
    return std::move(d).value();
}

std::vector<std::pair<Hash32, uint8_t>> Catalog::by_business_key(
    const ReadTxn& t, const std::string& sender, const std::string& document_id) const {
    std::vector<std::pair<Hash32, uint8_t>> out;
    if (document_id.empty()) return out;  // not indexed
    const Bytes prefix = business_prefix(sender, document_id);
    t.scan_prefix(m_business, prefix, [&](ByteView k, ByteView v) {
        if (k.size() == prefix.size() + 32 && v.size() == 1)
            out.emplace_back(to_hash(k.subspan(prefix.size())), v[0]);
        return true;
    });
    return out;
}

std::vector<StatusEvent> Catalog::timeline(const ReadTxn& t, const Hash32& document,
                                           const std::string& recipient) const {
    std::vector<std::pair<uint64_t, StatusEvent>> found;
    const auto n = m_numbers.find(t, document);
    if (!n) return {};
    const Bytes prefix = recipient.empty() ? number_key(*n) : timeline_prefix(*n, recipient);
    t.scan_prefix(m_statuses, prefix, [&](ByteView k, ByteView v) {
        auto key = parse_status_key(k);
        if (!key) return true;
        if (auto e = decode_event(document, key->recipient, v); e.ok())
            found.emplace_back(key->seq, std::move(e).value());
        return true;
    });
    sort_by_time(found);
    std::vector<StatusEvent> out;
    out.reserve(found.size());
    for (auto& [seq, e] : found) out.push_back(std::move(e));
    return out;
}

bool Catalog::has_status_message(const ReadTxn& t, const Hash32& message_id) const {
    return t.get(m_status_msgs, message_id).has_value();
}

bool Catalog::by_target_sender(const ReadTxn& t, const LifecycleEvent& e) const {
    const auto target = summary(t, e.target);
    const auto action = target ? summary(t, e.action) : std::nullopt;
    return !target || !action || target->sender == action->sender;
}

std::vector<LifecycleEvent> Catalog::lifecycle(const ReadTxn& t, const Hash32& target) const {
    std::vector<LifecycleEvent> out;
    t.scan_prefix(m_lifecycle, target, [&](ByteView k, ByteView v) {
        if (auto e = decode_lifecycle(k, v); e.ok() && by_target_sender(t, *e)) out.push_back(std::move(e).value());
        return true;
    });
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.recorded_ms < b.recorded_ms; });
    return out;
}

bool Catalog::revoked(const ReadTxn& t, const Hash32& id) const {
    bool found = false;
    t.scan_prefix(m_lifecycle, id, [&](ByteView k, ByteView v) {
        auto e = decode_lifecycle(k, v);
        found = e.ok() && e->type == static_cast<uint8_t>(protocol::BusinessDocType::Revoke) && by_target_sender(t, *e);
        return !found;
    });
    return found;
}

protocol::ProcessingState Catalog::replay(const std::vector<StatusEvent>& events,
                                          const std::vector<uint64_t>& changes_recorded_ms,
                                          const std::function<void(size_t)>& taken) {
    protocol::ProcessingState s;
    uint64_t last_answer_ms = 0;
    bool answered = false;
    const auto change_since = [&] {
        return std::any_of(changes_recorded_ms.begin(), changes_recorded_ms.end(),
                           [&](uint64_t ms) { return !answered || ms >= last_answer_ms; });
    };
    for (size_t i = 0; i < events.size(); ++i) {
        const auto& e = events[i];
        s.change_pending = !s.recalled && change_since();
        if (!protocol::apply_received(s, e.code)) continue;  // cannot follow what came before it
        if (e.code == "15" || e.code == "16") {
            last_answer_ms = std::max(last_answer_ms, e.recorded_ms);
            answered = true;
        }
        if (taken) taken(i);
    }
    s.change_pending = !s.recalled && change_since();
    return s;
}

Catalog::PairState Catalog::summarize(std::string recipient, const std::vector<StatusEvent>& events,
                                      const std::vector<uint64_t>& changes_recorded_ms) {
    PairState p;
    p.recipient = std::move(recipient);
    const auto s = replay(events, changes_recorded_ms, [&](size_t i) {
        const auto& e = events[i];
        if (e.code == "01" && !p.arrived_ms) p.arrived_ms = e.time_ms;
        if (e.code == "06" && !p.completed_ms) p.completed_ms = e.time_ms;
    });
    p.latest = s.code;
    p.recalled = s.recalled;
    p.recall_pending = s.recall_requested;
    return p;
}

void Catalog::sort_by_time(std::vector<std::pair<uint64_t, StatusEvent>>& events) {
    std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
        return std::tie(a.second.time_ms, a.first) < std::tie(b.second.time_ms, b.first);
    });
}

std::vector<Catalog::PairState> Catalog::pairs(const ReadTxn& t, const DocSummary& d) const {
    // One scan of the document's timelines, grouped by recipient (key order is seq order),
    // each then put in time order.
    std::map<std::string, std::vector<std::pair<uint64_t, StatusEvent>>> found;
    std::vector<std::string> order;
    const auto n = m_numbers.find(t, d.id);
    if (n) t.scan_prefix(m_statuses, number_key(*n), [&](ByteView k, ByteView v) {
        auto key = parse_status_key(k);
        if (!key) return true;
        auto e = decode_event(d.id, key->recipient, v);
        if (!e.ok()) return true;
        auto [it, inserted] = found.try_emplace(key->recipient);
        if (inserted) order.push_back(key->recipient);
        it->second.emplace_back(key->seq, std::move(e).value());
        return true;
    });
    std::map<std::string, std::vector<StatusEvent>> by_recipient;
    for (auto& [r, events] : found) {
        sort_by_time(events);
        auto& list = by_recipient[r];
        for (auto& [seq, e] : events) list.push_back(std::move(e));
    }
    std::vector<uint64_t> changes;
    for (const auto& l : lifecycle(t, d.id)) changes.push_back(l.recorded_ms);
    const auto summarize = [&changes](std::string r, const std::vector<StatusEvent>& events) {
        return Catalog::summarize(std::move(r), events, changes);
    };
    std::vector<PairState> out;
    if (d.outgoing) {
        for (const auto& r : d.recipients) {
            if (std::any_of(out.begin(), out.end(),
                            [&](const PairState& p) { return p.recipient == r; }))
                continue;  // a recipient listed twice is one pair
            auto it = by_recipient.find(r);
            out.push_back(
                summarize(r, it == by_recipient.end() ? std::vector<StatusEvent>{} : it->second));
        }
        return out;
    }
    for (const auto& r : d.recipients)
        if (auto it = by_recipient.find(r); it != by_recipient.end())
            return {summarize(r, it->second)};
    if (!order.empty()) return {summarize(order.front(), by_recipient[order.front()])};
    return {summarize(d.recipients.empty() ? std::string() : d.recipients.front(), {})};
}

void Catalog::scan_by_time(const ReadTxn& t, uint64_t from_ms, uint64_t to_ms,
                           const std::function<bool(const DocSummary&)>& fn) const {
    MDB_cursor* cur = nullptr;
    if (!t.raw() || mdb_cursor_open(t.raw(), m_by_time, &cur) != 0) return;
    // Position on the last key below to_ms: seek to the first key >= to_ms, then step back.
    MDB_val k{}, v{};
    int rc;
    if (to_ms == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    } else {
        Bytes bound = be64(to_ms);
        k = MDB_val{bound.size(), bound.data()};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        rc =
            rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (k.mv_size != 8 + 32) continue;
        const ByteView key(static_cast<const uint8_t*>(k.mv_data), k.mv_size);
        const uint64_t ms = read_be64(key.subspan(0, 8));
        if (ms < from_ms) break;
        if (to_ms != 0 && ms >= to_ms) continue;
        auto d = summary(t, to_hash(key.subspan(8)));
        if (!d || d->registered_ms != ms) continue;  // damaged, or a stale index entry
        if (!fn(*d)) break;
    }
    mdb_cursor_close(cur);
}

}  // namespace lienthong::storage
