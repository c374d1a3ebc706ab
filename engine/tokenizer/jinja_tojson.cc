#include "engine/tokenizer/jinja_tojson.h"

#include <charconv>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

using OrderedJson = nlohmann::ordered_json;

// Python's json string encoder with ensure_ascii=False (json.encoder.ESCAPE_DCT).
void AppendPythonJsonString(const std::string& text, std::string& out) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 0xf]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Python's float repr: the shortest digits that round-trip, in fixed notation when the decimal
// exponent is in [-4, 15], else d.ddde±XX with at least two exponent digits. Fixed notation always
// shows a fractional part ("1.0").
void AppendPythonFloat(double value, std::string& out) {
  // The shortest round-trip form, e.g. "-1.2345e+02" or "5e-01"; at most 24 characters.
  char buffer[64];
  const std::to_chars_result result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const std::string scientific(buffer, result.ptr);
  size_t pos = 0;
  if (scientific[pos] == '-') {
    out.push_back('-');
    ++pos;
  }
  const size_t exponent_mark = scientific.find('e', pos);
  std::string digits;
  for (size_t i = pos; i < exponent_mark; ++i) {
    if (scientific[i] != '.') digits.push_back(scientific[i]);
  }
  const int exponent = std::atoi(scientific.c_str() + exponent_mark + 1);
  // Position of the decimal point relative to the first digit.
  const int point = exponent + 1;
  const int digit_count = static_cast<int>(digits.size());
  if (point > -4 && point <= 16) {
    if (point <= 0) {
      absl::StrAppend(&out, "0.", std::string(-point, '0'), digits);
    } else if (point >= digit_count) {
      absl::StrAppend(&out, digits, std::string(point - digit_count, '0'), ".0");
    } else {
      absl::StrAppend(&out, digits.substr(0, point), ".", digits.substr(point));
    }
    return;
  }
  out.push_back(digits[0]);
  if (digit_count > 1) absl::StrAppend(&out, ".", digits.substr(1));
  const int magnitude = exponent < 0 ? -exponent : exponent;
  absl::StrAppend(&out, exponent < 0 ? "e-" : "e+", magnitude < 10 ? "0" : "", magnitude);
}

void AppendPythonJson(const OrderedJson& value, std::string& out) {
  switch (value.type()) {
    case OrderedJson::value_t::null:
      out += "null";
      return;
    case OrderedJson::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case OrderedJson::value_t::number_integer:
      absl::StrAppend(&out, value.get<int64_t>());
      return;
    case OrderedJson::value_t::number_unsigned:
      absl::StrAppend(&out, value.get<uint64_t>());
      return;
    case OrderedJson::value_t::number_float:
      AppendPythonFloat(value.get<double>(), out);
      return;
    case OrderedJson::value_t::string:
      AppendPythonJsonString(value.get_ref<const std::string&>(), out);
      return;
    case OrderedJson::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value) {
        if (!first) out += ", ";
        first = false;
        AppendPythonJson(element, out);
      }
      out.push_back(']');
      return;
    }
    case OrderedJson::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, element] : value.items()) {
        if (!first) out += ", ";
        first = false;
        AppendPythonJsonString(key, out);
        out += ": ";
        AppendPythonJson(element, out);
      }
      out.push_back('}');
      return;
    }
    case OrderedJson::value_t::binary:
    case OrderedJson::value_t::discarded:
      // Never produced by parsing JSON text.
      return;
  }
}

}  // namespace

absl::StatusOr<std::string> JinjaToJson(absl::string_view json_text) {
  OrderedJson value;
  try {
    value = OrderedJson::parse(json_text.begin(), json_text.end());
  } catch (const OrderedJson::parse_error& error) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON at byte ", error.byte, ": ", error.what()));
  } catch (const OrderedJson::exception& error) {  // out_of_range 406: a number beyond double.
    return absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", error.what()));
  }
  std::string out;
  AppendPythonJson(value, out);
  return out;
}

}  // namespace minimind
