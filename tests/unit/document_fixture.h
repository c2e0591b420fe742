// Shared fixture for document tests: four agencies and a realistic Vietnamese document.
#pragma once

#include "protocol/document.h"
#include "test_util.h"

namespace lienthong::testing {

using protocol::Bytes;
using protocol::DocumentContent;
using protocol::PublicIdentity;
using protocol::SecretIdentity;

struct Parties {
    SecretIdentity sender = seeded_identity("000.00.31.H14", 1);
    SecretIdentity b = seeded_identity("000.00.00.H41", 2);
    SecretIdentity c = seeded_identity("000.01.31.H14", 3);
    SecretIdentity d = seeded_identity("000.02.31.H14", 4);
    SecretIdentity outsider = seeded_identity("000.09.99.H99", 5);
    std::vector<PublicIdentity> recipient_keys() const { return {b.pub, c.pub, d.pub}; }
};

inline DocumentContent sample_content(const Parties& p) {
    DocumentContent c;
    c.sender = p.sender.pub.agency;
    c.recipients = {p.b.pub.agency, p.c.pub.agency, p.d.pub.agency};
    c.created_ms = 1764000000123ull;
    c.meta.subject = "V/v triển khai Công văn Hỏa tốc về phòng chống bão tại Đắk Nông";
    c.meta.document_id = "000.00.31.H14,2025/11/24,123/UBND-KT";
    c.meta.type = {"1", "", "Công văn"};
    c.meta.code = {"123", "UBND-KT"};
    c.meta.signer = {"TM. UBND", "Chủ tịch", "Nguyễn Văn Ánh"};
    c.meta.promulgation = {"Đắk Nông", "2025/11/24"};
    c.meta.from = {"000.00.31.H14", "UBND tỉnh", "Văn phòng UBND tỉnh Đắk Nông", "Gia Nghĩa", "vp@daknong.gov.vn",
                   "0261", "", "daknong.gov.vn"};
    c.meta.to = {{"000.00.00.H41", "", "Sở TN&MT", "", "", "", "", ""}};
    c.meta.other = {"Cấp tỉnh", "VP", "10", "4", "", {"Phụ lục I", "Phụ lục II"}};
    c.meta.steering_type = "1";
    c.meta.to_places = {"Như trên", "Lưu: VT"};
    c.meta.response_for = {{"000.00.00.H41", "7816/VPCP", "2025/11/01", "H41,2025/11/01,7816"}};
    c.meta.business.reason = "Bổ sung phụ lục";
    c.meta.urgency = 3;
    c.meta.confidentiality = 1;
    c.meta.due_ms = 1764600000000ull;
    c.meta.reply_to = Bytes(32, 0x11);
    c.meta.extra = {{"linh_vuc", "Thiên tai"}, {"so_trang", "4"}};
    c.body = bytes_of("Kính gửi: Sở Tài nguyên và Môi trường.\nỦy ban nhân dân tỉnh đề nghị…");
    c.attachments = {
        {"Quyết định 123.pdf", "application/pdf", pattern_bytes(5000, 1), "Bản ký số"},
        {"phu-luc.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         pattern_bytes(70000, 2)},
        {"empty.txt", "text/plain", {}},
    };
    return c;
}

}  // namespace lienthong::testing
