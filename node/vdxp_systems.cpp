#include "node/vdxp_systems.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace lienthong::node {

void VdxpRegistry::replace(std::vector<VdxpSystem> systems) {
    std::map<std::string, VdxpSystem> m;
    for (auto& s : systems) m[s.systemid] = std::move(s);
    std::unique_lock lock(m_mu);
    for (auto& [id, s] : m_systems) sodium_memzero(s.secret.data(), s.secret.size());
    m_systems = std::move(m);
}

std::optional<VdxpSystem> VdxpRegistry::find(const std::string& systemid) const {
    std::shared_lock lock(m_mu);
    const auto it = m_systems.find(systemid);
    if (it == m_systems.end()) return std::nullopt;
    return it->second;
}

std::vector<VdxpSystem> VdxpRegistry::all() const {
    std::shared_lock lock(m_mu);
    std::vector<VdxpSystem> out;
    for (const auto& [id, s] : m_systems) out.push_back(s);
    return out;
}

Status check_secret(const std::string& secret) {
    if (secret.size() < 8 || secret.size() > kMaxSecretBytes)
        return make_error("a system's secret must be 8 to " + std::to_string(kMaxSecretBytes) + " characters, not " +
                          std::to_string(secret.size()));
    for (char c : secret)
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
            return make_error("a system's secret must be printable ASCII without spaces (the SDK signs its UTF-8 bytes)");
    return ok_status();
}

Result<std::string> read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("cannot read secret file '" + path + "': " + std::strerror(errno) +
                               " (create it with 'lienthong-admin vdxp rotate-secret SYSTEMID')");
    std::string text(kMaxSecretBytes + 2, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxSecretBytes + 1) return make_error("secret file '" + path + "' is over " +
                                                             std::to_string(kMaxSecretBytes) + " bytes");
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    if (auto st = check_secret(text); !st.ok()) return make_error("secret file '" + path + "': " + st.error());
    return text;
}

Status write_secret_file(const std::string& path, const std::string& secret) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return make_error("cannot write secret file '" + tmp + "': " + std::strerror(errno));
    const std::string line = secret + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return make_error("cannot write secret file '" + path + "': " + std::strerror(written ? errno : err));
    }
    return ok_status();
}

std::string new_secret() {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    char b64[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(raw, sizeof raw);
    return b64;
}

}  // namespace lienthong::node
