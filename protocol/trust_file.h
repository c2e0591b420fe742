// Files of armored trust records, as admins carry them between offline machines and nodes
// ('directory verify', 'directory import', 'enroll import'): any number of armored blocks
// (trust.h) of any record kind, in any order, each decoded by its label.
//
// Pure, like trust.h: no I/O, no clock, nothing throws. Form only: no signature is verified
// here (verify_node_record and its kin do that). Thread-safety: none needed.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/cross_trust.h"
#include "protocol/trust.h"

namespace lienthong::protocol {

// A signed record of any kind that a trust file may hold.
using TrustRecord =
    std::variant<IssuerRecord, NodeRecord, EnrollmentRequest, Revocation, CrossTrust>;

// One block of a trust file: its label, and its record or why it holds none:
//   "not a trust record: '<label>' block"   the label names no kind of TrustRecord
//   "malformed: <the decoder's error>"      the data does not decode as that kind
struct TrustFileBlock {
    std::string label;
    Result<TrustRecord> record;
};

// Every block of `text`, in file order. Fails only when the text is not armor (dearmor_all's
// errors, with the line); a block that does not decode is kept with its error, so a caller
// can report each block and still use the others.
Result<std::vector<TrustFileBlock>> read_trust_file(std::string_view text);

}  // namespace lienthong::protocol
