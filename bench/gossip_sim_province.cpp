#include "bench/gossip_sim_province.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>

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

NodeRecord node_record(const std::string& agency, const std::string& name,
                       const std::string& parent, uint64_t seed) {
    NodeRecord n;
    n.agency = agency;
    n.name = name;
    n.sign_key = seeded_authority(seed, AuthorityRole::issuer, "node:" + agency).pub.key;
    n.box_key = seeded_box_key(seed, agency);
    std::string host = agency;
    std::replace(host.begin(), host.end(), '.', '-');
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    n.endpoints = {"tcp://" + host + ".hagiang.gov.vn:7001"};
    n.parent = parent;
    n.serial = 1;
    n.valid_from_ms = kNow - kDay;
    n.valid_until_ms = kNow + 365 * kDay;
    return n;
}
}  // namespace

Province make_province(size_t n_nodes, size_t want_districts, uint64_t seed, Rng& rng) {
    const size_t districts = std::min(want_districts, std::max<size_t>(1, (n_nodes - 1) / 2));
    if (n_nodes < districts + 2) fail("--nodes must be at least 3");
    Province p;
    const AuthoritySecret root = seeded_authority(seed, AuthorityRole::root, "hagiang");
    p.roots.push_back(TrustAnchor{root.pub, {}});

    char buf[64];
    p.agencies.push_back("H14");
    p.district_of.push_back(0);
    for (size_t d = 1; d <= districts; ++d) {
        std::snprintf(buf, sizeof buf, "H14.D%02zu", d);
        p.agencies.push_back(buf);
        p.district_of.push_back(0);
    }
    // Communes go to districts at random, as real districts differ in size; numbered per
    // district.
    std::vector<size_t> per_district(districts + 1, 0);
    for (size_t i = districts + 1; i < n_nodes; ++i) {
        const size_t d = 1 + rng.below(districts);
        std::snprintf(buf, sizeof buf, "%s.X%03zu", p.agencies[d].c_str(), ++per_district[d]);
        p.agencies.push_back(buf);
        p.district_of.push_back(d);
    }

    struct Unsorted {
        DirRecordKind kind;
        Bytes wire;
        size_t agency;
        uint64_t timestamp;
    };
    std::vector<Unsorted> made;
    std::vector<AuthoritySecret> issuer_keys(districts + 1);
    for (size_t d = 1; d <= districts; ++d) {
        issuer_keys[d] = seeded_authority(seed, AuthorityRole::issuer, p.agencies[d]);
        IssuerRecord r;
        r.agency = p.agencies[d];
        r.name = "Ủy ban nhân dân huyện " + std::to_string(d) + ", tỉnh Hà Giang";
        r.key = issuer_keys[d].pub.key;
        r.prefix = p.agencies[d] + ".";
        r.max_depth = 0;
        r.valid_from_ms = kNow - 30 * kDay;
        r.valid_until_ms = kNow + 3 * 365 * kDay;
        made.push_back({DirRecordKind::issuer,
                        must(sign_issuer_record(r, root.secret), "issuer record").encode(), d,
                        r.valid_from_ms});
    }
    NodeRecord forged_source;
    for (size_t a = 0; a < p.agencies.size(); ++a) {
        const bool commune = a > districts;
        const std::string name = a == 0     ? "Ủy ban nhân dân tỉnh Hà Giang"
                                 : !commune ? "Ủy ban nhân dân huyện " + std::to_string(a)
                                            : "Ủy ban nhân dân xã " +
                                                  p.agencies[a].substr(p.agencies[a].size() - 3) +
                                                  ", huyện " + std::to_string(p.district_of[a]);
        const std::string parent = a == 0 ? "" : p.agencies[p.district_of[a]];
        const SignSecretKey& signer = commune ? issuer_keys[p.district_of[a]].secret : root.secret;
        const NodeRecord r =
            must(sign_node_record(node_record(p.agencies[a], name, parent, seed), signer),
                 "node record");
        made.push_back({DirRecordKind::node, r.encode(), a, r.valid_from_ms});
        if (a == p.agencies.size() - 1) forged_source = r;
    }
    // The revoked commune and its revocation, by the issuer that enrolled it.
    p.revoked_agency = districts + 1 + rng.below(n_nodes - districts - 1);
    Revocation rev;
    rev.agency = p.agencies[p.revoked_agency];
    rev.kind = RevokedKind::node;
    rev.serial = 1;
    rev.revoked_at_ms = kNow - 1000;
    rev.reason = "khóa bí mật bị lộ (key compromised)";
    made.push_back({DirRecordKind::revocation,
                    must(sign_revocation(rev, issuer_keys[p.district_of[p.revoked_agency]].secret),
                         "revocation")
                        .encode(),
                    p.revoked_agency, rev.revoked_at_ms});
    // A forgery: the last commune's record pointing at another endpoint, under the signature
    // of the real one.
    forged_source.endpoints = {"tcp://attacker.example:7001"};
    made.push_back(
        {DirRecordKind::node, forged_source.encode(), SIZE_MAX, forged_source.valid_from_ms});

    std::vector<size_t> order(made.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<Hash32> ids(made.size());
    for (size_t i = 0; i < made.size(); ++i) {
        if (made[i].kind == DirRecordKind::node)
            ids[i] = must(NodeRecord::decode(made[i].wire), "decode").id();
        else if (made[i].kind == DirRecordKind::issuer)
            ids[i] = must(IssuerRecord::decode(made[i].wire), "decode").id();
        else
            ids[i] = must(Revocation::decode(made[i].wire), "decode").id();
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
    p.node_record.assign(p.agencies.size(), SIZE_MAX);
    p.issuer_record.assign(p.agencies.size(), SIZE_MAX);
    p.full.assign(made.size(), 0);
    for (size_t pos = 0; pos < order.size(); ++pos) {
        const size_t i = order[pos];
        p.records.push_back({ids[i], made[i].kind, made[i].wire, made[i].timestamp});
        if (made[i].kind == DirRecordKind::revocation) {
            p.revocation = pos;
        } else if (made[i].agency == SIZE_MAX) {
            p.forged = pos;
        } else {
            (made[i].kind == DirRecordKind::node ? p.node_record
                                                 : p.issuer_record)[made[i].agency] = pos;
            p.full[pos] = 1;
            ++p.full_count;
        }
    }
    return p;
}

}  // namespace lienthong::bench
