// What each node of the tree had to send, to set beside what its interface sent (issue 16:
// each byte carried about once). A document crosses each link of its path once: its sender
// and every relay on the way hand it to the next hop, so a node "had to carry" the envelope
// bytes of each document once per next hop it passes it to (a document for two communes of
// one district crosses the province -> district link once). The node hands a relay one frame
// per (document, recipient), so the figure per recipient is given as well.
//
// What the interface sent (Federation::wire) is everything: receipts, heartbeats,
// reconciliation, TCP/IP headers, and TCP's own retransmissions on lossy links (the count of
// retransmitted segments is printed beside it).
//
// Thread-safety: none needed (the main thread calls it after the traffic and chaos end).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/soak/check.h"

namespace lienthong::soak {

struct CarryRow {
    uint64_t per_link = 0;       // envelope bytes once per (document, next hop)
    uint64_t per_recipient = 0;  // envelope bytes once per (document, recipient, next hop)
    uint64_t documents = 0;      // documents it sent or passed on
};

// Per node, from the documents in the senders' outboxes whose subject starts with
// `subject_prefix` (their recipients and envelope size as the sender gives them) and the
// tree's paths (tree_path). Empty unless the topology is a tree.
std::vector<CarryRow> bytes_to_carry(const Snapshot& snap, const std::string& subject_prefix);

}  // namespace lienthong::soak
