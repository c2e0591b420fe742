// Store::verify: lienthong-admin verify. Everything is read in one snapshot and nothing is
// written; what is wrong is reported, entry by entry, never repaired.
//
// Checked:
//   documents  every stored envelope decodes, is stored under the number its id has in `ids`,
//              and is signed by a key of its sender (ours, a peer's, a directory record's);
//   receipts   every receipt decodes, is a receipt, is stored under its own id, and is signed;
//   sent       every entry names a message with its sent_info record and its envelope;
//   inbox      every entry names a message with its inbox_info record, its envelope, and the
//              receipt we signed for it;
//   outbox     every entry names a stored envelope whose delivery (or, at a relay, transit)
//              to that agency is pending;
//   deliveries every delivery's document is stored, and a delivered one's receipt is stored.
#include <unordered_map>

#include "protocol/envelope.h"
#include "protocol/trust.h"
#include "storage/store.h"
#include "storage/store_keys.h"

namespace lienthong::storage {

using namespace keys;

void VerifyReport::add(std::string table, std::string key, std::string what) {
    ++problem_count;
    if (problems.size() < kMaxProblems) problems.push_back({std::move(table), std::move(key), std::move(what)});
}

namespace {

using KeysByAgency = std::map<std::string, std::vector<protocol::SignPublicKey>>;

// Whether `se` is signed by a key of its sender: true/false, or nullopt when none is known.
std::optional<bool> signed_by_sender(const protocol::SignedEnvelope& se, const KeysByAgency& keys) {
    const auto it = keys.find(se.env.from);
    if (it == keys.end() || it->second.empty()) return std::nullopt;
    for (const auto& k : it->second)
        if (protocol::verify_envelope(se, k)) return true;
    return false;
}

}  // namespace

VerifyReport Store::verify(const ReadTxn& t, const std::vector<protocol::SignPublicKey>& own_keys) const {
    VerifyReport r;
    KeysByAgency keys;
    const std::string own = identity(t).agency;
    keys[own] = own_keys;
    for (const auto& p : peers(t)) keys[p.identity.agency].push_back(p.identity.sign_key);
    for (const auto& d : directory_records(t)) {
        if (d.kind != 1) continue;  // node records carry the agencies' signing keys
        if (auto rec = protocol::NodeRecord::decode(d.wire); rec.ok()) keys[rec->agency].push_back(rec->sign_key);
    }
    // ids: number → id, to check each stored envelope against the id it is stored under.
    std::unordered_map<uint64_t, Hash32> id_of;
    m_numbers.scan_prefix(t, {}, [&](const Hash32& id, uint64_t n) {
        id_of.emplace(n, id);
        return true;
    });
    const protocol::EnvelopeLimits unlimited{SIZE_MAX};
    const auto note_unverifiable = [&](const std::string& sender) { ++r.unverifiable_by_sender[sender]; };

    t.scan(m_documents, {}, [&](ByteView k, ByteView v) {
        ++r.envelopes;
        const uint64_t n = k.size() == 8 ? read_be64(k) : 0;
        const std::string key = "number " + std::to_string(n);
        const auto named = id_of.find(n);
        if (named == id_of.end()) return r.add("documents", key, "no id in the ids table is numbered so"), true;
        const std::string hex = protocol::to_hex(named->second);
        auto se = protocol::decode_envelope(v, unlimited);
        if (!se.ok()) return r.add("documents", hex, "the stored envelope does not decode: " + se.error()), true;
        if (se->id != named->second)
            return r.add("documents", hex, "the stored bytes are not this message's (their id is " + protocol::to_hex(se->id) +
                                               "): altered on disk"),
                   true;
        const auto ok = signed_by_sender(*se, keys);
        if (!ok) note_unverifiable(se->env.from);
        else if (*ok) ++r.envelopes_signed;
        else r.add("documents", hex, "the signature does not verify with any key of its sender '" + se->env.from + "'");
        return true;
    });

    t.scan(m_receipts, {}, [&](ByteView k, ByteView v) {
        ++r.receipts;
        const std::string hex = protocol::to_hex(k);
        auto se = protocol::decode_envelope(v, unlimited);
        if (!se.ok()) return r.add("receipts", hex, "the stored receipt does not decode: " + se.error()), true;
        if (se->env.kind != protocol::Kind::receipt) return r.add("receipts", hex, "the stored envelope is not a receipt"), true;
        if (k.size() != 32 || se->id != to_hash(k))
            return r.add("receipts", hex, "the stored bytes are not this receipt's (altered on disk)"), true;
        const auto ok = signed_by_sender(*se, keys);
        if (!ok) note_unverifiable(se->env.from);
        else if (*ok) ++r.receipts_signed;
        else r.add("receipts", hex, "the signature does not verify with any key of its signer '" + se->env.from + "'");
        return true;
    });

    const auto stored = [&](const Hash32& id) { return envelope_view(t, id).has_value(); };
    t.scan(m_sent, {}, [&](ByteView k, ByteView v) {
        ++r.index_entries;
        const std::string key = "seq " + std::to_string(k.size() == 8 ? read_be64(k) : 0);
        if (v.size() != 32) return r.add("sent", key, "the entry is not a message id"), true;
        const Hash32 id = to_hash(v);
        if (!sent_record(t, id)) r.add("sent", key, "names " + protocol::to_hex(id) + ", which has no sent_info record");
        else if (!stored(id)) r.add("sent", key, "names " + protocol::to_hex(id) + ", whose envelope is not stored");
        return true;
    });
    t.scan(m_inbox, {}, [&](ByteView k, ByteView v) {
        ++r.index_entries;
        const std::string key = "seq " + std::to_string(k.size() == 8 ? read_be64(k) : 0);
        if (v.size() != 32) return r.add("inbox", key, "the entry is not a message id"), true;
        const Hash32 id = to_hash(v);
        const auto rec = inbox_record(t, id);
        if (!rec) r.add("inbox", key, "names " + protocol::to_hex(id) + ", which has no inbox_info record");
        else if (!stored(id)) r.add("inbox", key, "names " + protocol::to_hex(id) + ", whose envelope is not stored");
        else if (!t.get(m_receipts, rec->receipt_id))
            r.add("inbox", key, "the receipt of " + protocol::to_hex(id) + " (" + protocol::to_hex(rec->receipt_id) + ") is not stored");
        return true;
    });
    t.scan(m_outbox, {}, [&](ByteView k, ByteView v) {
        ++r.index_entries;
        const auto zero = std::find(k.begin(), k.end(), uint8_t{0});
        const std::string agency(k.begin(), zero);
        const std::string key = agency + " " + protocol::to_hex(v);
        if (zero == k.end() || v.size() != 32) return r.add("outbox", key, "the entry is not agency 0x00 urgency seq → id"), true;
        const Hash32 id = to_hash(v);
        if (!stored(id)) return r.add("outbox", key, "its envelope is not stored"), true;
        const auto d = delivery(t, id, agency);
        const auto tr = d ? std::nullopt : transit(t, id, agency);
        const bool pending = (d && d->state == DeliveryState::pending) || (tr && !tr->delivered && !tr->refused);
        if (!pending) r.add("outbox", key, d || tr ? "its delivery is no longer pending" : "it has no delivery or transit record");
        return true;
    });
    t.scan(m_deliveries, {}, [&](ByteView k, ByteView) {
        ++r.index_entries;
        if (k.size() <= 8) return r.add("deliveries", protocol::to_hex(k), "the key is not number + agency"), true;
        const uint64_t n = read_be64(k.first(8));
        const std::string agency(k.begin() + 8, k.end());
        const auto named = id_of.find(n);
        const std::string key = "number " + std::to_string(n) + " " + agency;
        if (named == id_of.end()) return r.add("deliveries", key, "no id in the ids table is numbered so"), true;
        if (!stored(named->second)) return r.add("deliveries", key, "its document is not stored"), true;
        const auto d = delivery(t, named->second, agency);
        if (!d) r.add("deliveries", key, "the record does not decode");
        else if (d->receipt_id && !t.get(m_receipts, *d->receipt_id))
            r.add("deliveries", key, "its receipt " + protocol::to_hex(*d->receipt_id) + " is not stored");
        return true;
    });
    return r;
}

}  // namespace lienthong::storage
