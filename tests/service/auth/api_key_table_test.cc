#include "service/auth/api_key_table.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/auth/authenticator.h"
#include "service/auth/sha256.h"
#include "service/auth/tenant.h"
#include "service/auth/tenant_usage.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

std::string KeysJson() {
  return R"({"tenants": {"acme": {"max_concurrent_requests": 2, "max_sessions": 5,
                                  "kv_share": 0.25, "max_tokens": 64},
                         "globex": {}},
            "keys": [{"sha256": ")" +
         Sha256Hex(Sha256("acme-secret")) + R"(", "tenant": "acme"},
                     {"sha256": ")" +
         Sha256Hex(Sha256("globex-secret")) + R"(", "tenant": "globex"},
                     {"client_cert_cn": "acme-batch", "tenant": "acme"}]})";
}

TEST(Sha256Test, KnownDigestAndHexRoundTrip) {
  // sha256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(Sha256Hex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ParseSha256Hex(Sha256Hex(Sha256("x"))), Sha256("x"));
  EXPECT_EQ(ParseSha256Hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
            Sha256("abc"));
  EXPECT_FALSE(ParseSha256Hex("abc").has_value());
  EXPECT_FALSE(ParseSha256Hex(std::string(64, 'g')).has_value());
  EXPECT_TRUE(ConstantTimeEqual(Sha256("a"), Sha256("a")));
  EXPECT_FALSE(ConstantTimeEqual(Sha256("a"), Sha256("b")));
}

TEST(ApiKeyTableTest, KeysAndCertificateNamesMapToTenantsWithLimits) {
  absl::StatusOr<std::shared_ptr<const ApiKeyTable>> table = ApiKeyTable::Parse(KeysJson(), "t");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->num_tenants(), 2u);
  EXPECT_EQ((*table)->num_keys(), 2u);
  std::shared_ptr<const Tenant> acme = (*table)->FindByKey("acme-secret");
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(acme->name, "acme");
  EXPECT_EQ(acme->limits.max_concurrent_requests, 2);
  EXPECT_EQ(acme->limits.max_sessions, 5);
  EXPECT_DOUBLE_EQ(acme->limits.kv_share, 0.25);
  EXPECT_EQ(acme->limits.max_tokens, 64);
  EXPECT_EQ((*table)->FindByKey("globex-secret")->name, "globex");
  EXPECT_EQ((*table)->FindByKey("acme-secret "), nullptr);
  EXPECT_EQ((*table)->FindByKey(""), nullptr);
  EXPECT_EQ((*table)->FindByCertificateName("acme-batch")->name, "acme");
  EXPECT_EQ((*table)->FindByCertificateName("acme"), nullptr);
}

TEST(ApiKeyTableTest, ErrorsNameTheSourceAndTheProblem) {
  const std::string digest = Sha256Hex(Sha256("k"));
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "is not a JSON object"},
      {R"({"tenant": {}})", "unknown field \"tenant\""},
      {R"({"tenants": {"a": {"max_sesions": 1}}})", "unknown limit \"max_sesions\""},
      {R"({"tenants": {"a": {"kv_share": 1.5}}})", "kv_share must be a number in [0, 1]"},
      {R"({"tenants": {"a": {"max_tokens": -1}}})", "must be a non-negative integer"},
      {R"({"tenants": {"a/b": {}}})", "without '/'"},
      {R"({"tenants": {}, "keys": [{"sha256": ")" + digest + R"(", "tenant": "x"}]})",
       "which \"tenants\" does not define"},
      {R"({"tenants": {"a": {}}, "keys": [{"sha256": "abc", "tenant": "a"}]})",
       "keys[0].sha256 is not 64 hex digits"},
      {R"({"tenants": {"a": {}}, "keys": [{"sha256": ")" + digest + R"(", "tenant": "a"},
                                          {"sha256": ")" +
           digest + R"(", "tenant": "a"}]})",
       "keys[1].sha256 appears twice"},
      {R"({"tenants": {"a": {}}, "keys": [{"tenant": "a"}]})", "exactly one of"},
  };
  for (const auto& [json, problem] : cases) {
    absl::StatusOr<std::shared_ptr<const ApiKeyTable>> table =
        ApiKeyTable::Parse(json, "keys.json");
    ASSERT_FALSE(table.ok()) << json;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(table.status().message(), HasSubstr("API keys file keys.json: "));
    EXPECT_THAT(table.status().message(), HasSubstr(problem)) << json;
  }
  EXPECT_THAT(ApiKeyTable::Load("/nonexistent/keys.json").status().message(),
              HasSubstr("cannot be read"));
}

TEST(AuthenticatorTest, WithoutAFileEveryoneIsTheDefaultTenant) {
  absl::StatusOr<std::unique_ptr<Authenticator>> auth = Authenticator::Make("");
  ASSERT_TRUE(auth.ok());
  EXPECT_FALSE((*auth)->enabled());
  EXPECT_EQ((*(*auth)->Authenticate("", ""))->name, kDefaultTenant);
  EXPECT_EQ((*(*auth)->Authenticate("Bearer anything", "cn"))->name, kDefaultTenant);
}

TEST(AuthenticatorTest, TenantsFromKeysOrCertificatesAndAKeyWins) {
  const std::string path = ::testing::TempDir() + "/authenticator_keys.json";
  {
    std::FILE* file = std::fopen(path.c_str(), "w");
    std::fputs(KeysJson().c_str(), file);
    std::fclose(file);
  }
  absl::StatusOr<std::unique_ptr<Authenticator>> made = Authenticator::Make(path);
  ASSERT_TRUE(made.ok()) << made.status();
  Authenticator& auth = **made;
  EXPECT_EQ((*auth.Authenticate("Bearer acme-secret", ""))->name, "acme");
  EXPECT_EQ((*auth.Authenticate("bearer   globex-secret", ""))->name, "globex");
  EXPECT_EQ((*auth.Authenticate("", "acme-batch"))->name, "acme");
  // A presented key decides, even when the certificate would map.
  EXPECT_EQ((*auth.Authenticate("Bearer globex-secret", "acme-batch"))->name, "globex");
  absl::Status wrong = auth.Authenticate("Bearer nope", "acme-batch").status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.message(), "invalid API key");
  absl::Status missing = auth.Authenticate("", "").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(missing.message(), HasSubstr("authorization: Bearer KEY"));
  EXPECT_EQ(auth.Authenticate("", "unknown-cn").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(auth.Authenticate("Basic abc", "").status().message(), HasSubstr("Bearer KEY"));

  // A broken file on reload keeps the old keys; a good one replaces them.
  {
    std::FILE* file = std::fopen(path.c_str(), "w");
    std::fputs("{broken", file);
    std::fclose(file);
  }
  EXPECT_FALSE(auth.Reload().ok());
  EXPECT_TRUE(auth.Authenticate("Bearer acme-secret", "").ok());
  {
    std::FILE* file = std::fopen(path.c_str(), "w");
    std::fputs((R"({"tenants": {"initech": {}}, "keys": [{"sha256": ")" + Sha256Hex(Sha256("new")) +
                R"(", "tenant": "initech"}]})")
                   .c_str(),
               file);
    std::fclose(file);
  }
  ASSERT_TRUE(auth.Reload().ok());
  EXPECT_EQ((*auth.Authenticate("Bearer new", ""))->name, "initech");
  EXPECT_FALSE(auth.Authenticate("Bearer acme-secret", "").ok());
}

TEST(TenantTest, SaltsAndRequestIdsSeparateTenants) {
  EXPECT_EQ(TenantCacheSalt(kDefaultTenant), 0u);
  EXPECT_NE(TenantCacheSalt("a"), 0u);
  EXPECT_NE(TenantCacheSalt("a"), TenantCacheSalt("b"));
  EXPECT_EQ(TenantCacheSalt("a"), TenantCacheSalt("a"));
  EXPECT_EQ(EngineRequestId(kDefaultTenant, "r1"), "r1");
  EXPECT_EQ(EngineRequestId("a", "r1"), "a/r1");
  EXPECT_NE(EngineRequestId("a", "r1"), EngineRequestId("b", "r1"));
}

TEST(TenantUsageTest, ConcurrencyLimitCountsSlotsUntilReleased) {
  TenantUsage usage;
  Tenant tenant{"a", {}};
  tenant.limits.max_concurrent_requests = 2;
  absl::StatusOr<RequestSlot> first = usage.AcquireRequest(tenant);
  absl::StatusOr<RequestSlot> second = usage.AcquireRequest(tenant);
  ASSERT_TRUE(first.ok() && second.ok());
  absl::StatusOr<RequestSlot> third = usage.AcquireRequest(tenant);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.status().message(),
              HasSubstr("tenant a is at its limit of 2 concurrent requests"));
  // Another tenant is not affected.
  EXPECT_TRUE(usage.AcquireRequest(Tenant{"b", {}}).ok());
  first->Release();
  EXPECT_EQ(usage.requests_in_flight("a"), 1);
  RequestSlot moved = *std::move(second);
  EXPECT_TRUE(usage.AcquireRequest(tenant).ok());  // Acquired and released at once.
  moved.Release();
  EXPECT_EQ(usage.requests_in_flight("a"), 0);
}

}  // namespace
}  // namespace minimind
