// A small federation for the trust tests: a province root, a district issuer that may
// delegate one level, a commune-group sub-issuer, and records signed under them.
#pragma once

#include <msgpack.hpp>

#include "protocol/codec.h"
#include "protocol/trust.h"
#include "test_util.h"

namespace lienthong::testing {

using namespace lienthong::protocol;

constexpr uint64_t kNow = 1764000000000ull;  // 2025-11-24
constexpr uint64_t kDay = 86400000ull;

struct Federation {
    AuthoritySecret root = AuthoritySecret::generate(AuthorityRole::root, "hagiang");
    AuthoritySecret district = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.31.H14");
    AuthoritySecret group = AuthoritySecret::generate(AuthorityRole::issuer, "000.00.31.H14.01");
    std::vector<TrustAnchor> roots{TrustAnchor{root.pub, {}}};
    std::vector<IssuerRecord> issuers;
    std::vector<Revocation> revocations;

    Federation() {
        issuers.push_back(delegate(root, district, "000.00.31.", 1, 1));
        issuers.push_back(delegate(district, group, "000.00.31.H14.01.", 0, 1));
    }

    static IssuerRecord delegate(const AuthoritySecret& by, const AuthoritySecret& to,
                                 std::string prefix, uint64_t depth, uint64_t serial,
                                 uint64_t from = kNow - 10 * kDay,
                                 uint64_t until = kNow + 300 * kDay) {
        IssuerRecord r;
        r.agency = to.pub.name;
        r.name = "issuer " + to.pub.name;
        r.key = to.pub.key;
        r.prefix = std::move(prefix);
        r.max_depth = depth;
        r.serial = serial;
        r.valid_from_ms = from;
        r.valid_until_ms = until;
        auto s = sign_issuer_record(r, by.secret);
        if (!s.ok()) throw std::runtime_error(s.error());
        return s.value();
    }

    static NodeRecord unsigned_node(const SecretIdentity& id, uint64_t serial = 1,
                                    uint64_t from = kNow - kDay,
                                    uint64_t until = kNow + 30 * kDay) {
        NodeRecord n;
        n.agency = id.pub.agency;
        n.name = "Ủy ban nhân dân " + id.pub.agency;
        n.sign_key = id.pub.sign_key;
        n.box_key = id.pub.box_key;
        n.endpoints = {"tcp://10.0.0.7:7001", "tcp://[fd00::7]:7001"};
        n.parent = "000.00.31.H14";
        n.serial = serial;
        n.valid_from_ms = from;
        n.valid_until_ms = until;
        return n;
    }

    static NodeRecord node(const AuthoritySecret& by, const SecretIdentity& id, uint64_t serial = 1,
                           uint64_t from = kNow - kDay, uint64_t until = kNow + 30 * kDay) {
        auto s = sign_node_record(unsigned_node(id, serial, from, until), by.secret);
        if (!s.ok()) throw std::runtime_error(s.error());
        return s.value();
    }

    static Revocation revocation(const AuthoritySecret& by, std::string agency, uint64_t serial,
                                 uint64_t at = kNow - 1000, RevokedKind kind = RevokedKind::node) {
        Revocation r;
        r.agency = std::move(agency);
        r.kind = kind;
        r.serial = serial;
        r.revoked_at_ms = at;
        r.reason = "key lost with a stolen laptop";
        auto s = sign_revocation(r, by.secret);
        if (!s.ok()) throw std::runtime_error(s.error());
        return s.value();
    }

    TrustView view(uint64_t now = kNow, size_t max_depth = kDefaultMaxDepth) const {
        return TrustView{roots, issuers, revocations, now, max_depth};
    }
};

// The outer record form with an arbitrary body, for hand-made malformed records.
inline Bytes wrap_body(const Bytes& body, const Signature& sig) {
    Writer w;
    w.array(3).u64(1).bin(body).bin(sig);
    return w.take();
}

}  // namespace lienthong::testing
