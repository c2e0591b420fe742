// Sealed documents: only the named parties can open them, and any tampering is refused.
#include <catch2/catch.hpp>

#include <sodium.h>

#include "protocol/document.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;
using lienthong::testing::pattern_bytes;
using lienthong::testing::seeded_identity;

namespace {
struct Parties {
    SecretIdentity sender = seeded_identity("000.00.31.H14", 1);
    SecretIdentity b = seeded_identity("000.00.00.H41", 2);
    SecretIdentity c = seeded_identity("000.01.31.H14", 3);
    SecretIdentity d = seeded_identity("000.02.31.H14", 4);
    SecretIdentity outsider = seeded_identity("000.09.99.H99", 5);
    std::vector<PublicIdentity> recipient_keys() const { return {b.pub, c.pub, d.pub}; }
};

DocumentContent sample_content(const Parties& p) {
    DocumentContent c;
    c.sender = p.sender.pub.agency;
    c.recipients = {p.b.pub.agency, p.c.pub.agency, p.d.pub.agency};
    c.created_ms = 1764000000123ull;
    c.meta.subject = "V/v triển khai Công văn Hỏa tốc về phòng chống bão tại Đắk Nông";
    c.meta.doc_type = "Công văn";
    c.meta.number = "123/UBND-KT";
    c.meta.signer = "Nguyễn Văn Ánh";
    c.meta.urgency = 3;
    c.meta.confidentiality = 1;
    c.meta.due_ms = 1764600000000ull;
    c.meta.reply_to = Bytes(32, 0x11);
    c.meta.extra = {{"linh_vuc", "Thiên tai"}, {"so_trang", "4"}};
    c.body = bytes_of("Kính gửi: Sở Tài nguyên và Môi trường.\nỦy ban nhân dân tỉnh đề nghị…");
    c.attachments = {
        {"Quyết định 123.pdf", "application/pdf", pattern_bytes(5000, 1)},
        {"phu-luc.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         pattern_bytes(70000, 2)},
        {"empty.txt", "text/plain", {}},
    };
    return c;
}

void check_same(const DocumentContent& a, const DocumentContent& b) {
    CHECK(a.sender == b.sender);
    CHECK(a.recipients == b.recipients);
    CHECK(a.created_ms == b.created_ms);
    CHECK(a.meta.subject == b.meta.subject);
    CHECK(a.meta.doc_type == b.meta.doc_type);
    CHECK(a.meta.number == b.meta.number);
    CHECK(a.meta.signer == b.meta.signer);
    CHECK(a.meta.urgency == b.meta.urgency);
    CHECK(a.meta.confidentiality == b.meta.confidentiality);
    CHECK(a.meta.due_ms == b.meta.due_ms);
    CHECK(a.meta.reply_to == b.meta.reply_to);
    CHECK(a.meta.extra == b.meta.extra);
    CHECK(a.body == b.body);
    REQUIRE(a.attachments.size() == b.attachments.size());
    for (size_t i = 0; i < a.attachments.size(); ++i) {
        CHECK(a.attachments[i].name == b.attachments[i].name);
        CHECK(a.attachments[i].mime == b.attachments[i].mime);
        CHECK(a.attachments[i].data == b.attachments[i].data);
    }
}

// The payload taken apart, so a test can alter one piece and put it back together.
struct Payload {
    Bytes nonce;
    std::vector<std::pair<std::string, Bytes>> wraps;
    Bytes ciphertext;

    static Payload parse(const Bytes& raw) {
        auto d = Decoded::parse(raw, "payload");
        REQUIRE(d.ok());
        auto r = d->root();
        Payload p;
        auto n = r.bin("nonce", 24);
        REQUIRE(n.ok());
        p.nonce.assign(n->begin(), n->end());
        auto ws = r.array("wraps", 1000);
        REQUIRE(ws.ok());
        while (ws->remaining() > 0) {
            auto w = ws->array("wrap", 2);
            REQUIRE(w.ok());
            auto a = w->str("agency", 64);
            auto k = w->bin("key", 1000);
            REQUIRE((a.ok() && k.ok()));
            p.wraps.emplace_back(*a, Bytes(k->begin(), k->end()));
        }
        auto ct = r.bin("ct", 1u << 30);
        REQUIRE(ct.ok());
        p.ciphertext.assign(ct->begin(), ct->end());
        return p;
    }
    Bytes encode() const {
        Writer w;
        w.array(3).bin(nonce).array(wraps.size());
        for (const auto& [a, k] : wraps) w.array(2).str(a).bin(k);
        w.bin(ciphertext);
        return w.take();
    }
};

// Re-signs `env` with `signer`: what a malicious sender or recipient could do.
SignedEnvelope resign(Envelope env, const SecretIdentity& signer) {
    return sign_envelope(std::move(env), signer.sign_secret);
}
}  // namespace

TEST_CASE("a sealed document opens to identical content", "[protocol][document]") {
    Parties p;
    const auto content = sample_content(p);
    auto sealed = seal_document(content, p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    CHECK(sealed->envelope.env.kind == Kind::document);
    CHECK(sealed->envelope.env.from == content.sender);
    CHECK(sealed->envelope.env.to == content.recipients);
    CHECK(verify_envelope(sealed->envelope, p.sender.pub.sign_key));

    auto wire = decode_envelope(sealed->envelope.wire);
    REQUIRE(wire.ok());
    auto opened = open_document(*wire, p.b, p.sender.pub.sign_key);
    REQUIRE(opened.ok());
    check_same(opened->content, content);
    CHECK(opened->content_signature_valid);
    CHECK(opened->content_hash == sealed->content_hash);
}

TEST_CASE("the plaintext does not appear in the sealed envelope", "[protocol][document]") {
    Parties p;
    const auto content = sample_content(p);
    auto sealed = seal_document(content, p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    const auto& w = sealed->envelope.wire;
    const std::string subject = content.meta.subject;
    CHECK(std::search(w.begin(), w.end(), subject.begin(), subject.end()) == w.end());
    const auto& att = content.attachments[0].data;
    CHECK(std::search(w.begin(), w.end(), att.begin(), att.begin() + 64) == w.end());
}

TEST_CASE("every recipient and the sender can open, a non-recipient cannot", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    for (const auto* me : {&p.sender, &p.b, &p.c, &p.d}) {
        INFO(me->pub.agency);
        auto opened = open_document(sealed->envelope, *me, p.sender.pub.sign_key);
        REQUIRE(opened.ok());
        CHECK(opened->content_signature_valid);
        CHECK(opened->content_hash == sealed->content_hash);
    }
    auto refused = open_document(sealed->envelope, p.outsider, p.sender.pub.sign_key);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::Contains("no key wrapped"));

    // An outsider who takes a recipient's agency name still lacks its box secret key.
    auto impostor = p.outsider;
    impostor.pub.agency = p.b.pub.agency;
    CHECK_FALSE(open_document(sealed->envelope, impostor, p.sender.pub.sign_key).ok());
}

TEST_CASE("two seals of the same content differ but open to the same content hash",
          "[protocol][document]") {
    Parties p;
    auto one = seal_document(sample_content(p), p.sender, p.recipient_keys());
    auto two = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE((one.ok() && two.ok()));
    CHECK(one->envelope.id != two->envelope.id);  // fresh key and nonce each time
    CHECK(one->content_hash == two->content_hash);
}

TEST_CASE("tampered ciphertext is refused", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    auto payload = Payload::parse(sealed->envelope.env.payload);
    for (size_t pos : {size_t(0), payload.ciphertext.size() / 2, payload.ciphertext.size() - 1}) {
        auto bad = payload;
        bad.ciphertext[pos] ^= 0x01;
        Envelope env = sealed->envelope.env;
        env.payload = bad.encode();
        auto r = open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("failed authentication"));
    }
    auto truncated = payload;
    truncated.ciphertext.resize(10);
    Envelope env = sealed->envelope.env;
    env.payload = truncated.encode();
    CHECK_FALSE(open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key).ok());

    auto bad_nonce = payload;
    bad_nonce.nonce[0] ^= 1;
    env.payload = bad_nonce.encode();
    CHECK_FALSE(open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key).ok());
}

TEST_CASE("a tampered wrapped key is refused", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    auto payload = Payload::parse(sealed->envelope.env.payload);
    REQUIRE(payload.wraps.size() == 4);  // the sender and three recipients
    for (auto& [agency, key] : payload.wraps) {
        if (agency != p.b.pub.agency) continue;
        key[40] ^= 0x80;
    }
    Envelope env = sealed->envelope.env;
    env.payload = payload.encode();
    auto r = open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("cannot be unwrapped"));
    // The others' keys were untouched.
    CHECK(open_document(resign(env, p.sender), p.c, p.sender.pub.sign_key).ok());

    // A key wrapped for C, relabelled as B's, does not open for B.
    auto relabelled = Payload::parse(sealed->envelope.env.payload);
    Bytes c_key;
    for (auto& [a, k] : relabelled.wraps)
        if (a == p.c.pub.agency) c_key = k;
    for (auto& [a, k] : relabelled.wraps)
        if (a == p.b.pub.agency) k = c_key;
    env.payload = relabelled.encode();
    CHECK_FALSE(open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key).ok());
}

TEST_CASE("a payload re-wrapped in an envelope with other parties is refused", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());

    SECTION("recipients changed by the sender") {
        Envelope env = sealed->envelope.env;
        env.to = {p.b.pub.agency, p.c.pub.agency};
        auto r = open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("does not match its envelope"));
    }
    SECTION("recipients reordered") {
        Envelope env = sealed->envelope.env;
        std::swap(env.to[0], env.to[2]);
        CHECK_FALSE(open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key).ok());
    }
    SECTION("a recipient forwards it as if it were its own") {
        Envelope env = sealed->envelope.env;
        env.from = p.b.pub.agency;
        env.to = {p.c.pub.agency};
        auto r = open_document(resign(env, p.b), p.c, p.b.pub.sign_key);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("does not match its envelope"));
    }
    SECTION("creation time changed") {
        Envelope env = sealed->envelope.env;
        env.created_ms += 1;
        CHECK_FALSE(open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key).ok());
    }
    SECTION("a receipt envelope carrying the payload") {
        Envelope env = sealed->envelope.env;
        env.kind = Kind::receipt;
        auto r = open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("not a document"));
    }
}

TEST_CASE("the inner signature is invalid when sealed by a different key than claimed",
          "[protocol][document]") {
    Parties p;
    // Mallory holds the sender's agency name but not its signing key.
    auto mallory = seeded_identity(p.sender.pub.agency, 66);
    auto sealed = seal_document(sample_content(p), mallory, p.recipient_keys());
    REQUIRE(sealed.ok());
    CHECK_FALSE(verify_envelope(sealed->envelope, p.sender.pub.sign_key));
    auto opened = open_document(sealed->envelope, p.b, p.sender.pub.sign_key);
    REQUIRE(opened.ok());
    CHECK_FALSE(opened->content_signature_valid);
    auto with_mallory_key = open_document(sealed->envelope, p.b, mallory.pub.sign_key);
    REQUIRE(with_mallory_key.ok());
    CHECK(with_mallory_key->content_signature_valid);
}

TEST_CASE("a malformed payload is refused without a crash", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    for (const Bytes& bad : {Bytes{}, bytes_of({0x90}), bytes_of({0x93, 0x01, 0x90, 0xc4, 0x00}),
                             Writer().array(3).bin(Bytes(24, 0)).array(1).array(2).str("000.00.00.H41")
                                 .bin(Bytes(79, 0)).bin({}).take()}) {
        Envelope env = sealed->envelope.env;
        env.payload = bad;
        CHECK_FALSE(open_document(resign(env, p.sender), p.b, p.sender.pub.sign_key).ok());
    }
}

TEST_CASE("open refuses a document larger than the configured limit", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    EnvelopeLimits small;
    small.max_envelope_bytes = 10000;  // the attachments alone are larger
    CHECK_FALSE(open_document(sealed->envelope, p.b, p.sender.pub.sign_key, small).ok());
}

TEST_CASE("seal refuses a sender that is not this node, and recipients without keys",
          "[protocol][document]") {
    Parties p;
    auto c = sample_content(p);
    auto r = seal_document(c, p.b, p.recipient_keys());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("not this node"));
    auto missing = seal_document(c, p.sender, {p.b.pub, p.c.pub});
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error(), Catch::Contains(p.d.pub.agency));
}

TEST_CASE("validate_content accepts a well-formed document", "[protocol][document]") {
    Parties p;
    CHECK(validate_content(sample_content(p)).ok());
}

TEST_CASE("validate_content refuses what a sender must not send", "[protocol][document]") {
    Parties p;
    auto refused = [&](auto mutate, const char* needle) {
        auto c = sample_content(p);
        mutate(c);
        auto st = validate_content(c);
        INFO(needle);
        REQUIRE_FALSE(st.ok());
        CHECK_THAT(st.error(), Catch::Contains(needle));
        // Sealing checks the same rules.
        CHECK_FALSE(seal_document(c, p.sender, p.recipient_keys()).ok());
    };
    refused([&](DocumentContent& c) { c.recipients.push_back(p.b.pub.agency); }, "listed twice");
    refused([&](DocumentContent& c) { c.recipients.push_back(c.sender); }, "sender itself");
    refused([](DocumentContent& c) { c.recipients.clear(); }, "no recipients");
    refused([](DocumentContent& c) { c.recipients.push_back("bad agency"); }, "agency");
    refused([](DocumentContent& c) { c.sender = "bad/sender"; }, "agency");
    refused([](DocumentContent& c) { c.attachments[0].name = "../x"; }, "not a plain file name");
    refused([](DocumentContent& c) { c.attachments[0].name = "a/b"; }, "not a plain file name");
    refused([](DocumentContent& c) { c.attachments[0].name = ""; }, "not a plain file name");
    refused([](DocumentContent& c) { c.attachments[1].name = c.attachments[0].name; }, "used twice");
    refused([](DocumentContent& c) { c.meta.urgency = 4; }, "urgency");
    refused([](DocumentContent& c) { c.meta.confidentiality = 4; }, "confidentiality");
    refused([](DocumentContent& c) { c.meta.reply_to = Bytes(31, 1); }, "reply_to");
    refused([](DocumentContent& c) { c.meta.subject = "H\xe1\xbb"; }, "UTF-8");
    refused([](DocumentContent& c) { c.meta.signer = std::string(kMaxTextField + 1, 'x'); }, "too long");
    refused([](DocumentContent& c) { c.attachments[0].mime = "\xff"; }, "MIME");
    refused(
        [](DocumentContent& c) {
            c.recipients.clear();
            for (size_t i = 0; i <= kMaxRecipients; ++i) c.recipients.push_back("R" + std::to_string(i));
        },
        "more than");
}

TEST_CASE("is_safe_file_name allows plain names only", "[protocol][document]") {
    CHECK(is_safe_file_name("Quyết định 123.pdf"));
    CHECK(is_safe_file_name("a"));
    CHECK(is_safe_file_name(".hidden"));
    CHECK(is_safe_file_name("..x"));
    CHECK(is_safe_file_name(std::string(255, 'n')));
    CHECK_FALSE(is_safe_file_name(""));
    CHECK_FALSE(is_safe_file_name("."));
    CHECK_FALSE(is_safe_file_name(".."));
    CHECK_FALSE(is_safe_file_name("../x"));
    CHECK_FALSE(is_safe_file_name("a/b"));
    CHECK_FALSE(is_safe_file_name("/etc/passwd"));
    CHECK_FALSE(is_safe_file_name("a\\b"));
    CHECK_FALSE(is_safe_file_name(std::string_view("a\0b", 3)));
    CHECK_FALSE(is_safe_file_name("line\nbreak"));
    CHECK_FALSE(is_safe_file_name("\xc0\xaf"));
    CHECK_FALSE(is_safe_file_name(std::string(256, 'n')));
}
