// Files of the offline root-of-trust commands (trust_files.h).
#include "admin/trust_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "admin/commands.h"

namespace lienthong::admin {

using namespace lienthong::protocol;

uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

Status write_file(const std::string& path, const std::string& text, bool secret) {
    const int flags = O_WRONLY | O_CREAT | (secret ? O_EXCL : O_TRUNC);
    const int fd = ::open(path.c_str(), flags, secret ? 0600 : 0644);
    if (fd < 0)
        return make_error("cannot create '" + path + "': " + std::strerror(errno) +
                          (errno == EEXIST ? " (refusing to overwrite an existing key)" : ""));
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return make_error("cannot write '" + path + "': " + std::strerror(errno));
    return ok_status();
}

Status write_record(const std::string& out, const std::string& armored) {
    if (out == "-") {
        std::fputs(armored.c_str(), stdout);
        return ok_status();
    }
    return write_file(out, armored, false);
}

Result<AuthoritySecret> load_authority_key(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return make_error("key file '" + path + "' cannot be read: " + std::strerror(errno));
    if ((st.st_mode & 077) != 0)
        return make_error("key file '" + path + "' is readable by others; run: chmod 600 '" + path +
                          "'");
    LT_ASSIGN(auto text, read_file(path));
    auto key = AuthoritySecret::from_text(text);
    if (!key.ok()) return make_error("key file '" + path + "': " + key.error());
    return key;
}

Result<std::vector<IssuerRecord>> load_issuer_records(const std::string& path) {
    LT_ASSIGN(auto text, read_file(path));
    auto blocks = dearmor_all(text);
    if (!blocks.ok()) return make_error("'" + path + "': " + blocks.error());
    std::vector<IssuerRecord> out;
    for (const auto& b : *blocks) {
        if (b.label != IssuerRecord::kLabel)
            return make_error("'" + path + "' holds a '" + b.label +
                              "', expected issuer records only");
        auto r = IssuerRecord::decode(b.data);
        if (!r.ok()) return make_error("'" + path + "': " + r.error());
        out.push_back(std::move(r).value());
    }
    return out;
}

}  // namespace lienthong::admin
