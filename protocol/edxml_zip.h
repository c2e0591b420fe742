// Attachments as the national EdXML library writes them: it zips every part whose type is
// not pdf, doc(x), xls(x) or zip, one file per zip, and its reader unzips such a part again.
// A part counts as zipped this way when its bytes are a zip while neither its manifest type
// nor its name says zip (a .zip sent as a zip stays a zip). unzip_part() gives the one file
// inside, the attachment as the document system meant it; export offers the raw part too.
//
// Untrusted input: the zip must hold exactly one file, and what it inflates to is bounded by
// max_bytes (a zip bomb is refused, not inflated). Thread safety: no shared state.
#pragma once

#include <string_view>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace lienthong::protocol::edxml {

// Whether `data` starts as a zip archive does (a local file header, "PK\3\4").
bool is_zip(ByteView data);
// Whether a part with this manifest type, name and data is one the library zipped.
bool is_library_zipped(std::string_view mime, std::string_view name, ByteView data);
// The single file inside `zip`; an error names what is wrong (not a zip, several files,
// larger than max_bytes, damaged).
Result<Bytes> unzip_part(ByteView zip, size_t max_bytes);

}  // namespace lienthong::protocol::edxml
