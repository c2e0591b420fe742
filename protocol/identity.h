// Node identity: an agency code with an Ed25519 signing key pair and an X25519 key pair used
// both for sealing document keys and as the ZeroMQ CURVE transport key.
//
// The printable public identity is one line, safe to paste into a peer's config or an email:
//   lienthong-id v1 <agency> sign:<base64url 32 bytes> box:<base64url 32 bytes>
// The secret key file (written by node/keyfile) holds the same plus both secret keys.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "protocol/bytes.h"

namespace lienthong::protocol {

using SignPublicKey = std::array<uint8_t, 32>;
using SignSecretKey = std::array<uint8_t, 64>;
using BoxPublicKey = std::array<uint8_t, 32>;
using BoxSecretKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

constexpr size_t kMaxAgencyLength = 64;

// True for `[A-Za-z0-9._-]{1,64}`, the agency code form (e.g. 000.00.31.H14).
bool is_valid_agency(std::string_view agency);
Status check_agency(std::string_view agency, std::string_view what);

struct PublicIdentity {
    std::string agency;
    SignPublicKey sign_key{};
    BoxPublicKey box_key{};

    std::string to_line() const;
    // Refuses keys that are not usable public keys (check_public_keys).
    static Result<PublicIdentity> from_line(std::string_view line);
    bool operator==(const PublicIdentity&) const = default;
};

// Whether two public keys are real ones: an Ed25519 point of full order in canonical form, an
// X25519 point not of small order. All-zero keys fail both.
Status check_public_keys(const SignPublicKey& sign, const BoxPublicKey& box);

struct SecretIdentity {
    PublicIdentity pub;
    SignSecretKey sign_secret{};
    BoxSecretKey box_secret{};

    // Makes fresh key pairs from libsodium's CSPRNG.
    static SecretIdentity generate(std::string agency);
    // Rebuilds the public keys from the secret ones and checks they match `pub`.
    Status check_consistent() const;
};

// Detached Ed25519 signature over `domain` || 0x00 || `message`.
Signature sign_domain(const SignSecretKey& sk, std::string_view domain, ByteView message);
bool verify_domain(const SignPublicKey& pk, std::string_view domain, ByteView message,
                   const Signature& sig);

}  // namespace lienthong::protocol
