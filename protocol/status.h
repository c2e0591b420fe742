// Processing status reports (edXML status messages): a recipient tells the sender where a
// document stands — 02 rejected, 03 accepted/registered, 04 assigned, 05 processing,
// 06 completed, 15/16 update-or-recall accepted/rejected — and a sender asks for a recall
// (13). Code 01 (arrived) is what the signed receipt already says; it may also be sent
// explicitly (an imported edXML 01), and then changes nothing.
//
// A report is sealed (sealed.h) to the one agency it informs, in a Kind::status envelope,
// and travels through the same outbox, receipts and exactly-once inbox as documents:
//   status = [ 1, reporter, informed, created_ms, document:bin(32), code, StaffInfo,
//              description, time_ms, from:Organization, ResponseFor ]
// An imported edXML status appends edxml:bin, the file as the document system gave it, which
// the informed agency exports byte for byte; a native report has eleven elements as before.
// `document` is the message id of the document the report is about; `from` and
// `response_for` carry the edXML header fields so the report exports as edXML again.
//
// The lifecycle (check_status) is enforced where a report is made, so an agency cannot
// report a status that skips or reverses it. Where a report arrives, the timeline is read in
// the order of the reports' own signed times and replayed with apply_received: reports can
// arrive out of order (relays, retransmission); one that cannot fit anywhere in that order
// (a 04 signed after the 06) is refused.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/official.h"
#include "protocol/sealed.h"

namespace lienthong::protocol {

constexpr uint64_t kStatusVersion = 1;

struct StatusReport {
    std::string reporter;  // the agency reporting
    std::string informed;  // the one agency told
    uint64_t created_ms = 0;
    Hash32 document{};
    std::string code;  // one of kKnownStatusCodes
    StaffInfo staff;
    std::string description;
    uint64_t time_ms = 0;  // when it happened
    Organization from;
    ResponseFor response_for;
    Bytes edxml;  // the imported edXML as given, or empty
};

inline constexpr std::string_view kKnownStatusCodes[] = {"01", "02", "03", "04", "05",
                                                         "06", "13", "15", "16"};
bool is_known_status_code(std::string_view code);
// "accepted/registered" etc., for people; "" for an unknown code.
std::string_view status_code_name(std::string_view code);

// Where one recipient's processing of one document stands.
struct ProcessingState {
    std::string code;  // latest of 01 02 03 04 05 06, "" before any
    bool recall_requested = false;  // a 13 without an answer yet
    bool recalled = false;          // a 15 answered a recall or change
    bool change_pending = false;    // an update/replace/revoke of the document arrived, unanswered
};

// Whether `code`, reported by the document's sender (by_sender) or by its recipient, may
// follow `state`; the error says what is allowed instead. The lifecycle:
//   01 → 02 | 03;  03 → 02 | 04;  04 → 04 | 05;  05 → 05 | 06 (repeats are progress notes);
//   13 (sender only) unless 02 or recalled; 15 | 16 (recipient) only after a 13 or a change.
// A recalled document takes no further reports.
Status check_status(const ProcessingState& state, std::string_view code, bool by_sender);
// The state after `code` (REQUIRES: check_status passed, or the report is a received fact).
void apply_status(ProcessingState& state, std::string_view code);
// Applies a report as the agency that receives it does, replaying one recipient's reports in
// the order of their signed times (time_ms): one that skips steps forward is taken (the steps
// between may arrive later, or were never reported), one that would reverse the lifecycle or
// follow a final state (02, 06, recalled) is left out. Returns whether `code` was taken. So a
// relay that reorders honest reports changes nothing, and a late 04 cannot reopen a 06.
bool apply_received(ProcessingState& state, std::string_view code);

Status validate_status(const StatusReport& s);
Bytes encode_status(const StatusReport& s);
Result<StatusReport> decode_status(ByteView bytes);

struct OpenedStatus {
    StatusReport report;
    Hash32 content_hash{};
};

// REQUIRES: informed_key is the identity of s.informed.
Result<Sealed> seal_status(const StatusReport& s, const SecretIdentity& reporter, const PublicIdentity& informed_key,
                           SharedKeyCache* cache = nullptr);
// Opens a status envelope addressed to `me` whose signature the caller has verified; checks
// that reporter, informed agency and time match the envelope.
Result<OpenedStatus> open_status(const SignedEnvelope& se, const SecretIdentity& me, SharedKeyCache* cache = nullptr);
Result<OpenedStatus> open_status_with_key(const SignedEnvelope& se, const ContentKey& key);

}  // namespace lienthong::protocol
