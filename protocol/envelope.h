// The envelope: the one signed container for everything that crosses the wire.
//
// Wire layout (canonical msgpack, see codec.h):
//   envelope = [ version=1 : uint, body : bin, signature : bin(64) ]
//   body     = [ kind : uint, from : str, to : [str...], created_ms : uint, payload : bin ]
// The message id is BLAKE2b-256("lienthong/v1/id" || 0 || body): derived from the content,
// so a replayed or re-sent envelope has the same id. The signature is Ed25519 by `from` over
// kind_domain(kind) || 0 || id, i.e. over the exact body bytes through their hash; the domain
// prefix keeps a receipt signature from ever being valid as a document signature.
#pragma once

#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/identity.h"

namespace lienthong::protocol {

enum class Kind : uint8_t { document = 1, receipt = 2, status = 3 };
std::string_view kind_domain(Kind kind);
std::string_view kind_name(Kind kind);

constexpr size_t kMaxRecipients = 256;

struct EnvelopeLimits {
    size_t max_envelope_bytes = 64u << 20;
};

struct Envelope {
    Kind kind = Kind::document;
    std::string from;
    std::vector<std::string> to;
    uint64_t created_ms = 0;
    Bytes payload;
};

struct SignedEnvelope {
    Envelope env;
    Hash32 id{};
    Signature signature{};
    Bytes wire;  // the exact bytes that travel and are stored
};

SignedEnvelope sign_envelope(Envelope env, const SignSecretKey& sk);

// Parses and checks the form of an envelope; does not check the signature (the caller looks
// up the sender's key first, then calls verify_envelope).
Result<SignedEnvelope> decode_envelope(ByteView wire, const EnvelopeLimits& limits = {});
bool verify_envelope(const SignedEnvelope& se, const SignPublicKey& sender_key);

std::string short_id(const Hash32& id);  // first 16 hex digits, for logs

}  // namespace lienthong::protocol
