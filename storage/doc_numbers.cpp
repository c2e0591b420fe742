#include "storage/doc_numbers.h"

#include <algorithm>

namespace lienthong::storage {

namespace {
constexpr std::string_view kNextKey = "next_number";
}  // namespace

Bytes be64(uint64_t v) {
    Bytes b(8);
    for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<uint8_t>(v & 0xff);
    return b;
}

uint64_t read_be64(ByteView b) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8 && i < b.size(); ++i) v = (v << 8) | b[i];
    return v;
}

Bytes number_key(uint64_t number, ByteView rest) {
    Bytes k = be64(number);
    k.insert(k.end(), rest.begin(), rest.end());
    return k;
}

Result<DocNumbers> DocNumbers::open(Env& env) {
    DocNumbers n;
    LT_ASSIGN(n.m_ids, env.table("ids"));
    return n;
}

std::optional<uint64_t> DocNumbers::find(const ReadTxn& t, const Hash32& id) const {
    auto v = t.get(m_ids, id);
    if (!v || v->size() != 8) return std::nullopt;
    return read_be64(*v);
}

Result<uint64_t> DocNumbers::assign(WriteTxn& t, const Hash32& id) {
    if (auto n = find(t, id)) return *n;
    uint64_t next = 1;
    if (auto v = t.get(m_ids, protocol::as_bytes(kNextKey)); v && v->size() == 8) next = read_be64(*v) + 1;
    const Bytes number = be64(next);
    LT_TRY(t.put(m_ids, protocol::as_bytes(kNextKey), number));
    LT_TRY(t.put(m_ids, id, number));
    return next;
}

void DocNumbers::scan_prefix(const ReadTxn& t, ByteView prefix,
                             const std::function<bool(const Hash32&, uint64_t)>& fn) const {
    t.scan_prefix(m_ids, prefix, [&](ByteView k, ByteView v) {
        if (k.size() != 32 || v.size() != 8) return true;  // the counter
        Hash32 id{};
        std::copy(k.begin(), k.end(), id.begin());
        return fn(id, read_be64(v));
    });
}

}  // namespace lienthong::storage
