#include <cstdlib>
#include <signal.h>
#include <sodium.h>
#include <sys/signalfd.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "node/node_impl.h"

namespace lienthong::node {

std::string hex_id(const Hash32& id) { return protocol::to_hex(id); }

NodeImpl::NodeImpl(NodeConfig config, protocol::SecretIdentity identity, std::unique_ptr<Clock> clock)
    : m_config(std::move(config)),
      m_identity(std::move(identity)),
      m_clock(std::move(clock)),
      m_rng(randombytes_random() | (uint64_t(randombytes_random()) << 32)),
      m_log(m_config.agency, m_config.log_level, m_config.log_format, journal_stream_matches(std::getenv("JOURNAL_STREAM"), 2)) {
    m_limits.max_envelope_bytes = m_config.limits.max_envelope_bytes;
    m_local_key = protocol::local_storage_key(m_identity);
}

Result<std::unique_ptr<Node>> make_node(const NodeConfig& config, protocol::SecretIdentity identity,
                                        std::unique_ptr<Clock> clock, std::vector<protocol::SecretIdentity> previous) {
    if (identity.pub.agency != config.agency)
        return make_error("key file '" + config.key_file + "' belongs to agency '" + identity.pub.agency +
                          "', not '" + config.agency + "' named in the config");
    auto node = std::make_unique<NodeImpl>(config, std::move(identity), std::move(clock));
    node->set_previous_keys(std::move(previous));
    LT_TRY(node->start());
    return std::unique_ptr<Node>(std::move(node));
}

void NodeImpl::set_previous_keys(std::vector<protocol::SecretIdentity> previous) {
    m_previous = std::move(previous);
    m_previous_local_keys.clear();
    for (const auto& k : m_previous) m_previous_local_keys.push_back(protocol::local_storage_key(k));
}

// Verifies `se` as signed by `agency`: with the key its link uses, else with the key of any
// directory record of that agency that is not revoked (a key rotated since, or one the
// directory has already replaced while our link still uses the old one). The key of an
// expired record still counts, within protocol::expired_key_still_verifies.
bool NodeImpl::verify_from(const protocol::SignedEnvelope& se, const std::string& agency,
                           const protocol::SignPublicKey& link_key) {
    if (protocol::verify_envelope(se, link_key)) return true;
    const uint64_t now = m_clock->now_ms();
    const auto view = dir_view(now);
    for (const auto& [id, rec] : m_dir.nodes) {
        if (rec.agency != agency || rec.sign_key == link_key) continue;
        const auto v = protocol::verify_node_record(rec, view);
        if (!v.ok()) {
            if (v.error().failure != protocol::TrustFailure::expired) continue;
            if (!protocol::expired_key_still_verifies(se.env.created_ms, rec.valid_until_ms, now)) continue;
        }
        if (protocol::verify_envelope(se, rec.sign_key)) return true;
    }
    return false;
}

// The listening CURVE ROUTER and its monitor. Reopened (reopen_router) to cut every incoming
// connection when a peer is revoked: libzmq cannot close one chosen ROUTER connection, and
// the peers still trusted reconnect at once, through ZAP again.
Status NodeImpl::open_router() {
    const std::string monitor_ep = "inproc://monitor-router-" + std::to_string(++m_monitor_seq);
    try {
        m_router = std::make_unique<zmq::socket_t>(m_ctx, zmq::socket_type::router);
        m_router->set(zmq::sockopt::linger, 0);
        m_router->set(zmq::sockopt::curve_server, 1);
        m_router->set(zmq::sockopt::curve_secretkey,
                      zmq::const_buffer(m_identity.box_secret.data(), m_identity.box_secret.size()));
        m_router->set(zmq::sockopt::zap_domain, "lienthong");
        // Frames up to 4x the envelope limit are read and refused with a Reject (counted,
        // logged); beyond that the transport closes the connection without reading it into
        // memory (logged as peer_link_closed).
        m_router->set(zmq::sockopt::maxmsgsize,
                      static_cast<int64_t>(4 * m_config.limits.max_envelope_bytes + 4096));
        m_router->set(zmq::sockopt::heartbeat_ivl, static_cast<int>(m_config.heartbeat_ms));
        m_router->set(zmq::sockopt::heartbeat_timeout, static_cast<int>(m_config.heartbeat_timeout_ms));
        m_router->set(zmq::sockopt::sndhwm, 100000);
        m_router->set(zmq::sockopt::rcvhwm, 100000);
        if (zmq_socket_monitor(m_router->handle(), monitor_ep.c_str(),
                               ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
            return make_error("cannot monitor the listening socket");
        m_router_monitor = std::make_unique<zmq::socket_t>(m_ctx, zmq::socket_type::pair);
        m_router_monitor->set(zmq::sockopt::linger, 0);
        m_router_monitor->connect(monitor_ep);
        m_router->bind(m_config.listen);

    } catch (const zmq::error_t& e) {
        m_router_monitor.reset();
        m_router.reset();
        return make_error("cannot listen on " + m_config.listen + ": " + e.what());
    }
    return ok_status();
}

void NodeImpl::reopen_router() {
    m_reopen_router = false;
    zmq_socket_monitor(m_router->handle(), nullptr, 0);
    m_router_monitor.reset();
    m_router.reset();
    // The port is released by libzmq's I/O thread a moment after the close.
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (open_router().ok()) {
            m_log.info("listener_reopened", {{"reason", "a peer lost its trust (revoked, expired, or its federation no longer trusted): every incoming link reconnects through ZAP"}});
            return;
        }
        ::usleep(20000);
    }
    m_log.error("listener_lost", {{"listen", m_config.listen}, {"error", "cannot listen again after a revocation; restart the node"}});
    m_stop = true;
}

Status NodeImpl::start() {
    m_started_ms = m_clock->now_ms();
    if (const char* n = std::getenv("LIENTHONG_TEST_DROP_ACKS")) m_drop_acks = std::strtoull(n, nullptr, 10);
    {
        std::error_code ec;
        std::filesystem::create_directories(m_config.data_dir, ec);
        const std::string lock_path = m_config.data_dir + "/node.lock";
        m_lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (m_lock_fd < 0) return make_error("cannot create '" + lock_path + "': " + std::strerror(errno));
        if (::flock(m_lock_fd, LOCK_EX | LOCK_NB) != 0)
            return make_error("another lienthong-node is already running with data_dir '" + m_config.data_dir +
                              "'; stop it first or use another data_dir");
        const std::string pid = std::to_string(::getpid()) + "\n";
        if (::ftruncate(m_lock_fd, 0) != 0 || ::write(m_lock_fd, pid.data(), pid.size()) < 0) {
            // the pid is informational only
        }
    }
    storage::EnvOptions eo;
    eo.dir = m_config.data_dir;
    LT_ASSIGN(m_store, storage::Store::open(eo, m_config.agency));
    LT_ASSIGN(m_catalog, storage::Catalog::open(m_store->env()));
    LT_ASSIGN(m_audit, storage::AuditLog::open(m_store->env()));
    LT_ASSIGN(m_vdxp, storage::VdxpTables::open(m_store->env()));
    LT_TRY(vdxp_load_systems(m_config));
    LT_ASSIGN(m_resync, storage::ResyncMarks::open(m_store->env()));
    m_committer = std::make_unique<Committer>(m_store->env());
    LT_TRY(drop_start());

    // Peers from the config are (re)written at every start; peers added with the admin
    // CLI live only in the database.
    const uint64_t now = m_clock->now_ms();
    LT_TRY(m_store->env().write([&](storage::WriteTxn& t) -> Status {
        for (const auto& p : m_config.peers) {
            storage::PeerRecord rec{p.identity, p.endpoint, "config", now};
            const auto old = m_store->peer(t, p.identity.agency);
            if (old) rec.added_ms = old->added_ms;
            LT_TRY(m_store->put_peer(t, rec));
            if (!old || !(old->identity == rec.identity) || old->endpoint != rec.endpoint) {
                auto e = audit_event("peer_added");
                e.agency = p.identity.agency;
                e.detail = "source=config endpoint=" + p.endpoint + (old ? " (changed)" : "");
                LT_TRY(audit(t, e));
            }
        }
        return audit_start(t);
    }));

    try {
        // The ZAP handler must be bound before any CURVE server socket exists.
        m_zap = std::make_unique<zmq::socket_t>(m_ctx, zmq::socket_type::rep);
        m_zap->set(zmq::sockopt::linger, 0);
        m_zap->bind("inproc://zeromq.zap.01");

        if (auto st = open_router(); !st.ok()) return st;

        const std::string sock_path = m_config.api_socket_path();
        ::unlink(sock_path.c_str());  // a stale socket from a killed node
        m_api = std::make_unique<zmq::socket_t>(m_ctx, zmq::socket_type::router);
        m_api->set(zmq::sockopt::linger, 0);
        // A request larger than this is dropped by the transport, never read into memory: a
        // document of the largest envelope, with room for its encoding (node/API.md).
        m_api->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(api_request_limit(m_config.limits)));
        m_api->bind(m_config.api_endpoint());
        // The hub API's HTTP threads (vdxp_http.h) send their requests here, in-process.
        if (!m_config.vdxp.listen.empty()) m_api->bind(vdxp_loop_endpoint());
        ::chmod(sock_path.c_str(), 0600);
    } catch (const zmq::error_t& e) {
        return make_error("cannot open sockets (listen " + m_config.listen + "): " + e.what() +
                          "; is another node using this address or data_dir?");
    }

    const auto peers = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->peers(t); });
    for (const auto& p : peers) LT_TRY(add_link(p));
    load_transfers();
    // Envelopes carried for others to recipients this node has no link to: reached by route.
    const auto destinations = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->transit_destinations(t); });
    for (const auto& d : destinations)
        if (!m_links.count(d)) m_transit_unlinked.insert(d);
    if (!m_config.trust.roots.empty()) {
        LT_TRY(dir_load());
        dir_apply_links();
        // Documents still queued for directory agencies need their links back.
        const auto agencies = m_store->env().read([&](const storage::ReadTxn& t) {
            std::vector<std::string> out;
            for (const auto& [agency, rec] : m_dir.current)
                if (m_store->outbox_depth(t, agency) > 0) out.push_back(agency);
            return out;
        });
        for (const auto& a : agencies) ensure_link(a);
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);  // reload (reload.cpp)
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    m_signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (m_signal_fd < 0) return make_error("cannot create signalfd");
    // After the mask: the HTTP threads inherit it, so SIGTERM reaches the signalfd, not them.
    if (!m_config.http_listen.empty()) {
        LT_ASSIGN(m_http, HttpService::start(m_config.http_listen, m_board));
        m_log.info("http_listening", {{"listen", m_config.http_listen}, {"paths", "/metrics /health /ready"}});
    }
    if (!m_config.vdxp.listen.empty()) {
        VdxpHttpOptions o;
        o.listen = m_config.vdxp.listen;
        o.loop_endpoint = vdxp_loop_endpoint();
        o.threads = m_config.vdxp.threads;
        o.idle_timeout_s = m_config.vdxp.idle_timeout_s;
        o.read_timeout_s = m_config.vdxp.read_timeout_s;
        o.max_body_bytes = m_config.vdxp.max_body_bytes;
        LT_ASSIGN(m_vdxp_http, VdxpHttp::start(o, m_ctx, m_vdxp_systems, m_log));
        m_log.info("vdxp_listening", {{"listen", m_config.vdxp.listen},
                                      {"systems", std::to_string(m_vdxp_systems->all().size())}});
    }

    const auto pending = m_store->env().read([&](const storage::ReadTxn& t) { return m_store->outbox_total(t); });
    m_log.info("node_started", {{"listen", m_config.listen},
                                {"api", m_config.api_endpoint()},
                                {"peers", std::to_string(m_links.size())},
                                {"outbox_pending", std::to_string(pending)}});
    return ok_status();
}

uint64_t NodeImpl::next_timeout_ms() {
    if (drop_busy()) return 0;  // received files still to write to incoming/
    // Timers are coarse: retransmission and heartbeats need no better than ~1/4 heartbeat.
    return std::clamp<uint64_t>(m_config.heartbeat_ms / 4, 10, 250);
}

void NodeImpl::on_signal() {
    signalfd_siginfo si{};
    if (::read(m_signal_fd, &si, sizeof si) != sizeof si) return;
    if (si.ssi_signo == SIGHUP) {
        reload_config("SIGHUP");
        return;
    }
    m_log.info("shutdown", {{"signal", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT"}});
    m_stop = true;
}

Status NodeImpl::run() {
    std::vector<zmq::pollitem_t> items;
    std::vector<PeerLink*> item_links;
    m_service.ready("serving " + m_config.listen + " with " + std::to_string(m_links.size()) + " peers");
    m_board->ready = true;
    while (!m_stop) {
        m_service.feed();  // every turn; a turn takes at most next_timeout_ms() when idle
        m_board->loop_turn_ms = steady_ms();
        items.clear();
        item_links.clear();
        items.push_back({nullptr, m_signal_fd, ZMQ_POLLIN, 0});
        items.push_back({m_zap->handle(), 0, ZMQ_POLLIN, 0});
        // A full batch waits for the committer: stop reading new work until it is taken
        // (the queues in zmq push back on the peers and clients meanwhile).
        const short accept = batch_full() ? 0 : ZMQ_POLLIN;
        items.push_back({m_router->handle(), 0, accept, 0});
        items.push_back({m_api->handle(), 0, accept, 0});
        items.push_back({nullptr, m_committer->notify_fd(), ZMQ_POLLIN, 0});
        items.push_back({m_router_monitor->handle(), 0, ZMQ_POLLIN, 0});
        for (auto& [agency, link] : m_links) {
            items.push_back({link.dealer->handle(), 0, ZMQ_POLLIN, 0});
            item_links.push_back(&link);
            items.push_back({link.monitor->handle(), 0, ZMQ_POLLIN, 0});
            item_links.push_back(&link);
        }
        try {
            zmq::poll(items.data(), items.size(), std::chrono::milliseconds(next_timeout_ms()));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) return make_error(std::string("poll failed: ") + e.what());
        }
        // Which links are ready, by name, before any handler runs: a handler may add or
        // remove links (API peer changes, directory updates), invalidating item_links.
        std::vector<std::pair<std::string, bool>> ready;  // (agency, is_monitor)
        constexpr size_t kFirstLink = 6;
        for (size_t i = kFirstLink; i < items.size(); ++i)
            if (items[i].revents & ZMQ_POLLIN)
                ready.emplace_back(item_links[i - kFirstLink]->record.identity.agency, (i - kFirstLink) % 2 == 1);
        if (items[0].revents & ZMQ_POLLIN) on_signal();
        // ZAP first: handshakes wait on it.
        if (items[1].revents & ZMQ_POLLIN) on_zap_request();
        if (items[2].revents & ZMQ_POLLIN) on_router_readable();
        if (items[3].revents & ZMQ_POLLIN) on_api_readable();
        if (items[4].revents & ZMQ_POLLIN)
            if (auto done = m_committer->take()) on_commit_done(std::move(*done));
        if (items[5].revents & ZMQ_POLLIN) on_router_monitor_event();
        for (const auto& [agency, is_monitor] : ready) {
            auto it = m_links.find(agency);
            if (it == m_links.end()) continue;
            if (is_monitor)
                on_monitor_event(it->second);
            else
                on_dealer_readable(it->second);
        }
        commit_batch();
        on_timers();
        pump_all();
    }
    m_service.stopping();
    m_board->ready = false;
    drain_commits();
    m_vdxp_http.reset();  // before the sockets and the context its threads use
    m_log.info("node_stopped", {});
    return ok_status();
}

namespace {
bool empty(const Batch& b) { return b.writes.empty() && b.after.empty() && b.inbound.empty() && b.acks.empty(); }
}  // namespace

bool NodeImpl::batch_full() const {
    return m_batch.documents >= m_config.limits.batch_documents || m_batch.bytes >= 2 * m_config.limits.window_bytes;
}

void NodeImpl::commit_batch() {
    if (m_committer->busy() || empty(m_batch)) return;
    m_committing = std::make_shared<Batch>(std::move(m_batch));
    m_batch = Batch{};
    if (m_committing->writes.empty() && m_committing->inbound.empty()) {  // nothing to store
        auto b = std::move(m_committing);
        finish_batch(*b, ok_status());
        return;
    }
    submit_committing();
}

void NodeImpl::submit_committing() {
    auto b = m_committing;
    m_committer->submit([this, b](storage::WriteTxn& t) -> Status {
        b->failed_write.reset();
        b->failed_inbound.reset();
        for (size_t i = 0; i < b->writes.size(); ++i) {
            if (b->dropped_writes.count(i)) continue;
            if (auto st = b->writes[i](t); !st.ok()) {
                b->failed_write = i;
                return st;
            }
        }
        return commit_inbound(t, *b);
    });
}

bool NodeImpl::isolate_failure(Batch& b, const std::string& error) {
    // A failure that is not one item's (a disk error, say) fails every item in turn: after a
    // few, give up on the batch as a whole.
    constexpr size_t kMaxIsolated = 8;
    if (b.isolated >= kMaxIsolated) return false;
    if (b.failed_write) {
        const auto own = b.owned.find(*b.failed_write);
        if (own == b.owned.end()) return false;  // the node's own bookkeeping: the batch fails
        b.dropped_writes.insert(own->first);
        b.dropped_after.insert(own->second);
        ++b.isolated;
        m_log.warn("commit_item_failed", {{"error", error}, {"note", "this request alone is refused; the rest of the group commit is committed"}});
        b.after[own->second](false, error);
        return true;
    }
    if (b.failed_inbound) {
        const size_t k = *b.failed_inbound;
        b.dropped_inbound.insert(k);
        ++b.isolated;
        const auto& d = b.inbound[k];
        m_inbound_pending.erase(d.rec.id);
        if (m_links.count(d.peer))
            reject(d.routing_id, d.peer, "unstorable", "cannot store the document: " + error, Bytes(d.rec.id.begin(), d.rec.id.end()),
                   true);
        return true;
    }
    return false;
}

void NodeImpl::on_commit_done(Committer::Done done) {
    auto b = std::move(m_committing);
    note_commit(done, b->writes.size() + b->inbound.size());
    if (!done.status.ok() && !done.map_full && isolate_failure(*b, done.status.error())) {
        m_committing = b;
        submit_committing();
        return;
    }
    if (done.map_full) {
        // Grow here, where no transaction is open, then commit the same batch again.
        if (auto st = m_store->env().grow_map(); !st.ok()) {
            done.status = st;
        } else {
            m_log.info("storage_grown", {{"map_bytes", std::to_string(m_store->env().map_bytes())}});
            m_committing = b;
            submit_committing();
            return;
        }
    }
    finish_batch(*b, done.status);
    commit_batch();
}

void NodeImpl::drain_commits() {
    for (int i = 0; i < 1000; ++i) {
        if (m_committer->busy()) {
            on_commit_done(m_committer->wait());
            continue;
        }
        if (empty(m_batch)) return;
        commit_batch();
    }
}

void NodeImpl::finish_batch(Batch& batch, const Status& status) {
    const bool ok = status.ok();
    const std::string error = ok ? std::string() : status.error();
    if (!ok)
        m_log.error("commit_failed", {{"error", error}, {"items", std::to_string(batch.writes.size() + batch.inbound.size())}});
    else if (!batch.writes.empty() || !batch.inbound.empty())
        ++m_counters.commits;
    for (const auto& d : batch.inbound) m_inbound_pending.erase(d.rec.id);
    for (size_t j = 0; j < batch.after.size(); ++j)
        if (!batch.dropped_after.count(j)) batch.after[j](ok, error);
    if (!ok) return;  // nothing durable: no receipts; senders retransmit
    for (size_t k = 0; k < batch.inbound.size(); ++k) {
        const auto& d = batch.inbound[k];
        if (batch.dropped_inbound.count(k)) continue;
        if (d.fresh) {
            ++m_counters.received;
            auto& flow = m_metrics.peers[d.peer];
            ++flow.documents_received;
            flow.bytes_received += d.rec.size;
            drop_transfer(d.rec.id, "the whole envelope arrived");
            if (!m_config.drop_dir.empty()) m_drop.to_export.push_back(d.rec.id);
            m_log.info("received", {{"peer", d.rec.sender}, {"msg", hex_id(d.rec.id)}, {"bytes", std::to_string(d.rec.size)},
                                    {"receipt", protocol::short_id(d.rec.receipt_id)}});
        } else {
            ++m_counters.duplicates;
        }
    }
    send_acks(batch);
}

// Inside the commit transaction: stores each new document and one signed receipt per sender
// covering all of that sender's new documents. May run more than once (map growth), so it
// derives everything from `batch.inbound` afresh.
Status NodeImpl::commit_inbound(storage::WriteTxn& t, Batch& batch) {
    std::map<std::string, std::vector<InboundDoc*>> fresh_by_sender;
    std::map<Hash32, InboundDoc*, HashLess> first_of;
    std::vector<InboundDoc*> repeats;
    for (size_t k = 0; k < batch.inbound.size(); ++k) {
        auto& d = batch.inbound[k];
        d.fresh = false;
        if (batch.dropped_inbound.count(k)) continue;
        if (first_of.count(d.rec.id)) {
            repeats.push_back(&d);
            continue;
        }
        first_of[d.rec.id] = &d;
        if (auto prior = m_store->inbox_record(t, d.rec.id)) {
            d.rec.receipt_id = prior->receipt_id;
            if (auto w = m_store->receipt(t, prior->receipt_id)) batch.receipt_wires[prior->receipt_id] = std::move(*w);
            continue;
        }
        d.fresh = true;
        fresh_by_sender[d.rec.sender].push_back(&d);
    }
    const uint64_t now = m_clock->now_ms();
    for (auto& [sender, docs] : fresh_by_sender) {
        for (size_t start = 0; start < docs.size(); start += protocol::kMaxReceiptEntries) {
            const size_t end = std::min(docs.size(), start + protocol::kMaxReceiptEntries);
            protocol::Receipt r{m_config.agency, now, {}};
            for (size_t i = start; i < end; ++i) r.entries.push_back({docs[i]->rec.id, docs[i]->rec.content_hash});
            auto se = protocol::make_receipt(r, m_identity, sender);
            LT_TRY(m_store->put_receipt(t, se.id, se.wire));
            for (size_t i = start; i < end; ++i) {
                docs[i]->rec.receipt_id = se.id;
                docs[i]->rec.received_ms = now;
                Status st = m_store->add_inbox(t, docs[i]->rec, docs[i]->wire);
                if (st.ok()) st = index_inbound(t, *docs[i]);
                // Listed for the document systems (the hub API) until one acknowledges it.
                if (st.ok())
                    st = m_vdxp->enqueue(t, {docs[i]->status ? storage::VdxpQueue::status : storage::VdxpQueue::edoc,
                                             docs[i]->rec.seq, docs[i]->rec.id});
                if (st.ok()) st = drop_mark_received(t, docs[i]->rec.id);
                if (st.ok()) {
                    auto a = audit_event("receipt_sent");
                    a.msg = se.id;
                    a.about = docs[i]->rec.id;
                    a.agency = sender;
                    st = audit(t, a);
                }
                if (!st.ok()) {
                    batch.failed_inbound = static_cast<size_t>(docs[i] - batch.inbound.data());
                    return st;
                }
            }
            batch.receipt_wires[se.id] = std::move(se.wire);
        }
    }
    for (auto* d : repeats) d->rec.receipt_id = first_of[d->rec.id]->rec.receipt_id;
    return ok_status();
}

// What the catalog learns from a message received now: a document's summary, its 01
// (arrived, which the receipt just signed) and the change it makes to an earlier document;
// or a status report's event on the timeline it belongs to.
Status NodeImpl::index_inbound(storage::WriteTxn& t, const InboundDoc& d) {
    // A document we sent ourselves is indexed already as sent (its summary, its lifecycle); its
    // 01 comes from the receipt, as for any recipient's.
    if (d.summary && d.rec.sender == m_config.agency) return ok_status();
    if (d.summary) {
        auto sum = *d.summary;
        sum.registered_ms = d.rec.received_ms;
        LT_TRY(m_catalog->put_document(t, sum));
        storage::StatusEvent arrived;
        arrived.document = sum.id;
        arrived.recipient = arrived.reporter = m_config.agency;
        arrived.code = "01";
        arrived.time_ms = arrived.recorded_ms = d.rec.received_ms;
        LT_ASSIGN(auto seq, m_store->next_seq(t));
        if (auto added = m_catalog->add_status(t, arrived, seq); !added.ok()) return added.take_error();
        if (sum.acts_on)
            LT_TRY(m_catalog->add_lifecycle(t, {*sum.acts_on, sum.id, sum.business_type, d.rec.received_ms, d.business_reason}));
        auto a = audit_event(document_event_kind(sum.business_type, "received"));
        a.msg = sum.id;
        a.about = sum.acts_on;
        a.agency = d.rec.sender;
        if (d.peer != d.rec.sender) a.peer = d.peer;
        LT_TRY(audit(t, a));
    } else if (d.status) {
        auto e = *d.status;
        e.recorded_ms = d.rec.received_ms;
        LT_ASSIGN(auto seq, m_store->next_seq(t));
        if (auto added = m_catalog->add_status(t, e, seq); !added.ok()) return added.take_error();
        auto a = audit_event("status_received");
        a.msg = d.rec.id;
        a.about = e.document;
        a.agency = d.rec.sender;
        if (d.peer != d.rec.sender) a.peer = d.peer;
        a.detail = "code=" + e.code;
        LT_TRY(audit(t, a));
    }
    return ok_status();
}

void NodeImpl::send_acks(Batch& batch) {
    for (size_t k = 0; k < batch.inbound.size(); ++k)
        if (!batch.dropped_inbound.count(k)) batch.acks.emplace(batch.inbound[k].routing_id, batch.inbound[k].rec.receipt_id);
    for (const auto& [rid, receipt_id] : batch.acks) {
        auto w = batch.receipt_wires.find(receipt_id);
        if (w == batch.receipt_wires.end()) continue;
        if (m_drop_acks > 0) {
            --m_drop_acks;
            m_log.warn("ack_dropped", {{"receipt", protocol::short_id(receipt_id)}, {"note", "LIENTHONG_TEST_DROP_ACKS"}});
            continue;
        }
        if (rid == kSelfRoute) {
            on_self_receipt(w->second);
            continue;
        }
        send_frame(*m_router, protocol::AckFrame{w->second}, rid);
    }
}

void NodeImpl::on_timers() {
    const uint64_t now = m_clock->now_ms();
    if (now >= m_next_release_ms) {
        // Clean database pages read or written in the last quarter second leave the resident set;
        // the kernel keeps them cached. Keeps RSS to what the node itself allocated.
        m_store->env().release_map_pages();
        m_next_release_ms = now + 250;
    }
    for (auto& [agency, link] : m_links) on_peer_timers(link, now);
    drop_on_timers(now);
    dir_timers(now);
    transfer_timers(now);
    custody_timers(now);
    if (m_http) metrics_timers(now);
    audit_timers(now);
    if (m_reopen_router) reopen_router();
}

}  // namespace lienthong::node
