// Fuzz target: decode_envelope on arbitrary bytes.
// Invariants: never crashes; anything accepted is canonical, i.e. re-encoding the decoded
// fields gives back exactly the input, and the id is the hash of the body as re-encoded.
#include "fuzz_target.h"

#include <sodium.h>

#include <cstring>

#include "protocol/envelope.h"

using namespace lienthong::protocol;

namespace {
SecretIdentity fixed_identity(const char* agency, uint8_t s) {
    SecretIdentity id;
    id.pub.agency = agency;
    uint8_t seed[32];
    std::memset(seed, s, sizeof seed);
    crypto_sign_seed_keypair(id.pub.sign_key.data(), id.sign_secret.data(), seed);
    crypto_box_seed_keypair(id.pub.box_key.data(), id.box_secret.data(), seed);
    return id;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool sodium_ready = sodium_init() >= 0;
    LT_FUZZ_CHECK(sodium_ready);
    EnvelopeLimits limits;
    limits.max_envelope_bytes = 1u << 20;
    auto se = decode_envelope(ByteView(data, size), limits);
    if (!se.ok()) {
        LT_FUZZ_CHECK(!se.error().empty());
        return 0;
    }
    Writer body;
    body.array(5).u64(static_cast<uint64_t>(se->env.kind)).str(se->env.from).array(se->env.to.size());
    for (const auto& t : se->env.to) body.str(t);
    body.u64(se->env.created_ms).bin(se->env.payload);
    const Bytes body_bytes = body.take();
    const Bytes again = Writer().array(3).u64(1).bin(body_bytes).bin(se->signature).take();
    LT_FUZZ_CHECK(again == Bytes(data, data + size));
    LT_FUZZ_CHECK(se->wire == again);
    LT_FUZZ_CHECK(se->id == hash_domain("lienthong/v1/id", body_bytes));
    LT_FUZZ_CHECK(!se->env.to.empty());
    LT_FUZZ_CHECK(is_valid_agency(se->env.from));
    (void)verify_envelope(*se, fixed_identity("A", 1).pub.sign_key);
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    const auto a = fixed_identity("000.00.31.H14", 1);
    std::vector<std::vector<uint8_t>> out;
    Envelope e;
    e.kind = Kind::document;
    e.from = a.pub.agency;
    e.to = {"000.00.00.H41"};
    e.created_ms = 1764201600000ull;
    e.payload = {1, 2, 3};
    out.push_back(sign_envelope(e, a.sign_secret).wire);
    e.kind = Kind::receipt;
    e.to = {"B", "C.D", "e_f-9"};
    e.payload.assign(300, 0x5a);
    out.push_back(sign_envelope(e, a.sign_secret).wire);
    e.payload.clear();
    e.created_ms = 0;
    out.push_back(sign_envelope(e, a.sign_secret).wire);
    out.push_back(Writer().array(3).u64(2).bin({}).bin(Bytes(64, 0)).take());
    return out;
}
