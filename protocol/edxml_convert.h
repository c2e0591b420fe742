// Between edXML messages (edxml.h) and what the node seals and sends (document.h, status.h).
//
// Dates: edXML dates carry no zone; they are Vietnam's (UTC+7, no daylight saving). A due
// date YYYY/MM/DD means "by the end of that day": due_ms is 23:59:59.999 of it in UTC+7, and
// exports back as the same date. Timestamps YYYY/MM/DD HH:MM:SS convert exactly both ways.
// Priority (0 thường … 3 hỏa tốc) becomes urgency; any other value is refused.
// The document's Content becomes the body (UTF-8 text); attachments keep name, MIME type,
// description and bytes. An imported file travels as its own bytes (DocumentContent::edxml),
// which keep its TraceHeaderList, Bussiness and signature as written; a native document's
// edXML (from_content) gets a TraceHeaderList of one TraceHeader (the sender, at created_ms)
// and the whole Bussiness block. The BussinessDocType travels; which of our messages a
// revoke/update/replace acts on (acts_on) is for the caller to resolve, from the sender and
// DocumentId.
#pragma once

#include "protocol/document.h"
#include "protocol/edxml.h"
#include "protocol/status.h"

namespace lienthong::protocol::edxml {

inline constexpr int64_t kVietnamOffsetMs = 7 * 3600 * 1000;

Result<uint64_t> due_date_to_ms(std::string_view date);        // YYYY/MM/DD → end of that day, UTC+7
std::string ms_to_date(uint64_t ms);                            // → YYYY/MM/DD in UTC+7
Result<uint64_t> timestamp_to_ms(std::string_view timestamp);   // YYYY/MM/DD HH:MM:SS in UTC+7
std::string ms_to_timestamp(uint64_t ms);

// The content to seal for `doc`; sender and recipients are the caller's (the envelope's).
// With `original` (the file `doc` was parsed from) the content carries it as edxml and its
// attachments name each part without data: the data travels once, inside the edXML.
Result<DocumentContent> to_content(const Document& doc, const std::string& sender,
                                   const std::vector<std::string>& recipients, uint64_t created_ms,
                                   Bytes original = {});
Document from_content(const DocumentContent& c);

// For content that carries an edXML (REQUIRES: !c.edxml.empty()): parses it, checks that it
// is a document whose attachments are the ones c lists (same count and names), and fills
// each attachment's data and encoded_mime from it. Returns the parsed document, whose
// attachments keep everything but their data (moved into c). An error means the sender's
// content contradicts itself.
Result<Document> complete_from_edxml(DocumentContent& c);

// A report from an edXML status; `document` and the agencies are the caller's to set.
Result<StatusReport> to_report(const Status& status);
Status from_report(const StatusReport& report);

}  // namespace lienthong::protocol::edxml
