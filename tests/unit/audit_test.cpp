// protocol/audit.h and audit_archive.h: entries, the chain, signed heads, export and archive files.
#include <catch2/catch.hpp>

#include "protocol/audit.h"
#include "protocol/audit_archive.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::seeded_identity;

namespace {
constexpr const char* kUs = "000.00.31.H14";

Hash32 filled(uint8_t b) {
    Hash32 h{};
    h.fill(b);
    return h;
}

// A chain of `n` entries; entry 2 and 4 are about document filled(7).
std::vector<Bytes> chain(size_t n) {
    std::vector<Bytes> out;
    Hash32 prev{};
    for (size_t i = 1; i <= n; ++i) {
        AuditEntry e;
        e.seq = i;
        e.time_ms = 1000 + i;
        e.kind = i % 2 == 0 ? "document_sent" : "peer_added";
        if (i == 2 || i == 4) e.msg = filled(7);
        e.agency = "000.00.32.H14";
        e.prev = prev;
        out.push_back(encode_audit_entry(e));
        prev = audit_entry_hash(out.back());
    }
    return out;
}
}  // namespace

TEST_CASE("an audit entry encodes canonically and decodes to the same fields", "[protocol][audit]") {
    AuditEntry e;
    e.seq = 42;
    e.time_ms = 1700000000000;
    e.kind = "receipt_received";
    e.msg = filled(1);
    e.about = filled(2);
    e.agency = "000.00.32.H14";
    e.peer = "relay";
    e.user = "alice";
    e.detail = "r=abc";
    e.prev = filled(3);
    const Bytes b = encode_audit_entry(e);
    auto d = decode_audit_entry(b);
    REQUIRE(d.ok());
    CHECK(d->seq == 42);
    CHECK(d->kind == "receipt_received");
    CHECK(*d->msg == filled(1));
    CHECK(*d->about == filled(2));
    CHECK(d->user == "alice");
    CHECK(d->prev == filled(3));
    CHECK(encode_audit_entry(*d) == b);
}

TEST_CASE("bad audit entries are refused with a reason", "[protocol][audit]") {
    AuditEntry e;
    e.seq = 0;
    e.kind = "x";
    CHECK_THAT(decode_audit_entry(encode_audit_entry(e)).error(), Catch::Contains("seq"));
    e.seq = 1;
    e.kind = "";
    CHECK_THAT(decode_audit_entry(encode_audit_entry(e)).error(), Catch::Contains("kind"));
    e.kind = "x";
    Bytes b = encode_audit_entry(e);
    b.push_back(0);  // trailing byte
    CHECK_FALSE(decode_audit_entry(b).ok());
    CHECK_FALSE(decode_audit_entry(Bytes{0x01, 0x02}).ok());
}

TEST_CASE("the audit chain check names the first changed entry", "[protocol][audit]") {
    auto c = chain(6);
    CHECK_FALSE(check_audit_chain(c, 1, Hash32{}).has_value());
    // Change entry 3's time and re-encode it: entry 3 still links back, entry 4 no longer does.
    auto e3 = *decode_audit_entry(c[2]);
    e3.time_ms += 1;
    c[2] = encode_audit_entry(e3);
    auto brk = check_audit_chain(c, 1, Hash32{});
    REQUIRE(brk);
    CHECK(brk->seq == 3);
    CHECK_THAT(brk->why, Catch::Contains("entry 4 no longer links to it"));
    // A gap: entry 5 removed.
    auto g = chain(6);
    g.erase(g.begin() + 4);
    brk = check_audit_chain(g, 1, Hash32{});
    REQUIRE(brk);
    CHECK(brk->seq == 5);
}

TEST_CASE("a signed audit head verifies only with its key and unchanged", "[protocol][audit]") {
    const auto us = seeded_identity(kUs, 1);
    const auto other = seeded_identity(kUs, 2);
    auto h = sign_audit_head(us, 9, filled(4), 5000);
    CHECK(verify_audit_head(us.pub.sign_key, h));
    CHECK_FALSE(verify_audit_head(other.pub.sign_key, h));
    auto d = decode_audit_head(encode_audit_head(h));
    REQUIRE(d.ok());
    CHECK(verify_audit_head(us.pub.sign_key, *d));
    d->seq = 10;
    CHECK_FALSE(verify_audit_head(us.pub.sign_key, *d));
    CHECK_FALSE(decode_audit_head(Bytes{0x90}).ok());
    AuditHead bad = h;
    bad.agency = "bad agency";
    CHECK_THAT(decode_audit_head(encode_audit_head(bad)).error(), Catch::Contains("agency"));
}

TEST_CASE("an audit export checks with the public key and fails on any changed byte", "[protocol][audit]") {
    const auto us = seeded_identity(kUs, 1);
    const auto c = chain(5);
    AuditExport x;
    x.agency = kUs;
    x.sign_key = us.pub.sign_key;
    x.doc = filled(7);
    x.created_ms = 9000;
    x.entries.assign(c.begin() + 1, c.end());  // seq 2..5
    x.heads.push_back(encode_audit_head(sign_audit_head(us, 5, audit_entry_hash(c[4]), 8000)));
    x.witnesses.push_back("self");
    const Bytes file = write_audit_export(x, us);
    auto ok = check_audit_export(file, us.pub.sign_key);
    REQUIRE(ok.ok());
    CHECK(ok->about_doc.size() == 2);
    CHECK(ok->witnessed_seq == 5);
    CHECK_THAT(check_audit_export(file, seeded_identity(kUs, 2).pub.sign_key).error(), Catch::Contains("not the key given"));
    for (size_t i = 0; i < file.size(); ++i) {
        Bytes changed = file;
        changed[i] ^= 0x01;
        INFO("byte " << i);
        CHECK_FALSE(check_audit_export(changed, std::nullopt).ok());
    }
    Bytes cut(file.begin(), file.end() - 1);
    CHECK_FALSE(check_audit_export(cut, std::nullopt).ok());
    CHECK_THAT(check_audit_export(Bytes{'x'}, std::nullopt).error(), Catch::Contains("not an audit export"));
}

TEST_CASE("an audit export whose head does not cover its entries is refused", "[protocol][audit]") {
    const auto us = seeded_identity(kUs, 1);
    const auto c = chain(5);
    AuditExport x;
    x.agency = kUs;
    x.sign_key = us.pub.sign_key;
    x.doc = filled(7);
    x.entries.assign(c.begin(), c.end());
    // Signed by the node, but over another hash: the entries were changed after the head.
    x.heads.push_back(encode_audit_head(sign_audit_head(us, 5, filled(9), 8000)));
    x.witnesses.push_back("000.00.32.H14");
    CHECK_THAT(check_audit_export(write_audit_export(x, us), std::nullopt).error(),
               Catch::Contains("does not match the head 000.00.32.H14 holds"));
    x.heads = {encode_audit_head(sign_audit_head(us, 3, audit_entry_hash(c[2]), 8000))};
    CHECK_THAT(check_audit_export(write_audit_export(x, us), std::nullopt).error(), Catch::Contains("no signed head covers"));
    x.heads = {encode_audit_head(sign_audit_head(seeded_identity(kUs, 2), 5, audit_entry_hash(c[4]), 8000))};
    CHECK_THAT(check_audit_export(write_audit_export(x, us), std::nullopt).error(), Catch::Contains("bad signature"));
}

namespace {
// An archive of entries [from, to] (1-based) of `c`, cut off at `before`.
AuditArchive archive_of(const protocol::SecretIdentity& us, const std::vector<Bytes>& c, size_t from, size_t to,
                        uint64_t before) {
    AuditArchive a;
    a.agency = kUs;
    a.sign_key = us.pub.sign_key;
    a.created_ms = 9000;
    a.before_ms = before;
    if (from > 1) a.first_prev = audit_entry_hash(c[from - 2]);
    a.entries.assign(c.begin() + static_cast<long>(from - 1), c.begin() + static_cast<long>(to));
    a.end = encode_audit_head(sign_audit_head(us, to, audit_entry_hash(c[to - 1]), 8500));
    return a;
}
}  // namespace

TEST_CASE("an audit archive checks with the public key, links to the one before it, and fails on any changed byte",
          "[protocol][audit]") {
    const auto us = seeded_identity(kUs, 1);
    const auto c = chain(6);  // entry i has time 1000 + i
    const Bytes first = write_audit_archive(archive_of(us, c, 1, 3, 1004), us);
    const Bytes second = write_audit_archive(archive_of(us, c, 4, 6, 1007), us);
    auto a = check_audit_archive(first, {us.pub.sign_key});
    REQUIRE(a.ok());
    CHECK(a->first_seq == 1);
    CHECK(a->last_seq == 3);
    CHECK(a->end.seq == 3);
    CHECK(a->hashes.size() == 3);
    auto b = check_audit_archive(second);
    REQUIRE(b.ok());
    CHECK(b->first_seq == 4);
    CHECK(b->a.first_prev == a->end.head);  // the second archive goes on from the first's end
    CHECK(is_audit_archive(first));
    CHECK_FALSE(is_audit_archive(Bytes{'l', 'i'}));
    CHECK_THAT(check_audit_archive(first, {seeded_identity(kUs, 2).pub.sign_key}).error(), Catch::Contains("not a key given"));
    for (size_t i = 0; i < first.size(); ++i) {
        Bytes changed = first;
        changed[i] ^= 0x01;
        INFO("byte " << i);
        CHECK_FALSE(check_audit_archive(changed).ok());
    }
    CHECK_FALSE(check_audit_archive(Bytes(first.begin(), first.end() - 1)).ok());
    CHECK_THAT(check_audit_archive(Bytes{'x'}).error(), Catch::Contains("not an audit archive"));
}

TEST_CASE("an audit archive whose entries break the chain, pass the cut-off or miss their end head is refused",
          "[protocol][audit]") {
    const auto us = seeded_identity(kUs, 1);
    const auto c = chain(6);
    auto late = archive_of(us, c, 1, 3, 1003);  // entry 3 has time 1003: not before the cut-off
    CHECK_THAT(check_audit_archive(write_audit_archive(late, us)).error(), Catch::Contains("entry 3 is not older"));
    auto unlinked = archive_of(us, c, 4, 6, 1007);
    unlinked.first_prev = filled(1);
    CHECK_THAT(check_audit_archive(write_audit_archive(unlinked, us)).error(), Catch::Contains("entry 4 does not link"));
    auto gap = archive_of(us, c, 1, 3, 1007);
    gap.entries.erase(gap.entries.begin() + 1);
    CHECK_THAT(check_audit_archive(write_audit_archive(gap, us)).error(), Catch::Contains("holds seq 3"));
    auto short_end = archive_of(us, c, 1, 3, 1007);
    short_end.end = encode_audit_head(sign_audit_head(us, 2, audit_entry_hash(c[1]), 8500));
    CHECK_THAT(check_audit_archive(write_audit_archive(short_end, us)).error(), Catch::Contains("does not name its last entry"));
    auto foreign_end = archive_of(us, c, 1, 3, 1007);
    foreign_end.end = encode_audit_head(sign_audit_head(seeded_identity(kUs, 2), 3, audit_entry_hash(c[2]), 8500));
    CHECK_THAT(check_audit_archive(write_audit_archive(foreign_end, us)).error(), Catch::Contains("bad signature"));
    auto empty = archive_of(us, c, 1, 3, 1007);
    empty.entries.clear();
    CHECK_THAT(check_audit_archive(write_audit_archive(empty, us)).error(), Catch::Contains("holds no entries"));
}
