#include "transport/detail/tls.h"

#include <ctime>
#include <memory>

#include "identity/did.h"

namespace p2pgit::transport::detail {

namespace {

// Certificates carry no trusted dates (docs/PROTOCOL.md, Transport): validity is set wide only so that
// stock parsers accept them; the verifier disables every time check.
constexpr time_t CERT_NOT_BEFORE = 0;             // 1970
constexpr time_t CERT_NOT_AFTER = 4102444800;     // 2100-01-01

struct PrivKey {
  gnutls_x509_privkey_t k = nullptr;
  ~PrivKey() { if (k) gnutls_x509_privkey_deinit(k); }
};
struct Crt {
  gnutls_x509_crt_t c = nullptr;
  ~Crt() { if (c) gnutls_x509_crt_deinit(c); }
};
struct PubKey {
  gnutls_pubkey_t p = nullptr;
  ~PubKey() { if (p) gnutls_pubkey_deinit(p); }
};

TransportError TlsFail() { return TransportError::Tls; }

}  // namespace

TResult<std::unique_ptr<TlsCredentials>> TlsCredentials::Create(const identity::NodeKey& key,
                                                                const EndpointConfig::Testing& testing) {
  std::unique_ptr<TlsCredentials> creds(new TlsCredentials());
  if (gnutls_certificate_allocate_credentials(&creds->m_cred) != 0)
    return Fail(TlsFail(), "cannot allocate TLS credentials");
  if (testing.omit_certificate) return creds;

  PrivKey priv;
  if (gnutls_x509_privkey_init(&priv.k) != 0) return Fail(TlsFail(), "gnutls_x509_privkey_init failed");
  if (testing.foreign_key_type) {
    if (gnutls_x509_privkey_generate(priv.k, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) != 0)
      return Fail(TlsFail(), "cannot generate ECDSA key");
  } else {
    gnutls_datum_t pub{const_cast<uint8_t*>(key.public_key().data()), static_cast<unsigned>(key.public_key().size())};
    gnutls_datum_t seed{const_cast<uint8_t*>(key.seed().data()), static_cast<unsigned>(key.seed().size())};
    int rv = gnutls_x509_privkey_import_ecc_raw(priv.k, GNUTLS_ECC_CURVE_ED25519, &pub, nullptr, &seed);
    if (rv != 0) return Fail(TlsFail(), std::string("cannot import node key into GnuTLS: ") + gnutls_strerror(rv));
  }
  Crt crt;
  if (gnutls_x509_crt_init(&crt.c) != 0) return Fail(TlsFail(), "gnutls_x509_crt_init failed");
  std::string cn = identity::EncodeDidKey(key.public_key());
  uint8_t serial[16];
  gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f;  // positive INTEGER
  int rv = 0;
  if ((rv = gnutls_x509_crt_set_version(crt.c, 3)) != 0 ||
      (rv = gnutls_x509_crt_set_serial(crt.c, serial, sizeof serial)) != 0 ||
      (rv = gnutls_x509_crt_set_activation_time(crt.c, CERT_NOT_BEFORE)) != 0 ||
      (rv = gnutls_x509_crt_set_expiration_time(crt.c, CERT_NOT_AFTER)) != 0 ||
      (rv = gnutls_x509_crt_set_dn_by_oid(crt.c, GNUTLS_OID_X520_COMMON_NAME, 0, cn.data(), cn.size())) != 0 ||
      (rv = gnutls_x509_crt_set_issuer_dn_by_oid(crt.c, GNUTLS_OID_X520_COMMON_NAME, 0, cn.data(), cn.size())) != 0 ||
      (rv = gnutls_x509_crt_set_key(crt.c, priv.k)) != 0 ||
      // CA + keyCertSign: the certificate verifies its own signature as its own issuer.
      (rv = gnutls_x509_crt_set_basic_constraints(crt.c, 1, -1)) != 0 ||
      (rv = gnutls_x509_crt_set_key_usage(crt.c, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN)) != 0 ||
      (rv = gnutls_x509_crt_sign2(crt.c, crt.c, priv.k, GNUTLS_DIG_UNKNOWN, 0)) != 0)
    return Fail(TlsFail(), std::string("cannot build certificate: ") + gnutls_strerror(rv));
  if ((rv = gnutls_certificate_set_x509_key(creds->m_cred, &crt.c, 1, priv.k)) < 0)
    return Fail(TlsFail(), std::string("cannot set certificate: ") + gnutls_strerror(rv));
  return creds;
}

TlsCredentials::~TlsCredentials() {
  if (m_cred) gnutls_certificate_free_credentials(m_cred);
}

PeerCertificateCheck CheckPeerCertificate(gnutls_session_t session) {
  PeerCertificateCheck out;
  unsigned count = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
  if (certs == nullptr || count == 0) {
    out.reason = "peer presented no certificate";
    return out;
  }
  if (count != 1) {
    out.reason = "peer presented a certificate chain; a node presents one self-signed certificate";
    return out;
  }
  Crt crt;
  if (gnutls_x509_crt_init(&crt.c) != 0 || gnutls_x509_crt_import(crt.c, &certs[0], GNUTLS_X509_FMT_DER) != 0) {
    out.reason = "peer certificate is not valid X.509";
    return out;
  }
  int algo = gnutls_x509_crt_get_pk_algorithm(crt.c, nullptr);
  if (algo != GNUTLS_PK_EDDSA_ED25519) {
    out.reason = std::string("peer certificate key is ") + gnutls_pk_algorithm_get_name(static_cast<gnutls_pk_algorithm_t>(algo)) +
                 ", not Ed25519 (a NodeId key)";
    return out;
  }
  // Signed by its own key. DO_NOT_ALLOW_SAME forces the signature check even though the
  // certificate is its own trust anchor; time checks are off (clocks differ; dates mean nothing).
  unsigned status = 0;
  unsigned flags = GNUTLS_VERIFY_DO_NOT_ALLOW_SAME | GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                   GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
  if (gnutls_x509_crt_verify(crt.c, &crt.c, 1, flags, &status) != 0 || status != 0) {
    out.reason = "peer certificate is not self-signed by its own key";
    return out;
  }
  PubKey pub;
  if (gnutls_pubkey_init(&pub.p) != 0 || gnutls_pubkey_import_x509(pub.p, crt.c, 0) != 0) {
    out.reason = "cannot read peer certificate key";
    return out;
  }
  gnutls_ecc_curve_t curve;
  gnutls_datum_t x{}, y{};
  if (gnutls_pubkey_export_ecc_raw2(pub.p, &curve, &x, &y, GNUTLS_EXPORT_FLAG_NO_LZ) != 0) {
    out.reason = "cannot export peer key";
    return out;
  }
  bool good = curve == GNUTLS_ECC_CURVE_ED25519 && x.size == out.key.size();
  if (good) std::copy(x.data, x.data + x.size, out.key.begin());
  gnutls_free(x.data);
  if (y.data) gnutls_free(y.data);
  if (!good) {
    out.reason = "peer key is not a 32-byte Ed25519 key";
    return out;
  }
  out.ok = true;
  return out;
}

std::string TlsAlertDescription(uint8_t alert) {
  switch (alert) {
    case 40: return "TLS alert 40 handshake_failure";
    case 42: return "TLS alert 42 bad_certificate (NodeId key refused)";
    case 43: return "TLS alert 43 unsupported_certificate";
    case 46: return "TLS alert 46 certificate_unknown";
    case 48: return "TLS alert 48 unknown_ca";
    case 51: return "TLS alert 51 decrypt_error";
    case 70: return "TLS alert 70 protocol_version";
    case 80: return "TLS alert 80 internal_error";
    case 109: return "TLS alert 109 missing_extension";
    case 116: return "TLS alert 116 certificate_required (no certificate presented)";
    case 120: return "TLS alert 120 no_application_protocol (ALPN is not p2pgit/1)";
    default: return "TLS alert " + std::to_string(alert);
  }
}

}  // namespace p2pgit::transport::detail
