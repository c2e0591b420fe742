#include "bench/gossip_sim_province.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace lienthong::bench {
namespace {

using namespace lienthong::protocol;

// A key pair derived from the seed and a name, so record ids repeat from run to run.
AuthoritySecret seeded_authority(uint64_t seed, AuthorityRole role, const std::string& name) {
    Bytes in(8);
    for (int i = 0; i < 8; ++i) in[i] = static_cast<uint8_t>(seed >> (8 * i));
    in.insert(in.end(), name.begin(), name.end());
    const Hash32 s = hash_domain("lienthong/gossip-sim/key", in);
    AuthoritySecret a;
    a.pub.role = role;
    a.pub.name = name;
    crypto_sign_seed_keypair(a.pub.key.data(), a.secret.data(), s.data());
    return a;
}

BoxPublicKey seeded_box_key(uint64_t seed, const std::string& name) {
    const AuthoritySecret a = seeded_authority(seed, AuthorityRole::issuer, "box:" + name);
    BoxPublicKey pk{};
    BoxSecretKey sk{};
    crypto_box_seed_keypair(pk.data(), sk.data(), a.secret.data());  // first 32 bytes: a seed
    return pk;
}

// `keys` names the key pair: the agency's code, or another name for a rotated key.
NodeRecord node_record(const std::string& agency, const std::string& name,
                       const std::string& parent, uint64_t seed, const std::string& keys) {
    NodeRecord n;
    n.agency = agency;
    n.name = name;
    n.sign_key = seeded_authority(seed, AuthorityRole::issuer, "node:" + keys).pub.key;
    n.box_key = seeded_box_key(seed, keys);
    std::string host = agency;
    std::replace(host.begin(), host.end(), '.', '-');
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    n.endpoints = {"tcp://" + host + ".gov.vn:7001"};
    n.parent = parent;
    n.serial = 1;
    n.valid_from_ms = kNow - kDay;
    n.valid_until_ms = kNow + 365 * kDay;
    return n;
}

Hash32 id_of(DirRecordKind kind, const Bytes& wire) {
    switch (kind) {
        case DirRecordKind::node: return must(NodeRecord::decode(wire), "decode").id();
        case DirRecordKind::issuer: return must(IssuerRecord::decode(wire), "decode").id();
        case DirRecordKind::revocation: return must(Revocation::decode(wire), "decode").id();
        case DirRecordKind::cross_trust: return must(CrossTrust::decode(wire), "decode").id();
    }
    fail("unknown record kind");
}

// One province's code: H14 alone (as the single-province runs always were), else T01..T63.
std::string province_code(size_t provinces, size_t p) {
    char buf[32];
    if (provinces == 1) return "H14";
    std::snprintf(buf, sizeof buf, "T%02zu", p + 1);
    return buf;
}

}  // namespace

static uint64_t id_prefix(const Hash32& id) {
    uint64_t p = 0;
    std::memcpy(&p, id.data(), sizeof p);
    return p;
}

uint32_t Country::find(const Hash32& id) const {
    const auto it = by_prefix.find(id_prefix(id));
    if (it != by_prefix.end() && records[it->second].id == id) return it->second;
    // Two ids sharing their first 8 bytes: the second is found the slow way.
    const auto at = std::lower_bound(by_id.begin(), by_id.end(), id,
                                     [&](uint32_t r, const Hash32& x) { return records[r].id < x; });
    return at == by_id.end() || records[*at].id != id ? kNone : *at;
}

Country make_country(size_t n_nodes, size_t provinces, size_t want_districts, uint64_t seed,
                     Rng& rng) {
    if (provinces < 1 || n_nodes < 3 * provinces)
        fail("--nodes must be at least 3 per province");
    const size_t districts = std::clamp(want_districts, provinces, (n_nodes - provinces) / 2);
    Country c;
    c.provinces = provinces;
    std::vector<AuthoritySecret> roots;
    for (size_t p = 0; p < provinces; ++p) {
        roots.push_back(seeded_authority(seed, AuthorityRole::root,
                                         provinces == 1 ? "hagiang" : "tinh" + province_code(provinces, p)));
        c.roots.push_back(TrustAnchor{roots.back().pub, {}});
    }

    char buf[64];
    for (size_t p = 0; p < provinces; ++p) {
        c.agencies.push_back(province_code(provinces, p));
        c.province_of.push_back(static_cast<uint32_t>(p));
        c.district_of.push_back(static_cast<uint32_t>(p));
    }
    // Districts go to provinces in turn; communes to districts at random, as real districts
    // differ in size. Numbered within their parent.
    std::vector<size_t> children(provinces + districts, 0);
    for (size_t d = 0; d < districts; ++d) {
        const size_t p = d % provinces;
        std::snprintf(buf, sizeof buf, "%s.D%02zu", c.agencies[p].c_str(), ++children[p]);
        c.agencies.push_back(buf);
        c.province_of.push_back(static_cast<uint32_t>(p));
        c.district_of.push_back(static_cast<uint32_t>(p));
    }
    const size_t first_commune = provinces + districts;
    for (size_t i = first_commune; i < n_nodes; ++i) {
        const size_t d = provinces + rng.below(districts);
        std::snprintf(buf, sizeof buf, "%s.X%03zu", c.agencies[d].c_str(), ++children[d]);
        c.agencies.push_back(buf);
        c.province_of.push_back(c.province_of[d]);
        c.district_of.push_back(static_cast<uint32_t>(d));
    }

    struct Unsorted {
        DirRecordKind kind;
        Bytes wire;
        uint64_t timestamp;
        uint32_t province, agency, target;
    };
    std::vector<Unsorted> made;
    std::vector<AuthoritySecret> issuer_keys(first_commune);
    for (size_t d = provinces; d < first_commune; ++d) {
        issuer_keys[d] = seeded_authority(seed, AuthorityRole::issuer, c.agencies[d]);
        IssuerRecord r;
        r.agency = c.agencies[d];
        r.name = "Ủy ban nhân dân huyện " + c.agencies[d];
        r.key = issuer_keys[d].pub.key;
        r.prefix = c.agencies[d] + ".";
        r.max_depth = 0;
        r.valid_from_ms = kNow - 30 * kDay;
        r.valid_until_ms = kNow + 3 * 365 * kDay;
        made.push_back({DirRecordKind::issuer,
                        must(sign_issuer_record(r, roots[c.province_of[d]].secret), "issuer record")
                            .encode(),
                        r.valid_from_ms, c.province_of[d], static_cast<uint32_t>(d), kNone});
    }
    NodeRecord forged_source;
    auto name_of = [&](size_t a) {
        return a < provinces       ? "Ủy ban nhân dân tỉnh " + c.agencies[a]
               : a < first_commune ? "Ủy ban nhân dân huyện " + c.agencies[a]
                                   : "Ủy ban nhân dân xã " + c.agencies[a];
    };
    auto signer_of = [&](size_t a) -> const SignSecretKey& {
        return a >= first_commune ? issuer_keys[c.district_of[a]].secret
                                  : roots[c.province_of[a]].secret;
    };
    for (size_t a = 0; a < c.agencies.size(); ++a) {
        const std::string parent = a < provinces ? "" : c.agencies[c.district_of[a]];
        const NodeRecord r = must(
            sign_node_record(node_record(c.agencies[a], name_of(a), parent, seed, c.agencies[a]),
                             signer_of(a)),
            "node record");
        made.push_back({DirRecordKind::node, r.encode(), r.valid_from_ms, c.province_of[a],
                        static_cast<uint32_t>(a), kNone});
        if (a == c.agencies.size() - 1) forged_source = r;
    }
    // Each root trusts every other province's root for that province's code.
    for (size_t p = 0; p < provinces && provinces > 1; ++p)
        for (size_t q = 0; q < provinces; ++q) {
            if (p == q) continue;
            CrossTrust t;
            t.root = roots[q].pub;
            t.prefixes = {c.agencies[q]};
            t.serial = 1;
            t.valid_from_ms = kNow - 20 * kDay;
            t.valid_until_ms = kNow + 3 * 365 * kDay;
            made.push_back({DirRecordKind::cross_trust,
                            must(sign_cross_trust(t, roots[p].secret), "cross-trust").encode(),
                            t.valid_from_ms, static_cast<uint32_t>(p), kNone,
                            static_cast<uint32_t>(q)});
        }
    const size_t communes = n_nodes - first_commune;
    // The revoked commune and its revocation, by the issuer that enrolled it.
    c.revoked_agency = static_cast<uint32_t>(first_commune + rng.below(communes));
    Revocation rev;
    rev.agency = c.agencies[c.revoked_agency];
    rev.kind = RevokedKind::node;
    rev.serial = 1;
    rev.revoked_at_ms = kNow - 1000;
    rev.reason = "khóa bí mật bị lộ (key compromised)";
    made.push_back({DirRecordKind::revocation,
                    must(sign_revocation(rev, signer_of(c.revoked_agency)), "revocation").encode(),
                    rev.revoked_at_ms, c.province_of[c.revoked_agency], c.revoked_agency, kNone});
    // A key rotation of another commune: serial 2, new keys, issued an hour ago.
    c.rotated_agency = c.revoked_agency;
    while (communes > 1 && c.rotated_agency == c.revoked_agency)
        c.rotated_agency = static_cast<uint32_t>(first_commune + rng.below(communes));
    {
        const size_t a = c.rotated_agency;
        NodeRecord r = node_record(c.agencies[a], name_of(a), c.agencies[c.district_of[a]], seed,
                                   c.agencies[a] + "/rotated");
        r.serial = 2;
        r.valid_from_ms = kNow - 3600 * 1000;
        made.push_back({DirRecordKind::node,
                        must(sign_node_record(r, signer_of(a)), "rotated record").encode(),
                        r.valid_from_ms, c.province_of[a], static_cast<uint32_t>(a), kNone});
    }
    // A forgery: the last commune's record pointing at another endpoint, under the signature
    // of the real one.
    forged_source.endpoints = {"tcp://attacker.example:7001"};
    made.push_back({DirRecordKind::node, forged_source.encode(), forged_source.valid_from_ms,
                    c.province_of.back(), static_cast<uint32_t>(c.agencies.size() - 1), kNone});
    const size_t revocation_at = made.size() - 3, rotation_at = made.size() - 2,
                 forged_at = made.size() - 1;

    std::vector<Hash32> ids(made.size());
    for (size_t i = 0; i < made.size(); ++i) ids[i] = id_of(made[i].kind, made[i].wire);
    std::vector<uint32_t> order(made.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return ReconcileItem{made[a].timestamp, ids[a]} < ReconcileItem{made[b].timestamp, ids[b]};
    });
    c.node_record.assign(c.agencies.size(), kNone);
    c.issuer_record.assign(c.agencies.size(), kNone);
    c.cross.assign(provinces * provinces, kNone);
    std::vector<uint32_t> position(made.size());
    for (size_t pos = 0; pos < order.size(); ++pos) {
        const Unsorted& m = made[order[pos]];
        position[order[pos]] = static_cast<uint32_t>(pos);
        c.records.push_back(
            {ids[order[pos]], m.kind, m.wire, m.timestamp, m.province, m.agency, m.target, kNone});
        c.items.push_back({m.timestamp, ids[order[pos]]});
        c.singles.emplace_back().add(ids[order[pos]]);
        c.by_prefix.emplace(id_prefix(ids[order[pos]]), static_cast<uint32_t>(pos));
    }
    for (size_t i = 0; i < made.size(); ++i) {
        const uint32_t pos = position[i];
        const Unsorted& m = made[i];
        if (i == revocation_at) {
            c.revocation = pos;
        } else if (i == rotation_at) {
            c.rotation = pos;
        } else if (i == forged_at) {
            c.forged = pos;
        } else if (m.kind == DirRecordKind::node) {
            c.node_record[m.agency] = pos;
        } else if (m.kind == DirRecordKind::issuer) {
            c.issuer_record[m.agency] = pos;
        } else if (m.kind == DirRecordKind::cross_trust) {
            c.cross[m.province * provinces + m.target] = pos;
        }
    }
    c.records[c.rotation].supersedes = c.node_record[c.rotated_agency];

    c.by_id.resize(c.records.size());
    for (size_t i = 0; i < c.by_id.size(); ++i) c.by_id[i] = static_cast<uint32_t>(i);
    std::sort(c.by_id.begin(), c.by_id.end(),
              [&](uint32_t a, uint32_t b) { return c.records[a].id < c.records[b].id; });

    // What each verification may consult: the issuer records and revocations about its agency
    // and the agency's district (its issuer).
    std::vector<std::vector<uint32_t>> about(c.agencies.size());
    for (size_t r = 0; r < c.records.size(); ++r)
        if (c.records[r].kind == DirRecordKind::issuer ||
            c.records[r].kind == DirRecordKind::revocation)
            about[c.records[r].agency].push_back(static_cast<uint32_t>(r));
    c.relevant.resize(c.records.size());
    for (size_t r = 0; r < c.records.size(); ++r) {
        const uint32_t a = c.records[r].agency;
        if (a == kNone) continue;
        auto& rel = c.relevant[r];
        rel = about[a];
        if (a >= first_commune)
            rel.insert(rel.end(), about[c.district_of[a]].begin(), about[c.district_of[a]].end());
    }

    const size_t words = (c.records.size() + 63) / 64;
    c.full.assign(provinces, std::vector<uint64_t>(words, 0));
    for (size_t r = 0; r < c.records.size(); ++r) {
        if (r == c.revocation || r == c.rotation || r == c.forged) continue;
        if (c.records[r].kind == DirRecordKind::cross_trust) {
            set_bit(c.full[c.records[r].province], r);
            continue;
        }
        for (auto& f : c.full) set_bit(f, r);
    }
    c.full_count = c.agencies.size() + districts + (provinces - 1);
    return c;
}

}  // namespace lienthong::bench
