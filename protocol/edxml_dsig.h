// The issuer's XML-DSig signature in an edXML file (the <Signature> an agency puts in its
// edXMLHeader with its certificate from the government CA): what makes the electronic document
// legally valid in Vietnamese practice. Our Ed25519 envelope signatures prove which node sent
// a file, not who signed the document; this checks the latter, with xmlsec1 over OpenSSL.
//
// verify_signature() is run by whoever holds the bytes (the recipient, from what it received;
// the sender at import, for its policy). Outcomes:
//   absent      no <Signature> in edXMLHeader
//   valid       the signature verifies with the certificate it carries, and that certificate
//               chains to one of the trusted CA certificates (and is within its validity now)
//   unverified  the signature verifies with the certificate it carries, but no trusted CA was
//               given, or the certificate does not chain to one ("valid, signer unverified")
//   invalid     the signed content or the signature value was changed: the digest or the
//               signature does not match
//   malformed   a <Signature> that cannot be checked: not in the XML-DSig namespace, no usable
//               key or certificate, an unsupported or disallowed algorithm, bad encoding
// Only same-document references (URI "" or "#id") are followed: nothing is fetched, ever.
// Only canonicalization, enveloped-signature, RSA/ECDSA and SHA-1/2 transforms are allowed.
//
// Thread safety: xmlsec1 is initialised once (call_once); each call has its own contexts.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.h"

namespace lienthong::protocol::edxml {

enum class SignatureState { Absent, Valid, Unverified, Invalid, Malformed };

std::string_view signature_state_name(SignatureState s);  // "valid", "unverified", …

struct SignerCertificate {
    std::string subject, issuer;  // RFC 2253 distinguished names
    std::string serial;           // hexadecimal
    std::string not_before, not_after;  // "YYYY-MM-DD HH:MM:SS UTC"
};

struct SignatureCheck {
    SignatureState state = SignatureState::Absent;
    std::string reason;                     // why not valid ("" when valid or absent)
    std::optional<SignerCertificate> signer;  // the certificate whose key verified it
};

// `trusted_ca_pems`: PEM texts of the CA certificates trusted as anchors (may be empty).
SignatureCheck verify_signature(ByteView xml, const std::vector<std::string>& trusted_ca_pems);

}  // namespace lienthong::protocol::edxml
