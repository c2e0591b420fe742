// Receipts: the recipient's signed statement that it durably holds a document.
//
// A receipt travels as a Kind::receipt envelope from the recipient to the sender:
//   payload = [ message_id : bin(32), document_hash : bin(32), recipient : str, received_ms : uint ]
// The envelope signature (recipient's Ed25519 key, domain "lienthong/v1/receipt") is the
// non-repudiation of receipt: it binds the message id, the hash of the plaintext content the
// recipient decrypted and checked, the recipient and the time it committed the document.
#pragma once

#include "protocol/envelope.h"

namespace lienthong::protocol {

struct Receipt {
    Hash32 message_id{};
    Hash32 document_hash{};
    std::string recipient;
    uint64_t received_ms = 0;
};

SignedEnvelope make_receipt(const Receipt& r, const SecretIdentity& recipient,
                            const std::string& original_sender);

// Parses the payload of a receipt envelope and checks it is consistent with the envelope.
// The caller verifies the envelope signature against the recipient's key.
Result<Receipt> parse_receipt(const SignedEnvelope& se);

}  // namespace lienthong::protocol
