#include "storage/vdxp_tables.h"

#include <sodium.h>

#include "protocol/codec.h"
#include "storage/doc_numbers.h"

namespace lienthong::storage {

namespace {

constexpr size_t kMaxText = 4096;

Bytes queue_key(VdxpQueue q, uint64_t seq) {
    Bytes k{static_cast<uint8_t>(q)};
    const Bytes s = be64(seq);
    k.insert(k.end(), s.begin(), s.end());
    return k;
}

Hash32 to_hash(ByteView b) {
    Hash32 h{};
    if (b.size() == h.size()) std::copy(b.begin(), b.end(), h.begin());
    return h;
}

}  // namespace

const char* vdxp_ack_name(VdxpAckState s) {
    switch (s) {
        case VdxpAckState::processing: return "processing";
        case VdxpAckState::done: return "done";
        case VdxpAckState::fail: return "fail";
    }
    return "?";
}

Result<std::unique_ptr<VdxpTables>> VdxpTables::open(Env& env) {
    auto v = std::make_unique<VdxpTables>();
    LT_ASSIGN(v->m_queue, env.table("vdxp_queue"));
    LT_ASSIGN(v->m_acks, env.table("vdxp_acks"));
    LT_ASSIGN(v->m_uploads, env.table("vdxp_uploads"));
    LT_ASSIGN(v->m_systems, env.table("vdxp_systems"));
    return v;
}

Status VdxpTables::enqueue(WriteTxn& t, const VdxpQueued& item) {
    return t.put(m_queue, queue_key(item.queue, item.seq), item.id);
}

std::vector<VdxpQueued> VdxpTables::pending(const ReadTxn& t, VdxpQueue queue, size_t limit) const {
    std::vector<VdxpQueued> out;
    const Bytes prefix{static_cast<uint8_t>(queue)};
    t.scan_prefix(m_queue, prefix, [&](ByteView k, ByteView v) {
        if (k.size() == 9 && v.size() == 32) out.push_back({queue, read_be64(k.subspan(1)), to_hash(v)});
        return out.size() < limit;
    });
    return out;
}

uint64_t VdxpTables::pending_count(const ReadTxn& t, VdxpQueue queue) const {
    uint64_t n = 0;
    const Bytes prefix{static_cast<uint8_t>(queue)};
    t.scan_prefix(m_queue, prefix, [&](ByteView, ByteView) {
        ++n;
        return true;
    });
    return n;
}

std::optional<VdxpQueue> VdxpTables::queue_of(const ReadTxn& t, const Hash32& id, uint64_t seq) const {
    for (auto q : {VdxpQueue::edoc, VdxpQueue::status}) {
        const auto v = t.get(m_queue, queue_key(q, seq));
        if (v && v->size() == 32 && std::equal(v->begin(), v->end(), id.begin())) return q;
    }
    return std::nullopt;
}

std::optional<VdxpAck> VdxpTables::ack(const ReadTxn& t, const Hash32& id) const {
    const auto v = t.get(m_acks, id);
    if (!v) return std::nullopt;
    auto d = protocol::Decoded::parse(*v, "vdxp ack");
    if (!d.ok()) return std::nullopt;
    auto r = d->root();
    auto state = r.u64("state");
    auto time = r.u64("time_ms");
    auto system = r.str("system", kMaxText);
    auto description = r.str("description", kMaxText);
    if (!state.ok() || !time.ok() || !system.ok() || !description.ok() || *state < 1 || *state > 3) return std::nullopt;
    return VdxpAck{static_cast<VdxpAckState>(*state), *time, *system, *description};
}

Status VdxpTables::set_ack(WriteTxn& t, const Hash32& id, uint64_t seq, const VdxpAck& ack) {
    protocol::Writer w;
    w.array(4).u64(static_cast<uint64_t>(ack.state)).u64(ack.time_ms).str(ack.system.substr(0, kMaxText)).str(
        ack.description.substr(0, kMaxText));
    LT_TRY(t.put(m_acks, id, w.take()));
    if (ack.state == VdxpAckState::processing) return ok_status();
    if (const auto q = queue_of(t, id, seq)) LT_TRY(t.del(m_queue, queue_key(*q, seq)));
    return ok_status();
}

VdxpUploadKey VdxpTables::upload_key(const std::string& system, protocol::ByteView file) {
    unsigned char file_hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(file_hash, file.data(), file.size());
    crypto_generichash_state st;
    VdxpUploadKey key{};
    crypto_generichash_init(&st, nullptr, 0, key.size());
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(system.data()), system.size());
    const unsigned char zero = 0;
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, file_hash, sizeof file_hash);
    crypto_generichash_final(&st, key.data(), key.size());
    return key;
}

std::optional<VdxpUpload> VdxpTables::upload(const ReadTxn& t, const VdxpUploadKey& key) const {
    const auto v = t.get(m_uploads, key);
    if (!v) return std::nullopt;
    auto d = protocol::Decoded::parse(*v, "vdxp upload");
    if (!d.ok()) return std::nullopt;
    auto r = d->root();
    VdxpUpload u;
    auto system = r.str("system", kMaxText);
    auto created = r.u64("created_ms");
    auto ids = r.array("ids", 100000);
    if (!system.ok() || !created.ok() || !ids.ok()) return std::nullopt;
    u.system = *system;
    u.created_ms = *created;
    while (ids->remaining() > 0) {
        auto id = ids->fixed<32>("id");
        if (!id.ok()) return std::nullopt;
        u.ids.push_back(*id);
    }
    return u;
}

Status VdxpTables::add_upload_id(WriteTxn& t, const VdxpUploadKey& key, const std::string& system, uint64_t now,
                                 const Hash32& id) {
    VdxpUpload u = upload(t, key).value_or(VdxpUpload{system, now, {}});
    u.ids.push_back(id);
    protocol::Writer w;
    w.array(3).str(u.system.substr(0, kMaxText)).u64(u.created_ms).array(u.ids.size());
    for (const auto& i : u.ids) w.bin(i);
    return t.put(m_uploads, key, w.take());
}

std::vector<VdxpSystemRecord> VdxpTables::systems(const ReadTxn& t) const {
    std::vector<VdxpSystemRecord> out;
    t.scan(m_systems, {}, [&](ByteView k, ByteView v) {
        auto d = protocol::Decoded::parse(v, "vdxp system");
        if (!d.ok()) return true;  // damaged: left out, never guessed
        auto r = d->root();
        auto agency = r.str("agency", kMaxText);
        auto file = r.str("secret_file", kMaxText);
        auto added = r.u64("added_ms");
        if (agency.ok() && file.ok() && added.ok())
            out.push_back({std::string(protocol::as_chars(k)), *agency, *file, *added});
        return true;
    });
    return out;
}

Status VdxpTables::put_system(WriteTxn& t, const VdxpSystemRecord& s) {
    protocol::Writer w;
    w.array(3).str(s.agency).str(s.secret_file).u64(s.added_ms);
    return t.put(m_systems, protocol::as_bytes(s.systemid), w.take());
}

Status VdxpTables::remove_system(WriteTxn& t, const std::string& systemid) {
    return t.del(m_systems, protocol::as_bytes(systemid));
}

}  // namespace lienthong::storage
