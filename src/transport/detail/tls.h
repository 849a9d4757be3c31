// GnuTLS side of the identity binding: our self-signed Ed25519 certificate, and the check of the
// peer's certificate that turns it into a NodeId. Internal to the transport.
#pragma once

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <string>

#include "identity/node_key.h"
#include "transport/endpoint.h"

namespace p2pgit::transport::detail {

/** The certificate credentials of one endpoint (self-signed, key = the node key). */
class TlsCredentials {
 public:
  static TResult<std::unique_ptr<TlsCredentials>> Create(const identity::NodeKey& key,
                                                         const EndpointConfig::Testing& testing);
  ~TlsCredentials();
  gnutls_certificate_credentials_t get() const { return m_cred; }

 private:
  TlsCredentials() = default;
  gnutls_certificate_credentials_t m_cred = nullptr;
};

/** Outcome of checking the peer's certificate chain. */
struct PeerCertificateCheck {
  bool ok = false;
  PeerId key{};
  std::string reason;  // why refused, one line
};

/**
 * Checks the certificate list the peer sent: exactly one certificate, Ed25519 key, self-signed by
 * that key (signature checked; dates ignored: nodes' clocks differ), and returns its key. The TLS
 * 1.3 CertificateVerify (checked by GnuTLS) proves the peer holds the private key.
 */
PeerCertificateCheck CheckPeerCertificate(gnutls_session_t session);

/** Human name of a TLS alert as seen in QUIC close codes (0x100 + alert). */
std::string TlsAlertDescription(uint8_t alert);

}  // namespace p2pgit::transport::detail
