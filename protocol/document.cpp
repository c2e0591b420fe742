#include "protocol/document.h"

#include <sodium.h>

#include <algorithm>
#include <set>

#include "protocol/official_codec.h"

namespace lienthong::protocol {

namespace {

void write_meta(Writer& w, const DocumentMeta& m) {
    w.array(19).str(m.document_id).str(m.subject);
    w.array(3).str(m.type.type).str(m.type.type_detail).str(m.type.type_name);
    w.array(2).str(m.code.code_number).str(m.code.code_notation);
    w.array(3).str(m.signer.competence).str(m.signer.position).str(m.signer.full_name);
    w.u64(m.urgency).u64(m.confidentiality).u64(m.due_ms);
    w.array(2).str(m.promulgation.place).str(m.promulgation.date);
    write_organization(w, m.from);
    w.array(m.to.size());
    for (const auto& o : m.to) write_organization(w, o);
    const auto& o = m.other;
    w.array(6).str(o.sphere_of_promulgation).str(o.typer_notation).str(o.promulgation_amount).str(o.page_amount)
        .str(o.direction);
    write_strings(w, o.appendixes);
    w.str(m.steering_type);
    write_strings(w, m.to_places);
    w.array(m.response_for.size());
    for (const auto& f : m.response_for) write_response_for(w, f);
    write_business(w, m.business);
    w.bin(m.acts_on).bin(m.reply_to).array(m.extra.size());
    for (const auto& [k, v] : m.extra) w.array(2).str(k).str(v);
}

Result<DocumentMeta> read_meta(ArrayReader& r) {
    LT_ASSIGN(auto a, r.array("meta", 19));
    DocumentMeta m;
    LT_ASSIGN(m.document_id, a.str("document_id", kMaxTextField));
    LT_ASSIGN(m.subject, a.str("subject", kMaxTextField));
    LT_ASSIGN(auto type, a.array("type", 3));
    for (auto* s : {&m.type.type, &m.type.type_detail, &m.type.type_name}) {
        LT_ASSIGN(*s, type.str("type", kMaxTextField));
    }
    LT_TRY(type.finish());
    LT_ASSIGN(auto code, a.array("code", 2));
    LT_ASSIGN(m.code.code_number, code.str("code_number", kMaxTextField));
    LT_ASSIGN(m.code.code_notation, code.str("code_notation", kMaxTextField));
    LT_TRY(code.finish());
    LT_ASSIGN(auto signer, a.array("signer", 3));
    for (auto* s : {&m.signer.competence, &m.signer.position, &m.signer.full_name}) {
        LT_ASSIGN(*s, signer.str("signer", kMaxTextField));
    }
    LT_TRY(signer.finish());
    LT_ASSIGN(m.urgency, a.u64("urgency"));
    LT_ASSIGN(m.confidentiality, a.u64("confidentiality"));
    LT_ASSIGN(m.due_ms, a.u64("due_ms"));
    LT_ASSIGN(auto prom, a.array("promulgation", 2));
    LT_ASSIGN(m.promulgation.place, prom.str("promulgation place", kMaxTextField));
    LT_ASSIGN(m.promulgation.date, prom.str("promulgation date", kMaxTextField));
    LT_TRY(prom.finish());
    LT_ASSIGN(m.from, read_organization(a, "from"));
    LT_ASSIGN(auto to, a.array("to", kMaxListItems));
    while (to.remaining() > 0) {
        LT_ASSIGN(auto org, read_organization(to, "to"));
        m.to.push_back(std::move(org));
    }
    LT_ASSIGN(auto other, a.array("other", 6));
    auto& o = m.other;
    for (auto* s : {&o.sphere_of_promulgation, &o.typer_notation, &o.promulgation_amount, &o.page_amount, &o.direction}) {
        LT_ASSIGN(*s, other.str("other", kMaxTextField));
    }
    LT_ASSIGN(o.appendixes, read_strings(other, "appendixes"));
    LT_TRY(other.finish());
    LT_ASSIGN(m.steering_type, a.str("steering_type", kMaxTextField));
    LT_ASSIGN(m.to_places, read_strings(a, "to_places"));
    LT_ASSIGN(auto rf, a.array("response_for", kMaxListItems));
    while (rf.remaining() > 0) {
        LT_ASSIGN(auto f, read_response_for(rf, "response_for"));
        m.response_for.push_back(std::move(f));
    }
    LT_ASSIGN(m.business, read_business(a));
    LT_ASSIGN(auto acts_on, a.bin("acts_on", 32));
    m.acts_on.assign(acts_on.begin(), acts_on.end());
    LT_ASSIGN(auto reply, a.bin("reply_to", 32));
    m.reply_to.assign(reply.begin(), reply.end());
    LT_ASSIGN(auto extra, a.array("extra", kMaxListItems));
    while (extra.remaining() > 0) {
        LT_ASSIGN(auto kv, extra.array("extra entry", 2));
        LT_ASSIGN(auto k, kv.str("extra key", kMaxTextField));
        LT_ASSIGN(auto v, kv.str("extra value", kMaxTextField));
        LT_TRY(kv.finish());
        m.extra.emplace_back(std::move(k), std::move(v));
    }
    LT_TRY(a.finish());
    return m;
}

Result<DocumentContent> decode_content_unchecked(ByteView bytes, const EnvelopeLimits& limits) {
    DecodeLimits dl;
    dl.max_bytes = dl.max_bin = limits.max_envelope_bytes;
    dl.max_array = kMaxAttachments;
    LT_ASSIGN(auto d, Decoded::parse(bytes, "document content", dl));
    auto r = d.root();
    LT_ASSIGN(auto version, r.u64("version"));
    if (version != kContentVersion)
        return make_error("document content: unsupported version " + std::to_string(version));
    DocumentContent c;
    LT_ASSIGN(c.sender, r.str("sender", kMaxAgencyLength));
    LT_ASSIGN(auto rs, r.array("recipients", kMaxRecipients));
    while (rs.remaining() > 0) {
        LT_ASSIGN(auto a, rs.str("recipient", kMaxAgencyLength));
        c.recipients.push_back(std::move(a));
    }
    LT_ASSIGN(c.created_ms, r.u64("created_ms"));
    LT_ASSIGN(c.meta, read_meta(r));
    LT_ASSIGN(auto body, r.bin("body", limits.max_envelope_bytes));
    c.body.assign(body.begin(), body.end());
    LT_ASSIGN(auto atts, r.array("attachments", kMaxAttachments));
    while (atts.remaining() > 0) {
        LT_ASSIGN(auto ar, atts.array("attachment", 4));
        Attachment a;
        LT_ASSIGN(a.name, ar.str("attachment name", 255));
        LT_ASSIGN(a.mime, ar.str("attachment mime", 255));
        LT_ASSIGN(auto data, ar.bin("attachment data", limits.max_envelope_bytes));
        a.data.assign(data.begin(), data.end());
        LT_ASSIGN(a.description, ar.str("attachment description", kMaxTextField));
        LT_TRY(ar.finish());
        c.attachments.push_back(std::move(a));
    }
    if (r.remaining() > 0) {
        LT_ASSIGN(auto xml, r.bin("edxml", limits.max_envelope_bytes));
        if (xml.empty()) return make_error("document content: edxml is present but empty");
        c.edxml.assign(xml.begin(), xml.end());
    }
    LT_TRY(r.finish());
    return c;
}

Result<OpenedDocument> finish_open(const SignedEnvelope& se, Unsealed u, const EnvelopeLimits& limits) {
    OpenedDocument out;
    LT_ASSIGN(out.content, decode_content(u.plaintext, limits));
    out.content_hash = u.content_hash;
    out.content_key = u.content_key;
    sodium_memzero(u.content_key.data(), u.content_key.size());
    if (out.content.sender != se.env.from || out.content.recipients != se.env.to ||
        out.content.created_ms != se.env.created_ms)
        return make_error("document content does not match its envelope (sender, recipients or time)");
    return out;
}

}  // namespace

Bytes encode_content(const DocumentContent& c) {
    Writer w;
    w.array(c.edxml.empty() ? 7 : 8).u64(kContentVersion).str(c.sender).array(c.recipients.size());
    for (const auto& r : c.recipients) w.str(r);
    w.u64(c.created_ms);
    write_meta(w, c.meta);
    w.bin(c.body).array(c.attachments.size());
    for (const auto& a : c.attachments) w.array(4).str(a.name).str(a.mime).bin(a.data).str(a.description);
    if (!c.edxml.empty()) w.bin(c.edxml);
    return w.take();
}

Result<DocumentContent> decode_content(ByteView bytes, const EnvelopeLimits& limits) {
    LT_ASSIGN(auto c, decode_content_unchecked(bytes, limits));
    LT_TRY(validate_content(c));
    return c;
}

namespace {
bool is_windows_device_name(std::string_view name) {
    // The part before the first dot, without trailing spaces, names the device: "con .txt".
    std::string base(name.substr(0, name.find('.')));
    while (!base.empty() && base.back() == ' ') base.pop_back();
    std::transform(base.begin(), base.end(), base.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
    for (const char* d : {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"})
        if (base == d) return true;
    if (base.size() < 4 || (base.compare(0, 3, "COM") != 0 && base.compare(0, 3, "LPT") != 0)) return false;
    const std::string_view digit = std::string_view(base).substr(3);
    return (digit.size() == 1 && digit[0] >= '0' && digit[0] <= '9') || digit == "\u00b9" || digit == "\u00b2" ||
           digit == "\u00b3";
}
}  // namespace

std::string file_name_problem(std::string_view name) {
    if (name.empty() || name == "." || name == "..") return "is not a file name";
    if (name.size() > 255) return "is longer than 255 bytes";
    if (!is_valid_utf8(name)) return "is not valid UTF-8";
    if (name.back() == '.' || name.back() == ' ') return "ends in a dot or a space, which Windows drops";
    if (std::any_of(name.begin(), name.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; }))
        return "holds a control character";
    if (name.find_first_of("/\\") != std::string_view::npos) return "holds a folder separator";
    if (name.find_first_of(":*?\"<>|") != std::string_view::npos)
        return "holds one of : * ? \" < > |, which Windows does not allow in a file name";
    if (is_windows_device_name(name)) return "is a Windows device name (CON, PRN, AUX, NUL, COM1, LPT1, …)";
    return "";
}

bool is_safe_file_name(std::string_view name) { return file_name_problem(name).empty(); }

Status validate_meta(const DocumentMeta& m) {
    // The reader checks every text field (UTF-8, length) and list (length), naming the field:
    // run the metadata through it rather than keep a second list of fields here.
    Writer w;
    w.array(1);
    write_meta(w, m);
    const Bytes encoded = w.take();
    LT_ASSIGN(auto d, Decoded::parse(encoded, "document metadata"));
    auto r = d.root();
    if (auto back = read_meta(r); !back.ok()) return back.take_error();
    if (m.urgency > 3) return make_error("urgency must be 0-3 (0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc)");
    if (m.confidentiality > 3)
        return make_error("confidentiality must be 0-3 (0 thường, 1 mật, 2 tối mật, 3 tuyệt mật)");
    if (!m.reply_to.empty() && m.reply_to.size() != 32) return make_error("reply_to must be a 32-byte message id");
    const bool is_new = m.business.business_doc_type == BusinessDocType::New;
    if (is_new && !m.acts_on.empty()) return make_error("a new document must not name a document it acts on (acts_on)");
    if (!is_new && m.acts_on.size() != 32)
        return make_error(std::string("a ") + std::string(business_doc_type_name(m.business.business_doc_type)) +
                          " must name the 32-byte message id of the document it acts on (acts_on)");
    return ok_status();
}

Status validate_content(const DocumentContent& c) {
    LT_TRY(check_agency(c.sender, "sender"));
    if (c.recipients.empty()) return make_error("document has no recipients; give at least one --to");
    if (c.recipients.size() > kMaxRecipients)
        return make_error("document has more than " + std::to_string(kMaxRecipients) + " recipients");
    std::set<std::string> seen;
    for (const auto& r : c.recipients) {
        LT_TRY(check_agency(r, "recipient"));
        if (!seen.insert(r).second) return make_error("recipient '" + r + "' is listed twice");
    }
    LT_TRY(validate_meta(c.meta));
    if (c.attachments.size() > kMaxAttachments) return make_error("too many attachments");
    std::set<std::string> names;
    for (const auto& a : c.attachments) {
        if (const auto why = file_name_problem(a.name); !why.empty())
            return make_error("attachment name '" + a.name.substr(0, 80) + "' " + why + "; rename the file");
        if (!names.insert(a.name).second) return make_error("attachment name '" + a.name + "' is used twice");
        if (!is_valid_utf8(a.mime) || a.mime.size() > 255)
            return make_error("attachment '" + a.name + "' has an invalid MIME type");
        if (!is_valid_utf8(a.description) || a.description.size() > kMaxTextField)
            return make_error("attachment '" + a.name + "' has an invalid description (UTF-8, at most 64 KiB)");
    }
    return ok_status();
}

Result<SealedDocument> seal_document(const DocumentContent& c, const SecretIdentity& sender,
                                     const std::vector<PublicIdentity>& recipient_keys, SharedKeyCache* cache) {
    LT_TRY(validate_content(c));
    if (c.sender != sender.pub.agency) return make_error("document sender is not this node's agency");
    return seal(Kind::document, encode_content(c), c.recipients, c.created_ms, sender, recipient_keys, cache);
}

Result<OpenedDocument> open_document(const SignedEnvelope& se, const SecretIdentity& me, const EnvelopeLimits& limits,
                                     SharedKeyCache* cache) {
    LT_ASSIGN(auto u, unseal(Kind::document, se, me, limits, cache));
    return finish_open(se, std::move(u), limits);
}

Result<OpenedDocument> open_document_with_key(const SignedEnvelope& se, const ContentKey& key,
                                              const EnvelopeLimits& limits) {
    LT_ASSIGN(auto u, unseal_with_key(Kind::document, se, key, limits));
    return finish_open(se, std::move(u), limits);
}

}  // namespace lienthong::protocol
