// Delivery between two real nodes: exactly once, byte-identical, receipted; store-and-retry
// while the recipient is down; refusal of unknown recipients at send time.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <thread>

#include "tests/e2e/harness.h"

using namespace lienthong::e2e;

namespace {

uint64_t outbox_pending(TestNode& n) { return n.api({{"op", "status"}}).at("outbox_pending").get<uint64_t>(); }
uint64_t inbox_total(TestNode& n) { return n.api({{"op", "status"}}).at("inbox_total").get<uint64_t>(); }

}  // namespace

TEST_CASE("200 documents with attachments arrive exactly once byte-identical signed and receipted", "[e2e]") {
    TestNode a("000.00.01.H41"), b("000.00.02.H41");
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();

    std::mt19937_64 rng(20240601);
    std::map<std::string, TestDoc> sent;
    for (int i = 0; i < 200; ++i) {
        // 1 to 3 attachments per document, up to 48 KiB each.
        TestDoc d = make_doc(i, rng, 1 + i % 3, 48 * 1024);
        const json r = a.api(send_request({b.agency()}, d));
        sent.emplace(r.at("id").get<std::string>(), std::move(d));
    }
    REQUIRE(sent.size() == 200);  // every send got its own id

    REQUIRE(wait_until([&] { return outbox_pending(a) == 0; }, 60s, 50ms));

    // Exactly once in B's inbox.
    const auto ids = inbox_ids(b);
    const std::set<std::string> distinct(ids.begin(), ids.end());
    CHECK(inbox_total(b) == 200);
    CHECK(ids.size() == 200);
    CHECK(distinct.size() == ids.size());
    std::set<std::string> expected;
    for (const auto& [id, d] : sent) expected.insert(id);
    CHECK(distinct == expected);
    CHECK(status_counter(b.api({{"op", "status"}}), "received") == 200);

    for (const auto& [id, d] : sent) {
        INFO("document " << id);
        // Content is byte-identical at the recipient.
        const json x = b.api({{"op", "export"}, {"id", id}});
        CHECK(x.at("direction") == "received");
        CHECK(x.at("sender") == a.agency());
        CHECK(x.at("subject") == d.subject);
        CHECK(bin(x.at("body")) == d.body);
        REQUIRE(x.at("attachments").size() == d.attachments.size());
        for (size_t i = 0; i < d.attachments.size(); ++i) {
            const auto& got = x.at("attachments")[i];
            CHECK(got.at("name") == d.attachments[i].name);
            CHECK(got.at("mime") == d.attachments[i].mime);
            CHECK(got.at("bytes") == d.attachments[i].data.size());
            CHECK(bin(got.at("data")) == d.attachments[i].data);
        }
        // Both signatures check out at the recipient.
        const json s = b.api({{"op", "show"}, {"id", id}});
        CHECK(s.at("signatures").at("sender_key_known") == true);
        CHECK(s.at("signatures").at("envelope_valid") == true);
        CHECK(s.at("signatures").at("content_valid") == true);
        // The sender holds the recipient's receipt, verified against B's key and the content hash.
        const json r = a.api({{"op", "receipt"}, {"id", id}});
        REQUIRE(r.at("receipts").size() == 1);
        const auto& rc = r.at("receipts")[0];
        CHECK(rc.at("agency") == b.agency());
        CHECK(rc.at("signature_valid") == true);
        CHECK(rc.at("hash_matches") == true);
        CHECK(r.at("pending") == "");
        // The sender's own view: delivered to B, same content hash as B computed.
        const json sa = a.api({{"op", "show"}, {"id", id}});
        CHECK(sa.at("direction") == "sent");
        CHECK(sa.at("content_hash") == s.at("content_hash"));
        REQUIRE(sa.at("deliveries").size() == 1);
        CHECK(sa.at("deliveries")[0].at("state") == "delivered");
    }

    const json pending = a.api({{"op", "outbox"}, {"pending", true}});
    CHECK(pending.at("documents").empty());
    CHECK(pending.at("pending_total") == 0);
    CHECK(outbox_ids(a, false).size() == 200);

    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
    CHECK(b.sanitizer_findings().empty());
}

TEST_CASE("documents sent while the recipient is down are delivered when it starts with no admin action", "[e2e]") {
    TestNode a("000.00.01.H42"), b("000.00.02.H42");
    a.add_peer(b);
    b.add_peer(a);
    a.start();  // B is not running yet

    std::mt19937_64 rng(42);
    std::set<std::string> sent;
    for (int i = 0; i < 50; ++i) sent.insert(a.api(send_request({b.agency()}, make_doc(i, rng, 1, 4096))).at("id"));
    REQUIRE(sent.size() == 50);

    // Sending is durable and local: all 50 wait in A's outbox while B is unreachable, across
    // several of A's reconnect attempts (retry.max_ms is 1 s).
    std::this_thread::sleep_for(1500ms);
    CHECK(outbox_pending(a) == 50);
    const json peers = a.api({{"op", "peer_list"}});
    REQUIRE(peers.at("peers").size() == 1);
    CHECK(peers.at("peers")[0].at("state") == "disconnected");
    CHECK(peers.at("peers")[0].at("queue") == 50);

    b.start();
    REQUIRE(wait_until([&] { return outbox_pending(a) == 0; }, 30s, 50ms));
    const auto ids = inbox_ids(b);
    CHECK(ids.size() == 50);
    CHECK(std::set<std::string>(ids.begin(), ids.end()) == sent);
    CHECK(inbox_total(b) == 50);
    for (const auto& id : sent) {
        const json r = a.api({{"op", "receipt"}, {"id", id}});
        REQUIRE(r.at("receipts").size() == 1);
        CHECK(r.at("receipts")[0].at("signature_valid") == true);
        CHECK(r.at("receipts")[0].at("hash_matches") == true);
    }
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
    CHECK(b.sanitizer_findings().empty());
}

TEST_CASE("sending to an agency the node does not know is refused at send and queues nothing", "[e2e]") {
    TestNode a("000.00.01.H43"), b("000.00.02.H43");
    a.add_peer(b);  // B is known but not running: irrelevant to the refusal
    a.start();

    const std::string stranger = "999.99.99.Z99";
    std::mt19937_64 rng(6);
    const TestDoc d = make_doc(0, rng, 1, 1024);

    SECTION("only an unknown recipient") {
        auto r = a.call(send_request({stranger}, d));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("unknown recipient '" + stranger + "'"));
        CHECK_THAT(r.error(), Catch::Contains("nothing was queued"));
    }
    SECTION("a known and an unknown recipient together") {
        auto r = a.call(send_request({b.agency(), stranger}, d));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("unknown recipient '" + stranger + "'"));
    }
    SECTION("through the admin CLI") {
        const auto p = run_process({admin_bin(), "-c", a.config_path(), "send", "--to", stranger, "--subject", "x",
                                    "--body", "y"});
        CHECK(p.exit_code != 0);
        CHECK(p.out.empty());
        REQUIRE(p.err_lines().size() == 1);
        CHECK_THAT(p.err, Catch::Contains("unknown recipient '" + stranger + "'"));
    }

    const json status = a.api({{"op", "status"}});
    CHECK(status.at("outbox_pending") == 0);
    CHECK(status_counter(status, "sent") == 0);
    const json out = a.api({{"op", "outbox"}, {"limit", 100}});
    CHECK(out.at("documents").empty());
    CHECK(out.at("pending_total") == 0);
    CHECK_FALSE(a.log_contains("event=queued"));
    CHECK(a.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
}

TEST_CASE("send_batch queues all its documents in one commit and delivers each exactly once or else queues none", "[e2e]") {
    // A small window: many receipts, each freeing its slots before the sender commits it.
    NodeOptions small_window;
    small_window.extra_yaml = "limits:\n  window_documents: 8\n";
    TestNode a("000.00.01.H44", small_window), b("000.00.02.H44");
    a.add_peer(b);
    b.add_peer(a);
    b.start();
    a.start();
    std::mt19937_64 rng(44);
    const auto batch_of = [&](const std::vector<json>& docs) {
        json req{{"op", "send_batch"}, {"documents", json::array()}};
        for (auto d : docs) {
            d.erase("op");
            req["documents"].push_back(std::move(d));
        }
        return req;
    };

    SECTION("each kind of bad batch is refused whole, naming the document, and queues nothing") {
        const json good = send_request({b.agency()}, make_doc(0, rng, 1, 1024));
        json unknown = good;
        unknown["to"] = json::array({"999.99.99.Z99"});
        json no_to = good;
        no_to.erase("to");
        const std::vector<std::pair<json, std::string>> cases = {
            {json{{"op", "send_batch"}}, "field 'documents' must be a non-empty list"},
            {json{{"op", "send_batch"}, {"documents", json::array()}}, "field 'documents' must be a non-empty list"},
            {json{{"op", "send_batch"}, {"documents", "x"}}, "field 'documents' must be a non-empty list"},
            {batch_of({good, good, unknown}), "documents[2]: unknown recipient '999.99.99.Z99'"},
            {batch_of({no_to, good}), "documents[0]: field 'to' must be a non-empty list"},
            {json{{"op", "send_batch"}, {"documents", json::array({good, 7})}}, "documents[1]: a document must be a map"},
            {batch_of(std::vector<json>(1025, good)), "send_batch takes at most 1024 documents"},
        };
        for (const auto& [req, text] : cases) {
            INFO(text);
            auto r = a.call(req);
            REQUIRE_FALSE(r.ok());
            CHECK_THAT(r.error(), Catch::Contains(text));
            CHECK_THAT(r.error(), Catch::Contains("nothing was queued"));
        }
        const json st = a.api({{"op", "status"}});
        CHECK(st.at("outbox_pending") == 0);
        CHECK(status_counter(st, "sent") == 0);
        CHECK_FALSE(a.log_contains("event=queued"));
    }

    SECTION("a batch of 120 documents with attachments") {
        std::vector<TestDoc> docs;
        std::vector<json> reqs;
        for (int i = 0; i < 120; ++i) {
            docs.push_back(make_doc(i, rng, 1 + i % 2, 8 * 1024));
            reqs.push_back(send_request({b.agency()}, docs.back()));
        }
        const uint64_t commits_before = status_counter(a.api({{"op", "status"}}), "commits");
        const json r = a.api(batch_of(reqs));
        REQUIRE(r.at("ids").size() == 120);
        // All were queued by one durable commit (the counter may include others, never fewer).
        CHECK(a.api({{"op", "outbox"}, {"pending", true}, {"limit", 1000}}).at("pending_total").get<uint64_t>() <= 120);
        CHECK(status_counter(a.api({{"op", "status"}}), "commits") >= commits_before + 1);
        REQUIRE(wait_until([&] { return outbox_pending(a) == 0; }, 60s, 50ms));
        CHECK(inbox_total(b) == 120);
        // Nothing was sent twice on this healthy link, small window and all.
        CHECK(status_counter(b.api({{"op", "status"}}), "duplicates") == 0);
        CHECK(a.api({{"op", "peer_list"}}).at("peers")[0].at("retries") == 0);
        const auto ids = inbox_ids(b);
        CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 120);
        for (size_t i = 0; i < docs.size(); ++i) {
            const std::string id = r.at("ids")[i];
            INFO("document " << i << " " << id);
            const json x = b.api({{"op", "export"}, {"id", id}});
            CHECK(x.at("subject") == docs[i].subject);  // ids come back in the order sent
            CHECK(bin(x.at("body")) == docs[i].body);
            REQUIRE(x.at("attachments").size() == docs[i].attachments.size());
            for (size_t k = 0; k < docs[i].attachments.size(); ++k)
                CHECK(bin(x.at("attachments")[k].at("data")) == docs[i].attachments[k].data);
            const json rc = a.api({{"op", "receipt"}, {"id", id}});
            REQUIRE(rc.at("receipts").size() == 1);
            CHECK(rc.at("receipts")[0].at("signature_valid") == true);
            CHECK(rc.at("receipts")[0].at("hash_matches") == true);
        }
    }
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(a.sanitizer_findings().empty());
    CHECK(b.sanitizer_findings().empty());
}
