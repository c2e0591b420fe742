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

Result<SecretIdentity> load_key_file(const std::string& path) {
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
    std::ifstream in(path);
    std::string line, found;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        found = line;
        break;
    }
    std::istringstream ls(found);
    std::string magic, version, agency, sign, box, extra;
    ls >> magic >> version >> agency >> sign >> box;
    if (magic != "lienthong-secret" || version != "v1" || (ls >> extra))
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

Status write_key_file(const std::string& path, const SecretIdentity& id) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return make_error("cannot create key file '" + path + "': " + std::strerror(errno) +
                          (errno == EEXIST ? " (refusing to overwrite an existing key)" : ""));
    std::string text = "# lienthong secret key file: keep private (mode 0600), never share, back up offline.\n";
    text += "lienthong-secret v1 " + id.pub.agency + " sign:" + protocol::to_base64(id.sign_secret) +
            " box:" + protocol::to_base64(id.box_secret) + "\n";
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    sodium_memzero(text.data(), text.size());
    ::close(fd);
    if (!ok) return make_error("cannot write key file '" + path + "': " + std::strerror(errno));
    return ok_status();
}

}  // namespace lienthong::node
