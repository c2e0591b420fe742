// Peer-link frames: what two connected nodes say to each other over ZeroMQ.
//
// Every frame is ONE ZeroMQ message part: a small canonical msgpack header, followed, for
// frames that carry an envelope, by the envelope's wire bytes.
//   header = [ type : uint, ...fields ]
//   Deliver  [1] envelope          sender → recipient: please take custody
//   Ack      [2] envelope          recipient → sender: a signed receipt
//   Reject   [3, message_id:bin(32)|bin(0), reason:str(, true)]   why an envelope was refused;
//                                  the fourth field, written only as `true`, says it always will
//                                  be: the sender stops offering it to this peer
//   Ping     [4, nonce:uint]       liveness probe from the connecting side
//   Pong     [5, nonce:uint]       answer to Ping
//   Relay    [11, to:str, hops_left:uint, urgency:uint] envelope
//                                  previous hop → relay: take custody of this envelope and
//                                  carry it on to `to` (one of its recipients)
//   Custody  [12, id:bin(32), to:str]  "I hold message `id` for `to` durably": a relay's answer
//                                  to Relay; with to = "" a node's answer to a receipt a relay
//                                  forwarded to it (id = the receipt's id)
//   Sync     [13, since_ms:uint] message  one step of range-based reconciliation
//                                  (protocol/reconcile.h) of the messages the connecting side
//                                  sent to the other created at or after since_ms, against
//                                  those the other received from it; and the answer
//   ReceiptWant [14] [[id:bin(32)...]]  "you hold these of mine: send me their receipts"
//   Offer    [15, id:bin(32), total:uint, chunk_size:uint] [[hash:bin(32)...], signature:bin(64)]
//                                  a large envelope, announced by its manifest: its size and the
//                                  BLAKE2b-256 of each chunk, signed by the sending node
//                                  (domain "lienthong/v1/manifest" over manifest_body())
//   ChunkWant [16, id:bin(32)] [[index:uint...]]  the receiver pulls the chunks it lacks
//   Chunk    [17, id:bin(32), index:uint] bytes   one chunk
//   RelayOffer [18, to:str, hops_left:uint, urgency:uint, id:bin(32), total:uint, chunk_size:uint]
//            [[hash:bin(32)...], signature:bin(64)]   a large envelope for a relay to carry on
//                                  to `to`: Relay's header and Offer's manifest; the relay
//                                  pulls the chunks with ChunkWant and answers Custody when
//                                  the envelope is whole and verified
//   AuditHead  [19] [agency, seq, head, time_ms, signature]  a signed head of the sender's
//                                  audit log (protocol/audit.h), for the receiver to witness
//   AuditHeadsWant [20]            "send me the heads of my log you hold"
//   AuditHeads [21] [[signed head:bin...]]  the answer: at most kMaxAuditHeadsInFrame
//   Resync   [22, since_ms:uint] message  as Sync, the other way round: the connecting side
//                                  is the recipient (a node restored from a backup taken at
//                                  since_ms); the reconciliation is of what the other side
//                                  delivered to it since then against what it holds from it
//   RedeliverWant [23] [[id:bin(32)...]]  "you delivered these to me, but I lost them: queue
//                                  them for me again"
//   DirWant    [8] [[id:bin(32)...]]             send me these records
//   DirRecords [9] [[[kind:uint, record:bin]...]] records (kind 1 node, 2 issuer, 3 revocation,
//                                                  4 cross-trust)
//   DirReconcile [10] message                     one step of range-based reconciliation of the
//                                                  record ids (protocol/reconcile.h), from the
//                                                  connecting side (initiator) or the answer
// The directory frames carry their lists as a second canonical msgpack value after the header,
// bounded by kMaxDirectoryItems; each record is verified by the receiver against its own roots
// (protocol/trust.h), never trusted because a peer sent it.
// (One part, not two: libzmq 4.3 can abort the process when a connection drops between the
// parts of a multipart message — "Assertion failed: !_more (src/fq.cpp)".)
// Decoding never throws; anything malformed is an error the caller counts against the peer.
#pragma once

#include <variant>

#include "protocol/audit.h"
#include "protocol/codec.h"
#include "protocol/identity.h"

namespace lienthong::protocol {

struct DeliverFrame {
    Bytes envelope;
};
struct AckFrame {
    Bytes envelope;
};
struct RejectFrame {
    Bytes message_id;  // empty when the envelope could not even be parsed
    std::string reason;
    bool permanent = false;  // sending it again cannot succeed (malformed, not addressed, …)
};
struct PingFrame {
    uint64_t nonce = 0;
};
struct PongFrame {
    uint64_t nonce = 0;
};

constexpr uint64_t kMaxRelayHops = 8;
struct RelayFrame {
    std::string to;
    uint64_t hops_left = 0;  // 1..kMaxRelayHops: hops this envelope may still make after this one
    uint64_t urgency = 0;    // 0..3, the sender's outbox order (documents are sealed: relays cannot read it)
    Bytes envelope;
};
struct CustodyFrame {
    Hash32 id{};
    std::string to;
};
struct SyncFrame {
    uint64_t since_ms = 0;
    Bytes message;  // a reconcile message, decoded by its reader
};
struct ReceiptWantFrame {
    std::vector<Hash32> ids;
};
struct ResyncFrame {
    uint64_t since_ms = 0;
    Bytes message;  // a reconcile message, decoded by its reader
};
struct RedeliverWantFrame {
    std::vector<Hash32> ids;
};
constexpr size_t kMaxChunks = 1u << 16;             // chunks in one manifest
constexpr uint64_t kMaxChunkSize = 1ull << 20;       // bytes in one chunk (senders use 64 KiB)
// ceil(total / chunk_size) without overflow. REQUIRES: chunk_size > 0.
uint64_t chunk_count(uint64_t total, uint64_t chunk_size);
// Decoded offers hold: 0 < total, 0 < chunk_size <= kMaxChunkSize, and one hash per chunk
// (hashes.size() == chunk_count(total, chunk_size) <= kMaxChunks). Whether `total` is within the
// receiver's envelope limit is the receiver's to check.
struct OfferFrame {
    Hash32 id{};
    uint64_t total = 0;
    uint64_t chunk_size = 0;
    std::vector<Hash32> hashes;
    Signature signature{};
    // The bytes the signature covers: [id, total, chunk_size, [hash...]].
    Bytes manifest_body() const;
};

// The manifest of `envelope` (message `id`) in chunks of `chunk_size`, signed by the sending
// node; its check with that node's key; the hash of one chunk (domain "lienthong/v1/chunk").
OfferFrame make_manifest(const SignSecretKey& sk, const Hash32& id, ByteView envelope, uint64_t chunk_size);
bool verify_manifest(const SignPublicKey& pk, const OfferFrame& f);
Hash32 chunk_hash(ByteView chunk);
// A large envelope handed to a relay (issue 4): the relay header of RelayFrame and the
// manifest of OfferFrame. The relay pulls the chunks as a receiver does, stores each once
// (however many recipients it carries the document for), and takes custody when the envelope
// is whole and verified.
struct RelayOfferFrame {
    std::string to;
    uint64_t hops_left = 0;
    uint64_t urgency = 0;
    OfferFrame offer;
};
struct ChunkWantFrame {
    Hash32 id{};
    std::vector<uint32_t> indices;
};
struct ChunkFrame {
    Hash32 id{};
    uint32_t index = 0;
    Bytes data;
};
struct DirWantFrame {
    std::vector<Hash32> ids;
};
struct DirReconcileFrame {
    Bytes message;  // a reconcile message (protocol/reconcile.h), decoded by its reader
};
enum class DirRecordKind : uint8_t { node = 1, issuer = 2, revocation = 3, cross_trust = 4 };
struct DirRecordsFrame {
    std::vector<std::pair<DirRecordKind, Bytes>> records;
};

constexpr size_t kMaxDirectoryItems = 50000;

// The audit frames carry signed heads whose form is checked here; their signatures are the
// receiver's to check (with the key it knows for the sender).
struct AuditHeadFrame {
    AuditHead head;
};
struct AuditHeadsWantFrame {};
constexpr size_t kMaxAuditHeadsInFrame = 16;
struct AuditHeadsFrame {
    std::vector<AuditHead> heads;
};

// Types 6 and 7 (a digest, then every id) were the directory exchange before DirReconcile;
// they are no longer understood.
using Frame = std::variant<DeliverFrame, AckFrame, RejectFrame, PingFrame, PongFrame, DirWantFrame, DirRecordsFrame,
                           DirReconcileFrame, RelayFrame, CustodyFrame, SyncFrame, ReceiptWantFrame, OfferFrame,
                           ChunkWantFrame, ChunkFrame, RelayOfferFrame, AuditHeadFrame, AuditHeadsWantFrame,
                           AuditHeadsFrame, ResyncFrame, RedeliverWantFrame>;

Bytes encode_frame(const Frame& f);
Result<Frame> decode_frame(ByteView frame, size_t max_envelope_bytes);

}  // namespace lienthong::protocol
