#include "tools/cli/command_line.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace minimind::cli {
namespace {

bool Contains(const std::vector<std::string>& names, absl::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

absl::StatusOr<CommandLine> CommandLine::Parse(const std::vector<std::string>& args,
                                               const FlagSet& flags) {
  CommandLine command_line;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const size_t equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    }
    if (Contains(flags.switches, name)) {
      if (value.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
      command_line.switches_.insert(name);
    } else if (Contains(flags.valued, name)) {
      if (!value.has_value()) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        }
        value = args[++i];
      }
      command_line.values_[name].push_back(*value);
    } else {
      std::vector<std::string> known;
      for (const auto& flag : flags.valued) known.push_back("--" + flag);
      for (const auto& flag : flags.switches) known.push_back("--" + flag);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return command_line;
}

std::optional<std::string> CommandLine::Value(absl::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> CommandLine::Values(absl::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second;
}

absl::StatusOr<std::optional<int64_t>> CommandLine::OptionalInt(absl::string_view name) const {
  const auto value = Value(name);
  if (!value.has_value()) return std::nullopt;
  int64_t parsed;
  if (!absl::SimpleAtoi(*value, &parsed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " expects an integer, got \"", *value, "\""));
  }
  return parsed;
}

absl::StatusOr<std::optional<double>> CommandLine::OptionalDouble(absl::string_view name) const {
  const auto value = Value(name);
  if (!value.has_value()) return std::nullopt;
  double parsed;
  if (!absl::SimpleAtod(*value, &parsed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " expects a number, got \"", *value, "\""));
  }
  return parsed;
}

absl::StatusOr<int64_t> CommandLine::IntOr(absl::string_view name, int64_t fallback) const {
  auto value = OptionalInt(name);
  if (!value.ok()) return value.status();
  return value->value_or(fallback);
}

absl::StatusOr<double> CommandLine::DoubleOr(absl::string_view name, double fallback) const {
  auto value = OptionalDouble(name);
  if (!value.ok()) return value.status();
  return value->value_or(fallback);
}

}  // namespace minimind::cli
