// Key wrapping: content keys wrapped with crypto_box under per-peer shared keys.
#include <catch2/catch.hpp>

#include "document_fixture.h"

using namespace lienthong;
using namespace lienthong::protocol;
using lienthong::testing::Parties;
using lienthong::testing::sample_content;

TEST_CASE("a recipient key that is a low-order point is refused at sealing, never encrypted to",
          "[protocol][document]") {
    Parties p;
    auto keys = p.recipient_keys();
    keys[1].box_key.fill(0);  // the all-zero point: every shared secret would be zero
    auto sealed = seal_document(sample_content(p), p.sender, keys);
    REQUIRE_FALSE(sealed.ok());
    CHECK_THAT(sealed.error(), Catch::Contains("unusable encryption key"));
}

TEST_CASE("a shared-key cache gives the same result as computing each time, and follows a key change",
          "[protocol][document]") {
    Parties p;
    SharedKeyCache cache;
    auto sealed = seal_document(sample_content(p), p.sender, p.recipient_keys(), &cache);
    REQUIRE(sealed.ok());
    SharedKeyCache recipient_cache;
    for (int i = 0; i < 2; ++i) {  // second time from the cache
        auto opened = open_document(sealed->envelope, p.b, {}, &recipient_cache);
        REQUIRE(opened.ok());
        CHECK(opened->content_hash == sealed->content_hash);
    }
    // The same cache used with another secret key must not hand out the old shared keys.
    auto for_c = open_document(sealed->envelope, p.c, {}, &recipient_cache);
    REQUIRE(for_c.ok());
    CHECK(for_c->content_hash == sealed->content_hash);
}
