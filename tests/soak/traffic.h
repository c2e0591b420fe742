// The soak test's documents: `count` documents spread evenly over a span, each from a random
// running node to 1-4 other nodes (60% one recipient, 25% two, 15% three or four), about a
// third with one or two attachments of 2 KB to 300 KB (sizes spread log-uniformly), submitted
// with 'lienthong-admin send'. Subjects carry the seed and the document's number, so every
// document a node holds can be told apart from any other. TrafficOptions widen that for the
// tree topology: attachments up to 4 MB (the two largest files 4 MB and 2.5 MB, so chunked
// transfers happen whatever the seed) and urgency mixed in (60% thường, 20% khẩn, 12% thượng
// khẩn, 8% hỏa tốc).
//
// Thread-safety: run() on one thread; the results are read after it returned.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/soak/chaos.h"

namespace lienthong::soak {

struct TrafficOptions {
    uint64_t max_attachment_bytes = 300000;
    bool mixed_urgency = false;  // else every document is of urgency 0
};

struct SentDocument {
    unsigned number = 0;
    unsigned urgency = 0;
    size_t sender = 0;
    std::vector<size_t> recipients;
    std::string id;  // as 'send' printed it
    uint64_t attached_bytes = 0;
};

class Traffic {
  public:
    Traffic(Federation& fed, NodeGate& gate, uint64_t seed, unsigned count,
            std::chrono::milliseconds span, TrafficOptions options = {});

    // Writes the attachment files into the federation's work directory.
    void prepare();
    // Submits the documents; returns when all are sent or `stop` is set.
    void run(const std::atomic<bool>& stop);

    const std::vector<SentDocument>& sent() const { return m_sent; }
    // Sends a running node refused or did not answer: a finding, one line each.
    const std::vector<std::string>& failures() const { return m_failures; }
    // The subject of document `number` (what the checker looks for in outboxes).
    std::string subject(unsigned number) const;

  private:
    struct Plan {
        size_t sender;
        std::vector<size_t> others;  // the other nodes in a random order: recipients first
        size_t recipients;
        std::vector<size_t> attachments;  // indexes into m_files
        unsigned urgency = 0;
    };

    Federation& m_fed;
    NodeGate& m_gate;
    uint64_t m_seed;
    unsigned m_count;
    std::chrono::milliseconds m_span;
    std::vector<Plan> m_plan;
    std::vector<std::pair<std::string, uint64_t>> m_files;  // path, size
    std::vector<SentDocument> m_sent;
    std::vector<std::string> m_failures;
};

}  // namespace lienthong::soak
