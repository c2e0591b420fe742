// Canonical msgpack encoding of the official-document model (official.h), shared by document
// content and status reports. Each struct is one array, fields in declaration order:
//   Organization = [organ_id, organization_in_charge, organ_name, organ_add, email, telephone,
//                   fax, website]
//   StaffInfo    = [department, staff, email, mobile]
//   ResponseFor  = [organ_id, code, promulgation_date, document_id]
//   Business     = [business_doc_type:uint 0-3, document_id, reason, paper, StaffInfo,
//                   document_info: [] | [document_info, document_receiver,
//                                        [[organ_id, receiver_type]...]],
//                   [[document_id, [organ_id...]]...]]
// Readers refuse text longer than kMaxTextField, lists longer than kMaxListItems, and invalid
// UTF-8, naming the field.
#pragma once

#include "protocol/codec.h"
#include "protocol/official.h"

namespace lienthong::protocol {

constexpr size_t kMaxTextField = 64 * 1024;
constexpr size_t kMaxListItems = 1000;

void write_organization(Writer& w, const Organization& o);
Result<Organization> read_organization(ArrayReader& r, std::string_view what);
void write_staff(Writer& w, const StaffInfo& s);
Result<StaffInfo> read_staff(ArrayReader& r, std::string_view what);
void write_response_for(Writer& w, const ResponseFor& f);
Result<ResponseFor> read_response_for(ArrayReader& r, std::string_view what);
void write_business(Writer& w, const Business& b);
Result<Business> read_business(ArrayReader& r);
void write_strings(Writer& w, const std::vector<std::string>& v);
Result<std::vector<std::string>> read_strings(ArrayReader& r, std::string_view what);

}  // namespace lienthong::protocol
