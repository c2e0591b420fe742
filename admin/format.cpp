#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "admin/commands.h"
#include "node/api_client.h"
#include "node/config.h"

namespace lienthong::admin {

using nlohmann::json;

Result<json> call_node(const Globals& g, const json& request) {
    auto config = node::load_config(g.config_path);
    if (!config.ok()) return make_error(config.error() + " (give the node's config with --config)");
    LT_ASSIGN(auto client, node::ApiClient::connect(config->api_socket_path()));
    // Who asks, for the node's audit log (admin commands are recorded with their user).
    json req = request;
    if (!req.contains("user"))
        if (const std::string user = current_user(); !user.empty()) req["user"] = user;
    return client->call(req);
}

std::string current_user() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw && pw->pw_name ? std::string(pw->pw_name).substr(0, 64) : std::string();
}

int report_error(const std::string& message) {
    std::fprintf(stderr, "lienthong-admin: %s\n", message.c_str());
    return 1;
}

namespace {
json strip_binary(const json& j) {
    if (j.is_binary()) return json("<" + std::to_string(j.get_binary().size()) + " bytes>");
    if (j.is_object()) {
        json out = json::object();
        for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = strip_binary(it.value());
        return out;
    }
    if (j.is_array()) {
        json out = json::array();
        for (const auto& v : j) out.push_back(strip_binary(v));
        return out;
    }
    return j;
}
}  // namespace

void print_json(const json& j) {
    json out = strip_binary(j);
    out.erase("ok");
    std::printf("%s\n", out.dump(2).c_str());
}

std::string format_time(uint64_t ms) {
    if (ms == 0) return "-";
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

std::string format_bytes(uint64_t n) {
    char buf[32];
    if (n < 1024)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
    else if (n < (1u << 20))
        std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%.1f MiB", n / 1048576.0);
    return buf;
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("cannot read file '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Status fsync_path(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return make_error("cannot open '" + path + "': " + std::strerror(errno));
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return make_error("cannot fsync '" + path + "': " + std::strerror(errno));
    return ok_status();
}

Status write_all(int fd, const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) return make_error(std::string("write failed: ") + std::strerror(errno));
        p += n;
        size -= static_cast<size_t>(n);
    }
    return ok_status();
}

}  // namespace lienthong::admin
