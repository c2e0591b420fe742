// Sealed documents: only the named parties can open them, and any tampering is refused.
#include <catch2/catch.hpp>

#include <sodium.h>

#include "protocol/document.h"
#include "document_fixture.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::bytes_of;
using lienthong::testing::pattern_bytes;
using lienthong::testing::seeded_identity;
using lienthong::testing::Parties;
using lienthong::testing::sample_content;

namespace {

void check_same(const DocumentContent& a, const DocumentContent& b) {
    CHECK(a.sender == b.sender);
    CHECK(a.recipients == b.recipients);
    CHECK(a.created_ms == b.created_ms);
    CHECK(a.meta.subject == b.meta.subject);
    CHECK(a.meta.document_id == b.meta.document_id);
    CHECK(a.meta.type == b.meta.type);
    CHECK(a.meta.code == b.meta.code);
    CHECK(a.meta.signer == b.meta.signer);
    CHECK(a.meta.promulgation == b.meta.promulgation);
    CHECK(a.meta.from == b.meta.from);
    CHECK(a.meta.to == b.meta.to);
    CHECK(a.meta.other == b.meta.other);
    CHECK(a.meta.steering_type == b.meta.steering_type);
    CHECK(a.meta.to_places == b.meta.to_places);
    CHECK(a.meta.response_for == b.meta.response_for);
    CHECK(a.meta.business == b.meta.business);
    CHECK(a.meta.acts_on == b.meta.acts_on);
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
    Bytes sender_box_key;
    std::vector<std::pair<std::string, Bytes>> wraps;
    Bytes commitment;
    Bytes ciphertext;

    static Payload parse(const Bytes& raw) {
        auto d = Decoded::parse(raw, "payload");
        REQUIRE(d.ok());
        auto r = d->root();
        Payload p;
        auto n = r.bin("nonce", 24);
        REQUIRE(n.ok());
        p.nonce.assign(n->begin(), n->end());
        auto sk = r.bin("sender_box_key", 32);
        REQUIRE(sk.ok());
        p.sender_box_key.assign(sk->begin(), sk->end());
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
        auto cm = r.bin("commitment", 32);
        REQUIRE(cm.ok());
        REQUIRE(cm->size() == 32);
        p.commitment.assign(cm->begin(), cm->end());
        auto ct = r.bin("ct", 1u << 30);
        REQUIRE(ct.ok());
        p.ciphertext.assign(ct->begin(), ct->end());
        REQUIRE(r.finish().ok());
        return p;
    }
    Bytes encode() const {
        Writer w;
        w.array(5).bin(nonce).bin(sender_box_key).array(wraps.size());
        for (const auto& [a, k] : wraps) w.array(2).str(a).bin(k);
        w.bin(commitment).bin(ciphertext);
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
    CHECK(verify_envelope(*wire, p.sender.pub.sign_key));
    auto opened = open_document(*wire, p.b);
    REQUIRE(opened.ok());
    check_same(opened->content, content);
    CHECK(opened->content_hash == sealed->content_hash);
    CHECK(opened->content_key == sealed->content_key);
}

TEST_CASE("the payload holds exactly one wrapped key per recipient, in order, and a 32-byte commitment",
          "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    auto payload = Payload::parse(sealed->envelope.env.payload);
    CHECK(payload.nonce.size() == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    REQUIRE(payload.wraps.size() == 3);  // the sender is not among them
    for (size_t i = 0; i < 3; ++i) {
        CHECK(payload.wraps[i].first == sealed->envelope.env.to[i]);
        CHECK(payload.wraps[i].second.size() == crypto_box_MACBYTES + 32);
    }
    CHECK(payload.commitment.size() == 32);
    CHECK(payload.sender_box_key == Bytes(p.sender.pub.box_key.begin(), p.sender.pub.box_key.end()));

    // The commitment is the keyed BLAKE2b of the content hash, as document.h documents it.
    uint8_t expected[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, sealed->content_key.data(), sealed->content_key.size(), sizeof expected);
    const std::string domain = "lienthong/v1/commit";
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
    const uint8_t zero = 0;
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, sealed->content_hash.data(), sealed->content_hash.size());
    crypto_generichash_final(&st, expected, sizeof expected);
    CHECK(payload.commitment == Bytes(expected, expected + 32));
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

TEST_CASE("a document addressed to its own sender seals and opens with the sender's key", "[protocol][document]") {
    // A document system's loop-back test: the node delivers it to its own inbox.
    Parties p;
    auto c = sample_content(p);
    c.recipients = {p.sender.pub.agency, p.b.pub.agency};
    auto sealed = seal_document(c, p.sender, {p.sender.pub, p.b.pub});
    REQUIRE(sealed.ok());
    auto own = open_document(sealed->envelope, p.sender);
    REQUIRE(own.ok());
    CHECK(own->content.recipients == c.recipients);
    CHECK(own->content_hash == sealed->content_hash);
    REQUIRE(open_document(sealed->envelope, p.b).ok());
}

TEST_CASE("every recipient can open, a non-recipient cannot", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    for (const auto* me : {&p.b, &p.c, &p.d}) {
        INFO(me->pub.agency);
        auto opened = open_document(sealed->envelope, *me);
        REQUIRE(opened.ok());
        CHECK(opened->content_hash == sealed->content_hash);
        CHECK(opened->content_key == sealed->content_key);
    }
    // The sender holds no wrapped key of its own any more: it reads its copy with the content key.
    auto own = open_document(sealed->envelope, p.sender);
    REQUIRE_FALSE(own.ok());
    CHECK_THAT(own.error(), Catch::Contains("no key wrapped"));

    auto refused = open_document(sealed->envelope, p.outsider);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::Contains("no key wrapped"));

    // An outsider who takes a recipient's agency name still lacks its box secret key.
    auto impostor = p.outsider;
    impostor.pub.agency = p.b.pub.agency;
    CHECK_FALSE(open_document(sealed->envelope, impostor).ok());
}

TEST_CASE("the sender opens its own copy with the content key, kept wrapped with its local key",
          "[protocol][document]") {
    Parties p;
    const auto content = sample_content(p);
    auto sealed = seal_document(content, p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());

    auto direct = open_document_with_key(sealed->envelope, sealed->content_key);
    REQUIRE(direct.ok());
    check_same(direct->content, content);
    CHECK(direct->content_hash == sealed->content_hash);

    const LocalKey local = local_storage_key(p.sender);
    CHECK(local == local_storage_key(p.sender));  // derived, the same every time
    const Bytes wrapped = wrap_local(sealed->content_key, local);
    CHECK(wrapped.size() == crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 32);
    CHECK(std::search(wrapped.begin(), wrapped.end(), sealed->content_key.begin(), sealed->content_key.end()) ==
          wrapped.end());
    CHECK(wrap_local(sealed->content_key, local) != wrapped);  // fresh nonce each time
    auto key = unwrap_local(wrapped, local);
    REQUIRE(key.ok());
    CHECK(*key == sealed->content_key);
    auto reopened = open_document_with_key(sealed->envelope, *key);
    REQUIRE(reopened.ok());
    check_same(reopened->content, content);

    // Another node's local key does not unwrap it; nor does a damaged or truncated blob.
    const LocalKey other = local_storage_key(p.b);
    CHECK(other != local);
    auto foreign = unwrap_local(wrapped, other);
    REQUIRE_FALSE(foreign.ok());
    CHECK_THAT(foreign.error(), Catch::Contains("cannot be unwrapped"));
    for (size_t pos : {size_t(0), size_t(30), wrapped.size() - 1}) {
        Bytes damaged = wrapped;
        damaged[pos] ^= 0x01;
        CHECK_FALSE(unwrap_local(damaged, local).ok());
    }
    CHECK_FALSE(unwrap_local(ByteView(wrapped.data(), wrapped.size() - 1), local).ok());
    CHECK_FALSE(unwrap_local({}, local).ok());

    // A wrong content key does not open the document.
    ContentKey wrong = sealed->content_key;
    wrong[0] ^= 1;
    auto w = open_document_with_key(sealed->envelope, wrong);
    REQUIRE_FALSE(w.ok());
    CHECK_THAT(w.error(), Catch::Contains("failed authentication"));
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
        auto r = open_document(resign(env, p.sender), p.b);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("failed authentication"));
    }
    auto truncated = payload;
    truncated.ciphertext.resize(10);
    Envelope env = sealed->envelope.env;
    env.payload = truncated.encode();
    CHECK_FALSE(open_document(resign(env, p.sender), p.b).ok());

    auto bad_nonce = payload;
    bad_nonce.nonce[0] ^= 1;
    env.payload = bad_nonce.encode();
    CHECK_FALSE(open_document(resign(env, p.sender), p.b).ok());
}

TEST_CASE("a tampered wrapped key is refused", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    auto payload = Payload::parse(sealed->envelope.env.payload);
    REQUIRE(payload.wraps.size() == 3);  // the three recipients, not the sender
    for (auto& [agency, key] : payload.wraps) {
        if (agency != p.b.pub.agency) continue;
        key[40] ^= 0x80;
    }
    Envelope env = sealed->envelope.env;
    env.payload = payload.encode();
    auto r = open_document(resign(env, p.sender), p.b);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("cannot be unwrapped"));
    // The others' keys were untouched.
    CHECK(open_document(resign(env, p.sender), p.c).ok());

    // A key wrapped for C, relabelled as B's, does not open for B.
    auto relabelled = Payload::parse(sealed->envelope.env.payload);
    Bytes c_key;
    for (auto& [a, k] : relabelled.wraps)
        if (a == p.c.pub.agency) c_key = k;
    for (auto& [a, k] : relabelled.wraps)
        if (a == p.b.pub.agency) k = c_key;
    env.payload = relabelled.encode();
    CHECK_FALSE(open_document(resign(env, p.sender), p.b).ok());
}

TEST_CASE("a payload re-wrapped in an envelope with other parties is refused", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());

    SECTION("recipients changed by the sender") {
        Envelope env = sealed->envelope.env;
        env.to = {p.b.pub.agency, p.c.pub.agency};
        auto r = open_document(resign(env, p.sender), p.b);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("wrapped keys do not match the recipients"));
    }
    SECTION("recipients reordered") {
        Envelope env = sealed->envelope.env;
        std::swap(env.to[0], env.to[2]);
        auto r = open_document(resign(env, p.sender), p.b);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("wrapped keys do not match the recipients"));
    }
    SECTION("recipients and wrapped keys reordered together") {
        // The wraps match the envelope, but the content inside still names the original order.
        Envelope env = sealed->envelope.env;
        auto payload = Payload::parse(env.payload);
        std::swap(env.to[0], env.to[2]);
        std::swap(payload.wraps[0], payload.wraps[2]);
        env.payload = payload.encode();
        auto r = open_document(resign(env, p.sender), p.b);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("does not match its envelope"));
    }
    SECTION("a recipient's wrapped key dropped along with the recipient") {
        Envelope env = sealed->envelope.env;
        auto payload = Payload::parse(env.payload);
        env.to.pop_back();
        payload.wraps.pop_back();
        env.payload = payload.encode();
        auto r = open_document(resign(env, p.sender), p.b);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("does not match its envelope"));
    }
    SECTION("wrapped keys that name other agencies than the envelope") {
        Envelope env = sealed->envelope.env;
        auto payload = Payload::parse(env.payload);
        payload.wraps[1].first = p.outsider.pub.agency;
        env.payload = payload.encode();
        auto r = open_document(resign(env, p.sender), p.b);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("wrapped keys do not match the recipients"));
    }
    SECTION("a recipient forwards it as if it were its own") {
        Envelope env = sealed->envelope.env;
        env.from = p.b.pub.agency;
        auto r = open_document(resign(env, p.b), p.c);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("does not match its envelope"));
    }
    SECTION("creation time changed") {
        Envelope env = sealed->envelope.env;
        env.created_ms += 1;
        CHECK_FALSE(open_document(resign(env, p.sender), p.b).ok());
    }
    SECTION("a receipt envelope carrying the payload") {
        Envelope env = sealed->envelope.env;
        env.kind = Kind::receipt;
        auto r = open_document(resign(env, p.sender), p.b);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("not a document"));
    }
}

TEST_CASE("a document re-signed by another party does not open: the content names its sender",
          "[protocol][document]") {
    // Non-repudiation without an inner signature: the one envelope signature covers the
    // commitment, and the content inside names the sender, so a recipient (here mallory, who
    // holds the content key) cannot pass the document off as signed by itself.
    Parties p;
    auto mallory = seeded_identity("000.07.77.H77", 66);
    auto c = sample_content(p);
    c.recipients = {p.b.pub.agency, mallory.pub.agency};
    auto sealed = seal_document(c, p.sender, {p.b.pub, mallory.pub});
    REQUIRE(sealed.ok());
    REQUIRE(open_document(sealed->envelope, mallory).ok());

    Envelope env = sealed->envelope.env;
    env.from = mallory.pub.agency;
    const auto forged = resign(env, mallory);
    CHECK(verify_envelope(forged, mallory.pub.sign_key));  // a valid signature, by mallory
    CHECK_FALSE(verify_envelope(forged, p.sender.pub.sign_key));
    auto r = open_document(forged, p.b);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("does not match its envelope"));
    auto with_key = open_document_with_key(forged, sealed->content_key);
    REQUIRE_FALSE(with_key.ok());
    CHECK_THAT(with_key.error(), Catch::Contains("does not match its envelope"));

    // Nor can mallory claim the sender's agency: the signature is then not the sender's.
    env.from = p.sender.pub.agency;
    const auto impersonated = resign(env, mallory);
    CHECK_FALSE(verify_envelope(impersonated, p.sender.pub.sign_key));
}

TEST_CASE("a changed commitment makes opening fail, even when re-signed", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    auto payload = Payload::parse(sealed->envelope.env.payload);
    for (size_t pos : {size_t(0), size_t(17), size_t(31)}) {
        INFO("byte " << pos);
        auto bad = payload;
        bad.commitment[pos] ^= 0x01;
        Envelope env = sealed->envelope.env;
        env.payload = bad.encode();
        const auto resigned = resign(env, p.sender);
        REQUIRE(verify_envelope(resigned, p.sender.pub.sign_key));
        // The commitment is the AEAD's additional data, so decryption already fails.
        auto r = open_document(resigned, p.b);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("failed authentication"));
        CHECK_FALSE(open_document_with_key(resigned, sealed->content_key).ok());
    }
}

TEST_CASE("a ciphertext that authenticates under a commitment to other content is refused",
          "[protocol][document]") {
    // What a dishonest sender could build by hand: the AEAD additional data is the commitment
    // it signs, but that commitment is not to the content it encrypted. Only the commitment
    // check catches this.
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    auto opened = open_document_with_key(sealed->envelope, sealed->content_key);
    REQUIRE(opened.ok());
    auto payload = Payload::parse(sealed->envelope.env.payload);
    Bytes plaintext(payload.ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long len = 0;
    REQUIRE(crypto_aead_xchacha20poly1305_ietf_decrypt(plaintext.data(), &len, nullptr, payload.ciphertext.data(),
                                                       payload.ciphertext.size(), payload.commitment.data(),
                                                       payload.commitment.size(), payload.nonce.data(),
                                                       sealed->content_key.data()) == 0);
    Bytes fake_commitment = payload.commitment;
    fake_commitment[5] ^= 0x20;
    Bytes ct(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct.data(), &ct_len, plaintext.data(), plaintext.size(),
                                               fake_commitment.data(), fake_commitment.size(), nullptr,
                                               payload.nonce.data(), sealed->content_key.data());
    auto bad = payload;
    bad.commitment = fake_commitment;
    bad.ciphertext = ct;
    Envelope env = sealed->envelope.env;
    env.payload = bad.encode();
    const auto resigned = resign(env, p.sender);
    auto r = open_document(resigned, p.b);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("does not match the commitment"));
    auto k = open_document_with_key(resigned, sealed->content_key);
    REQUIRE_FALSE(k.ok());
    CHECK_THAT(k.error(), Catch::Contains("does not match the commitment"));
}

TEST_CASE("an auditor with only the envelope and the content key can verify the document",
          "[protocol][document]") {
    Parties p;
    const auto content = sample_content(p);
    auto sealed = seal_document(content, p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    // Recipient C discloses the envelope wire bytes and the content key it unwrapped.
    auto at_c = open_document(sealed->envelope, p.c);
    REQUIRE(at_c.ok());
    const Bytes evidence_wire = sealed->envelope.wire;
    const ContentKey evidence_key = at_c->content_key;

    // The auditor has no secret key of anyone: only the sender's public key.
    auto env = decode_envelope(evidence_wire);
    REQUIRE(env.ok());
    CHECK(verify_envelope(*env, p.sender.pub.sign_key));
    auto audited = open_document_with_key(*env, evidence_key);
    REQUIRE(audited.ok());
    check_same(audited->content, content);
    CHECK(audited->content.sender == env->env.from);
    CHECK(audited->content_hash == sealed->content_hash);

    // A key for a different document does not open it.
    auto other = seal_document(content, p.sender, p.recipient_keys());
    REQUIRE(other.ok());
    CHECK_FALSE(open_document_with_key(*env, other->content_key).ok());
}

TEST_CASE("a malformed payload is refused without a crash", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    for (const Bytes& bad : {Bytes{}, bytes_of({0x90}), bytes_of({0x93, 0x01, 0x90, 0xc4, 0x00}),
                             Writer().array(3).bin(Bytes(24, 0)).array(1).array(2).str("000.00.00.H41")
                                 .bin(Bytes(79, 0)).bin({}).take(),
                             Writer().array(4).bin(Bytes(24, 0)).array(1).array(2).str("000.00.00.H41")
                                 .bin(Bytes(80, 0)).bin(Bytes(31, 0)).bin({}).take(),
                             Writer().array(4).bin(Bytes(24, 0)).array(1).array(2).str("000.00.00.H41")
                                 .bin(Bytes(80, 0)).bin(Bytes(32, 0)).bin(Bytes(3, 0)).take()}) {
        Envelope env = sealed->envelope.env;
        env.to = {p.b.pub.agency};  // so the one-wrap payloads get past the recipients check
        env.payload = bad;
        CHECK_FALSE(open_document(resign(env, p.sender), p.b).ok());
        CHECK_FALSE(open_document_with_key(resign(env, p.sender), sealed->content_key).ok());
    }
}

TEST_CASE("open refuses a document larger than the configured limit", "[protocol][document]") {
    Parties p;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys());
    REQUIRE(sealed.ok());
    EnvelopeLimits small;
    small.max_envelope_bytes = 10000;  // the attachments alone are larger
    CHECK_FALSE(open_document(sealed->envelope, p.b, small).ok());
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
    refused([](DocumentContent& c) { c.recipients.clear(); }, "no recipients");
    refused([](DocumentContent& c) { c.recipients.push_back("bad agency"); }, "agency");
    refused([](DocumentContent& c) { c.sender = "bad/sender"; }, "agency");
    refused([](DocumentContent& c) { c.attachments[0].name = "../x"; }, "folder separator");
    refused([](DocumentContent& c) { c.attachments[0].name = "a/b"; }, "folder separator");
    refused([](DocumentContent& c) { c.attachments[0].name = ""; }, "is not a file name");
    refused([](DocumentContent& c) { c.attachments[0].name = "CON.txt"; }, "Windows device name");
    refused([](DocumentContent& c) { c.attachments[0].name = "C:evil.txt"; }, "Windows does not allow");
    refused([](DocumentContent& c) { c.attachments[0].name = "a.txt:stream"; }, "Windows does not allow");
    refused([](DocumentContent& c) { c.attachments[0].name = "report.pdf."; }, "ends in a dot");
    refused([](DocumentContent& c) { c.attachments[1].name = c.attachments[0].name; }, "used twice");
    refused([](DocumentContent& c) { c.meta.urgency = 4; }, "urgency");
    refused([](DocumentContent& c) { c.meta.confidentiality = 4; }, "confidentiality");
    refused([](DocumentContent& c) { c.meta.reply_to = Bytes(31, 1); }, "reply_to");
    refused([](DocumentContent& c) { c.meta.subject = "H\xe1\xbb"; }, "UTF-8");
    refused([](DocumentContent& c) { c.meta.signer.full_name = std::string(kMaxTextField + 1, 'x'); }, "longer than");
    refused([](DocumentContent& c) { c.meta.to[0].organ_name = "\xc3\x28"; }, "UTF-8");
    refused([](DocumentContent& c) { c.meta.business.business_doc_type = BusinessDocType::Revoke; }, "acts_on");
    refused([](DocumentContent& c) { c.meta.acts_on = Bytes(32, 3); }, "acts_on");
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

TEST_CASE("is_safe_file_name refuses what Windows would take for a device, drive or stream", "[protocol][document]") {
    for (const char* name : {"CON", "con", "CON.txt", "con.tar.gz", "Con .txt", "PRN", "aux.doc", "NUL", "nul.pdf",
                             "COM1", "com9.log", "LPT1", "lpt0.txt", "COM\u00b9.txt", "LPT\u00b3", "CONIN$", "conout$.x"}) {
        INFO(name);
        CHECK_FALSE(is_safe_file_name(name));
        CHECK_THAT(file_name_problem(name), Catch::Contains("device name"));
    }
    for (const char* name : {"C:evil.txt", "a.txt:stream", "a*b", "what?.pdf", "a<b", "a>b", "a|b", "say \"hi\""}) {
        INFO(name);
        CHECK_FALSE(is_safe_file_name(name));
    }
    for (const char* name : {"report.", "report ", "report.pdf.", "a. ", "x\x7f"}) {
        INFO(name);
        CHECK_FALSE(is_safe_file_name(name));
    }
    // Names that only look like devices are plain names.
    for (const char* name : {"CONTENT.txt", "console.log", "COM10", "LPT", "COMX.txt", "auxiliary.pdf", "nul_x",
                             "Công văn.docx", ".config", "a.b.c"}) {
        INFO(name);
        CHECK(is_safe_file_name(name));
    }
}

