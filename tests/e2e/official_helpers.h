// Helpers for the e2e tests of official documents (official_test.cpp, official_rules_test.cpp):
// the shared edXML samples, importing and exporting them at real nodes, and waiting for
// their timelines. The agency codes are the samples' own (see official_test.cpp).
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "protocol/edxml.h"
#include "tests/e2e/harness.h"

namespace lienthong::e2e::official {

namespace edxml = lienthong::protocol::edxml;
using lienthong::protocol::Bytes;

namespace fs = std::filesystem;

inline const std::string kG22 = "000.00.00.G22";
inline const std::string kH41 = "000.00.00.H41";
inline const std::string kH14 = "000.00.00.H14";
inline const std::string kH13 = "002.00.20.H13";
inline const std::string kH17 = "28.22.H17";
inline const std::string kDocumentId = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT";
constexpr uint64_t kDayMs = 86400000;

inline fs::path samples_dir() {
    return fs::path(__FILE__).parent_path() / "../../../shared/edxml-samples";
}

// False (with a warning saying why) when the shared samples are not checked out here.
inline bool have_samples() {
    if (fs::is_directory(samples_dir())) return true;
    WARN("SKIPPED: edXML samples directory " << samples_dir()
                                             << " is missing; these tests need it");
    return false;
}

inline std::string sample(const std::string& name) {
    std::ifstream in(samples_dir() / name, std::ios::binary);
    REQUIRE(in);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// `s` with the first `from` replaced by `to`; the test fails if `from` is absent.
inline std::string replace_first(std::string s, std::string_view from, std::string_view to) {
    const size_t pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    return s.replace(pos, from.size(), to);
}

// `s` without the first element that starts with `open` and ends with `close`.
inline std::string remove_block(std::string s, std::string_view open, std::string_view close) {
    const size_t b = s.find(open);
    REQUIRE(b != std::string::npos);
    const size_t e = s.find(close, b);
    REQUIRE(e != std::string::npos);
    return s.erase(b, e + close.size() - b);
}

inline std::string organ(const std::string& id) {
    return "<edXML:OrganId>" + id + "</edXML:OrganId>";
}

// G22's New document (see the top of this file).
inline std::string g22_new_document() {
    return replace_first(replace_first(sample("edoc_new.edxml"), organ(kH13), organ(kG22)),
                         organ(kH17), organ(kH41));
}

inline edxml::Document parse_document(const Bytes& xml) {
    auto r = edxml::parse(xml);
    INFO((r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    REQUIRE(std::holds_alternative<edxml::Document>(*r));
    return std::get<edxml::Document>(std::move(r).value());
}

inline edxml::Status parse_status(const Bytes& xml) {
    auto r = edxml::parse(xml);
    INFO((r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    REQUIRE(std::holds_alternative<edxml::Status>(*r));
    return std::get<edxml::Status>(std::move(r).value());
}

inline Bytes bytes(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

inline lienthong::Result<json> import(TestNode& n, const std::string& xml,
                               const std::vector<std::string>& to = {}) {
    json req{{"op", "import"}, {"data", json::binary(bytes(xml))}};
    if (!to.empty()) req["to"] = to;
    return n.call(req);
}

// Imports and returns the message id; fails the test with the node's error otherwise.
inline std::string import_ok(TestNode& n, const std::string& xml,
                      const std::vector<std::string>& to = {}) {
    auto r = import(n, xml, to);
    INFO("import at " << n.agency() << ": " << (r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    return r->at("id").get<std::string>();
}

inline bool stored(TestNode& n, const std::string& id) {
    return n.call({{"op", "show"}, {"id", id}}).ok();
}

inline void wait_stored(TestNode& n, const std::string& id) {
    INFO("waiting for " << id.substr(0, 16) << " at " << n.agency());
    REQUIRE(wait_until([&] { return stored(n, id); }, 20s));
}

inline json timeline(TestNode& n, const std::string& doc) {
    return n.api({{"op", "show"}, {"id", doc}}).at("timeline");
}

// Waits until the timeline of `doc` at `n` holds the event of status message `msg`.
inline void wait_event(TestNode& n, const std::string& doc, const std::string& msg) {
    INFO("waiting for status " << msg.substr(0, 16) << " on " << doc.substr(0, 16) << " at "
                               << n.agency());
    REQUIRE(wait_until(
        [&] {
            for (const auto& e : timeline(n, doc))
                if (e.at("message") == msg) return true;
            return false;
        },
        20s));
}

inline std::vector<std::string> codes_for(TestNode& n, const std::string& doc,
                                   const std::string& recipient) {
    std::vector<std::string> out;
    for (const auto& e : timeline(n, doc))
        if (e.at("recipient") == recipient) out.push_back(e.at("code").get<std::string>());
    return out;
}

// The header fields and attachments that must survive import, travel and export.
inline void check_same_document(const edxml::Document& got, const edxml::Document& want) {
    CHECK(got.from == want.from);
    CHECK(got.to == want.to);
    CHECK(got.document_id == want.document_id);
    CHECK(got.code == want.code);
    CHECK(got.promulgation == want.promulgation);
    CHECK(got.type == want.type);
    CHECK(got.subject == want.subject);
    CHECK(got.content == want.content);
    CHECK(got.signer == want.signer);
    CHECK(got.due_date == want.due_date);
    CHECK(got.priority == want.priority);
    CHECK(got.other == want.other);
    CHECK(got.steering_type == want.steering_type);
    CHECK(got.to_places == want.to_places);
    CHECK(got.response_for == want.response_for);
    CHECK(got.business == want.business);
    REQUIRE(got.attachments.size() == want.attachments.size());
    for (size_t i = 0; i < want.attachments.size(); ++i) {
        INFO("attachment " << i << " " << want.attachments[i].name);
        CHECK(got.attachments[i].name == want.attachments[i].name);
        CHECK(got.attachments[i].content_type == want.attachments[i].content_type);
        CHECK(got.attachments[i].description == want.attachments[i].description);
        CHECK(got.attachments[i].data.size() == want.attachments[i].data.size());
        CHECK(got.attachments[i].data == want.attachments[i].data);
    }
}

// Exports `id` at `n` as edXML and checks it against the sample it was imported from.
inline void check_exported_document(TestNode& n, const std::string& id, const std::string& original_xml) {
    INFO("export of " << id.substr(0, 16) << " at " << n.agency());
    const json x = n.api({{"op", "export"}, {"id", id}, {"format", "edxml"}});
    CHECK(x.at("direction") == "received");
    // The file itself travelled: byte for byte what the sender's document system gave.
    CHECK(bin(x.at("edxml")) == bytes(original_xml));
    check_same_document(parse_document(bin(x.at("edxml"))), parse_document(bytes(original_xml)));
}

// Imports a status sample at `reporter`, waits for it at `informed`, and checks the status
// `informed` exports is the sample's.
inline std::string relay_status(TestNode& reporter, TestNode& informed, const std::string& doc,
                         const std::string& name) {
    INFO(name);
    const std::string xml = sample(name);
    const std::string id = import_ok(reporter, xml);
    wait_event(informed, doc, id);
    const json x = informed.api({{"op", "export"}, {"id", id}, {"format", "edxml"}});
    CHECK(x.at("kind") == "status");
    CHECK(x.at("direction") == "received");
    CHECK(bin(x.at("edxml")) == bytes(xml));  // byte for byte as imported
    CHECK(parse_status(bin(x.at("edxml"))) == parse_status(bytes(xml)));
    return id;
}

inline uint64_t now_ms() {
    using namespace std::chrono;
    return static_cast<uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace lienthong::e2e::official
