// /metrics and /health (http_service.h): the event loop renders the page once a second while
// the HTTP listener is on, from what it keeps anyway (links, counters, transfers) and a few
// small reads (outbox depth and its oldest entry per peer, custody, the map); overdue
// documents, a catalog scan, once a minute. An idle node proves every few seconds that its
// database still takes a commit, so /health notices a disk that went read-only or full.
#include <algorithm>

#include "node/node_impl.h"

namespace lienthong::node {

namespace {
constexpr uint64_t kRenderMs = 1000;
constexpr uint64_t kOverdueMs = 60000;
constexpr uint64_t kProbeMs = 5000;

double seconds(uint64_t ms) { return static_cast<double>(ms) / 1000.0; }
}  // namespace

void NodeImpl::note_commit(const Committer::Done& done, size_t items) {
    const uint64_t now = m_clock->now_ms();
    m_metrics.commit_seconds.observe(static_cast<double>(done.micros) / 1e6);
    std::lock_guard lock(m_board->mu);
    if (done.status.ok()) {
        m_metrics.commit_items.observe(static_cast<double>(items));
        m_metrics.last_commit_ok_ms = now;
        m_board->db_error.clear();
    } else if (!done.map_full) {  // a full map grows and commits again
        ++m_metrics.commits_failed;
        m_board->db_error = done.status.error();
    }
}

void NodeImpl::metrics_timers(uint64_t now) {
    if (now >= m_metrics.next_probe_ms) {
        m_metrics.next_probe_ms = now + kProbeMs;
        if (now >= m_metrics.last_commit_ok_ms + kProbeMs)
            m_batch.writes.push_back([this, now](storage::WriteTxn& t) { return m_store->put_health_probe(t, now); });
    }
    if (now < m_metrics.next_render_ms) return;
    m_metrics.next_render_ms = now + kRenderMs;
    std::string page = render_metrics(now);
    std::lock_guard lock(m_board->mu);
    m_board->metrics = std::move(page);
}

std::string NodeImpl::render_metrics(uint64_t now) {
    if (now >= m_metrics.next_overdue_ms) {
        m_metrics.next_overdue_ms = now + kOverdueMs;
        m_store->env().read([&](const storage::ReadTxn& t) {
            m_metrics.overdue_owed_to_us = m_catalog->overdue(t, true, now).size();
            m_metrics.overdue_owed_by_us = m_catalog->overdue(t, false, now).size();
            return 0;
        });
    }
    struct Queue {
        size_t depth = 0;
        uint64_t oldest_ms = 0;  // queued_ms of the oldest pending delivery; 0: none
    };
    std::map<std::string, Queue> queues;
    std::map<std::string, storage::CustodyUsage> custody;
    m_store->env().read([&](const storage::ReadTxn& t) {
        for (const auto& [agency, link] : m_links) {
            Queue q;
            q.depth = m_store->outbox_depth(t, agency);
            // The outbox is ordered by urgency, then by sequence: the first entry of each
            // urgency class is that class's oldest.
            for (uint8_t cls = 0; q.depth > 0 && cls <= 3; ++cls) {
                Bytes after(agency.begin(), agency.end());
                after.push_back(0);
                after.push_back(cls);
                m_store->scan_outbox(t, agency, after, [&](ByteView key, const Hash32& id) {
                    if (key.size() > agency.size() + 1 && key[agency.size() + 1] == cls)
                        if (auto d = m_store->delivery(t, id, agency); d && (q.oldest_ms == 0 || d->queued_ms < q.oldest_ms))
                            q.oldest_ms = d->queued_ms;
                    return false;
                });
            }
            queues[agency] = q;
        }
        custody = m_store->custody_usage(t);
        return 0;
    });

    PromText p;
    const auto per_peer = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
        p.family(name, type, help);
        for (const auto& [agency, link] : m_links) p.sample(name, {{"peer", agency}}, value(agency, link));
    };
    const auto flow = [&](const std::string& agency) {
        auto it = m_metrics.peers.find(agency);
        return it == m_metrics.peers.end() ? NodeMetrics::PeerFlow{} : it->second;
    };
    per_peer("lienthong_documents_delivered_total", "counter",
             "Documents this node sent that the peer receipted (since the node started).",
             [](const std::string&, const PeerLink& l) { return static_cast<double>(l.delivered); });
    per_peer("lienthong_envelope_bytes_sent_total", "counter",
             "Envelope bytes handed to the peer's link: whole, relayed and in chunks.",
             [](const std::string&, const PeerLink& l) { return static_cast<double>(l.bytes_sent); });
    per_peer("lienthong_documents_received_total", "counter", "New documents and status reports received on the peer's link.",
             [&](const std::string& a, const PeerLink&) { return static_cast<double>(flow(a).documents_received); });
    per_peer("lienthong_envelope_bytes_received_total", "counter", "Envelope bytes of the new documents received on the peer's link.",
             [&](const std::string& a, const PeerLink&) { return static_cast<double>(flow(a).bytes_received); });
    per_peer("lienthong_outbox_depth", "gauge", "Deliveries to the peer waiting for its receipt or a relay's custody.",
             [&](const std::string& a, const PeerLink&) { return static_cast<double>(queues[a].depth); });
    per_peer("lienthong_outbox_oldest_age_seconds", "gauge", "Age of the oldest delivery to the peer still pending; 0 when none.",
             [&](const std::string& a, const PeerLink&) {
                 const uint64_t oldest = queues[a].oldest_ms;
                 return oldest == 0 || oldest > now ? 0.0 : seconds(now - oldest);
             });
    per_peer("lienthong_link_up", "gauge", "1 while the outgoing link to the peer is connected.",
             [](const std::string&, const PeerLink& l) { return l.connected ? 1.0 : 0.0; });
    per_peer("lienthong_link_connects_total", "counter", "Handshakes completed on the outgoing link (the first and every reconnect).",
             [&](const std::string& a, const PeerLink&) { return static_cast<double>(flow(a).connects); });
    per_peer("lienthong_retransmissions_total", "counter", "Times the window to the peer was sent again for want of receipts.",
             [](const std::string&, const PeerLink& l) { return static_cast<double>(l.retries); });

    p.family("lienthong_receipt_latency_seconds", "histogram", "From handing a document to the link to its verified receipt.");
    p.histogram("lienthong_receipt_latency_seconds", {}, m_metrics.receipt_seconds);

    p.family("lienthong_relay_custody_envelopes", "gauge", "Envelopes this node holds as a relay, undelivered, by previous hop.");
    for (const auto& [hop, u] : custody) p.sample("lienthong_relay_custody_envelopes", {{"from", hop}}, static_cast<double>(u.count));
    p.family("lienthong_relay_custody_bytes", "gauge", "Bytes of those envelopes, by previous hop.");
    for (const auto& [hop, u] : custody) p.sample("lienthong_relay_custody_bytes", {{"from", hop}}, static_cast<double>(u.bytes));

    double transfer_total = 0, transfer_have = 0;
    for (const auto& [id, tr] : m_transfers) {
        transfer_total += static_cast<double>(tr.rec.total);
        transfer_have += static_cast<double>(std::min<uint64_t>(tr.rec.total, tr.have_count * tr.rec.chunk_size));
    }
    p.family("lienthong_transfers_open", "gauge", "Chunked transfers this node is receiving.");
    p.sample("lienthong_transfers_open", {}, static_cast<double>(m_transfers.size()));
    p.family("lienthong_transfer_bytes", "gauge", "Bytes of the open chunked transfers: their total, and what has arrived.");
    p.sample("lienthong_transfer_bytes", {{"part", "total"}}, transfer_total);
    p.sample("lienthong_transfer_bytes", {{"part", "arrived"}}, transfer_have);

    p.family("lienthong_refusals_total", "counter", "Frames and requests from peers refused, by reason.");
    for (const auto& [reason, n] : m_counters.rejected) p.sample("lienthong_refusals_total", {{"reason", reason}}, static_cast<double>(n));
    p.family("lienthong_duplicates_total", "counter", "Documents that arrived again (already stored; answered with their receipt).");
    p.sample("lienthong_duplicates_total", {}, static_cast<double>(m_counters.duplicates));

    if (m_vdxp_http) {
        const auto v = m_vdxp_http->stats();
        p.family("lienthong_vdxp_requests_total", "counter",
                 "Requests to the hub API (document systems), by call and ErrorCode (0: OK).");
        for (const auto& [key, n] : v.requests)
            p.sample("lienthong_vdxp_requests_total", {{"call", key.first}, {"code", key.second}}, static_cast<double>(n));
        p.family("lienthong_vdxp_request_seconds", "histogram", "Time to answer one hub API request, a commit included.");
        p.histogram("lienthong_vdxp_request_seconds", {}, v.seconds);
    }

    p.family("lienthong_commit_items", "histogram", "Items (documents, receipts, bookkeeping) per group commit.");
    p.histogram("lienthong_commit_items", {}, m_metrics.commit_items);
    p.family("lienthong_commit_seconds", "histogram", "Time of one group commit, its fsync included.");
    p.histogram("lienthong_commit_seconds", {}, m_metrics.commit_seconds);
    p.family("lienthong_commits_failed_total", "counter", "Group commits that failed (disk full, I/O error).");
    p.sample("lienthong_commits_failed_total", {}, static_cast<double>(m_metrics.commits_failed));

    p.family("lienthong_lmdb_map_bytes", "gauge", "Size of the LMDB map (it grows by itself when full).");
    p.sample("lienthong_lmdb_map_bytes", {}, static_cast<double>(m_store->env().map_bytes()));
    p.family("lienthong_lmdb_used_bytes", "gauge", "Bytes of the map the database uses.");
    p.sample("lienthong_lmdb_used_bytes", {}, static_cast<double>(m_store->env().used_bytes()));

    uint64_t soonest = 0;
    for (const auto& [agency, rec] : m_dir.current)
        if (soonest == 0 || rec.valid_until_ms < soonest) soonest = rec.valid_until_ms;
    p.family("lienthong_directory_records", "gauge", "Agencies the federation directory currently names.");
    p.sample("lienthong_directory_records", {}, static_cast<double>(m_dir.current.size()));
    if (soonest != 0) {
        p.family("lienthong_directory_next_expiry_seconds", "gauge",
                 "Seconds until the directory record that expires first expires (negative: expired); absent without a directory.");
        p.sample("lienthong_directory_next_expiry_seconds", {},
                 soonest >= now ? seconds(soonest - now) : -seconds(now - soonest));
    }

    p.family("lienthong_overdue_documents", "gauge",
             "Documents past their due date without a final status: owed to this agency, and owed by it (counted each minute).");
    p.sample("lienthong_overdue_documents", {{"side", "owed_to_us"}}, static_cast<double>(m_metrics.overdue_owed_to_us));
    p.sample("lienthong_overdue_documents", {{"side", "owed_by_us"}}, static_cast<double>(m_metrics.overdue_owed_by_us));
    return p.text();
}

}  // namespace lienthong::node
