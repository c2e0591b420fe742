#include "protocol/status.h"

#include <sodium.h>

#include <algorithm>

#include "protocol/official_codec.h"

namespace lienthong::protocol {

namespace {
constexpr size_t kMaxStatusBytes = 1u << 20;

Result<OpenedStatus> finish_open(const SignedEnvelope& se, Unsealed u) {
    OpenedStatus out;
    LT_ASSIGN(out.report, decode_status(u.plaintext));
    out.content_hash = u.content_hash;
    sodium_memzero(u.content_key.data(), u.content_key.size());
    if (out.report.reporter != se.env.from || se.env.to.size() != 1 || out.report.informed != se.env.to[0] ||
        out.report.created_ms != se.env.created_ms)
        return make_error("status report does not match its envelope (reporter, informed agency or time)");
    return out;
}
}  // namespace

bool is_known_status_code(std::string_view code) {
    return std::find(std::begin(kKnownStatusCodes), std::end(kKnownStatusCodes), code) != std::end(kKnownStatusCodes);
}

std::string_view status_code_name(std::string_view code) {
    if (code == "01") return "arrived";
    if (code == "02") return "rejected";
    if (code == "03") return "accepted";
    if (code == "04") return "assigned";
    if (code == "05") return "processing";
    if (code == "06") return "completed";
    if (code == "13") return "recall requested";
    if (code == "15") return "change accepted";
    if (code == "16") return "change rejected";
    return "";
}

Status check_status(const ProcessingState& s, std::string_view code, bool by_sender) {
    const auto refuse = [&](const std::string& why) {
        return make_error("status " + std::string(code) + " (" + std::string(status_code_name(code)) +
                          ") is refused: " + why);
    };
    if (!is_known_status_code(code))
        return make_error("unknown status code '" + std::string(code) +
                          "' (known: 01 02 03 04 05 06 13 15 16)");
    if (by_sender != (code == "13"))
        return refuse(by_sender ? "the sender of a document may only report 13 (recall requested)"
                                : "only the document's sender may request a recall (13)");
    if (s.recalled) return refuse("the document was recalled (15): it takes no further reports");
    const std::string now = s.code.empty() ? "none" : s.code;
    if (code == "13") {
        if (s.code == "02") return refuse("the recipient rejected the document (02)");
        if (s.recall_requested) return refuse("a recall is already requested and unanswered");
        return ok_status();
    }
    if (code == "15" || code == "16") {
        if (!s.recall_requested && !s.change_pending)
            return refuse("there is no recall request (13) or change of the document to answer");
        return ok_status();
    }
    static const std::pair<std::string_view, std::string_view> kNext[] = {
        {"none", "01 02 03"}, {"01", "01 02 03"}, {"02", ""}, {"03", "02 04"},
        {"04", "04 05"},      {"05", "05 06"},    {"06", ""},
    };
    for (const auto& [from, allowed] : kNext) {
        if (from != now) continue;
        if (allowed.find(code) != std::string_view::npos) return ok_status();
        if (allowed.empty()) return refuse("the document is already at " + now + " (" +
                                           std::string(status_code_name(now)) + "), a final state");
        return refuse("it cannot follow " + now + "; next allowed: " + std::string(allowed));
    }
    return refuse("unknown current state " + now);
}

void apply_status(ProcessingState& s, std::string_view code) {
    if (code == "13") {
        s.recall_requested = true;
    } else if (code == "15") {
        s.recalled = true;
        s.recall_requested = s.change_pending = false;
    } else if (code == "16") {
        s.recall_requested = s.change_pending = false;
    } else if (code == "01") {
        if (s.code.empty()) s.code = "01";
    } else {
        s.code = std::string(code);
    }
}

namespace {
// Where a processing code stands on the way to completion; 02 (rejected) ends the way early.
int progress_rank(std::string_view code) {
    static constexpr std::string_view kOrder[] = {"01", "03", "04", "05", "06"};
    for (int i = 0; i < 5; ++i)
        if (kOrder[i] == code) return i + 1;
    return 0;
}
}  // namespace

bool apply_received(ProcessingState& s, std::string_view code) {
    if (!is_known_status_code(code) || s.recalled) return false;
    if (code == "13") {
        if (s.code == "02" || s.recall_requested) return false;
    } else if (code == "15" || code == "16") {
        if (!s.recall_requested && !s.change_pending) return false;
    } else if (s.code == "02" || s.code == "06") {
        return false;  // final
    } else if (code == "02") {
        if (progress_rank(s.code) > progress_rank("03")) return false;  // only before 04
    } else {
        const int now = progress_rank(s.code), next = progress_rank(code);
        // Forward, or a repeat where the lifecycle allows one (01, 04, 05: progress notes).
        if (next < now || (next == now && code != "01" && code != "04" && code != "05")) return false;
    }
    apply_status(s, code);
    return true;
}

Status validate_status(const StatusReport& s) {
    LT_TRY(check_agency(s.reporter, "status reporter"));
    LT_TRY(check_agency(s.informed, "informed agency"));
    if (s.reporter == s.informed) return make_error("a status report must inform another agency");
    if (!is_known_status_code(s.code))
        return make_error("unknown status code '" + s.code + "' (known: 01 02 03 04 05 06 13 15 16)");
    // The reader checks every text field for UTF-8 and length, naming it.
    if (auto back = decode_status(encode_status(s)); !back.ok()) return back.take_error();
    return ok_status();
}

Bytes encode_status(const StatusReport& s) {
    Writer w;
    w.array(s.edxml.empty() ? 11 : 12).u64(kStatusVersion).str(s.reporter).str(s.informed).u64(s.created_ms).bin(s.document).str(s.code);
    write_staff(w, s.staff);
    w.str(s.description).u64(s.time_ms);
    write_organization(w, s.from);
    write_response_for(w, s.response_for);
    if (!s.edxml.empty()) w.bin(s.edxml);
    return w.take();
}

Result<StatusReport> decode_status(ByteView bytes) {
    DecodeLimits dl;
    dl.max_bytes = kMaxStatusBytes;
    LT_ASSIGN(auto d, Decoded::parse(bytes, "status report", dl));
    auto r = d.root();
    LT_ASSIGN(auto version, r.u64("version"));
    if (version != kStatusVersion) return make_error("status report: unsupported version " + std::to_string(version));
    StatusReport s;
    LT_ASSIGN(s.reporter, r.str("reporter", kMaxAgencyLength));
    LT_ASSIGN(s.informed, r.str("informed", kMaxAgencyLength));
    LT_ASSIGN(s.created_ms, r.u64("created_ms"));
    LT_ASSIGN(s.document, r.fixed<32>("document"));
    LT_ASSIGN(s.code, r.str("code", 2));
    LT_ASSIGN(s.staff, read_staff(r, "staff"));
    LT_ASSIGN(s.description, r.str("description", kMaxTextField));
    LT_ASSIGN(s.time_ms, r.u64("time_ms"));
    LT_ASSIGN(s.from, read_organization(r, "from"));
    LT_ASSIGN(s.response_for, read_response_for(r, "response_for"));
    if (r.remaining() > 0) {
        LT_ASSIGN(auto xml, r.bin("edxml", kMaxStatusBytes));
        if (xml.empty()) return make_error("status report: edxml is present but empty");
        s.edxml.assign(xml.begin(), xml.end());
    }
    LT_TRY(r.finish());
    return s;
}

Result<Sealed> seal_status(const StatusReport& s, const SecretIdentity& reporter, const PublicIdentity& informed_key,
                           SharedKeyCache* cache) {
    LT_TRY(validate_status(s));
    if (s.reporter != reporter.pub.agency) return make_error("status reporter is not this node's agency");
    if (informed_key.agency != s.informed) return make_error("no public key known for '" + s.informed + "'");
    return seal(Kind::status, encode_status(s), {s.informed}, s.created_ms, reporter, {informed_key}, cache);
}

Result<OpenedStatus> open_status(const SignedEnvelope& se, const SecretIdentity& me, SharedKeyCache* cache) {
    EnvelopeLimits limits;
    limits.max_envelope_bytes = kMaxStatusBytes + 4096;
    LT_ASSIGN(auto u, unseal(Kind::status, se, me, limits, cache));
    return finish_open(se, std::move(u));
}

Result<OpenedStatus> open_status_with_key(const SignedEnvelope& se, const ContentKey& key) {
    EnvelopeLimits limits;
    limits.max_envelope_bytes = kMaxStatusBytes + 4096;
    LT_ASSIGN(auto u, unseal_with_key(Kind::status, se, key, limits));
    return finish_open(se, std::move(u));
}

}  // namespace lienthong::protocol
