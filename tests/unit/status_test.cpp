// Processing status reports (protocol/status.h): the lifecycle check that keeps a report from
// skipping or reversing a document's processing, the canonical encoding and its refusals, and
// sealing a report so that only the informed agency can open it.
#include "protocol/status.h"

#include <catch2/catch.hpp>
#include <initializer_list>

#include "protocol/official_codec.h"
#include "test_util.h"

using namespace lienthong::protocol;
using Catch::Matchers::Contains;
using lienthong::testing::pattern_bytes;
using lienthong::testing::seeded_identity;

namespace {

// Reported by the document's recipient, except 13, which only its sender may report.
bool by_sender_of(std::string_view code) {
    return code == "13";
}

// The state after `codes`, each of which must pass check_status when it is reported.
ProcessingState after(std::initializer_list<std::string_view> codes) {
    ProcessingState s;
    for (auto code : codes) {
        auto st = check_status(s, code, by_sender_of(code));
        INFO("reporting " << code << ": " << (st.ok() ? std::string("ok") : st.error()));
        REQUIRE(st.ok());
        apply_status(s, code);
    }
    return s;
}

// The refusal for reporting `code` at `s` (by the party that may report it).
std::string refusal(const ProcessingState& s, std::string_view code) {
    auto st = check_status(s, code, by_sender_of(code));
    REQUIRE_FALSE(st.ok());
    return st.error();
}

bool allowed(const ProcessingState& s, std::string_view code) {
    return check_status(s, code, by_sender_of(code)).ok();
}

StatusReport sample_report() {
    StatusReport s;
    s.reporter = "000.00.00.H41";
    s.informed = "000.00.00.G22";
    s.created_ms = 1764000000123ull;
    for (size_t i = 0; i < s.document.size(); ++i) s.document[i] = static_cast<uint8_t>(i * 7 + 1);
    s.code = "04";
    s.staff = {"Phòng Hành chính", "Trần Thị Hòa", "hoa@h41.gov.vn", "0912345678"};
    s.description = "Đã phân công cho Phòng Kế hoạch – Tài chính xử lý";
    s.time_ms = 1764000000000ull;
    s.from = {"000.00.00.H41",
              "UBND tỉnh",
              "Sở Tài nguyên và Môi trường",
              "Đắk Nông",
              "tnmt@h41.gov.vn",
              "0261",
              "",
              ""};
    s.response_for = {"000.00.00.G22", "7816/VPCP-TTĐT", "2015/09/30",
                      "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"};
    return s;
}

void check_same(const StatusReport& a, const StatusReport& b) {
    CHECK(a.reporter == b.reporter);
    CHECK(a.informed == b.informed);
    CHECK(a.created_ms == b.created_ms);
    CHECK(a.document == b.document);
    CHECK(a.code == b.code);
    CHECK(a.staff == b.staff);
    CHECK(a.description == b.description);
    CHECK(a.time_ms == b.time_ms);
    CHECK(a.from == b.from);
    CHECK(a.response_for == b.response_for);
}

// The report's fields written by hand, so each test can break exactly one of them.
struct Layout {
    uint64_t version = kStatusVersion;
    size_t fields = 11;
    bool code_as_number = false;
    bool document_as_text = false;
    bool staff_as_text = false;
    std::string description = "mô tả";
    Bytes edxml{'<', 'e', '/', '>'};
};

Bytes encode_by_hand(const Layout& l) {
    const StatusReport s = sample_report();
    Writer w;
    w.array(l.fields).u64(l.version).str(s.reporter).str(s.informed).u64(s.created_ms);
    if (l.document_as_text)
        w.str(std::string(32, 'x'));
    else
        w.bin(s.document);
    if (l.code_as_number)
        w.u64(4);
    else
        w.str(s.code);
    if (l.staff_as_text)
        w.str("Trần Thị Hòa");
    else
        write_staff(w, s.staff);
    w.str(l.description).u64(s.time_ms);
    if (l.fields >= 10) write_organization(w, s.from);
    if (l.fields >= 11) write_response_for(w, s.response_for);
    // Field 12 is where an imported status carries its edXML (bin): text there is wrong, and
    // anything after it is extra.
    if (l.fields == 12) w.str("an extra field");
    if (l.fields >= 13) w.bin(l.edxml).str("an extra field");
    return w.take();
}

}  // namespace

TEST_CASE("status lifecycle allows each forward step and progress notes", "[protocol][status]") {
    CHECK(allowed(after({}), "01"));
    CHECK(allowed(after({"01"}), "03"));
    CHECK(allowed(after({"01", "03"}), "04"));
    CHECK(allowed(after({"01", "03", "04"}), "05"));
    CHECK(allowed(after({"01", "03", "04", "05"}), "06"));
    // Repeats are progress notes.
    CHECK(allowed(after({"01", "03", "04"}), "04"));
    CHECK(allowed(after({"01", "03", "04", "05"}), "05"));
    CHECK(allowed(after({"01"}), "01"));
    // Rejection right after arrival or after registration.
    CHECK(allowed(after({"01"}), "02"));
    CHECK(allowed(after({"01", "03"}), "02"));

    const auto full = after({"01", "03", "04", "04", "05", "05", "06"});
    CHECK(full.code == "06");
    CHECK_FALSE(full.recall_requested);
    CHECK_FALSE(full.recalled);
    // An explicit 01 after arrival changes nothing.
    auto s = after({"01", "03"});
    apply_status(s, "01");
    CHECK(s.code == "03");
}

TEST_CASE("status lifecycle refuses skips and reversals, naming what may follow",
          "[protocol][status]") {
    SECTION("01 then 04 skips registration") {
        const auto e = refusal(after({"01"}), "04");
        CHECK_THAT(e, Contains("status 04 (assigned) is refused"));
        CHECK_THAT(e, Contains("cannot follow 01; next allowed: 01 02 03"));
    }
    SECTION("03 then 06 skips assignment and processing") {
        const auto e = refusal(after({"01", "03"}), "06");
        CHECK_THAT(e, Contains("cannot follow 03; next allowed: 02 04"));
    }
    SECTION("06 then 05 reverses completion") {
        const auto e = refusal(after({"01", "03", "04", "05", "06"}), "05");
        CHECK_THAT(e, Contains("already at 06 (completed), a final state"));
    }
    SECTION("02 then 03 registers a rejected document") {
        const auto e = refusal(after({"01", "02"}), "03");
        CHECK_THAT(e, Contains("already at 02 (rejected), a final state"));
    }
    SECTION("05 then 04 and 04 then 03 go backwards") {
        CHECK_THAT(refusal(after({"01", "03", "04", "05"}), "04"), Contains("next allowed: 05 06"));
        CHECK_THAT(refusal(after({"01", "03", "04"}), "03"), Contains("next allowed: 04 05"));
        CHECK_THAT(refusal(after({"01", "03"}), "01"), Contains("cannot follow 03"));
    }
    SECTION("after 15 (recalled) nothing is taken") {
        const auto recalled = after({"01", "03", "04", "13", "15"});
        CHECK(recalled.recalled);
        for (auto code : {"01", "02", "03", "04", "05", "06", "13", "15", "16"}) {
            INFO(code);
            CHECK_THAT(refusal(recalled, code),
                       Contains("recalled (15): it takes no further reports"));
        }
    }
    SECTION("an unknown code") {
        auto st = check_status(after({"01"}), "07", false);
        REQUIRE_FALSE(st.ok());
        CHECK_THAT(st.error(), Contains("unknown status code '07'"));
    }
}

TEST_CASE("status 13 is the sender's, once per unanswered request", "[protocol][status]") {
    const auto registered = after({"01", "03"});
    SECTION("a recipient may not request a recall") {
        auto st = check_status(registered, "13", false);
        REQUIRE_FALSE(st.ok());
        CHECK_THAT(st.error(), Contains("only the document's sender may request a recall (13)"));
    }
    SECTION("a sender may report nothing else") {
        for (auto code : {"01", "02", "03", "04", "05", "06", "15", "16"}) {
            INFO(code);
            auto st = check_status(registered, code, true);
            REQUIRE_FALSE(st.ok());
            CHECK_THAT(st.error(), Contains("the sender of a document may only report 13"));
        }
    }
    SECTION("not twice while unanswered") {
        const auto asked = after({"01", "03", "13"});
        CHECK(asked.recall_requested);
        CHECK(asked.code == "03");  // 13 does not move the processing code
        CHECK_THAT(refusal(asked, "13"), Contains("a recall is already requested and unanswered"));
        // Once answered with 16 (rejected), the sender may ask again.
        const auto answered = after({"01", "03", "13", "16"});
        CHECK_FALSE(answered.recall_requested);
        CHECK_FALSE(answered.recalled);
        CHECK(answered.code == "03");
        CHECK(allowed(answered, "13"));
    }
    SECTION("not for a rejected document") {
        CHECK_THAT(refusal(after({"01", "02"}), "13"),
                   Contains("the recipient rejected the document (02)"));
    }
    SECTION("also before any report and after completion") {
        CHECK(allowed(after({}), "13"));
        CHECK(allowed(after({"01", "03", "04", "05", "06"}), "13"));
    }
}

TEST_CASE("status 15 and 16 answer only a recall request or a change", "[protocol][status]") {
    for (auto code : {"15", "16"}) {
        INFO(code);
        CHECK_THAT(refusal(after({"01", "03"}), code),
                   Contains("there is no recall request (13) or change of the document to answer"));
        CHECK(allowed(after({"01", "03", "13"}), code));
        auto changed = after({"01", "03"});
        changed.change_pending = true;
        CHECK(allowed(changed, code));
        // Answering clears what was answered.
        apply_status(changed, code);
        CHECK_FALSE(changed.change_pending);
        CHECK_FALSE(changed.recall_requested);
        CHECK(changed.recalled == (std::string_view(code) == "15"));
        // An answered request cannot be answered again.
        if (std::string_view(code) == "16") CHECK_FALSE(allowed(changed, "16"));
    }
    CHECK_THAT(refusal(after({"01", "03", "13", "16"}), "15"), Contains("no recall request (13)"));
}

TEST_CASE("a sealed status opens only for the informed agency, unchanged", "[protocol][status]") {
    const auto h41 = seeded_identity("000.00.00.H41", 11);
    const auto g22 = seeded_identity("000.00.00.G22", 12);
    const auto h14 = seeded_identity("000.00.00.H14", 13);
    const StatusReport s = sample_report();

    auto sealed = seal_status(s, h41, g22.pub);
    INFO((sealed.ok() ? std::string() : sealed.error()));
    REQUIRE(sealed.ok());
    CHECK(sealed->envelope.env.kind == Kind::status);
    CHECK(sealed->envelope.env.from == "000.00.00.H41");
    REQUIRE(sealed->envelope.env.to == std::vector<std::string>{"000.00.00.G22"});
    CHECK(verify_envelope(sealed->envelope, h41.pub.sign_key));

    // Through the wire form, as a node receives it.
    auto wire = decode_envelope(sealed->envelope.wire);
    REQUIRE(wire.ok());
    auto opened = open_status(*wire, g22);
    INFO((opened.ok() ? std::string() : opened.error()));
    REQUIRE(opened.ok());
    check_same(opened->report, s);
    CHECK(opened->content_hash == sealed->content_hash);

    // The reporter reads its own copy with the content key.
    auto own = open_status_with_key(*wire, sealed->content_key);
    REQUIRE(own.ok());
    check_same(own->report, s);

    // Neither a third agency nor the reporter's own secret opens it.
    CHECK_FALSE(open_status(*wire, h14).ok());
    CHECK_FALSE(open_status(*wire, h41).ok());
    // Another key does not open it either.
    ContentKey wrong{};
    wrong[0] = 1;
    CHECK_FALSE(open_status_with_key(*wire, wrong).ok());

    SECTION("a report is sealed only by its reporter, to the agency it names") {
        auto not_me = seal_status(s, h14, g22.pub);
        REQUIRE_FALSE(not_me.ok());
        CHECK_THAT(not_me.error(), Contains("status reporter is not this node's agency"));
        auto wrong_key = seal_status(s, h41, h14.pub);
        REQUIRE_FALSE(wrong_key.ok());
        CHECK_THAT(wrong_key.error(), Contains("no public key known for '000.00.00.G22'"));
    }
}

TEST_CASE("status encoding round-trips and refuses bad version, truncation and wrong types",
          "[protocol][status]") {
    const StatusReport s = sample_report();
    const Bytes enc = encode_status(s);
    auto back = decode_status(enc);
    REQUIRE(back.ok());
    check_same(*back, s);
    CHECK(encode_status(*back) == enc);  // canonical

    REQUIRE(decode_status(encode_by_hand({})).ok());  // the layout below is the real one

    SECTION("an unknown version") {
        Layout l;
        l.version = 2;
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("unsupported version 2"));
    }
    SECTION("bytes cut short") {
        for (size_t n : {size_t{0}, size_t{1}, enc.size() / 2, enc.size() - 1}) {
            INFO(n);
            CHECK_FALSE(decode_status(ByteView(enc.data(), n)).ok());
        }
    }
    SECTION("a field missing") {
        Layout l;
        l.fields = 10;
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("field 'response_for' is missing"));
    }
    SECTION("a twelfth field that is not the carried edXML") {
        Layout l;
        l.fields = 12;
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("field 'edxml' is not binary"));
    }
    SECTION("an extra field after the carried edXML") {
        Layout l;
        l.fields = 13;
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("unexpected extra field"));
    }
    SECTION("a carried edXML that is empty") {
        Layout l;
        l.fields = 13;
        l.edxml.clear();
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("edxml is present but empty"));
    }
    SECTION("trailing bytes") {
        Bytes more = enc;
        more.push_back(0xc0);
        CHECK_FALSE(decode_status(more).ok());
    }
    SECTION("a code that is a number") {
        Layout l;
        l.code_as_number = true;
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("field 'code' is not text"));
    }
    SECTION("a document id that is text") {
        Layout l;
        l.document_as_text = true;
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("'document'"));
    }
    SECTION("staff that is text, not a list") {
        Layout l;
        l.staff_as_text = true;
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("staff"));
    }
    SECTION("a description that is not UTF-8") {
        Layout l;
        l.description = "m\xC3\x28";
        auto r = decode_status(encode_by_hand(l));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Contains("field 'description' is not valid UTF-8"));
    }
    SECTION("random bytes") {
        CHECK_FALSE(decode_status(pattern_bytes(200, 7)).ok());
    }
}

TEST_CASE("validate_status refuses an unknown code and text that is not UTF-8",
          "[protocol][status]") {
    REQUIRE(validate_status(sample_report()).ok());

    auto s = sample_report();
    s.code = "07";
    auto st = validate_status(s);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Contains("unknown status code '07'"));

    s = sample_report();
    s.description = "Đã xử lý \xFF\xFE";
    st = validate_status(s);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Contains("'description' is not valid UTF-8"));

    s = sample_report();
    s.staff.staff = "Tr\xE1\xBA";  // cut in the middle of a character
    st = validate_status(s);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Contains("not valid UTF-8"));

    s = sample_report();
    s.informed = s.reporter;
    st = validate_status(s);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Contains("must inform another agency"));

    // A sealed report is validated first: nothing invalid leaves the node.
    s = sample_report();
    s.code = "99";
    const auto h41 = seeded_identity("000.00.00.H41", 11);
    const auto g22 = seeded_identity("000.00.00.G22", 12);
    auto sealed = seal_status(s, h41, g22.pub);
    REQUIRE_FALSE(sealed.ok());
    CHECK_THAT(sealed.error(), Contains("unknown status code '99'"));
}
