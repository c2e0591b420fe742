#include "protocol/identity.h"

#include <sodium.h>

#include <sstream>
#include <vector>

namespace lienthong::protocol {

bool is_valid_agency(std::string_view agency) {
    if (agency.empty() || agency.size() > kMaxAgencyLength) return false;
    for (char c : agency) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

Status check_agency(std::string_view agency, std::string_view what) {
    if (is_valid_agency(agency)) return ok_status();
    return make_error(std::string(what) + " '" + std::string(agency.substr(0, 80)) +
                      "' is not a valid agency code (1-64 of A-Z a-z 0-9 . _ -)");
}

std::string PublicIdentity::to_line() const {
    return "lienthong-id v1 " + agency + " sign:" + to_base64(sign_key) + " box:" + to_base64(box_key);
}

Result<PublicIdentity> PublicIdentity::from_line(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::string magic, version, agency, sign, box, extra;
    in >> magic >> version >> agency >> sign >> box;
    if (magic != "lienthong-id" || version != "v1")
        return make_error("public identity must start with 'lienthong-id v1'");
    if (in >> extra) return make_error("public identity has unexpected trailing text '" + extra + "'");
    LT_TRY(check_agency(agency, "public identity agency"));
    if (sign.rfind("sign:", 0) != 0 || box.rfind("box:", 0) != 0)
        return make_error("public identity must have 'sign:<key> box:<key>' after the agency");
    PublicIdentity id;
    id.agency = agency;
    LT_ASSIGN(id.sign_key, fixed_from_base64<32>(sign.substr(5), "sign key"));
    LT_ASSIGN(id.box_key, fixed_from_base64<32>(box.substr(4), "box key"));
    LT_TRY(check_public_keys(id.sign_key, id.box_key));
    return id;
}

Status check_public_keys(const SignPublicKey& sign, const BoxPublicKey& box) {
    // Small-order and non-canonical Ed25519 points verify forged signatures; a small-order
    // X25519 point (all zeros among them) gives every party the same shared key.
    if (crypto_core_ed25519_is_valid_point(sign.data()) != 1)
        return make_error("the sign key is not a valid Ed25519 public key (all zeros, or of small order); copy the "
                          "identity line again from 'lienthong-admin id' on that node");
    static constexpr uint8_t kScalar[crypto_scalarmult_SCALARBYTES] = {
        0x31, 0x41, 0x59, 0x26, 0x53, 0x58, 0x97, 0x93, 0x23, 0x84, 0x62, 0x64, 0x33, 0x83, 0x27, 0x95,
        0x02, 0x88, 0x41, 0x97, 0x16, 0x93, 0x99, 0x37, 0x51, 0x05, 0x82, 0x09, 0x74, 0x94, 0x45, 0x92};
    uint8_t shared[crypto_scalarmult_BYTES];
    const bool small_order = crypto_scalarmult(shared, kScalar, box.data()) != 0;
    sodium_memzero(shared, sizeof shared);
    if (small_order)
        return make_error("the box key is not a valid X25519 public key (all zeros, or of small order); copy the "
                          "identity line again from 'lienthong-admin id' on that node");
    return ok_status();
}

SecretIdentity SecretIdentity::generate(std::string agency) {
    SecretIdentity id;
    id.pub.agency = std::move(agency);
    crypto_sign_keypair(id.pub.sign_key.data(), id.sign_secret.data());
    crypto_box_keypair(id.pub.box_key.data(), id.box_secret.data());
    return id;
}

Status SecretIdentity::check_consistent() const {
    SignPublicKey spk{};
    crypto_sign_ed25519_sk_to_pk(spk.data(), sign_secret.data());
    BoxPublicKey bpk{};
    crypto_scalarmult_base(bpk.data(), box_secret.data());
    if (spk != pub.sign_key) return make_error("signing secret key does not match its public key");
    if (bpk != pub.box_key) return make_error("box secret key does not match its public key");
    return ok_status();
}

namespace {
// Builds domain || 0x00 || message once; the cost is one copy, paid for clarity of the format.
std::vector<uint8_t> domain_message(std::string_view domain, ByteView message) {
    std::vector<uint8_t> buf;
    buf.reserve(domain.size() + 1 + message.size());
    buf.insert(buf.end(), domain.begin(), domain.end());
    buf.push_back(0);
    buf.insert(buf.end(), message.begin(), message.end());
    return buf;
}
}  // namespace

Signature sign_domain(const SignSecretKey& sk, std::string_view domain, ByteView message) {
    Signature sig{};
    const auto buf = domain_message(domain, message);
    crypto_sign_detached(sig.data(), nullptr, buf.data(), buf.size(), sk.data());
    return sig;
}

bool verify_domain(const SignPublicKey& pk, std::string_view domain, ByteView message,
                   const Signature& sig) {
    const auto buf = domain_message(domain, message);
    return crypto_sign_verify_detached(sig.data(), buf.data(), buf.size(), pk.data()) == 0;
}

}  // namespace lienthong::protocol
