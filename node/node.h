// Node: the lienthong-node daemon — engine, transport and local API on one event loop.
//
// One thread runs everything: a zmq poll over the peer ROUTER (inbound), one DEALER per
// peer (outbound), the ZAP authenticator, the local API socket and a signalfd. Work that
// arrives in one turn of the loop is committed in one LMDB transaction (group commit, one
// fsync), and only then are receipts and API answers sent: nothing is acknowledged before
// it is durable.
#pragma once

#include <memory>

#include "node/clock.h"
#include "node/config.h"
#include "protocol/identity.h"

namespace lienthong::node {

class Node {
public:
    virtual ~Node() = default;
    // Runs until SIGTERM or SIGINT. Returns an error only for failures that stop the node.
    virtual Status run() = 0;
};

// Opens the database, binds the sockets and connects to the peers.
// `previous` holds earlier keys of this agency (after a rotation, newest first): they open
// documents sealed to them and the node's own copies stored under them.
Result<std::unique_ptr<Node>> make_node(const NodeConfig& config, protocol::SecretIdentity identity,
                                        std::unique_ptr<Clock> clock,
                                        std::vector<protocol::SecretIdentity> previous = {});

}  // namespace lienthong::node
