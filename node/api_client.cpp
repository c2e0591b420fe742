#include "node/api_client.h"
#include "node/api_msgpack.h"

#include <sys/stat.h>

#include <zmq.hpp>

namespace lienthong::node {

struct ApiClient::Impl {
    zmq::context_t ctx{1};
    zmq::socket_t sock{ctx, zmq::socket_type::req};
    std::string path;
};

ApiClient::ApiClient(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
ApiClient::~ApiClient() = default;

Result<std::unique_ptr<ApiClient>> ApiClient::connect(const std::string& socket_path, int timeout_ms) {
    struct stat st{};
    if (::stat(socket_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
        return make_error("the node is not running (no API socket at " + socket_path +
                          "); start it with: lienthong-node --config <node.yaml>");
    auto impl = std::make_unique<Impl>();
    impl->path = socket_path;
    try {
        impl->sock.set(zmq::sockopt::linger, 0);
        impl->sock.set(zmq::sockopt::immediate, 1);
        impl->sock.set(zmq::sockopt::sndtimeo, 2000);
        impl->sock.set(zmq::sockopt::rcvtimeo, timeout_ms);
        impl->sock.connect("ipc://" + socket_path);
    } catch (const zmq::error_t& e) {
        return make_error("cannot connect to the node's API at " + socket_path + ": " + e.what());
    }
    return std::unique_ptr<ApiClient>(new ApiClient(std::move(impl)));
}

Result<nlohmann::json> ApiClient::call(const nlohmann::json& request) {
    const std::vector<uint8_t> bytes = nlohmann::json::to_msgpack(request);
    try {
        if (!m_impl->sock.send(zmq::buffer(bytes), zmq::send_flags::none))
            return make_error("the node is not running (nothing answers on " + m_impl->path +
                              "); start it with: lienthong-node --config <node.yaml>");
        zmq::message_t reply;
        if (!m_impl->sock.recv(reply, zmq::recv_flags::none))
            return make_error("the node did not answer in time on " + m_impl->path +
                              "; check that it is running and look at its log");
        auto parsed = json_from_msgpack(protocol::ByteView(static_cast<const uint8_t*>(reply.data()), reply.size()));
        if (!parsed.ok()) return make_error("the node sent a malformed answer: " + parsed.error());
        auto j = std::move(parsed).value();
        if (!j.is_object() || !j.contains("ok")) return make_error("the node sent a malformed answer");
        if (!j["ok"].get<bool>())
            return make_error(j.value("error", std::string("the node refused the request")));
        return j;
    } catch (const zmq::error_t& e) {
        return make_error(std::string("local API error: ") + e.what());
    } catch (const nlohmann::json::exception& e) {
        return make_error(std::string("the node sent a malformed answer: ") + e.what());
    }
}

}  // namespace lienthong::node
