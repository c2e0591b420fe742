// Helpers for tests that speak the peer-link protocol themselves (FakePeer): sealing a
// document as the fake peer, reading the node's answers, its rejection counters.
#pragma once

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/document.h"
#include "tests/e2e/harness.h"

namespace lienthong::e2e {

inline json status(TestNode& n) { return n.api({{"op", "status"}}); }

inline uint64_t rejected_of(const json& st, const std::string& kind) {
    const auto& r = st.at("counters").at("rejected");
    return r.contains(kind) ? r.at(kind).get<uint64_t>() : 0;
}

// A document sealed by `from` for `to` (keys as given), numbered `n`, with an attachment of
// `attachment_bytes`.
inline protocol::SealedDocument seal_as(const protocol::SecretIdentity& from,
                                        const std::vector<protocol::PublicIdentity>& to, int n,
                                        size_t attachment_bytes = 50) {
    protocol::DocumentContent c;
    c.sender = from.pub.agency;
    for (const auto& r : to) c.recipients.push_back(r.agency);
    c.created_ms = 1767225600000ull + static_cast<uint64_t>(n);
    c.meta.subject = "Tài liệu từ nút giả " + std::to_string(n);
    c.body = protocol::Bytes(100 + n, static_cast<uint8_t>(n));
    protocol::Bytes attachment(attachment_bytes);
    for (size_t i = 0; i < attachment.size(); ++i) attachment[i] = static_cast<uint8_t>((i * 131 + static_cast<size_t>(n)) >> 3);
    c.attachments.push_back({"a.txt", "text/plain", std::move(attachment)});
    auto sealed = protocol::seal_document(c, from, to);
    if (!sealed.ok()) throw std::runtime_error(sealed.error());
    return std::move(sealed).value();
}

inline protocol::SealedDocument seal_from(const FakePeer& f, const TestNode& to, int n) {
    return seal_as(f.identity(), {to.identity().pub}, n);
}

// The next frame from the node, which must arrive within 5 s and decode.
inline protocol::Frame next_frame(FakePeer& f) {
    auto got = f.recv_frame(5s);
    if (!got) throw std::runtime_error("the node sent no answer within 5 s");
    if (!got->ok()) throw std::runtime_error("the node's answer does not decode: " + got->error());
    return std::move(*got).value();
}

inline protocol::RejectFrame next_reject(FakePeer& f) {
    auto frame = next_frame(f);
    if (!std::holds_alternative<protocol::RejectFrame>(frame))
        throw std::runtime_error("expected a Reject frame, got frame index " + std::to_string(frame.index()));
    return std::get<protocol::RejectFrame>(frame);
}

// Sends `f` to `node` as the fake peer: it must be refused with a reason containing `text`
// and counted once under `kind`.
inline void expect_refused(TestNode& node, FakePeer& fake, const protocol::Frame& f, const std::string& kind,
                           const std::string& text) {
    const uint64_t before = rejected_of(status(node), kind);
    fake.send_frame(f);
    const auto r = next_reject(fake);
    INFO(r.reason);
    CHECK_THAT(r.reason, Catch::Contains(text));
    CHECK(rejected_of(status(node), kind) == before + 1);
}

inline protocol::Bytes id_bytes(const protocol::Hash32& h) { return protocol::Bytes(h.begin(), h.end()); }

inline void expect_pong(FakePeer& f, uint64_t nonce) {
    f.send_frame(protocol::PingFrame{nonce});
    auto frame = next_frame(f);
    if (!std::holds_alternative<protocol::PongFrame>(frame) || std::get<protocol::PongFrame>(frame).nonce != nonce)
        throw std::runtime_error("expected Pong " + std::to_string(nonce));
}


}  // namespace lienthong::e2e
