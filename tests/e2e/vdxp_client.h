// A client of the national hub's HTTP API written from ../shared/vdxp/SPEC.md alone, as the
// Java SDK behaves: one parameter map per service object that is never cleared (leftovers from
// earlier calls travel with every later one), a timestamp set once at construction (stale hours
// later), Content-Type put into the map, every parameter sent as an XroadVnpt- header, the map
// signed as compact JSON with HMAC-SHA256 keyed by the secret's bytes, the upload as the file's
// bytes plus CRLF with hash-file in Integer.toHexString form. Raw HTTP/1.1 over a socket, so a
// test controls every byte (header case, Expect: 100-continue, what is left out).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lienthong::e2e::vdxp {

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    bool got_continue = false;  // a 100 Continue came before the body was sent
    nlohmann::json json() const { return nlohmann::json::parse(body); }
};

inline std::string to_lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Sends `head` (request line and headers, ending in an empty line) and `body` to 127.0.0.1:port;
// with `expect_continue`, waits up to 2 s for "100 Continue" before the body, as HttpClient does.
inline HttpResponse http_exchange(uint16_t port, const std::string& head, const std::string& body, bool expect_continue,
                                  int timeout_ms = 30000) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
    }
    const auto send_all = [&](const std::string& s) {
        for (size_t off = 0; off < s.size();) {
            const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    };
    std::string in;
    bool closed = false;
    const auto read_more = [&](int ms) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, ms) <= 0) return false;
        char buf[65536];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) closed = true;
        if (n <= 0) return false;
        in.append(buf, static_cast<size_t>(n));
        return true;
    };
    HttpResponse r;
    send_all(head);
    bool final_early = false;  // the server answered instead of 100 Continue: the body is not sent
    if (expect_continue) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (in.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < until) read_more(100);
        if (in.rfind("HTTP/1.1 100", 0) == 0) {
            r.got_continue = true;
            in.erase(0, in.find("\r\n\r\n") + 4);
        } else {
            final_early = !in.empty();
        }
    }
    if (!final_early) send_all(body);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t header_end = std::string::npos;
    while ((header_end = in.find("\r\n\r\n")) == std::string::npos && !closed &&
           std::chrono::steady_clock::now() < deadline)
        read_more(200);
    if (header_end == std::string::npos) {
        ::close(fd);
        throw std::runtime_error("no HTTP answer within the time");
    }
    const std::string head_in = in.substr(0, header_end);
    r.status = std::stoi(head_in.substr(9, 3));
    size_t pos = head_in.find("\r\n");
    while (pos != std::string::npos && pos < head_in.size()) {
        const size_t next = head_in.find("\r\n", pos + 2);
        const std::string line = head_in.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        if (const auto colon = line.find(':'); colon != std::string::npos) {
            std::string v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.erase(0, 1);
            r.headers[to_lower(line.substr(0, colon))] = v;
        }
        pos = next;
    }
    const size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    r.body = in.substr(header_end + 4);
    while (r.body.size() < length && !closed && std::chrono::steady_clock::now() < deadline) {
        const size_t before = in.size();
        if (!read_more(200)) continue;
        r.body += in.substr(before);
    }
    ::close(fd);
    if (r.body.size() != length)
        throw std::runtime_error("the answer's body was cut short: " + head_in + " / got " + std::to_string(r.body.size()));
    return r;
}

inline std::string hmac_sha256_hex(const std::string& key, const std::string& msg) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
    unsigned char mac[32];
    crypto_auth_hmacsha256_final(&st, mac);
    static const char* d = "0123456789abcdef";
    std::string out;
    for (auto b : mac) out += {d[b >> 4], d[b & 15]};
    return out;
}

// SHA-256 hex as Java's Integer.toHexString per byte: no zero padding.
inline std::string java_hash_file(const std::string& data) {
    unsigned char h[32];
    crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    static const char* d = "0123456789abcdef";
    std::string out;
    for (auto b : h) {
        if (b >= 16) out += d[b >> 4];
        out += d[b & 15];
    }
    return out;
}

// One SDK service object (KnobstickServiceImp or AgencyServiceImp).
class SdkClient {
public:
    SdkClient(uint16_t port, std::string systemid, std::string secret, std::string timestamp = "03122026T081502+0417")
        : m_port(port), m_secret(std::move(secret)) {
        put("timestamp", timestamp);  // never refreshed: this test's is days old
        put("systemid", std::move(systemid));
    }
    // The map as the SDK keeps it: put() replaces a key's value in place, else appends.
    void put(const std::string& k, const std::string& v) {
        for (auto& kv : m_map)
            if (kv.first == k) {
                kv.second = v;
                return;
            }
        m_map.emplace_back(k, v);
    }
    const std::vector<std::pair<std::string, std::string>>& map() const { return m_map; }
    void set_secret(std::string s) { m_secret = std::move(s); }

    // Headers and signature of the map as it stands, in its order.
    std::string signed_headers() const {
        std::string headers, keys;
        nlohmann::json s = nlohmann::json::object();
        std::string sign = "{";
        for (const auto& [k, v] : m_map) {
            headers += "XroadVnpt-" + k + ": " + v + "\r\n";
            if (k == "Content-Type") headers += "Content-Type: " + v + "\r\n";
            keys += (keys.empty() ? "" : ";") + k;
            sign += (sign.size() > 1 ? "," : "") + nlohmann::json("XroadVnpt-" + k).dump() + ":" + nlohmann::json(v).dump();
        }
        sign += "}";
        headers += "XroadVnpt-sign-header-key: " + keys + "\r\n";
        headers += "XroadVnpt-sign-header: " + sign + "\r\n";
        headers += "XroadVnpt-hash-header: " + hmac_sha256_hex(m_secret, sign) + "\r\n";
        headers += "XroadVnpt-version: 3.0.201608\r\nUser-Agent: JAVASDKAgent/1.0.0 XRoad/VPCP\r\n";
        return headers;
    }

    // A call other than sendEdoc (HttpClient): params put into the map, body "" or "{}".
    HttpResponse call(const std::string& method, const std::vector<std::pair<std::string, std::string>>& params,
                      const std::string& body = "", const std::string& verb = "POST") {
        put("Content-Type", "application/json");
        for (const auto& [k, v] : params) put(k, v);
        std::string head = verb + " /" + method + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(m_port) + "\r\n" +
                           signed_headers() + "Connection: Keep-Alive\r\nAccept-Encoding: gzip,deflate\r\n";
        if (verb == "POST") head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        const bool expect = !body.empty();
        if (expect) head += "Expect: 100-continue\r\n";
        return http_exchange(m_port, head + "\r\n", body, expect);
    }

    // sendEdoc (HttpURLConnection): the file plus CRLF, hash-file put into the map.
    // `expect`: with Expect: 100-continue (HttpURLConnection does not send it; a test refusing
    // an upload before its body uses it so the refusal is not lost to a reset connection).
    HttpResponse send_edoc(const std::string& file, const std::vector<std::pair<std::string, std::string>>& params,
                           const std::string& content_type = "application/octet-stream", bool expect = false) {
        put("Content-Type", content_type);
        for (const auto& [k, v] : params) put(k, v);
        put("hash-file", java_hash_file(file));
        const std::string body = file + "\r\n";
        const std::string head = "POST /sendEdoc HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(m_port) + "\r\n" +
                                 signed_headers() + "Cache-Control: no-cache\r\nConnection: keep-alive\r\n" +
                                 "Content-Length: " + std::to_string(body.size()) + "\r\n" +
                                 (expect ? "Expect: 100-continue\r\n" : "") + "\r\n";
        return http_exchange(m_port, head, body, expect);
    }

private:
    uint16_t m_port;
    std::string m_secret;
    std::vector<std::pair<std::string, std::string>> m_map;
};

}  // namespace lienthong::e2e::vdxp
