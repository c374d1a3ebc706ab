#include "tools/cli/cli_input.h"

#include <cstdint>
#include <istream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace minimind::cli {

std::string ReadAll(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

absl::StatusOr<std::vector<TokenId>> ParseTokenIdsJson(const std::string& text,
                                                       absl::string_view what) {
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  std::vector<TokenId> ids;
  bool well_formed = parsed.is_array();
  for (const auto& value : parsed) {
    if (!well_formed) break;
    well_formed = value.is_number_integer() && value.get<int64_t>() >= INT32_MIN &&
                  value.get<int64_t>() <= INT32_MAX;
    if (well_formed) ids.push_back(value.get<TokenId>());
  }
  if (!well_formed) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " expects a JSON array of integer token ids"));
  }
  return ids;
}

}  // namespace minimind::cli
