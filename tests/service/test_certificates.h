// Test certificates made with the `openssl` command at test time (no key is ever committed): a
// CA, a server certificate for localhost/127.0.0.1, a client certificate (CN=tenant-a) from that
// CA, and a client certificate (CN=intruder) from another CA. EC P-256, valid for one day.
#ifndef MINIMIND_TESTS_SERVICE_TEST_CERTIFICATES_H_
#define MINIMIND_TESTS_SERVICE_TEST_CERTIFICATES_H_

#include <string>

#include "absl/status/statusor.h"

namespace minimind::testing {

// File paths of the PEM files.
struct TestCertificates {
  std::string ca;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;  // CN=tenant-a, signed by `ca`
  std::string client_key;
  std::string untrusted_client_cert;  // CN=intruder, signed by another CA
  std::string untrusted_client_key;
};

// Writes the files into `dir` (created). Unavailable when `openssl` is not on PATH (tests skip);
// Internal when one of its commands fails.
absl::StatusOr<TestCertificates> WriteTestCertificates(const std::string& dir);

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_SERVICE_TEST_CERTIFICATES_H_
