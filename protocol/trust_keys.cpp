// Authority keys, trust anchors, prefixes, endpoints and the armored text form (trust.h).
#include <sodium.h>

#include <sstream>

#include "protocol/trust.h"

namespace lienthong::protocol {

std::string printable(std::string_view s, size_t max_len) {
    std::string out;
    for (char ch : s.substr(0, max_len)) {
        const auto c = static_cast<unsigned char>(ch);
        out += (c < 0x20 || c == 0x7f) ? '?' : ch;
    }
    if (s.size() > max_len) out += "...";
    return out;
}

Status check_text(std::string_view s, size_t max_len, bool allow_empty, std::string_view what) {
    const std::string w(what);
    if (s.empty() && !allow_empty) return make_error(w + " must not be empty");
    if (s.size() > max_len)
        return make_error(w + " is longer than " + std::to_string(max_len) + " bytes");
    if (!is_valid_utf8(s)) return make_error(w + " is not valid UTF-8");
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f)
            return make_error(w + " '" + printable(s) + "' contains a control character");
    }
    return ok_status();
}

SignPublicKey public_of(const SignSecretKey& secret) {
    SignPublicKey pk{};
    crypto_sign_ed25519_sk_to_pk(pk.data(), secret.data());
    return pk;
}

KeyId key_id(const SignPublicKey& key) {
    return hash_domain("lienthong/v1/key-id", key);
}

std::string short_key_id(const KeyId& id) {
    return to_hex(ByteView(id).first(8));
}

bool prefix_covers(std::string_view prefix, std::string_view agency) {
    return agency.substr(0, prefix.size()) == prefix;
}

Status check_prefix(std::string_view prefix, std::string_view what) {
    if (prefix.empty() || is_valid_agency(prefix)) return ok_status();
    return make_error(std::string(what) + " '" + printable(prefix) +
                      "' is not an agency code prefix (0-64 of A-Z a-z 0-9 . _ -)");
}

Status check_record_endpoint(std::string_view endpoint) {
    const auto bad = [&](std::string_view why) {
        return make_error("endpoint '" + printable(endpoint) + "' " + std::string(why) +
                          " (expected tcp://HOST:PORT)");
    };
    if (endpoint.size() > kMaxEndpointLength)
        return bad("is longer than " + std::to_string(kMaxEndpointLength) + " bytes");
    if (endpoint.substr(0, 6) != "tcp://") return bad("is not a tcp:// endpoint");
    const std::string_view rest = endpoint.substr(6);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return bad("has no host:port");
    const std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
    if (host.front() == '[') {
        if (host.size() < 4 || host.back() != ']') return bad("has an invalid [IPv6] host");
        for (char c : host.substr(1, host.size() - 2))
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'))
                return bad("has an invalid [IPv6] host");
    } else {
        if (host.front() == '-' || host.front() == '.') return bad("has an invalid host");
        for (char c : host)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'))
                return bad("has an invalid host");
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos)
        return bad("has an invalid port");
    const unsigned long p = std::stoul(std::string(port));
    if (p == 0 || p > 65535) return bad("has a port outside 1-65535");
    return ok_status();
}

namespace {

constexpr std::string_view kRootMagic = "lienthong-root", kIssuerMagic = "lienthong-issuer";

Status check_authority_name(AuthorityRole role, std::string_view name) {
    if (role == AuthorityRole::issuer) return check_agency(name, "issuer agency");
    if (is_valid_agency(name)) return ok_status();
    return make_error("federation name '" + printable(name) +
                      "' is not valid (1-64 of A-Z a-z 0-9 . _ -)");
}

std::vector<std::string> split_words(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

}  // namespace

std::string AuthorityKey::to_line() const {
    return std::string(role == AuthorityRole::root ? kRootMagic : kIssuerMagic) + " v1 " + name +
           " " + to_base64(key);
}

Result<AuthorityKey> AuthorityKey::from_line(std::string_view line) {
    const auto w = split_words(line);
    AuthorityKey k;
    if (w.size() >= 2 && w[0] == kRootMagic && w[1] == "v1")
        k.role = AuthorityRole::root;
    else if (w.size() >= 2 && w[0] == kIssuerMagic && w[1] == "v1")
        k.role = AuthorityRole::issuer;
    else
        return make_error(
            "a key line must start with 'lienthong-root v1' or 'lienthong-issuer v1'");
    if (w.size() < 4)
        return make_error("key line is incomplete: expected '" + w[0] + " v1 <name> <key>'");
    if (w.size() > 4)
        return make_error("key line has unexpected trailing text '" + printable(w[4]) + "'");
    LT_TRY(check_authority_name(k.role, w[2]));
    k.name = w[2];
    LT_ASSIGN(k.key, fixed_from_base64<32>(w[3], "key line public key"));
    return k;
}

AuthoritySecret AuthoritySecret::generate(AuthorityRole role, std::string name) {
    AuthoritySecret s;
    s.pub.role = role;
    s.pub.name = std::move(name);
    crypto_sign_keypair(s.pub.key.data(), s.secret.data());
    return s;
}

std::string AuthoritySecret::to_text() const {
    const bool root = pub.role == AuthorityRole::root;
    return std::string("# lienthong ") + (root ? "federation root" : "issuer") +
           " secret key: keep offline (mode 0600), never share, back up.\n" +
           std::string(root ? kRootMagic : kIssuerMagic) + "-secret v1 " + pub.name +
           " sign:" + to_base64(secret) + "\n";
}

Result<AuthoritySecret> AuthoritySecret::from_text(std::string_view text) {
    std::vector<std::string> lines;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
        lines.push_back(line);
    }
    if (lines.size() != 1)
        return make_error("a secret key file holds exactly one key line, found " +
                          std::to_string(lines.size()));
    const auto w = split_words(lines[0]);
    AuthoritySecret s;
    if (w.size() == 4 && w[0] == std::string(kRootMagic) + "-secret" && w[1] == "v1")
        s.pub.role = AuthorityRole::root;
    else if (w.size() == 4 && w[0] == std::string(kIssuerMagic) + "-secret" && w[1] == "v1")
        s.pub.role = AuthorityRole::issuer;
    else
        return make_error(
            "not a root or issuer secret key (expected 'lienthong-root-secret v1 "
            "<name> sign:<key>' or 'lienthong-issuer-secret v1 ...')");
    LT_TRY(check_authority_name(s.pub.role, w[2]));
    s.pub.name = w[2];
    if (w[3].rfind("sign:", 0) != 0) return make_error("secret key line must end in 'sign:<key>'");
    LT_ASSIGN(s.secret, fixed_from_base64<64>(w[3].substr(5), "secret key"));
    s.pub.key = public_of(s.secret);
    return s;
}

bool TrustAnchor::speaks_for(std::string_view agency) const {
    if (prefixes.empty()) return true;
    for (const auto& p : prefixes)
        if (prefix_covers(p, agency)) return true;
    return false;
}

bool TrustAnchor::covers_prefix(std::string_view prefix) const {
    return speaks_for(prefix);
}

std::string TrustAnchor::to_line() const {
    std::string line = root.to_line();
    for (size_t i = 0; i < prefixes.size(); ++i) line += (i == 0 ? " for:" : ",") + prefixes[i];
    return line;
}

Result<TrustAnchor> TrustAnchor::from_line(std::string_view line) {
    auto w = split_words(line);
    TrustAnchor a;
    if (!w.empty() && w.back().rfind("for:", 0) == 0) {
        std::string list = w.back().substr(4);
        w.pop_back();
        std::istringstream in(list + ",");
        for (std::string p; std::getline(in, p, ',');) {
            if (p.empty())
                return make_error("trusted root: empty prefix in 'for:" + printable(list) + "'");
            LT_TRY(check_prefix(p, "trusted root prefix"));
            a.prefixes.push_back(p);
        }
    }
    std::string rest;
    for (const auto& x : w) rest += (rest.empty() ? "" : " ") + x;
    LT_ASSIGN(a.root, AuthorityKey::from_line(rest));
    if (a.root.role != AuthorityRole::root)
        return make_error("a trusted root must be a 'lienthong-root v1' line, not an issuer key");
    return a;
}

// ---- Armor -----------------------------------------------------------------------------

namespace {
constexpr size_t kArmorWidth = 64;
constexpr std::string_view kBegin = "-----BEGIN ", kEnd = "-----END ", kDashes = "-----";

bool valid_label(std::string_view label) {
    if (label.substr(0, 10) != "LIENTHONG " || label.size() > 64) return false;
    for (char c : label)
        if (!((c >= 'A' && c <= 'Z') || c == ' ')) return false;
    return label.back() != ' ';
}

bool is_base64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}
}  // namespace

std::string armor(std::string_view label, ByteView data) {
    const std::string b64 = to_base64(data);
    std::string out = std::string(kBegin) + std::string(label) + std::string(kDashes) + "\n";
    for (size_t i = 0; i < b64.size(); i += kArmorWidth) out += b64.substr(i, kArmorWidth) + "\n";
    out += std::string(kEnd) + std::string(label) + std::string(kDashes) + "\n";
    return out;
}

Result<std::vector<ArmorBlock>> dearmor_all(std::string_view text, size_t max_blocks) {
    // Base64 characters of the largest record; a longer block is refused before decoding.
    const size_t max_chars = (kMaxRecordBytes * 4 + 2) / 3;
    std::vector<ArmorBlock> blocks;
    bool inside = false;
    std::string label, b64;
    size_t line_no = 0, last_len = kArmorWidth;
    const auto at = [&](std::string_view what) {
        return make_error("armored text, line " + std::to_string(line_no) + ": " +
                          std::string(what));
    };
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.remove_suffix(1);
        const bool framing = line.size() > 10 && line.substr(0, 5) == kDashes &&
                             line.substr(line.size() - 5) == kDashes;
        if (!inside) {
            if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
            if (!framing || line.substr(0, kBegin.size()) != kBegin)
                return at("unexpected text '" + printable(line, 40) +
                          "' outside an armored block (expected '-----BEGIN LIENTHONG ...-----')");
            label = std::string(line.substr(kBegin.size(), line.size() - kBegin.size() - 5));
            if (!valid_label(label))
                return at("'" + printable(label, 40) + "' is not a Liên Thông armor label");
            if (blocks.size() == max_blocks)
                return at("more than " + std::to_string(max_blocks) + " armored blocks");
            inside = true;
            b64.clear();
            last_len = kArmorWidth;
            continue;
        }
        if (framing && line.substr(0, kEnd.size()) == kEnd) {
            if (line.substr(kEnd.size(), line.size() - kEnd.size() - 5) != label)
                return at("END line does not match '-----BEGIN " + label + "-----'");
            if (b64.empty()) return at("armored block has no data");
            auto data = from_base64(b64);
            if (!data.ok())
                return at("the block's base64 is invalid (a character changed or lost in transit)");
            blocks.push_back({label, std::move(data).value()});
            inside = false;
            continue;
        }
        if (line.empty()) return at("blank line inside an armored block");
        if (line.substr(0, 5) == kDashes)
            return at("'" + printable(line, 40) + "' inside a block (is its END line missing?)");
        if (last_len != kArmorWidth)
            return at("the previous line is shorter than 64 characters but is not the last one");
        if (line.size() > kArmorWidth) return at("line longer than 64 characters");
        for (char c : line)
            if (!is_base64url_char(c))
                return at("character '" + printable(std::string_view(&c, 1)) +
                          "' is not base64url (A-Z a-z 0-9 - _)");
        b64 += line;
        last_len = line.size();
        if (b64.size() > max_chars)
            return at("armored block larger than " + std::to_string(kMaxRecordBytes) + " bytes");
    }
    if (inside)
        return make_error("armored text is truncated: no '-----END " + label + "-----' line");
    if (blocks.empty())
        return make_error("no armored block found (expected '-----BEGIN LIENTHONG ...')");
    return blocks;
}

Result<Bytes> dearmor(std::string_view text, std::string_view label) {
    LT_ASSIGN(auto blocks, dearmor_all(text, 2));
    if (blocks.size() != 1)
        return make_error("expected one '" + std::string(label) + "' block, found " +
                          std::to_string(blocks.size()) + " blocks");
    if (blocks[0].label != label)
        return make_error("this is a '" + blocks[0].label + "' block, not a '" +
                          std::string(label) + "'");
    return std::move(blocks[0].data);
}

}  // namespace lienthong::protocol
