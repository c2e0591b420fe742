// Keys shared by the Store's source files (store.cpp, store_relay.cpp): layouts in store.h.
// Internal to storage/.
#pragma once

#include <algorithm>
#include <string>

#include "storage/store.h"

namespace lienthong::storage::keys {

inline Bytes id_agency_key(const Hash32& id, const std::string& agency) {
    Bytes k(id.begin(), id.end());
    k.insert(k.end(), agency.begin(), agency.end());
    return k;
}

inline Bytes outbox_key(const std::string& agency, uint64_t urgency, uint64_t seq) {
    Bytes k(agency.begin(), agency.end());
    k.push_back(0);
    k.push_back(static_cast<uint8_t>(3 - std::min<uint64_t>(urgency, 3)));
    const Bytes s = be64(seq);
    k.insert(k.end(), s.begin(), s.end());
    return k;
}

inline Hash32 to_hash(ByteView b) {
    Hash32 h{};
    if (b.size() == h.size()) std::copy(b.begin(), b.end(), h.begin());
    return h;
}

}  // namespace lienthong::storage::keys
