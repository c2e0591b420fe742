// Client for the node's local API (ipc://<data_dir>/api.sock, mode 0600).
//
// Requests and responses are msgpack maps; nlohmann::json is the in-memory model on both
// sides (binary fields are msgpack bin). Every response has "ok": true, or "ok": false with
// "error": "<one line saying what failed and what to do>". See node/API.md for the requests.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "protocol/result.h"

namespace lienthong::node {

class ApiClient {
public:
    // Fails with a clear message when no node is listening on `socket_path`.
    static Result<std::unique_ptr<ApiClient>> connect(const std::string& socket_path, int timeout_ms = 30000);
    ~ApiClient();
    // Sends one request and waits for its response. An "ok": false response is an Error.
    Result<nlohmann::json> call(const nlohmann::json& request);

private:
    struct Impl;
    explicit ApiClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace lienthong::node
