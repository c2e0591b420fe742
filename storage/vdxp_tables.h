// What the national hub's API (node/vdxp_*.cpp) keeps beside the node's own tables: each
// agency's two receive queues, the document systems' acknowledgements, the uploads already
// taken (so an SDK retry sends nothing twice) and the client systems an admin registered.
//
// Tables (in the Store's environment):
// | table        | key                                   | value                                     |
// |--------------|---------------------------------------|-------------------------------------------|
// | vdxp_queue   | queue (u8: 1 edoc, 2 status)          | message id (32): a received message no    |
// |              |   + inbox seq (u64 BE)                |   system has acknowledged done or fail    |
// | vdxp_acks    | message id (32)                       | [state (u8: 1 processing 2 done 3 fail),  |
// |              |                                       |  time_ms, system, description]            |
// | vdxp_uploads | upload key (16): BLAKE2b of system,   | [system, created_ms, [message id (32)...]]|
// |              |   0x00, SHA-256 of the file           |   what that upload was sent as            |
// | vdxp_systems | systemid                              | [agency, secret_file, added_ms]: systems  |
// |              |                                       |   added with lienthong-admin vdxp         |
// A queue entry is written in the transaction that stores the received message in the inbox,
// and deleted in the one that records its done or fail: a message is listed until then.
//
// Thread-safety: as Store: writes inside one Env::write, reads in any ReadTxn.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/identity.h"
#include "storage/lmdb.h"

namespace lienthong::storage {

using protocol::Hash32;

enum class VdxpQueue : uint8_t { edoc = 1, status = 2 };
enum class VdxpAckState : uint8_t { processing = 1, done = 2, fail = 3 };
const char* vdxp_ack_name(VdxpAckState s);

struct VdxpQueued {
    VdxpQueue queue = VdxpQueue::edoc;
    uint64_t seq = 0;  // the message's inbox sequence number
    Hash32 id{};
};

struct VdxpAck {
    VdxpAckState state = VdxpAckState::processing;
    uint64_t time_ms = 0;
    std::string system;
    std::string description;
};

using VdxpUploadKey = std::array<uint8_t, 16>;
struct VdxpUpload {
    std::string system;
    uint64_t created_ms = 0;
    std::vector<Hash32> ids;  // one per message the file became (a status to several agencies: several)
};

struct VdxpSystemRecord {
    std::string systemid;
    std::string agency;
    std::string secret_file;
    uint64_t added_ms = 0;
};

class VdxpTables {
public:
    static Result<std::unique_ptr<VdxpTables>> open(Env& env);

    Status enqueue(WriteTxn& t, const VdxpQueued& item);
    // Oldest first, at most `limit`.
    std::vector<VdxpQueued> pending(const ReadTxn& t, VdxpQueue queue, size_t limit) const;
    uint64_t pending_count(const ReadTxn& t, VdxpQueue queue) const;
    // The queue where the received message (`id`, inbox `seq`) waits, if it does.
    std::optional<VdxpQueue> queue_of(const ReadTxn& t, const Hash32& id, uint64_t seq) const;

    std::optional<VdxpAck> ack(const ReadTxn& t, const Hash32& id) const;
    // Records `ack` for the received message (`id`, inbox `seq`); done and fail take it off
    // its queue.
    Status set_ack(WriteTxn& t, const Hash32& id, uint64_t seq, const VdxpAck& ack);

    static VdxpUploadKey upload_key(const std::string& system, protocol::ByteView file);
    std::optional<VdxpUpload> upload(const ReadTxn& t, const VdxpUploadKey& key) const;
    // Adds `id` to the upload's messages (creating the record with `system` and `now`).
    Status add_upload_id(WriteTxn& t, const VdxpUploadKey& key, const std::string& system, uint64_t now,
                         const Hash32& id);

    std::vector<VdxpSystemRecord> systems(const ReadTxn& t) const;
    Status put_system(WriteTxn& t, const VdxpSystemRecord& s);
    Status remove_system(WriteTxn& t, const std::string& systemid);

private:
    MDB_dbi m_queue{}, m_acks{}, m_uploads{}, m_systems{};
};

}  // namespace lienthong::storage
