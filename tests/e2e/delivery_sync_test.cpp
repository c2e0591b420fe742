// Reconciliation on reconnect (issue 4, acceptance 5), with real nodes: a receipt lost on the
// wire (the recipient drops its first acknowledgement: LIENTHONG_TEST_DROP_ACKS) and a
// document the recipient never got are both pending at the sender when it crashes. After it
// restarts, the two reconcile what was sent against what was received: the lost receipt is
// fetched (the document is not sent again: the recipient sees no duplicate) and only the
// missing document travels.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "tests/e2e/directory_helpers.h"
#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

TEST_CASE("after reconnect a lost receipt is fetched and the document not resent", "[e2e]") {
    NodeOptions slow_retry;  // no retransmission within the test: only the reconciliation can help
    slow_retry.retry_initial_ms = 60000;
    slow_retry.retry_max_ms = 120000;
    TestNode sender("000.00.00.S01", slow_retry), recipient("000.00.00.R01");
    sender.add_peer(recipient);
    recipient.add_peer(sender);
    ::setenv("LIENTHONG_TEST_DROP_ACKS", "1", 1);
    recipient.start();
    ::unsetenv("LIENTHONG_TEST_DROP_ACKS");
    sender.start();

    const std::string got = send_text(sender, recipient.agency(), "its receipt is lost").at("id");
    REQUIRE(wait_until([&] { return in_inbox(recipient, got); }, 15s, 50ms));
    REQUIRE(wait_until([&] { return recipient.log_contains("event=ack_dropped"); }, 5s, 50ms));
    CHECK_FALSE(has_receipt(sender, got));

    // The recipient goes away; a second document waits at the sender; the sender crashes.
    CHECK(recipient.stop() == 0);
    const std::string missing = send_text(sender, recipient.agency(), "never sent before the crash").at("id");
    sender.kill();

    recipient.start();
    sender.start();
    REQUIRE(wait_until([&] { return has_receipt(sender, got) && has_receipt(sender, missing); }, 20s, 100ms));
    CHECK(in_inbox(recipient, missing));
    CHECK(inbox_ids(recipient).size() == 2);
    CHECK(sender.log_contains("event=delivery_sync peer=" + recipient.agency() + " pending=2 held_by_peer=1 to_send=1"));
    CHECK(recipient.log_contains("event=receipts_resent peer=" + sender.agency() + " asked=1 found=1"));
    // The recipient was never sent the first document again.
    CHECK(status_counter(recipient.api({{"op", "status"}}), "duplicates") == 0);

    for (auto* n : {&sender, &recipient}) {
        INFO("node " << n->agency());
        CHECK(n->stop() == 0);
        CHECK(n->sanitizer_findings().empty());
    }
}
