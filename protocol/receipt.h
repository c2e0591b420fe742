// Receipts: the recipient's signed statement that it durably holds documents.
//
// A receipt travels as a Kind::receipt envelope from the recipient to the sender:
//   payload = [ recipient : str, received_ms : uint,
//               [[ message_id : bin(32), document_hash : bin(32) ]...] ]
// One receipt covers every document from one sender that the recipient committed in one
// transaction (group commit), so its one Ed25519 signature (domain "lienthong/v1/receipt")
// is paid once per batch, not once per document. It is the non-repudiation of receipt for
// each listed document: it binds the message id, the hash of the plaintext content the
// recipient decrypted and checked, the recipient and the time it committed them.
#pragma once

#include <vector>

#include "protocol/envelope.h"

namespace lienthong::protocol {

constexpr size_t kMaxReceiptEntries = 8192;

struct ReceiptEntry {
    Hash32 message_id{};
    Hash32 document_hash{};
    bool operator==(const ReceiptEntry&) const = default;
};

struct Receipt {
    std::string recipient;
    uint64_t received_ms = 0;
    std::vector<ReceiptEntry> entries;
};

// REQUIRES: 1 <= r.entries.size() <= kMaxReceiptEntries.
SignedEnvelope make_receipt(const Receipt& r, const SecretIdentity& recipient,
                            const std::string& original_sender);

// Parses the payload of a receipt envelope and checks it is consistent with the envelope.
// The caller verifies the envelope signature against the recipient's key.
Result<Receipt> parse_receipt(const SignedEnvelope& se);

}  // namespace lienthong::protocol
