// Fuzz target: node::json_from_msgpack, the local API's parser for requests (and, in the
// client, answers), on arbitrary bytes.
// Invariants: never throws or crashes; what it accepts re-encodes (nlohmann's to_msgpack)
// to bytes it accepts again, as the same value.
#include "fuzz_target.h"

#include <string>

#include "node/api_msgpack.h"

using lienthong::node::json_from_msgpack;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 256 * 1024) return 0;
    auto j = json_from_msgpack(lienthong::protocol::ByteView(data, size));
    if (!j.ok()) {
        LT_FUZZ_CHECK(!j.error().empty());
        return 0;
    }
    const std::vector<uint8_t> again = json::to_msgpack(*j);
    auto k = json_from_msgpack(lienthong::protocol::ByteView(again));
    LT_FUZZ_CHECK(k.ok());
    LT_FUZZ_CHECK(k->dump() == j->dump());  // dump: NaN compares unequal to itself, its text does not
    return 0;
}

std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds() {
    const json send = {{"op", "send"},
                       {"to", {"000.00.32.H14"}},
                       {"subject", "Về việc triển khai"},
                       {"body", json::binary({1, 2, 3, 4})},
                       {"attachments", {{{"name", "a.pdf"}, {"data", json::binary({5, 6})}}}},
                       {"urgency", 2},
                       {"due", -1},
                       {"ratio", 0.25},
                       {"keep", true},
                       {"none", nullptr}};
    return {json::to_msgpack(send), json::to_msgpack(json{{"op", "status"}}),
            json::to_msgpack(json{{"op", "inbox"}, {"limit", 10}, {"filters", {{"text", "công văn"}}}})};
}
