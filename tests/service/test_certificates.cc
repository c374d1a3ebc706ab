#include "tests/service/test_certificates.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind::testing {
namespace {

absl::Status Run(const std::string& command) {
  if (std::system(absl::StrCat(command, " >/dev/null 2>&1").c_str()) != 0) {
    return absl::InternalError(absl::StrCat("failed: ", command));
  }
  return absl::OkStatus();
}

// A key and a certificate `name`.{key,pem} with subject CN=`common_name`, signed by `ca` (its
// .pem and .key), or self-signed as a CA when `ca` is empty.
absl::Status MakeCertificate(const std::string& dir, const std::string& name,
                             const std::string& common_name, const std::string& ca,
                             const std::string& extensions, int serial) {
  const std::string base = absl::StrCat(dir, "/", name);
  const std::string new_key =
      absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ", base,
                   ".key -subj /CN=", common_name);
  if (ca.empty()) {
    return Run(absl::StrCat(new_key, " -x509 -days 1 -out ", base,
                            ".pem -addext basicConstraints=critical,CA:TRUE"
                            " -addext keyUsage=critical,keyCertSign,cRLSign"));
  }
  if (absl::Status status = Run(absl::StrCat(new_key, " -out ", base, ".csr")); !status.ok()) {
    return status;
  }
  std::ofstream(base + ".ext") << extensions << "\n";
  return Run(absl::StrCat("openssl x509 -req -in ", base, ".csr -CA ", dir, "/", ca, ".pem -CAkey ",
                          dir, "/", ca, ".key -set_serial ", serial, " -days 1 -out ", base,
                          ".pem -extfile ", base, ".ext"));
}

}  // namespace

absl::StatusOr<TestCertificates> WriteTestCertificates(const std::string& dir) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) {
    return absl::UnavailableError("openssl is not installed");
  }
  std::filesystem::create_directories(dir);
  struct Step {
    const char* name;
    const char* common_name;
    const char* ca;
    const char* extensions;
  };
  constexpr Step kSteps[] = {
      {"ca", "minimind-test-ca", "", ""},
      {"server", "localhost", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1"},
      {"client", "tenant-a", "ca", "extendedKeyUsage=clientAuth"},
      {"other-ca", "other-test-ca", "", ""},
      {"untrusted-client", "intruder", "other-ca", "extendedKeyUsage=clientAuth"},
  };
  int serial = 1000;
  for (const Step& step : kSteps) {
    if (absl::Status status =
            MakeCertificate(dir, step.name, step.common_name, step.ca, step.extensions, ++serial);
        !status.ok()) {
      return status;
    }
  }
  TestCertificates files;
  files.ca = dir + "/ca.pem";
  files.server_cert = dir + "/server.pem";
  files.server_key = dir + "/server.key";
  files.client_cert = dir + "/client.pem";
  files.client_key = dir + "/client.key";
  files.untrusted_client_cert = dir + "/untrusted-client.pem";
  files.untrusted_client_key = dir + "/untrusted-client.key";
  return files;
}

}  // namespace minimind::testing
