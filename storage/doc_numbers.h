// DocNumbers: the local number of every message this node stores. The documents and the
// per-document records (sent_info, deliveries, inbox_info, doc_summary, statuses) are keyed
// by it, not by the message id: ids are hashes, so keying by them put each message of a
// commit on its own random page of every table (about 22 pages written per 1 KiB document);
// numbers are handed out in order, so one commit's records land on the last pages of each
// table and the only random write per message is its entry here.
//
// Table (in the Store's environment):
// | table | key                 | value                                            |
// |-------|---------------------|--------------------------------------------------|
// | ids   | message id (32)     | number (u64 big-endian), never reused            |
// |       | "next_number" (11)  | u64 big-endian: the last number handed out       |
// Thread-safety: as Env (writes inside one Env::write).
#pragma once

#include <functional>
#include <optional>

#include "protocol/identity.h"
#include "storage/lmdb.h"

namespace lienthong::storage {

using protocol::Hash32;

Bytes be64(uint64_t v);
uint64_t read_be64(ByteView b);

class DocNumbers {
public:
    static Result<DocNumbers> open(Env& env);

    // The number of `id`, if it has one.
    std::optional<uint64_t> find(const ReadTxn& t, const Hash32& id) const;
    // The number of `id`, handing out the next one when it has none.
    Result<uint64_t> assign(WriteTxn& t, const Hash32& id);
    // Calls fn(id, number) for the ids that start with `prefix`, in id order, while it returns true.
    void scan_prefix(const ReadTxn& t, ByteView prefix, const std::function<bool(const Hash32&, uint64_t)>& fn) const;

private:
    MDB_dbi m_ids{};
};

// A key that starts with a document number (8 bytes, big-endian), then `rest`.
Bytes number_key(uint64_t number, ByteView rest = {});

}  // namespace lienthong::storage
