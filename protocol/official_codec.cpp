#include "protocol/official_codec.h"

namespace lienthong::protocol {

void write_strings(Writer& w, const std::vector<std::string>& v) {
    w.array(v.size());
    for (const auto& s : v) w.str(s);
}

Result<std::vector<std::string>> read_strings(ArrayReader& r, std::string_view what) {
    LT_ASSIGN(auto a, r.array(what, kMaxListItems));
    std::vector<std::string> out;
    while (a.remaining() > 0) {
        LT_ASSIGN(auto s, a.str(what, kMaxTextField));
        out.push_back(std::move(s));
    }
    return out;
}

void write_organization(Writer& w, const Organization& o) {
    w.array(8).str(o.organ_id).str(o.organization_in_charge).str(o.organ_name).str(o.organ_add).str(o.email)
        .str(o.telephone).str(o.fax).str(o.website);
}

Result<Organization> read_organization(ArrayReader& r, std::string_view what) {
    LT_ASSIGN(auto a, r.array(what, 8));
    Organization o;
    for (auto* f : {&o.organ_id, &o.organization_in_charge, &o.organ_name, &o.organ_add, &o.email, &o.telephone,
                    &o.fax, &o.website}) {
        LT_ASSIGN(*f, a.str(what, kMaxTextField));
    }
    LT_TRY(a.finish());
    return o;
}

void write_staff(Writer& w, const StaffInfo& s) {
    w.array(4).str(s.department).str(s.staff).str(s.email).str(s.mobile);
}

Result<StaffInfo> read_staff(ArrayReader& r, std::string_view what) {
    LT_ASSIGN(auto a, r.array(what, 4));
    StaffInfo s;
    for (auto* f : {&s.department, &s.staff, &s.email, &s.mobile}) {
        LT_ASSIGN(*f, a.str(what, kMaxTextField));
    }
    LT_TRY(a.finish());
    return s;
}

void write_response_for(Writer& w, const ResponseFor& f) {
    w.array(4).str(f.organ_id).str(f.code).str(f.promulgation_date).str(f.document_id);
}

Result<ResponseFor> read_response_for(ArrayReader& r, std::string_view what) {
    LT_ASSIGN(auto a, r.array(what, 4));
    ResponseFor f;
    for (auto* s : {&f.organ_id, &f.code, &f.promulgation_date, &f.document_id}) {
        LT_ASSIGN(*s, a.str(what, kMaxTextField));
    }
    LT_TRY(a.finish());
    return f;
}

void write_business(Writer& w, const Business& b) {
    w.array(7).u64(static_cast<uint64_t>(b.business_doc_type)).str(b.document_id).str(b.reason).str(b.paper);
    write_staff(w, b.staff);
    if (b.document_info) {
        const auto& d = *b.document_info;
        w.array(3).str(d.document_info).str(d.document_receiver).array(d.receivers.size());
        for (const auto& rc : d.receivers) w.array(2).str(rc.organ_id).str(rc.receiver_type);
    } else {
        w.array(0);
    }
    w.array(b.replacements.size());
    for (const auto& rp : b.replacements) {
        w.array(2).str(rp.document_id);
        write_strings(w, rp.organ_ids);
    }
}

Result<Business> read_business(ArrayReader& r) {
    LT_ASSIGN(auto a, r.array("business", 7));
    Business b;
    LT_ASSIGN(auto type, a.u64("business_doc_type"));
    if (type > 3) return make_error("business_doc_type must be 0-3 (new, revoke, update, replace)");
    b.business_doc_type = static_cast<BusinessDocType>(type);
    LT_ASSIGN(b.document_id, a.str("business document_id", kMaxTextField));
    LT_ASSIGN(b.reason, a.str("business reason", kMaxTextField));
    LT_ASSIGN(b.paper, a.str("business paper", kMaxTextField));
    LT_ASSIGN(b.staff, read_staff(a, "business staff"));
    LT_ASSIGN(auto info, a.array("business document_info", 3));
    if (info.size() == 3) {
        BusinessDocumentInfo d;
        LT_ASSIGN(d.document_info, info.str("document_info", kMaxTextField));
        LT_ASSIGN(d.document_receiver, info.str("document_receiver", kMaxTextField));
        LT_ASSIGN(auto recs, info.array("receivers", kMaxListItems));
        while (recs.remaining() > 0) {
            LT_ASSIGN(auto rc, recs.array("receiver", 2));
            BusinessDocumentInfo::Receiver x;
            LT_ASSIGN(x.organ_id, rc.str("receiver organ_id", kMaxTextField));
            LT_ASSIGN(x.receiver_type, rc.str("receiver_type", kMaxTextField));
            LT_TRY(rc.finish());
            d.receivers.push_back(std::move(x));
        }
        LT_TRY(info.finish());
        b.document_info = std::move(d);
    } else if (info.size() != 0) {
        return make_error("business document_info must have 0 or 3 fields");
    }
    LT_ASSIGN(auto reps, a.array("replacements", kMaxListItems));
    while (reps.remaining() > 0) {
        LT_ASSIGN(auto rp, reps.array("replacement", 2));
        ReplacementInfo x;
        LT_ASSIGN(x.document_id, rp.str("replacement document_id", kMaxTextField));
        LT_ASSIGN(x.organ_ids, read_strings(rp, "replacement organ ids"));
        LT_TRY(rp.finish());
        b.replacements.push_back(std::move(x));
    }
    LT_TRY(a.finish());
    return b;
}

}  // namespace lienthong::protocol
