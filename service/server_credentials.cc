#include "service/server_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Keys must be unencrypted (gRPC cannot ask for a passphrase): never prompt on a terminal.
int NoPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return -1; }

// The reason of OpenSSL's most recent error on this thread, and an empty error queue (gRPC shares
// the queue: it must not find our errors later).
std::string TakeOpenSslError(unsigned long* code = nullptr) {
  const unsigned long error = ERR_peek_last_error();
  ERR_clear_error();
  if (code != nullptr) *code = error;
  const char* reason = error == 0 ? nullptr : ERR_reason_error_string(error);
  return reason == nullptr ? "unknown error" : reason;
}

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

absl::StatusOr<std::string> ReadFile(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  return text;
}

// Every certificate in `pem` (at least one; all must parse).
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(const char* flag, const std::string& path,
                                                       const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  std::vector<X509Ptr> certificates;
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certificates.emplace_back(certificate);
  }
  // The loop stops at the end of the text (no further start line) or at a block that is broken.
  unsigned long code = 0;
  const std::string reason = TakeOpenSslError(&code);
  const bool at_end =
      ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
  if (certificates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " holds no PEM certificate (", reason, ")"));
  }
  if (!at_end) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, ": certificate ",
                                                   certificates.size() + 1, " is not valid PEM (",
                                                   reason, ")"));
  }
  return certificates;
}

absl::Status CheckKeyMatches(const ServerOptions& options, const std::string& key_pem,
                             X509* certificate) {
  BioPtr bio = MemoryBio(key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--tls-key: ", options.tls_key,
                                                   " holds no unencrypted PEM private key (",
                                                   TakeOpenSslError(), ")"));
  }
  if (X509_check_private_key(certificate, key.get()) != 1) {
    TakeOpenSslError();
    return absl::InvalidArgumentError(absl::StrCat("--tls-key: ", options.tls_key,
                                                   " is not the key of the certificate in ",
                                                   options.tls_cert));
  }
  return absl::OkStatus();
}

absl::Status CheckTlsFiles(const ServerOptions& options) {
  absl::StatusOr<std::string> certificate_pem = ReadFile("tls-cert", options.tls_cert);
  if (!certificate_pem.ok()) return certificate_pem.status();
  absl::StatusOr<std::string> key_pem = ReadFile("tls-key", options.tls_key);
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::vector<X509Ptr>> chain =
      ParseCertificates("tls-cert", options.tls_cert, *certificate_pem);
  if (!chain.ok()) return chain.status();
  if (absl::Status status = CheckKeyMatches(options, *key_pem, chain->front().get());
      !status.ok()) {
    return status;
  }
  if (options.tls_client_ca.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> ca_pem = ReadFile("tls-client-ca", options.tls_client_ca);
  if (!ca_pem.ok()) return ca_pem.status();
  return ParseCertificates("tls-client-ca", options.tls_client_ca, *ca_pem).status();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerOptions& options, absl::Duration refresh_interval) {
  if (options.tls_cert.empty() && options.tls_key.empty()) {
    if (!options.tls_client_ca.empty()) {
      return absl::InvalidArgumentError("--tls-client-ca (mTLS) needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert.empty() || options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  if (absl::Status status = CheckTlsFiles(options); !status.ok()) return status;

  const auto refresh_seconds =
      static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(refresh_interval)));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.tls_key, options.tls_cert, options.tls_client_ca, refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.tls_client_ca.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(tls);
  if (credentials == nullptr) {
    return absl::InternalError(
        absl::StrCat("gRPC refused the TLS credentials of --tls-cert ", options.tls_cert));
  }
  return credentials;
}

}  // namespace minimind
