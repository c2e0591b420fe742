// Fuzz target: an audit export or archive file (protocol/audit.h, audit_archive.h), as
// `lienthong-admin audit check` reads it from a third party, and the audit entries and heads
// inside it.
// Invariants: an entry or head that decodes re-encodes to exactly the input; an archive that
// checks and is signed by the seeds' key is exactly what write_audit_archive makes of what was
// read; every refusal says why.
#include "fuzz_target.h"

#include <sodium.h>

#include <cstring>

#include "protocol/audit.h"
#include "protocol/audit_archive.h"

using namespace lienthong::protocol;

namespace {
SecretIdentity identity() {
    if (sodium_init() < 0) std::abort();
    SecretIdentity id;
    id.pub.agency = "000.00.31.H14";
    uint8_t seed[crypto_sign_SEEDBYTES];
    std::memset(seed, 7, sizeof seed);
    crypto_sign_seed_keypair(id.pub.sign_key.data(), id.sign_secret.data(), seed);
    return id;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    if (auto e = decode_audit_entry(in); e.ok()) LT_FUZZ_CHECK(encode_audit_entry(*e) == Bytes(in.begin(), in.end()));
    if (auto h = decode_audit_head(in); h.ok()) LT_FUZZ_CHECK(encode_audit_head(*h) == Bytes(in.begin(), in.end()));
    if (auto a = check_audit_archive(in); a.ok()) {
        static const SecretIdentity id = identity();
        LT_FUZZ_CHECK(a->last_seq >= a->first_seq && a->end.seq == a->last_seq);
        if (a->a.sign_key == id.pub.sign_key) LT_FUZZ_CHECK(write_audit_archive(a->a, id) == Bytes(in.begin(), in.end()));
    } else {
        LT_FUZZ_CHECK(!a.error().empty());
    }
    auto c = check_audit_export(in, std::nullopt);
    if (!c.ok()) {
        LT_FUZZ_CHECK(!c.error().empty());
        return 0;
    }
    LT_FUZZ_CHECK(!c->about_doc.empty() && c->heads_ok >= 1);
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    const auto id = identity();
    Hash32 doc{};
    doc.fill(9);
    AuditExport x;
    x.agency = id.pub.agency;
    x.sign_key = id.pub.sign_key;
    x.doc = doc;
    Hash32 prev{};
    for (uint64_t s = 1; s <= 3; ++s) {
        AuditEntry e;
        e.seq = s;
        e.time_ms = 1764000000000ull + s;
        e.kind = s == 2 ? "receipt_received" : "document_sent";
        e.msg = doc;
        e.agency = "000.00.32.H14";
        e.prev = prev;
        x.entries.push_back(encode_audit_entry(e));
        prev = audit_entry_hash(x.entries.back());
    }
    x.heads.push_back(encode_audit_head(sign_audit_head(id, 3, prev, 1764000000100ull)));
    x.witnesses.push_back("self");
    const Bytes file = write_audit_export(x, id);
    AuditArchive a;
    a.agency = id.pub.agency;
    a.sign_key = id.pub.sign_key;
    a.created_ms = 1764000000200ull;
    a.before_ms = 1764000000150ull;
    a.entries = x.entries;
    a.end = x.heads[0];
    const Bytes archive = write_audit_archive(a, id);
    return {std::vector<uint8_t>(file.begin(), file.end()), std::vector<uint8_t>(archive.begin(), archive.end()), std::vector<uint8_t>(x.entries[0].begin(), x.entries[0].end()),
            std::vector<uint8_t>(x.heads[0].begin(), x.heads[0].end())};
}
