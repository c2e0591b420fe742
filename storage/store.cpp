#include "storage/store.h"
#include "storage/store_keys.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "protocol/codec.h"

namespace lienthong::storage {

using protocol::Decoded;
using protocol::Writer;
using namespace keys;

namespace {
// Large values are read once (to send or export them) and then not needed in memory: drop
// their pages of the read-only map from this process's resident set (they stay in the page
// cache), so a node moving big documents does not grow its RSS by what it has read.
void release_pages(ByteView v) {
    constexpr size_t kThreshold = 256 * 1024;
    if (v.size() < kThreshold) return;
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(v.data()) + page - 1) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(v.data()) + v.size()) & ~(page - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

constexpr std::string_view kSchemaKey = "schema_version";
constexpr std::string_view kAgencyKey = "agency";
constexpr std::string_view kHealthProbeKey = "health_probe";
constexpr std::string_view kSeqKey = "next_seq";

Bytes outbox_prefix(const std::string& agency) {
    Bytes k(agency.begin(), agency.end());
    k.push_back(0);
    return k;
}

Bytes encode(const SentRecord& r) {
    Writer w;
    w.array(8).u64(r.seq).u64(r.created_ms).bin(r.content_hash).str(r.subject).array(r.recipients.size());
    for (const auto& a : r.recipients) w.str(a);
    w.u64(r.size).u64(r.urgency).bin(r.content_key_wrapped);
    return w.take();
}

Result<SentRecord> decode_sent(const Hash32& id, ByteView v) {
    LT_ASSIGN(auto d, Decoded::parse(v, "sent_info record"));
    auto r = d.root();
    SentRecord s;
    s.id = id;
    LT_ASSIGN(s.seq, r.u64("seq"));
    LT_ASSIGN(s.created_ms, r.u64("created_ms"));
    LT_ASSIGN(s.content_hash, r.fixed<32>("content_hash"));
    LT_ASSIGN(s.subject, r.str("subject", 1 << 20));
    LT_ASSIGN(auto rs, r.array("recipients", 1024));
    while (rs.remaining() > 0) {
        LT_ASSIGN(auto a, rs.str("recipient", 64));
        s.recipients.push_back(std::move(a));
    }
    LT_ASSIGN(s.size, r.u64("size"));
    LT_ASSIGN(s.urgency, r.u64("urgency"));
    LT_ASSIGN(auto wrapped, r.bin("content_key", 256));
    s.content_key_wrapped.assign(wrapped.begin(), wrapped.end());
    return s;
}

Bytes encode(const DeliveryRecord& r) {
    return Writer()
        .array(11)
        .u64(static_cast<uint64_t>(r.state))
        .u64(r.queued_ms)
        .u64(r.receipt_ms)
        .u64(r.attempts)
        .str(r.last_error)
        .u64(r.outbox_seq)
        .u64(r.urgency)
        .u64(r.acked_ms)
        .bin(r.receipt_id ? ByteView(*r.receipt_id) : ByteView())
        .str(r.via)
        .u64(r.custody_ms)
        .take();
}

Result<DeliveryRecord> decode_delivery(std::string recipient, ByteView v) {
    LT_ASSIGN(auto d, Decoded::parse(v, "delivery record"));
    auto r = d.root();
    DeliveryRecord out;
    out.recipient = std::move(recipient);
    LT_ASSIGN(auto state, r.u64("state"));
    out.state = static_cast<DeliveryState>(state);
    LT_ASSIGN(out.queued_ms, r.u64("queued_ms"));
    LT_ASSIGN(out.receipt_ms, r.u64("receipt_ms"));
    LT_ASSIGN(out.attempts, r.u64("attempts"));
    LT_ASSIGN(out.last_error, r.str("last_error", 4096));
    LT_ASSIGN(out.outbox_seq, r.u64("outbox_seq"));
    LT_ASSIGN(out.urgency, r.u64("urgency"));
    LT_ASSIGN(out.acked_ms, r.u64("acked_ms"));
    LT_ASSIGN(auto rid, r.bin("receipt_id", 32));
    if (rid.size() == 32) out.receipt_id = to_hash(rid);
    if (r.remaining() > 0) {
        LT_ASSIGN(out.via, r.str("via", protocol::kMaxAgencyLength));
        LT_ASSIGN(out.custody_ms, r.u64("custody_ms"));
    }
    return out;
}

Bytes encode(const InboxRecord& r) {
    return Writer()
        .array(8)
        .u64(r.seq)
        .u64(r.received_ms)
        .str(r.sender)
        .bin(r.content_hash)
        .str(r.subject)
        .u64(r.size)
        .bin(r.receipt_id)
        .u64(r.created_ms)
        .take();
}

Result<InboxRecord> decode_inbox(const Hash32& id, ByteView v) {
    LT_ASSIGN(auto d, Decoded::parse(v, "inbox record"));
    auto r = d.root();
    InboxRecord out;
    out.id = id;
    LT_ASSIGN(out.seq, r.u64("seq"));
    LT_ASSIGN(out.received_ms, r.u64("received_ms"));
    LT_ASSIGN(out.sender, r.str("sender", 64));
    LT_ASSIGN(out.content_hash, r.fixed<32>("content_hash"));
    LT_ASSIGN(out.subject, r.str("subject", 1 << 20));
    LT_ASSIGN(out.size, r.u64("size"));
    LT_ASSIGN(out.receipt_id, r.fixed<32>("receipt_id"));
    if (r.remaining() > 0) {
        LT_ASSIGN(out.created_ms, r.u64("created_ms"));
    }
    return out;
}

Bytes encode(const PeerRecord& p) {
    return Writer()
        .array(5)
        .bin(p.identity.sign_key)
        .bin(p.identity.box_key)
        .str(p.endpoint)
        .str(p.source)
        .u64(p.added_ms)
        .take();
}

Result<PeerRecord> decode_peer(std::string agency, ByteView v) {
    LT_ASSIGN(auto d, Decoded::parse(v, "peer record"));
    auto r = d.root();
    PeerRecord p;
    p.identity.agency = std::move(agency);
    LT_ASSIGN(p.identity.sign_key, r.fixed<32>("sign_key"));
    LT_ASSIGN(p.identity.box_key, r.fixed<32>("box_key"));
    LT_ASSIGN(p.endpoint, r.str("endpoint", 1024));
    LT_ASSIGN(p.source, r.str("source", 64));
    LT_ASSIGN(p.added_ms, r.u64("added_ms"));
    return p;
}
}  // namespace

namespace {
// Every table Store::open creates; any other key in the main table is foreign data. Keep in
// step with Store::open (a table missing here makes every fresh open fail, so it shows at once).
const std::set<std::string> kTableNames = {"meta",       "documents", "sent",     "sent_info",
                                           "deliveries", "outbox",    "receipts", "inbox",
                                           "inbox_info", "peers",      "ids",
                                           // catalog.h's tables
                                           "doc_summary", "doc_by_time", "terms", "business", "lifecycle",
                                           "statuses", "status_msgs",
                                           // node_impl.h's drop folder tables
                                           "drop_done", "drop_export", "directory", "audit", "audit_heads", "transit", "forward", "transfers", "chunks"};
}  // namespace

Result<std::unique_ptr<Store>> Store::open(const EnvOptions& options, const std::string& agency) {
    LT_ASSIGN(auto env, Env::open(options));
    std::unique_ptr<Store> s(new Store());
    s->m_env = std::move(env);
    struct Named {
        const char* name;
        MDB_dbi* dbi;
    };
    for (auto [name, dbi] : {Named{"meta", &s->m_meta}, Named{"documents", &s->m_documents},
                             Named{"sent", &s->m_sent}, Named{"sent_info", &s->m_sent_info},
                             Named{"deliveries", &s->m_deliveries}, Named{"outbox", &s->m_outbox},
                             Named{"receipts", &s->m_receipts}, Named{"inbox", &s->m_inbox},
                             Named{"inbox_info", &s->m_inbox_info}, Named{"peers", &s->m_peers},
                             Named{"directory", &s->m_directory}, Named{"transit", &s->m_transit},
                             Named{"forward", &s->m_forward}, Named{"transfers", &s->m_transfers},
                             Named{"chunks", &s->m_chunks}}) {
        LT_ASSIGN(*dbi, s->m_env->table(name));
    }
    LT_ASSIGN(s->m_numbers, DocNumbers::open(*s->m_env));
    LT_TRY(s->check_schema(agency));
    return s;
}

Result<std::unique_ptr<Store>> Store::open_read_only(const std::string& dir) {
    EnvOptions options;
    options.dir = dir;
    options.read_only = true;
    LT_ASSIGN(auto env, Env::open(options));
    std::unique_ptr<Store> s(new Store());
    s->m_env = std::move(env);
    LT_ASSIGN(s->m_meta, s->m_env->table("meta"));
    const auto id = s->m_env->read([&](const ReadTxn& t) { return s->identity(t); });
    if (id.schema_version != kSchemaVersion)
        return make_error("the database in '" + dir + "' has schema version " + std::to_string(id.schema_version) +
                          ", not " + std::to_string(kSchemaVersion) +
                          (id.schema_version < kSchemaVersion ? ": start the node once to migrate it"
                                                              : ": use a newer lienthong-admin"));
    struct Named {
        const char* name;
        MDB_dbi* dbi;
    };
    for (auto [name, dbi] : {Named{"documents", &s->m_documents}, Named{"sent", &s->m_sent},
                             Named{"sent_info", &s->m_sent_info}, Named{"deliveries", &s->m_deliveries},
                             Named{"outbox", &s->m_outbox}, Named{"receipts", &s->m_receipts}, Named{"inbox", &s->m_inbox},
                             Named{"inbox_info", &s->m_inbox_info}, Named{"peers", &s->m_peers},
                             Named{"directory", &s->m_directory}, Named{"transit", &s->m_transit},
                             Named{"forward", &s->m_forward}, Named{"transfers", &s->m_transfers},
                             Named{"chunks", &s->m_chunks}}) {
        LT_ASSIGN(*dbi, s->m_env->table(name));
    }
    LT_ASSIGN(s->m_numbers, DocNumbers::open(*s->m_env));
    return s;
}

StoreIdentity Store::identity(const ReadTxn& t) const {
    StoreIdentity id;
    if (auto v = t.get(m_meta, protocol::as_bytes(kSchemaKey)); v && v->size() == 4)
        id.schema_version = (uint32_t((*v)[0]) << 24) | (uint32_t((*v)[1]) << 16) | (uint32_t((*v)[2]) << 8) | uint32_t((*v)[3]);
    if (auto a = t.get(m_meta, protocol::as_bytes(kAgencyKey))) id.agency = std::string(protocol::as_chars(*a));
    return id;
}

std::map<std::string, uint64_t> Store::table_counts(const ReadTxn& t) const {
    return {{"documents", t.count(m_documents)}, {"sent", t.count(m_sent)},       {"inbox", t.count(m_inbox)},
            {"outbox", t.count(m_outbox)},       {"receipts", t.count(m_receipts)}, {"deliveries", t.count(m_deliveries)},
            {"peers", t.count(m_peers)},         {"directory", t.count(m_directory)}, {"transit", t.count(m_transit)},
            {"chunks", t.count(m_chunks)}};
}

Status Store::check_schema(const std::string& agency) {
    struct Seen {
        std::optional<uint32_t> version;
        std::optional<std::string> agency;
        bool has_data = false;
    };
    const Seen seen = m_env->read([&](const ReadTxn& t) {
        Seen s;
        if (auto v = t.get(m_meta, protocol::as_bytes(kSchemaKey)); v && v->size() == 4)
            s.version = (uint32_t((*v)[0]) << 24) | (uint32_t((*v)[1]) << 16) |
                        (uint32_t((*v)[2]) << 8) | uint32_t((*v)[3]);
        else if (v)
            s.version = 0xffffffff;
        if (auto a = t.get(m_meta, protocol::as_bytes(kAgencyKey))) s.agency = std::string(protocol::as_chars(*a));
        s.has_data = t.count(m_documents) + t.count(m_peers) + t.count(m_meta) > 0;
        // Another program's data lives in its own named tables or in the unnamed main table,
        // whose keys are otherwise exactly the names of our tables.
        MDB_dbi main_table = 0;
        if (mdb_dbi_open(t.raw(), nullptr, 0, &main_table) == 0)
            t.scan(main_table, {}, [&](ByteView k, ByteView) {
                if (!kTableNames.count(std::string(protocol::as_chars(k)))) s.has_data = true;
                return !s.has_data;
            });
        return s;
    });
    const std::string where = " in '" + m_env->dir() + "'";
    if (!seen.version) {
        if (seen.has_data)
            return make_error("database" + where +
                              " has data but no schema version: it was not written by lienthong-node; "
                              "point data_dir at an empty directory");
        return m_env->write([&](WriteTxn& t) -> Status {
            const uint8_t v[4] = {0, 0, 0, kSchemaVersion};
            LT_TRY(t.put(m_meta, protocol::as_bytes(kSchemaKey), ByteView(v, 4)));
            return t.put(m_meta, protocol::as_bytes(kAgencyKey), protocol::as_bytes(agency));
        });
    }
    if (*seen.version > kSchemaVersion)
        return make_error("database" + where + " has schema version " + std::to_string(*seen.version) +
                          ", newer than this lienthong-node understands (" +
                          std::to_string(kSchemaVersion) + "); run a newer lienthong-node");
    if (seen.agency && *seen.agency != agency)
        return make_error("database" + where + " belongs to agency '" + *seen.agency +
                          "', not '" + agency + "'; use that agency's config or another data_dir");
    if (*seen.version == 2) return migrate_from_2();
    if (*seen.version < kSchemaVersion)
        return make_error("database" + where + " has schema version " + std::to_string(*seen.version) +
                          ", a pre-release format this lienthong-node cannot read (documents were sealed "
                          "in content version 1); export what you need with the old binary, then move '" +
                          m_env->dir() + "' aside and start with an empty data_dir");
    return ok_status();
}

Result<uint64_t> Store::next_seq(WriteTxn& t) {
    uint64_t seq = 0;
    if (auto v = t.get(m_meta, protocol::as_bytes(kSeqKey))) seq = read_be64(*v);
    ++seq;
    LT_TRY(t.put(m_meta, protocol::as_bytes(kSeqKey), be64(seq)));
    return seq;
}

Status Store::add_sent(WriteTxn& t, SentRecord& rec, ByteView envelope, uint64_t now_ms) {
    LT_ASSIGN(rec.seq, next_seq(t));
    LT_ASSIGN(const uint64_t n, store_envelope(t, rec.id, envelope));
    LT_TRY(t.put_last(m_sent, be64(rec.seq), rec.id));
    LT_TRY(t.put_last(m_sent_info, number_key(n), encode(rec)));
    for (const auto& r : rec.recipients) {
        DeliveryRecord d;
        d.recipient = r;
        d.queued_ms = now_ms;
        d.outbox_seq = rec.seq;
        d.urgency = rec.urgency;
        LT_TRY(t.put_last(m_deliveries, number_key(n, protocol::as_bytes(r)), encode(d)));
        LT_TRY(t.put_last(m_outbox, outbox_key(r, rec.urgency, rec.seq), rec.id));
    }
    return ok_status();
}

Result<bool> Store::record_receipt(WriteTxn& t, const Hash32& id, const std::string& recipient,
                                   uint64_t receipt_ms, uint64_t acked_ms, const Hash32& receipt_id) {
    const auto n = number_of(t, id);
    if (!n) return false;
    const Bytes key = number_key(*n, protocol::as_bytes(recipient));
    auto raw = t.get(m_deliveries, key);
    if (!raw) return false;
    LT_ASSIGN(auto d, decode_delivery(recipient, *raw));
    if (d.state == DeliveryState::delivered) return false;
    // A receipt outweighs a refusal: the recipient has the document after all.
    d.state = DeliveryState::delivered;
    d.receipt_ms = receipt_ms;
    d.acked_ms = acked_ms;
    d.receipt_id = receipt_id;
    d.last_error.clear();
    LT_TRY(t.put(m_deliveries, key, encode(d)));
    LT_TRY(t.del(m_outbox, outbox_key(recipient, d.urgency, d.outbox_seq)));
    return true;
}

Result<bool> Store::redeliver(WriteTxn& t, const Hash32& id, const std::string& recipient) {
    const auto n = number_of(t, id);
    if (!n) return false;
    const Bytes key = number_key(*n, protocol::as_bytes(recipient));
    auto raw = t.get(m_deliveries, key);
    if (!raw) return false;
    LT_ASSIGN(auto d, decode_delivery(recipient, *raw));
    if (d.state != DeliveryState::delivered) return false;
    d.state = DeliveryState::pending;
    d.receipt_ms = 0;
    d.acked_ms = 0;
    d.receipt_id.reset();
    d.via.clear();
    d.custody_ms = 0;
    d.attempts = 0;
    d.last_error = "redelivery asked by the recipient";
    LT_TRY(t.put(m_deliveries, key, encode(d)));
    LT_TRY(t.put(m_outbox, outbox_key(recipient, d.urgency, d.outbox_seq), id));
    return true;
}

Result<bool> Store::record_custody(WriteTxn& t, const Hash32& id, const std::string& recipient,
                                   const std::string& via, uint64_t now_ms) {
    const auto n = number_of(t, id);
    if (!n) return false;
    const Bytes key = number_key(*n, protocol::as_bytes(recipient));
    auto raw = t.get(m_deliveries, key);
    if (!raw) return transit_custody(t, id, recipient, via, now_ms);  // carried here as a relay
    LT_ASSIGN(auto d, decode_delivery(recipient, *raw));
    if (d.state != DeliveryState::pending || d.custody_ms != 0) return false;
    d.via = via;
    d.custody_ms = now_ms;
    d.last_error.clear();
    LT_TRY(t.put(m_deliveries, key, encode(d)));
    LT_TRY(t.del(m_outbox, outbox_key(recipient, d.urgency, d.outbox_seq)));
    return true;
}

Result<bool> Store::refuse_delivery(WriteTxn& t, const Hash32& id, const std::string& recipient,
                                    const std::string& reason) {
    const auto n = number_of(t, id);
    if (!n) return false;
    const Bytes key = number_key(*n, protocol::as_bytes(recipient));
    auto raw = t.get(m_deliveries, key);
    if (!raw) return refuse_transit(t, id, recipient);
    LT_ASSIGN(auto d, decode_delivery(recipient, *raw));
    if (d.state != DeliveryState::pending) return false;
    d.state = DeliveryState::refused;
    d.last_error = reason.substr(0, 4000);
    LT_TRY(t.put(m_deliveries, key, encode(d)));
    LT_TRY(t.del(m_outbox, outbox_key(recipient, d.urgency, d.outbox_seq)));
    return true;
}

Status Store::put_receipt(WriteTxn& t, const Hash32& receipt_id, ByteView receipt_wire) {
    return t.put(m_receipts, receipt_id, receipt_wire);
}

Status Store::note_attempt(WriteTxn& t, const Hash32& id, const std::string& recipient,
                           const std::string& error) {
    const auto n = number_of(t, id);
    if (!n) return ok_status();
    const Bytes key = number_key(*n, protocol::as_bytes(recipient));
    auto raw = t.get(m_deliveries, key);
    if (!raw) return ok_status();
    LT_ASSIGN(auto d, decode_delivery(recipient, *raw));
    if (d.state != DeliveryState::pending) return ok_status();
    ++d.attempts;
    d.last_error = error;
    return t.put(m_deliveries, key, encode(d));
}

Status Store::add_inbox(WriteTxn& t, InboxRecord& rec, ByteView envelope) {
    LT_ASSIGN(rec.seq, next_seq(t));
    LT_ASSIGN(const uint64_t n, store_envelope(t, rec.id, envelope));
    LT_TRY(t.put_last(m_inbox, be64(rec.seq), rec.id));
    return t.put_last(m_inbox_info, number_key(n), encode(rec));
}

Result<uint64_t> Store::store_envelope(WriteTxn& t, const Hash32& id, ByteView envelope) {
    LT_ASSIGN(const uint64_t n, m_numbers.assign(t, id));
    const Bytes key = number_key(n);
    // The same id is the same bytes (the id is their hash): a second copy is not written again.
    if (!t.get(m_documents, key)) LT_TRY(t.put_last(m_documents, key, envelope));
    return n;
}

std::optional<ByteView> Store::envelope_view(const ReadTxn& t, const Hash32& id) const {
    const auto n = number_of(t, id);
    if (!n) return std::nullopt;
    return t.get(m_documents, number_key(*n));
}

Status Store::put_peer(WriteTxn& t, const PeerRecord& p) {
    return t.put(m_peers, protocol::as_bytes(p.identity.agency), encode(p));
}

Status Store::remove_peer(WriteTxn& t, const std::string& agency) {
    return t.del(m_peers, protocol::as_bytes(agency));
}

std::optional<Bytes> Store::document_slice(const ReadTxn& t, const Hash32& id, uint64_t offset, uint64_t len) const {
    auto v = envelope_view(t, id);
    if (!v) return std::nullopt;
    if (offset >= v->size()) return Bytes();
    const auto part = v->subspan(offset, std::min<uint64_t>(len, v->size() - offset));
    return Bytes(part.begin(), part.end());
}

std::optional<uint64_t> Store::document_size(const ReadTxn& t, const Hash32& id) const {
    auto v = envelope_view(t, id);
    if (!v) return std::nullopt;
    return v->size();
}

bool Store::with_document(const ReadTxn& t, const Hash32& id, const std::function<void(ByteView)>& fn) const {
    auto v = envelope_view(t, id);
    if (!v) return false;
    fn(*v);
    release_pages(*v);
    return true;
}

std::optional<Bytes> Store::document(const ReadTxn& t, const Hash32& id) const {
    auto v = envelope_view(t, id);
    if (!v) return std::nullopt;
    Bytes out(v->begin(), v->end());
    release_pages(*v);
    return out;
}

std::optional<InboxRecord> Store::inbox_record(const ReadTxn& t, const Hash32& id) const {
    const auto n = number_of(t, id);
    if (!n) return std::nullopt;
    auto v = t.get(m_inbox_info, number_key(*n));
    if (!v) return std::nullopt;
    auto r = decode_inbox(id, *v);
    if (!r.ok()) return std::nullopt;
    return std::move(r).value();
}

std::optional<SentRecord> Store::sent_record(const ReadTxn& t, const Hash32& id) const {
    const auto n = number_of(t, id);
    if (!n) return std::nullopt;
    auto v = t.get(m_sent_info, number_key(*n));
    if (!v) return std::nullopt;
    auto r = decode_sent(id, *v);
    if (!r.ok()) return std::nullopt;
    return std::move(r).value();
}

std::vector<DeliveryRecord> Store::deliveries(const ReadTxn& t, const Hash32& id) const {
    std::vector<DeliveryRecord> out;
    const auto n = number_of(t, id);
    if (!n) return out;
    t.scan_prefix(m_deliveries, number_key(*n), [&](ByteView k, ByteView v) {
        auto d = decode_delivery(std::string(protocol::as_chars(k.subspan(8))), v);
        if (d.ok()) out.push_back(std::move(d).value());
        return true;
    });
    return out;
}

std::optional<DeliveryRecord> Store::delivery(const ReadTxn& t, const Hash32& id,
                                              const std::string& recipient) const {
    const auto n = number_of(t, id);
    if (!n) return std::nullopt;
    auto v = t.get(m_deliveries, number_key(*n, protocol::as_bytes(recipient)));
    if (!v) return std::nullopt;
    auto d = decode_delivery(recipient, *v);
    if (!d.ok()) return std::nullopt;
    return std::move(d).value();
}

std::optional<Bytes> Store::receipt(const ReadTxn& t, const Hash32& receipt_id) const {
    auto v = t.get(m_receipts, receipt_id);
    if (!v) return std::nullopt;
    return Bytes(v->begin(), v->end());
}

void Store::scan_outbox(const ReadTxn& t, const std::string& agency, ByteView after_key,
                        const std::function<bool(ByteView key, const Hash32& id)>& fn) const {
    const Bytes prefix = outbox_prefix(agency);
    const ByteView start = after_key.empty() ? ByteView(prefix) : after_key;
    t.scan(m_outbox, start, [&](ByteView k, ByteView v) {
        if (k.size() < prefix.size() || !std::equal(prefix.begin(), prefix.end(), k.begin())) return false;
        if (!after_key.empty() && std::equal(k.begin(), k.end(), after_key.begin(), after_key.end()))
            return true;  // strictly after
        return fn(k, to_hash(v));
    });
}

size_t Store::outbox_depth(const ReadTxn& t, const std::string& agency) const {
    size_t n = 0;
    t.scan_prefix(m_outbox, outbox_prefix(agency), [&](ByteView, ByteView) {
        ++n;
        return true;
    });
    return n;
}

size_t Store::outbox_total(const ReadTxn& t) const { return t.count(m_outbox); }

std::vector<InboxRecord> Store::list_inbox(const ReadTxn& t, size_t limit) const {
    std::vector<InboxRecord> out;
    if (limit == 0) return out;
    t.scan_reverse(m_inbox, [&](ByteView, ByteView id) {
        if (auto rec = inbox_record(t, to_hash(id))) out.push_back(std::move(*rec));
        return out.size() < limit;
    });
    return out;
}

std::vector<SentRecord> Store::list_sent(const ReadTxn& t, size_t limit) const {
    std::vector<SentRecord> out;
    if (limit == 0) return out;
    t.scan_reverse(m_sent, [&](ByteView, ByteView id) {
        if (auto rec = sent_record(t, to_hash(id))) out.push_back(std::move(*rec));
        return out.size() < limit;
    });
    return out;
}

std::vector<PeerRecord> Store::peers(const ReadTxn& t) const {
    std::vector<PeerRecord> out;
    t.scan(m_peers, {}, [&](ByteView k, ByteView v) {
        auto p = decode_peer(std::string(protocol::as_chars(k)), v);
        if (p.ok()) out.push_back(std::move(p).value());
        return true;
    });
    return out;
}

Status Store::put_directory_record(WriteTxn& t, const Hash32& id, uint8_t kind, ByteView wire) {
    Bytes v;
    v.reserve(wire.size() + 1);
    v.push_back(kind);
    v.insert(v.end(), wire.begin(), wire.end());
    return t.put(m_directory, id, v);
}

std::vector<DirectoryEntry> Store::directory_records(const ReadTxn& t) const {
    std::vector<DirectoryEntry> out;
    t.scan(m_directory, {}, [&](ByteView k, ByteView v) {
        if (k.size() != 32 || v.empty()) return true;  // damaged: skipped (the peer sends it again)
        DirectoryEntry e;
        std::copy(k.begin(), k.end(), e.id.begin());
        e.kind = v[0];
        e.wire.assign(v.begin() + 1, v.end());
        out.push_back(std::move(e));
        return true;
    });
    return out;
}

std::vector<Hash32> Store::ids_with_prefix(const ReadTxn& t, ByteView prefix, size_t max) const {
    // A number is also given to an id the catalog hears of (a status report) before or
    // without its document: only stored documents count, and those a relay carries or carried
    // (whose bytes it deletes once delivered).
    std::vector<Hash32> out;
    if (max == 0) return out;
    const auto carried = [&](const Hash32& id) {
        bool any = false;
        t.scan_prefix(m_transit, id, [&](ByteView, ByteView) {
            any = true;
            return false;  // one is enough
        });
        return any;
    };
    m_numbers.scan_prefix(t, prefix, [&](const Hash32& id, uint64_t n) {
        if (t.get(m_documents, number_key(n)) || carried(id)) out.push_back(id);
        return out.size() < max;
    });
    return out;
}

std::optional<PeerRecord> Store::peer(const ReadTxn& t, const std::string& agency) const {
    auto v = t.get(m_peers, protocol::as_bytes(agency));
    if (!v) return std::nullopt;
    auto p = decode_peer(agency, *v);
    if (!p.ok()) return std::nullopt;
    return std::move(p).value();
}

}  // namespace lienthong::storage

namespace lienthong::storage {

Status Store::put_health_probe(WriteTxn& t, uint64_t now_ms) {
    return t.put(m_meta, protocol::as_bytes(kHealthProbeKey), be64(now_ms));
}

}  // namespace lienthong::storage
