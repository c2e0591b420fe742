#include "node/keyfile.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lienthong::node {

using protocol::SecretIdentity;

namespace {
Status check_private(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0)
        return make_error("key file '" + path + "' cannot be read: " + std::strerror(errno) +
                          " (create one with 'lienthong-admin init')");
    if (!S_ISREG(st.st_mode)) return make_error("key file '" + path + "' is not a regular file");
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return make_error("key file '" + path + "' is readable by others (mode " + mode +
                          "); run: chmod 600 '" + path + "'");
    }
    return ok_status();
}

// One key line; `previous` says whether it carries the trailing "previous" marker.
Result<SecretIdentity> parse_key_line(const std::string& path, const std::string& line, bool& previous) {
    std::istringstream ls(line);
    std::string magic, version, agency, sign, box, marker, extra;
    ls >> magic >> version >> agency >> sign >> box;
    previous = false;
    if (ls >> marker) {
        if (marker != "previous" || (ls >> extra))
            return make_error("key file '" + path + "' is not a lienthong v1 secret key file");
        previous = true;
    }
    if (magic != "lienthong-secret" || version != "v1")
        return make_error("key file '" + path + "' is not a lienthong v1 secret key file");
    LT_TRY(protocol::check_agency(agency, "key file agency"));
    if (sign.rfind("sign:", 0) != 0 || box.rfind("box:", 0) != 0)
        return make_error("key file '" + path + "' must hold 'sign:<key> box:<key>'");
    SecretIdentity id;
    id.pub.agency = agency;
    LT_ASSIGN(id.sign_secret, protocol::fixed_from_base64<64>(sign.substr(5), "key file sign key"));
    LT_ASSIGN(id.box_secret, protocol::fixed_from_base64<32>(box.substr(4), "key file box key"));
    crypto_sign_ed25519_sk_to_pk(id.pub.sign_key.data(), id.sign_secret.data());
    crypto_scalarmult_base(id.pub.box_key.data(), id.box_secret.data());
    return id;
}

std::string key_line(const SecretIdentity& id, bool previous) {
    return "lienthong-secret v1 " + id.pub.agency + " sign:" + protocol::to_base64(id.sign_secret) +
           " box:" + protocol::to_base64(id.box_secret) + (previous ? " previous" : "") + "\n";
}

const char* kHeader = "# lienthong secret key file: keep private (mode 0600), never share, back up offline.\n";
}  // namespace

Result<std::vector<SecretIdentity>> load_key_ring(const std::string& path) {
    LT_TRY(check_private(path));
    std::ifstream in(path);
    std::string line;
    std::vector<SecretIdentity> ring;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        bool previous = false;
        LT_ASSIGN(auto id, parse_key_line(path, line, previous));
        if (previous != !ring.empty())
            return make_error("key file '" + path + "': the first key line is the current key (no 'previous' "
                              "marker) and every later line an earlier key marked 'previous'");
        if (!ring.empty() && id.pub.agency != ring[0].pub.agency)
            return make_error("key file '" + path + "' mixes keys of agencies '" + ring[0].pub.agency + "' and '" +
                              id.pub.agency + "'");
        ring.push_back(std::move(id));
    }
    if (ring.empty()) return make_error("key file '" + path + "' is not a lienthong v1 secret key file");
    return ring;
}

Result<SecretIdentity> load_key_file(const std::string& path) {
    LT_ASSIGN(auto ring, load_key_ring(path));
    return std::move(ring[0]);
}

Status rotate_key_file(const std::string& path, const SecretIdentity& fresh) {
    LT_ASSIGN(auto ring, load_key_ring(path));
    if (fresh.pub.agency != ring[0].pub.agency) return make_error("a rotated key must be for the same agency");
    std::string text = kHeader;
    text += "# The first key is current; earlier keys stay to read and verify what was sent under them.\n";
    text += key_line(fresh, false);
    for (const auto& old : ring) text += key_line(old, true);
    const std::string tmp = path + ".rotating";
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return make_error("cannot create '" + tmp + "': " + std::strerror(errno));
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    sodium_memzero(text.data(), text.size());
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return make_error("cannot write key file '" + path + "': " + std::strerror(errno));
    }
    return ok_status();
}

Status write_key_file(const std::string& path, const SecretIdentity& id) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return make_error("cannot create key file '" + path + "': " + std::strerror(errno) +
                          (errno == EEXIST ? " (refusing to overwrite an existing key)" : ""));
    std::string text = kHeader + key_line(id, false);
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    sodium_memzero(text.data(), text.size());
    ::close(fd);
    if (!ok) return make_error("cannot write key file '" + path + "': " + std::strerror(errno));
    return ok_status();
}

}  // namespace lienthong::node
