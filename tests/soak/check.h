// What the soak test checks after the faults heal: every document is in the inbox of every
// recipient exactly once (in the inbox list and in the search index) and in no other inbox, no
// delivery is pending at any sender, every sender holds, for every recipient, a receipt whose
// signature verifies and whose document hash matches, and (leftover_transfers) no node holds
// a chunked transfer. Read through 'lienthong-admin ... --json' only.
//
// Thread-safety: none needed (the main thread checks after the traffic and chaos threads end).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/soak/federation.h"
#include "tests/soak/traffic.h"

namespace lienthong::soak {

// Everything the nodes hold, read in one pass.
struct Snapshot {
    std::vector<std::map<std::string, unsigned>> inbox;  // per node: id -> times listed
    std::vector<std::map<std::string, unsigned>>
        catalog;                      // per node: id -> times the search index lists it received
    std::vector<json> outbox;         // per node: the 'outbox --json' answer
    std::vector<std::string> errors;  // nodes that could not be read
};

Snapshot take_snapshot(const Federation& fed);

struct Verdict {
    size_t documents = 0;
    size_t deliveries = 0;  // (document, recipient) pairs expected
    size_t delivered_once = 0;
    size_t duplicated = 0;     // listed more than once in the recipient's inbox
    size_t missing = 0;        // not in the recipient's inbox
    size_t misdelivered = 0;   // in an inbox it was not addressed to (or unknown to the test)
    size_t pending = 0;        // deliveries the sender still calls pending
    size_t catalog_wrong = 0;  // deliveries the recipient's search index lists other than once
    size_t receipts_ok = 0;    // verified receipts held by the senders (0 unless checked)
    std::vector<std::string> problems;  // one line each, the first few of each kind
    std::vector<std::string> suspects;  // ids worth tracing through the logs
    bool delivered() const {
        return missing == 0 && duplicated == 0 && misdelivered == 0 && pending == 0 &&
               catalog_wrong == 0;
    }
};

// Judges the snapshot against what was sent. Documents the traffic did not see succeed but
// that a sender's outbox holds (a send whose answer was lost) are expected too, with the
// recipients the outbox gives. With `receipts`, asks each sender for each document's
// receipts ('receipt ID --json').
Verdict judge(const Federation& fed, const Traffic& traffic, const Snapshot& snap, bool receipts);

// The chunked transfers still open on any node ('transfers'), one line each; a node that
// could not be asked is a line too. Empty: none left over.
std::vector<std::string> leftover_transfers(const Federation& fed);

// The log lines of every node that mention `id`, at most `limit`, prefixed with the node.
std::string trace(const Federation& fed, const std::string& id, size_t limit);

}  // namespace lienthong::soak
