// Resumable chunked transfer (issue 4), with real nodes on 127.0.0.1: a 24 MiB scan travels
// in 64 KiB chunks pulled by the receiver. The sender is frozen mid-transfer and the receiver
// is killed -9 and restarted: the transfer resumes from the chunks already stored (none is
// sent twice beyond the window in flight when it broke), the attachment arrives
// byte-identical, and the receipt comes back.
#include <catch2/catch.hpp>

#include <csignal>

#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

TEST_CASE("a large document resumes after the receiver is killed mid-transfer", "[e2e][faults]") {
    TestNode sender("000.00.00.S01"), receiver("000.00.00.R01");
    sender.add_peer(receiver);
    receiver.add_peer(sender);
    sender.start();
    receiver.start();

    std::mt19937_64 rng(42);
    const lienthong::protocol::Bytes scan = random_bytes(rng, 24u << 20);
    const std::string id = send_scan(sender, {receiver.agency()}, "bản scan hồ sơ", scan).at("id");

    // Part of it arrives; then the sender freezes and the receiver dies.
    REQUIRE(wait_until([&] { const json t = transfer_of(receiver, id); return !t.is_null() && t["have_chunks"] >= 8; }, 30s, 2ms));
    ::kill(sender.pid(), SIGSTOP);
    const json before = transfer_of(receiver, id);
    REQUIRE(!before.is_null());
    const uint64_t chunks = before["chunks"], had = before["have_chunks"];
    INFO("chunks " << chunks << ", stored before the crash " << had);
    CHECK(had < chunks);
    receiver.kill();
    receiver.start();
    ::kill(sender.pid(), SIGCONT);

    REQUIRE(wait_until([&] { return in_inbox(receiver, id) && has_receipt(sender, id); }, 60s, 50ms));
    CHECK(receiver.log_contains("event=transfer_resumed peer=" + sender.agency()));
    const json exported = receiver.api({{"op", "export"}, {"id", id}});
    REQUIRE(exported.at("attachments").size() == 1);
    CHECK(bin(exported.at("attachments")[0].at("data")) == scan);
    // Bytes of chunks the sender sent: the envelope once, plus at most what was in flight when
    // the transfer broke (a window of 4 chunks).
    uint64_t chunk_bytes = 0;
    const json peers = sender.api({{"op", "peer_list"}});
    for (const auto& p : peers.at("peers"))
        if (p.at("agency") == receiver.agency()) chunk_bytes = p.at("chunk_bytes_sent");
    const uint64_t envelope_bytes = sender.api({{"op", "show"}, {"id", id}}).at("attachments")[0].at("bytes");
    WARN("chunk bytes sent " << chunk_bytes << " for an attachment of " << envelope_bytes << " bytes ("
                             << double(chunk_bytes) / double(envelope_bytes) << "x); " << had << " of " << chunks
                             << " chunks were stored before the crash");
    CHECK(chunk_bytes > envelope_bytes);
    CHECK(chunk_bytes < envelope_bytes * 12 / 10);
    CHECK(transfer_of(receiver, id).is_null());  // finished: its chunks are gone
    for (auto* n : {&sender, &receiver}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}
