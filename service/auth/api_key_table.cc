#include "service/auth/api_key_table.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

constexpr int64_t kMaxFileBytes = int64_t{16} << 20;

absl::Status Invalid(absl::string_view source, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("API keys file ", source, ": ", problem));
}

absl::StatusOr<TenantLimits> ParseLimits(const nlohmann::json& json, absl::string_view source,
                                         absl::string_view tenant) {
  if (!json.is_object())
    return Invalid(source, absl::StrCat("tenant \"", tenant, "\" is not an object"));
  TenantLimits limits;
  for (const auto& [field, value] : json.items()) {
    const std::string where = absl::StrCat("tenant \"", tenant, "\" ", field);
    if (field == "kv_share") {
      if (!value.is_number() || !(value.get<double>() >= 0 && value.get<double>() <= 1)) {
        return Invalid(source, absl::StrCat(where, " must be a number in [0, 1]"));
      }
      limits.kv_share = value.get<double>();
      continue;
    }
    if (!value.is_number_integer() || value.get<int64_t>() < 0) {
      return Invalid(source, absl::StrCat(where, " must be a non-negative integer"));
    }
    const int64_t number = value.get<int64_t>();
    if (field == "max_concurrent_requests") {
      limits.max_concurrent_requests = number;
    } else if (field == "max_sessions") {
      limits.max_sessions = number;
    } else if (field == "max_tokens") {
      if (number > std::numeric_limits<int32_t>::max()) {
        return Invalid(source, absl::StrCat(where, " is too large"));
      }
      limits.max_tokens = static_cast<int32_t>(number);
    } else {
      return Invalid(source, absl::StrCat("tenant \"", tenant, "\" has an unknown limit \"", field,
                                          "\" (known: max_concurrent_requests, max_sessions, "
                                          "kv_share, max_tokens)"));
    }
  }
  return limits;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ApiKeyTable>> ApiKeyTable::Load(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Invalid(path, "cannot be read");
  std::string text;
  text.resize(kMaxFileBytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (static_cast<int64_t>(text.size()) > kMaxFileBytes) {
    return Invalid(path, "is larger than 16 MiB");
  }
  return Parse(text, path);
}

absl::StatusOr<std::shared_ptr<const ApiKeyTable>> ApiKeyTable::Parse(absl::string_view json_text,
                                                                      absl::string_view source) {
  nlohmann::json json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Invalid(source, "is not a JSON object");
  for (const auto& [field, value] : json.items()) {
    if (field != "tenants" && field != "keys") {
      return Invalid(source, absl::StrCat("unknown field \"", field, "\" (known: tenants, keys)"));
    }
  }
  auto table = std::make_shared<ApiKeyTable>();
  const nlohmann::json& tenants =
      json.contains("tenants") ? json["tenants"] : nlohmann::json::object();
  if (!tenants.is_object()) return Invalid(source, "\"tenants\" is not an object");
  for (const auto& [name, limits_json] : tenants.items()) {
    if (name.empty() || name.size() > 128 || name.find('/') != std::string::npos) {
      return Invalid(source,
                     absl::StrCat("tenant name \"", name, "\" must be 1-128 bytes without '/'"));
    }
    absl::StatusOr<TenantLimits> limits = ParseLimits(limits_json, source, name);
    if (!limits.ok()) return limits.status();
    table->tenants_[name] = std::make_shared<const Tenant>(Tenant{name, *limits});
  }
  const nlohmann::json& keys = json.contains("keys") ? json["keys"] : nlohmann::json::array();
  if (!keys.is_array()) return Invalid(source, "\"keys\" is not an array");
  for (size_t i = 0; i < keys.size(); ++i) {
    const nlohmann::json& entry = keys[i];
    const std::string where = absl::StrCat("keys[", i, "]");
    if (!entry.is_object() || !entry.contains("tenant") || !entry["tenant"].is_string()) {
      return Invalid(source, absl::StrCat(where, " needs a \"tenant\" string"));
    }
    const std::string tenant_name = entry["tenant"].get<std::string>();
    auto tenant = table->tenants_.find(tenant_name);
    if (tenant == table->tenants_.end()) {
      return Invalid(source, absl::StrCat(where, " names tenant \"", tenant_name,
                                          "\", which \"tenants\" does not define"));
    }
    const bool has_digest = entry.contains("sha256");
    const bool has_name = entry.contains("client_cert_cn");
    if (has_digest == has_name || entry.size() != 2) {
      return Invalid(source, absl::StrCat(where,
                                          " needs exactly one of \"sha256\" and "
                                          "\"client_cert_cn\" besides \"tenant\""));
    }
    if (has_digest) {
      std::optional<Sha256Digest> digest;
      if (entry["sha256"].is_string()) digest = ParseSha256Hex(entry["sha256"].get<std::string>());
      if (!digest.has_value()) {
        return Invalid(source, absl::StrCat(where, ".sha256 is not 64 hex digits"));
      }
      for (const KeyEntry& existing : table->keys_) {
        if (existing.digest == *digest) {
          return Invalid(source, absl::StrCat(where, ".sha256 appears twice"));
        }
      }
      table->keys_.push_back(KeyEntry{*digest, tenant->second});
    } else {
      if (!entry["client_cert_cn"].is_string() ||
          entry["client_cert_cn"].get<std::string>().empty()) {
        return Invalid(source, absl::StrCat(where, ".client_cert_cn is not a non-empty string"));
      }
      if (!table->certificate_names_
               .emplace(entry["client_cert_cn"].get<std::string>(), tenant->second)
               .second) {
        return Invalid(source, absl::StrCat(where, ".client_cert_cn appears twice"));
      }
    }
  }
  return std::shared_ptr<const ApiKeyTable>(std::move(table));
}

std::shared_ptr<const Tenant> ApiKeyTable::FindByKey(absl::string_view api_key) const {
  const Sha256Digest digest = Sha256(api_key);
  std::shared_ptr<const Tenant> found;
  for (const KeyEntry& entry : keys_) {
    // No early exit: every entry is compared, each in constant time.
    if (ConstantTimeEqual(entry.digest, digest)) found = entry.tenant;
  }
  return found;
}

std::shared_ptr<const Tenant> ApiKeyTable::FindByCertificateName(
    absl::string_view common_name) const {
  auto it = certificate_names_.find(common_name);
  return it == certificate_names_.end() ? nullptr : it->second;
}

}  // namespace minimind
