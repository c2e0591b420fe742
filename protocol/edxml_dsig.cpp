// XML-DSig verification with xmlsec1 (OpenSSL back end). Two passes over the same bytes: the
// first takes the key from the certificate the signature carries without judging the
// certificate (is the signature itself intact?); the second, only when trust anchors are
// given, lets xmlsec1 build and check the chain to them (is the signer who it says?).
#include "protocol/edxml_dsig.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <memory>
#include <mutex>

namespace lienthong::protocol::edxml {

namespace {

// xmlsec1's error callback is process-wide: each thread collects into its own buffer.
thread_local std::string t_errors;

void on_xmlsec_error(const char*, int, const char* func, const char*, const char* subject, int, const char* msg) {
    if (!t_errors.empty()) return;  // the first error is the cause; the rest are its echoes
    const std::string_view sub = subject ? subject : "";
    t_errors = std::string(func ? func : "xmlsec") + ": " + (sub.empty() || sub == "NULL" ? "" : std::string(sub) + ": ") +
               (msg ? msg : "");
}

bool init_once() {
    static std::once_flag once;
    static bool ok = false;
    std::call_once(once, [] {
        xmlInitParser();
        ok = xmlSecInit() >= 0 && xmlSecCheckVersion() == 1 && xmlSecCryptoAppInit(nullptr) >= 0 &&
             xmlSecCryptoInit() >= 0;
        // After xmlSecInit, which installs the default callback (it prints to stderr).
        xmlSecErrorsSetCallback(on_xmlsec_error);
    });
    return ok;
}

struct DocFree {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct MngrFree {
    void operator()(xmlSecKeysMngr* m) const { xmlSecKeysMngrDestroy(m); }
};
struct CtxFree {
    void operator()(xmlSecDSigCtx* c) const { xmlSecDSigCtxDestroy(c); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

DocPtr read_doc(ByteView xml) {
    // As edxml::parse reads: no network, no DTD, entities unexpanded; silent.
    const int options = XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    DocPtr doc(xmlReadMemory(reinterpret_cast<const char*>(xml.data()), static_cast<int>(xml.size()), nullptr,
                             nullptr, options));
    if (doc && doc->intSubset) doc.reset();  // a DOCTYPE: edXML has none (parse refuses it too)
    return doc;
}

// The <Signature> child of edXMLHeader in any namespace (nullptr if none); `dsig` tells
// whether it is XML-DSig's.
xmlNode* find_signature(xmlDoc* doc, bool& dsig) {
    xmlNode* root = xmlDocGetRootElement(doc);
    if (!root) return nullptr;
    xmlNode* found = nullptr;
    for (xmlNode* env = root->children; env; env = env->next) {
        if (env->type != XML_ELEMENT_NODE || !xmlStrEqual(env->name, BAD_CAST "edXMLEnvelope")) continue;
        for (xmlNode* h = env->children; h; h = h->next) {
            if (h->type != XML_ELEMENT_NODE || !xmlStrEqual(h->name, BAD_CAST "edXMLHeader")) continue;
            for (xmlNode* s = h->children; s; s = s->next) {
                if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, xmlSecNodeSignature)) continue;
                if (s->ns && xmlStrEqual(s->ns->href, xmlSecDSigNs)) {
                    dsig = true;
                    return s;
                }
                if (!found) found = s;
            }
        }
    }
    dsig = false;
    return found;
}

// Only what an edXML signature needs: no XSLT, no XPath, no external references.
bool restrict_transforms(xmlSecDSigCtx* ctx) {
    const xmlSecTransformId c14n[] = {
        xmlSecTransformInclC14NId,   xmlSecTransformInclC14NWithCommentsId, xmlSecTransformInclC14N11Id,
        xmlSecTransformInclC14N11WithCommentsId, xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId};
    const xmlSecTransformId digests[] = {xmlSecTransformSha1Id, xmlSecTransformSha224Id, xmlSecTransformSha256Id,
                                         xmlSecTransformSha384Id, xmlSecTransformSha512Id};
    const xmlSecTransformId sigs[] = {xmlSecTransformRsaSha1Id,   xmlSecTransformRsaSha224Id,
                                      xmlSecTransformRsaSha256Id, xmlSecTransformRsaSha384Id,
                                      xmlSecTransformRsaSha512Id, xmlSecTransformEcdsaSha1Id,
                                      xmlSecTransformEcdsaSha256Id, xmlSecTransformEcdsaSha384Id,
                                      xmlSecTransformEcdsaSha512Id};
    for (auto id : c14n)
        if (xmlSecDSigCtxEnableReferenceTransform(ctx, id) < 0 || xmlSecDSigCtxEnableSignatureTransform(ctx, id) < 0)
            return false;
    for (auto id : digests)
        if (xmlSecDSigCtxEnableReferenceTransform(ctx, id) < 0) return false;
    if (xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0) return false;
    for (auto id : sigs)
        if (xmlSecDSigCtxEnableSignatureTransform(ctx, id) < 0) return false;
    ctx->enabledReferenceUris = static_cast<xmlSecTransformUriType>(xmlSecTransformUriTypeEmpty |
                                                                    xmlSecTransformUriTypeSameDocument);
    return true;
}

std::string name_text(X509_NAME* name) {
    if (!name) return {};
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) return {};
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string time_text(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

SignerCertificate describe(X509* cert) {
    SignerCertificate c;
    c.subject = name_text(X509_get_subject_name(cert));
    c.issuer = name_text(X509_get_issuer_name(cert));
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
        if (char* hex = BN_bn2hex(bn)) {
            c.serial = hex;
            OPENSSL_free(hex);
        }
        BN_free(bn);
    }
    c.not_before = time_text(X509_get0_notBefore(cert));
    c.not_after = time_text(X509_get0_notAfter(cert));
    return c;
}

struct Pass {
    int rc = -1;           // xmlSecDSigCtxVerify's
    bool succeeded = false;  // the digest and signature matched
    std::string error;
    std::optional<SignerCertificate> signer;
};

// One verification of `xml` with a keys manager holding `trusted` (none: certificates are
// taken as given).
Pass verify_once(ByteView xml, const std::vector<std::string>* trusted) {
    Pass p;
    t_errors.clear();
    DocPtr doc = read_doc(xml);
    if (!doc) {
        p.error = "the file is not well-formed XML";
        return p;
    }
    bool dsig = false;
    xmlNode* sig = find_signature(doc.get(), dsig);
    std::unique_ptr<xmlSecKeysMngr, MngrFree> mngr(xmlSecKeysMngrCreate());
    if (!mngr || xmlSecCryptoAppDefaultKeysMngrInit(mngr.get()) < 0) {
        p.error = "xmlsec1 could not make a keys manager";
        return p;
    }
    if (trusted)
        for (const auto& pem : *trusted)
            if (xmlSecCryptoAppKeysMngrCertLoadMemory(mngr.get(), reinterpret_cast<const xmlSecByte*>(pem.data()),
                                                      static_cast<xmlSecSize>(pem.size()), xmlSecKeyDataFormatPem,
                                                      xmlSecKeyDataTypeTrusted) < 0) {
                p.error = "a trusted CA certificate cannot be read as PEM";
                return p;
            }
    std::unique_ptr<xmlSecDSigCtx, CtxFree> ctx(xmlSecDSigCtxCreate(mngr.get()));
    if (!ctx || !restrict_transforms(ctx.get())) {
        p.error = "xmlsec1 could not make a signature context";
        return p;
    }
    if (!trusted) ctx->keyInfoReadCtx.flags |= XMLSEC_KEYINFO_FLAGS_X509DATA_DONT_VERIFY_CERTS;
    p.rc = xmlSecDSigCtxVerify(ctx.get(), sig);
    p.succeeded = p.rc >= 0 && ctx->status == xmlSecDSigStatusSucceeded;
    if (ctx->signKey)
        if (xmlSecKeyDataPtr data = xmlSecKeyGetData(ctx->signKey, xmlSecOpenSSLKeyDataX509Id))
            if (X509* cert = xmlSecOpenSSLKeyDataX509GetKeyCert(data)) p.signer = describe(cert);
    p.error = t_errors;
    t_errors.clear();
    return p;
}

}  // namespace

std::string_view signature_state_name(SignatureState s) {
    switch (s) {
        case SignatureState::Absent: return "absent";
        case SignatureState::Valid: return "valid";
        case SignatureState::Unverified: return "unverified";
        case SignatureState::Invalid: return "invalid";
        case SignatureState::Malformed: return "malformed";
    }
    return "?";
}

SignatureCheck verify_signature(ByteView xml, const std::vector<std::string>& trusted_ca_pems) {
    SignatureCheck out;
    if (!init_once()) {
        out.state = SignatureState::Malformed;
        out.reason = "xmlsec1 could not be initialised";
        return out;
    }
    {
        DocPtr doc = read_doc(xml);
        if (!doc) {
            out.state = SignatureState::Malformed;
            out.reason = "the file is not well-formed XML";
            return out;
        }
        bool dsig = false;
        if (!find_signature(doc.get(), dsig)) return out;  // absent
        if (!dsig) {
            out.state = SignatureState::Malformed;
            out.reason = "the <Signature> in edXMLHeader is not in the XML-DSig namespace "
                         "(http://www.w3.org/2000/09/xmldsig#)";
            return out;
        }
    }
    Pass math = verify_once(xml, nullptr);
    out.signer = math.signer;
    if (math.rc < 0) {
        out.state = SignatureState::Malformed;
        out.reason = "cannot be checked: " + (math.error.empty() ? std::string("xmlsec1 gave no reason") : math.error);
        return out;
    }
    if (!math.succeeded) {
        out.state = SignatureState::Invalid;
        out.reason = "the signed content or the signature value does not match (the file was changed after signing)";
        return out;
    }
    if (trusted_ca_pems.empty()) {
        out.state = SignatureState::Unverified;
        out.reason = "no trusted CA is configured (edxml.trusted_ca_dir), so the signer's certificate is not checked";
        return out;
    }
    Pass chain = verify_once(xml, &trusted_ca_pems);
    if (chain.succeeded) {
        out.state = SignatureState::Valid;
        if (chain.signer) out.signer = chain.signer;
        return out;
    }
    out.state = SignatureState::Unverified;
    out.reason = "the signer's certificate does not chain to a trusted CA or is outside its validity" +
                 (chain.error.empty() ? std::string() : " (" + chain.error + ")");
    return out;
}

}  // namespace lienthong::protocol::edxml
