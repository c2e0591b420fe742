#include "storage/resync_marks.h"

#include <vector>

#include "storage/doc_numbers.h"

namespace lienthong::storage {

namespace {
const Bytes kSinceKey = {0, 's', 'i', 'n', 'c', 'e'};
}  // namespace

Result<std::unique_ptr<ResyncMarks>> ResyncMarks::open(Env& env) {
    auto m = std::make_unique<ResyncMarks>();
    LT_ASSIGN(m->m_table, env.table("resync"));
    return m;
}

std::optional<uint64_t> ResyncMarks::since(const ReadTxn& t) const {
    auto v = t.get(m_table, kSinceKey);
    if (!v || v->size() != 8) return std::nullopt;
    return read_be64(*v);
}

Status ResyncMarks::restored(WriteTxn& t, uint64_t since_ms) {
    // A second restore starts over: the peers done after the first are to be asked again.
    std::vector<Bytes> keys;
    t.scan(m_table, {}, [&](ByteView k, ByteView) {
        keys.emplace_back(k.begin(), k.end());
        return true;
    });
    for (const auto& k : keys) LT_TRY(t.del(m_table, k));
    return t.put(m_table, kSinceKey, be64(since_ms));
}

bool ResyncMarks::done(const ReadTxn& t, const std::string& agency) const {
    return t.get(m_table, protocol::as_bytes(agency)).has_value();
}

Status ResyncMarks::set_done(WriteTxn& t, const std::string& agency, uint64_t now_ms) {
    return t.put(m_table, protocol::as_bytes(agency), be64(now_ms));
}

}  // namespace lienthong::storage
