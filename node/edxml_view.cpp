#include "node/edxml_view.h"

#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace lienthong::node {

using nlohmann::json;
namespace edxml = protocol::edxml;
using protocol::ByteView;

std::vector<std::string> load_trusted_cas(const std::string& dir) {
    std::vector<std::string> out;
    if (dir.empty()) return out;
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end && files.size() < 1000; it.increment(ec)) {
        const auto ext = it->path().extension().string();
        if ((ext == ".pem" || ext == ".crt") && it->is_regular_file(ec) && it->file_size(ec) <= (1u << 20))
            files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());  // the same anchors in the same order every time
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::string pem((std::istreambuf_iterator<char>(in)), {});
        if (in.good() || in.eof()) out.push_back(std::move(pem));
    }
    return out;
}

json signature_json(const edxml::SignatureCheck& c) {
    json j{{"state", std::string(edxml::signature_state_name(c.state))}, {"reason", c.reason}};
    if (c.signer)
        j["signer"] = {{"subject", c.signer->subject}, {"issuer", c.signer->issuer}, {"serial", c.signer->serial},
                       {"not_before", c.signer->not_before}, {"not_after", c.signer->not_after}};
    return j;
}

json business_json(const protocol::Business& b) {
    json j{{"document_id", b.document_id},
           {"doc_type", static_cast<int>(b.business_doc_type)},
           {"doc_type_name", std::string(protocol::business_doc_type_name(b.business_doc_type))},
           {"reason", b.reason},
           {"paper", b.paper},
           {"staff",
            {{"department", b.staff.department}, {"staff", b.staff.staff}, {"email", b.staff.email},
             {"mobile", b.staff.mobile}}}};
    if (b.document_info) {
        json receivers = json::array();
        for (const auto& r : b.document_info->receivers)
            receivers.push_back({{"organ_id", r.organ_id}, {"receiver_type", r.receiver_type}});
        j["document_info"] = {{"document_info", b.document_info->document_info},
                              {"document_receiver", b.document_info->document_receiver},
                              {"receivers", receivers}};
    }
    json repl = json::array();
    for (const auto& r : b.replacements) repl.push_back({{"document_id", r.document_id}, {"organ_ids", r.organ_ids}});
    j["replacements"] = repl;
    return j;
}

namespace {
json carried_common(ByteView xml, const std::vector<std::string>& trusted_cas) {
    uint8_t sha[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(sha, xml.data(), xml.size());
    // Computed here from the bytes this node holds: never taken from what the sender said.
    return json{{"carried", true},
                {"bytes", xml.size()},
                {"sha256", protocol::to_hex(ByteView(sha, sizeof sha))},
                {"signature", signature_json(edxml::verify_signature(xml, trusted_cas))}};
}
}  // namespace

json carried_document_json(protocol::ByteView xml, const edxml::Document& parsed, const std::vector<std::string>& trusted_cas) {
    json j = carried_common(xml, trusted_cas);
    json traces = json::array();
    for (const auto& t : parsed.traces) traces.push_back({{"organ_id", t.organ_id}, {"timestamp", t.timestamp}});
    j["traces"] = traces;
    j["bussiness"] = parsed.business ? business_json(*parsed.business) : json(nullptr);
    j["oddities"] = edxml::oddities(parsed);
    return j;
}

json carried_status_json(protocol::ByteView xml, const std::vector<std::string>& trusted_cas) {
    json j = carried_common(xml, trusted_cas);
    auto parsed = edxml::parse(xml);
    if (parsed.ok())
        if (const auto* st = std::get_if<edxml::Status>(&*parsed)) j["oddities"] = edxml::oddities(*st);
    return j;
}

}  // namespace lienthong::node
