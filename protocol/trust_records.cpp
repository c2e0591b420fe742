// Issuer records, node records, enrollment requests, revocations and cross-federation trust:
// encoding, decoding, signing (layouts in trust.h and cross_trust.h).
#include <algorithm>
#include <set>

#include "protocol/codec.h"
#include "protocol/cross_trust.h"
#include "protocol/trust.h"

namespace lienthong::protocol {

namespace {

constexpr uint64_t kRecordVersion = 1;

DecodeLimits record_limits() {
    DecodeLimits l;
    l.max_bytes = kMaxRecordBytes;
    l.max_array = 16;
    l.max_str = kMaxReasonLength;
    l.max_bin = kMaxRecordBytes;
    l.max_depth = 3;
    return l;
}

Bytes wrap(ByteView body, const Signature& sig) {
    Writer w;
    w.array(3).u64(kRecordVersion).bin(body).bin(sig);
    return w.take();
}

// Parses the outer [version, body, signature] and the body, then `read` the body's fields.
template <class R, class ReadFields>
Result<R> decode_signed(ByteView wire, const std::string& what, ReadFields read) {
    LT_ASSIGN(auto outer, Decoded::parse(wire, what, record_limits()));
    auto o = outer.root();
    LT_ASSIGN(auto version, o.u64("version"));
    if (version != kRecordVersion)
        return make_error(what + ": version " + std::to_string(version) +
                          " is not supported (this build reads version 1; upgrade lienthong)");
    LT_ASSIGN(auto body, o.bin("body", kMaxRecordBytes));
    LT_ASSIGN(auto signature, o.fixed<64>("signature"));
    LT_TRY(o.finish());
    LT_ASSIGN(auto inner, Decoded::parse(body, what + " body", record_limits()));
    auto b = inner.root();
    R r;
    LT_TRY(read(b, r));
    LT_TRY(b.finish());
    r.signature = signature;
    LT_TRY(r.check());
    return r;
}

template <class R>
Result<R> from_armor_of(std::string_view text) {
    LT_ASSIGN(auto data, dearmor(text, R::kLabel));
    return R::decode(data);
}

Hash32 record_id(const Bytes& wire) {
    return hash_domain("lienthong/v1/record-id", wire);
}

void write_endpoints(Writer& w, const std::vector<std::string>& endpoints) {
    w.array(endpoints.size());
    for (const auto& e : endpoints) w.str(e);
}

Result<std::vector<std::string>> read_endpoints(ArrayReader& r) {
    LT_ASSIGN(auto list, r.array("endpoints", kMaxEndpoints));
    std::vector<std::string> out;
    while (list.remaining() > 0) {
        LT_ASSIGN(auto e, list.str("endpoint", kMaxEndpointLength));
        out.push_back(std::move(e));
    }
    return out;
}

// Form rules shared by node records and enrollment requests.
Status check_node_fields(const std::string& what, std::string_view agency, std::string_view name,
                         const std::vector<std::string>& endpoints, std::string_view parent) {
    const auto in = [&](const Status& st) -> Status {
        if (st.ok()) return st;
        return make_error(what + ": " + st.error());
    };
    LT_TRY(in(check_agency(agency, "agency")));
    LT_TRY(in(check_text(name, kMaxNameLength, false, "name")));
    if (endpoints.size() > kMaxEndpoints)
        return make_error(what + ": more than " + std::to_string(kMaxEndpoints) + " endpoints");
    std::set<std::string_view> seen;
    for (const auto& e : endpoints) {
        LT_TRY(in(check_record_endpoint(e)));
        if (!seen.insert(e).second)
            return make_error(what + ": endpoint '" + printable(e) + "' is listed twice");
    }
    if (!parent.empty()) {
        LT_TRY(in(check_agency(parent, "parent")));
        if (parent == agency) return make_error(what + ": an agency cannot be its own parent");
    }
    return ok_status();
}

Status check_validity(const std::string& what, uint64_t serial, uint64_t from, uint64_t until) {
    if (serial == 0) return make_error(what + ": serial must be at least 1");
    if (until <= from) return make_error(what + ": valid_until must be after valid_from");
    return ok_status();
}

std::string node_what(std::string_view kind, std::string_view agency) {
    return std::string(kind) + (agency.empty() ? "" : " of '" + printable(agency) + "'");
}

}  // namespace

// ---- IssuerRecord ----------------------------------------------------------------------

Bytes IssuerRecord::body() const {
    Writer w;
    w.array(9).str(agency).str(name).bin(key).str(prefix).u64(max_depth).u64(serial);
    w.u64(valid_from_ms).u64(valid_until_ms).bin(signer);
    return w.take();
}
Bytes IssuerRecord::encode() const {
    return wrap(body(), signature);
}
std::string IssuerRecord::armor() const {
    return protocol::armor(kLabel, encode());
}
Hash32 IssuerRecord::id() const {
    return record_id(encode());
}

Status IssuerRecord::check() const {
    const std::string what = node_what("issuer record", agency);
    if (auto st = check_agency(agency, "agency"); !st.ok())
        return make_error(what + ": " + st.error());
    if (auto st = check_text(name, kMaxNameLength, false, "name"); !st.ok())
        return make_error(what + ": " + st.error());
    if (auto st = check_prefix(prefix, "prefix"); !st.ok())
        return make_error(what + ": " + st.error());
    if (max_depth > kMaxDelegationDepth)
        return make_error(what + ": max_depth " + std::to_string(max_depth) + " exceeds " +
                          std::to_string(kMaxDelegationDepth));
    return check_validity(what, serial, valid_from_ms, valid_until_ms);
}

Result<IssuerRecord> IssuerRecord::decode(ByteView wire) {
    return decode_signed<IssuerRecord>(wire, "issuer record",
                                       [](ArrayReader& b, IssuerRecord& r) -> Status {
                                           LT_ASSIGN(r.agency, b.str("agency", kMaxAgencyLength));
                                           LT_ASSIGN(r.name, b.str("name", kMaxNameLength));
                                           LT_ASSIGN(r.key, b.fixed<32>("key"));
                                           LT_ASSIGN(r.prefix, b.str("prefix", kMaxAgencyLength));
                                           LT_ASSIGN(r.max_depth, b.u64("max_depth"));
                                           LT_ASSIGN(r.serial, b.u64("serial"));
                                           LT_ASSIGN(r.valid_from_ms, b.u64("valid_from_ms"));
                                           LT_ASSIGN(r.valid_until_ms, b.u64("valid_until_ms"));
                                           LT_ASSIGN(r.signer, b.fixed<32>("signer"));
                                           return ok_status();
                                       });
}
Result<IssuerRecord> IssuerRecord::from_armor(std::string_view text) {
    return from_armor_of<IssuerRecord>(text);
}

// ---- NodeRecord ------------------------------------------------------------------------

Bytes NodeRecord::body() const {
    Writer w;
    w.array(10).str(agency).str(name).bin(sign_key).bin(box_key);
    write_endpoints(w, endpoints);
    w.str(parent).u64(serial).u64(valid_from_ms).u64(valid_until_ms).bin(issuer);
    return w.take();
}
Bytes NodeRecord::encode() const {
    return wrap(body(), signature);
}
std::string NodeRecord::armor() const {
    return protocol::armor(kLabel, encode());
}
Hash32 NodeRecord::id() const {
    return record_id(encode());
}

Status NodeRecord::check() const {
    const std::string what = node_what("node record", agency);
    LT_TRY(check_node_fields(what, agency, name, endpoints, parent));
    return check_validity(what, serial, valid_from_ms, valid_until_ms);
}

Result<NodeRecord> NodeRecord::decode(ByteView wire) {
    return decode_signed<NodeRecord>(wire, "node record",
                                     [](ArrayReader& b, NodeRecord& r) -> Status {
                                         LT_ASSIGN(r.agency, b.str("agency", kMaxAgencyLength));
                                         LT_ASSIGN(r.name, b.str("name", kMaxNameLength));
                                         LT_ASSIGN(r.sign_key, b.fixed<32>("sign_key"));
                                         LT_ASSIGN(r.box_key, b.fixed<32>("box_key"));
                                         LT_ASSIGN(r.endpoints, read_endpoints(b));
                                         LT_ASSIGN(r.parent, b.str("parent", kMaxAgencyLength));
                                         LT_ASSIGN(r.serial, b.u64("serial"));
                                         LT_ASSIGN(r.valid_from_ms, b.u64("valid_from_ms"));
                                         LT_ASSIGN(r.valid_until_ms, b.u64("valid_until_ms"));
                                         LT_ASSIGN(r.issuer, b.fixed<32>("issuer"));
                                         return ok_status();
                                     });
}
Result<NodeRecord> NodeRecord::from_armor(std::string_view text) {
    return from_armor_of<NodeRecord>(text);
}

// ---- EnrollmentRequest -----------------------------------------------------------------

Bytes EnrollmentRequest::body() const {
    Writer w;
    w.array(7).str(agency).str(name).bin(sign_key).bin(box_key);
    write_endpoints(w, endpoints);
    w.str(parent).u64(created_ms);
    return w.take();
}
Bytes EnrollmentRequest::encode() const {
    return wrap(body(), signature);
}
std::string EnrollmentRequest::armor() const {
    return protocol::armor(kLabel, encode());
}
Hash32 EnrollmentRequest::id() const {
    return record_id(encode());
}

Status EnrollmentRequest::check() const {
    return check_node_fields(node_what("enrollment request", agency), agency, name, endpoints,
                             parent);
}

Result<EnrollmentRequest> EnrollmentRequest::decode(ByteView wire) {
    return decode_signed<EnrollmentRequest>(
        wire, "enrollment request", [](ArrayReader& b, EnrollmentRequest& r) -> Status {
            LT_ASSIGN(r.agency, b.str("agency", kMaxAgencyLength));
            LT_ASSIGN(r.name, b.str("name", kMaxNameLength));
            LT_ASSIGN(r.sign_key, b.fixed<32>("sign_key"));
            LT_ASSIGN(r.box_key, b.fixed<32>("box_key"));
            LT_ASSIGN(r.endpoints, read_endpoints(b));
            LT_ASSIGN(r.parent, b.str("parent", kMaxAgencyLength));
            LT_ASSIGN(r.created_ms, b.u64("created_ms"));
            return ok_status();
        });
}
Result<EnrollmentRequest> EnrollmentRequest::from_armor(std::string_view text) {
    return from_armor_of<EnrollmentRequest>(text);
}

// ---- Revocation ------------------------------------------------------------------------

Bytes Revocation::body() const {
    Writer w;
    w.array(6).str(agency).u64(static_cast<uint64_t>(kind)).u64(serial).u64(revoked_at_ms);
    w.str(reason).bin(signer);
    return w.take();
}
Bytes Revocation::encode() const {
    return wrap(body(), signature);
}
std::string Revocation::armor() const {
    return protocol::armor(kLabel, encode());
}
Hash32 Revocation::id() const {
    return record_id(encode());
}

Status Revocation::check() const {
    const std::string what = node_what("revocation", agency);
    if (auto st = check_agency(agency, "agency"); !st.ok())
        return make_error(what + ": " + st.error());
    if (kind != RevokedKind::node && kind != RevokedKind::issuer)
        return make_error(what + ": kind must be 1 (node record) or 2 (issuer record)");
    if (auto st = check_text(reason, kMaxReasonLength, false, "reason"); !st.ok())
        return make_error(what + ": " + st.error());
    return ok_status();
}

Result<Revocation> Revocation::decode(ByteView wire) {
    return decode_signed<Revocation>(
        wire, "revocation", [](ArrayReader& b, Revocation& r) -> Status {
            LT_ASSIGN(r.agency, b.str("agency", kMaxAgencyLength));
            LT_ASSIGN(auto kind, b.u64("kind"));
            if (kind != 1 && kind != 2)
                return make_error(
                    "revocation: field 'kind' must be 1 (node record) or 2 (issuer record)");
            r.kind = static_cast<RevokedKind>(kind);
            LT_ASSIGN(r.serial, b.u64("serial"));
            LT_ASSIGN(r.revoked_at_ms, b.u64("revoked_at_ms"));
            LT_ASSIGN(r.reason, b.str("reason", kMaxReasonLength));
            LT_ASSIGN(r.signer, b.fixed<32>("signer"));
            return ok_status();
        });
}
Result<Revocation> Revocation::from_armor(std::string_view text) {
    return from_armor_of<Revocation>(text);
}

bool Revocation::names(std::string_view a, RevokedKind k, uint64_t record_serial,
                       uint64_t record_valid_from_ms) const {
    if (a != agency || k != kind) return false;
    return serial == 0 ? record_valid_from_ms <= revoked_at_ms : record_serial <= serial;
}

// ---- CrossTrust ------------------------------------------------------------------------

Bytes CrossTrust::body() const {
    Writer w;
    w.array(8).str(root.name).bin(root.key).array(prefixes.size());
    for (const auto& p : prefixes) w.str(p);
    w.u64(serial).u64(valid_from_ms).u64(valid_until_ms).boolean(withdrawn).bin(signer);
    return w.take();
}
Bytes CrossTrust::encode() const {
    return wrap(body(), signature);
}
std::string CrossTrust::armor() const {
    return protocol::armor(kLabel, encode());
}
Hash32 CrossTrust::id() const {
    return record_id(encode());
}

Status CrossTrust::check() const {
    const std::string what = "cross-trust record of federation '" + printable(root.name) + "'";
    if (root.role != AuthorityRole::root)
        return make_error(what + ": it must name a federation root, not an issuer");
    if (!is_valid_agency(root.name))
        return make_error(what + ": the federation name must be 1-64 of A-Z a-z 0-9 . _ -");
    if ((prefixes.empty() && !withdrawn) || prefixes.size() > kMaxCrossPrefixes)
        return make_error(what + ": it must list 1 to " + std::to_string(kMaxCrossPrefixes) +
                          " agency code prefixes (an external root never speaks for every agency)");
    std::set<std::string_view> seen;
    for (const auto& p : prefixes) {
        if (p.empty()) return make_error(what + ": an empty prefix would cover every agency");
        if (auto st = check_prefix(p, "prefix"); !st.ok()) return make_error(what + ": " + st.error());
        if (!seen.insert(p).second)
            return make_error(what + ": prefix '" + printable(p) + "' is listed twice");
    }
    return check_validity(what, serial, valid_from_ms, valid_until_ms);
}

Result<CrossTrust> CrossTrust::decode(ByteView wire) {
    return decode_signed<CrossTrust>(
        wire, "cross-trust record", [](ArrayReader& b, CrossTrust& r) -> Status {
            r.root.role = AuthorityRole::root;
            LT_ASSIGN(r.root.name, b.str("federation", kMaxAgencyLength));
            LT_ASSIGN(r.root.key, b.fixed<32>("key"));
            LT_ASSIGN(auto list, b.array("prefixes", kMaxCrossPrefixes));
            while (list.remaining() > 0) {
                LT_ASSIGN(auto p, list.str("prefix", kMaxAgencyLength));
                r.prefixes.push_back(std::move(p));
            }
            LT_ASSIGN(r.serial, b.u64("serial"));
            LT_ASSIGN(r.valid_from_ms, b.u64("valid_from_ms"));
            LT_ASSIGN(r.valid_until_ms, b.u64("valid_until_ms"));
            LT_ASSIGN(r.withdrawn, b.boolean("withdrawn"));
            LT_ASSIGN(r.signer, b.fixed<32>("signer"));
            return ok_status();
        });
}
Result<CrossTrust> CrossTrust::from_armor(std::string_view text) {
    return from_armor_of<CrossTrust>(text);
}

// ---- Signing ---------------------------------------------------------------------------

Result<IssuerRecord> sign_issuer_record(IssuerRecord r, const SignSecretKey& secret) {
    r.signer = key_id(public_of(secret));
    LT_TRY(r.check());
    r.signature = sign_domain(secret, IssuerRecord::kDomain, r.body());
    return r;
}

Result<NodeRecord> sign_node_record(NodeRecord r, const SignSecretKey& secret) {
    r.issuer = key_id(public_of(secret));
    LT_TRY(r.check());
    r.signature = sign_domain(secret, NodeRecord::kDomain, r.body());
    return r;
}

Result<Revocation> sign_revocation(Revocation r, const SignSecretKey& secret) {
    r.signer = key_id(public_of(secret));
    LT_TRY(r.check());
    r.signature = sign_domain(secret, Revocation::kDomain, r.body());
    return r;
}

Result<CrossTrust> sign_cross_trust(CrossTrust r, const SignSecretKey& secret) {
    r.signer = key_id(public_of(secret));
    LT_TRY(r.check());
    r.signature = sign_domain(secret, CrossTrust::kDomain, r.body());
    return r;
}

Result<EnrollmentRequest> sign_enrollment_request(EnrollmentRequest r,
                                                  const SignSecretKey& node_secret) {
    if (public_of(node_secret) != r.sign_key)
        return make_error(
            "enrollment request: the secret key given is not the one of its sign key");
    LT_TRY(r.check());
    r.signature = sign_domain(node_secret, EnrollmentRequest::kDomain, r.body());
    return r;
}

Status verify_enrollment_request(const EnrollmentRequest& r) {
    LT_TRY(r.check());
    if (!verify_domain(r.sign_key, EnrollmentRequest::kDomain, r.body(), r.signature))
        return make_error(node_what("enrollment request", r.agency) +
                          ": its signature does not verify under the sign key it names (altered, "
                          "or not made by the holder of that key); ask the agency for a new one");
    return ok_status();
}

NodeRecord node_record_for(const EnrollmentRequest& r, uint64_t serial, uint64_t valid_from_ms,
                           uint64_t valid_until_ms) {
    NodeRecord n;
    n.agency = r.agency;
    n.name = r.name;
    n.sign_key = r.sign_key;
    n.box_key = r.box_key;
    n.endpoints = r.endpoints;
    n.parent = r.parent;
    n.serial = serial;
    n.valid_from_ms = valid_from_ms;
    n.valid_until_ms = valid_until_ms;
    return n;
}

}  // namespace lienthong::protocol
