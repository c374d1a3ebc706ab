#include "engine/constrain/json_schema_compiler.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/base/status_macros.h"
#include "engine/constrain/json_grammar.h"
#include "engine/constrain/regex_compiler.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

using Json = nlohmann::ordered_json;
using Fragment = GrammarBuilder::Fragment;

// Keywords that describe and never constrain.
const absl::flat_hash_set<std::string>& Annotations() {
  static const auto* const kSet = new absl::flat_hash_set<std::string>{
      "title",   "description", "$schema",  "$id",       "$comment", "examples",
      "default", "deprecated",  "readOnly", "writeOnly", "$defs",    "definitions"};
  return *kSet;
}

const absl::flat_hash_set<std::string>& Supported() {
  static const auto* const kSet = new absl::flat_hash_set<std::string>{
      "type",  "properties", "required",  "additionalProperties",
      "items", "minItems",   "maxItems",  "enum",
      "const", "anyOf",      "oneOf",     "allOf",
      "$ref",  "minLength",  "maxLength", "pattern",
      "format"};
  return *kSet;
}

// Anchored regexes of the supported formats (as ajv-formats' "full" mode accepts them).
const absl::flat_hash_map<std::string, std::string>& Formats() {
  static const std::string kDate =
      "[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|"
      "(?:0[13578]|1[02])-31)";
  static const std::string kTime =
      "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):"
      "[0-5][0-9])";
  static const auto* const kMap = new absl::flat_hash_map<std::string, std::string>{
      {"date", kDate},
      {"time", kTime},
      {"date-time", kDate + "T" + kTime},
      {"uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"},
      {"email",
       "[a-zA-Z0-9+_-]{1,16}(?:\\.[a-zA-Z0-9+_-]{1,16}){0,2}@"
       "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,14}[a-zA-Z0-9])?\\.){1,3}[a-zA-Z]{2,8}"},
      {"ipv4",
       "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
       "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"},
  };
  return *kMap;
}

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Whether `value` is of a type `type` (a name or a list of names) allows.
bool HasAllowedType(const Json& value, const Json& type) {
  auto is = [&value](const Json& name) {
    if (!name.is_string()) return false;
    const std::string t = name.get<std::string>();
    if (t == "null") return value.is_null();
    if (t == "boolean") return value.is_boolean();
    if (t == "string") return value.is_string();
    if (t == "array") return value.is_array();
    if (t == "object") return value.is_object();
    if (t == "number") return value.is_number();
    if (t == "integer") {
      return value.is_number_integer() ||
             (value.is_number_float() && value.get<double>() == std::floor(value.get<double>()));
    }
    return false;
  };
  if (type.is_array()) return std::any_of(type.begin(), type.end(), is);
  return is(type);
}

class SchemaCompiler {
 public:
  SchemaCompiler(const Json& root, GrammarBuilder& builder, const JsonSchemaLimits& limits)
      : root_(root), builder_(builder), json_(builder), limits_(limits) {}

  absl::StatusOr<Fragment> Compile(const Json& schema, const std::string& pointer, int depth) {
    if (depth > limits_.max_nesting) {
      return Error(pointer, absl::StrCat("schemas nest deeper than ", limits_.max_nesting));
    }
    if (builder_.over_limit()) return builder_.Empty();  // Build reports it
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return json_.AnyValue();
      return Error(pointer, "the schema false allows nothing");
    }
    if (!schema.is_object()) return Error(pointer, "a schema must be an object or a boolean");
    std::vector<std::string> constraining;
    for (const auto& [keyword, value] : schema.items()) {
      if (Annotations().contains(keyword)) continue;
      if (!Supported().contains(keyword)) {
        return Error(pointer, absl::StrCat("the keyword \"", keyword, "\" is not supported"));
      }
      constraining.push_back(keyword);
    }
    auto only = [&](absl::string_view keyword) -> absl::Status {
      for (const std::string& other : constraining) {
        if (other != keyword) {
          return Error(pointer,
                       absl::StrCat("\"", keyword, "\" beside \"", other, "\" is not supported"));
        }
      }
      return absl::OkStatus();
    };
    if (schema.contains("$ref")) {
      MINIMIND_RETURN_IF_ERROR(only("$ref"));
      return Ref(schema["$ref"], pointer, depth);
    }
    for (const char* keyword : {"anyOf", "oneOf"}) {
      if (!schema.contains(keyword)) continue;
      MINIMIND_RETURN_IF_ERROR(only(keyword));
      const Json& branches = schema[keyword];
      if (!branches.is_array() || branches.empty()) {
        return Error(pointer, absl::StrCat("\"", keyword, "\" must be a non-empty array"));
      }
      std::vector<Fragment> options;
      for (size_t i = 0; i < branches.size(); ++i) {
        MINIMIND_ASSIGN_OR_RETURN(
            Fragment option,
            Compile(branches[i], absl::StrCat(pointer, "/", keyword, "/", i), depth + 1));
        options.push_back(option);
      }
      return builder_.Alternatives(options);
    }
    if (schema.contains("allOf")) {
      MINIMIND_RETURN_IF_ERROR(only("allOf"));
      const Json& all = schema["allOf"];
      if (!all.is_array() || all.size() != 1) {
        return Error(pointer, "\"allOf\" is supported with exactly one schema");
      }
      return Compile(all[0], pointer + "/allOf/0", depth + 1);
    }
    if (schema.contains("const") || schema.contains("enum")) {
      std::vector<const Json*> values;
      if (schema.contains("const")) {
        values.push_back(&schema["const"]);
      } else {
        const Json& listed = schema["enum"];
        if (!listed.is_array() || listed.empty()) {
          return Error(pointer, "\"enum\" must be a non-empty array");
        }
        for (const Json& value : listed) values.push_back(&value);
      }
      // Beside "type", only the values of an allowed type.
      std::vector<Fragment> options;
      for (const Json* value : values) {
        if (!schema.contains("type") || HasAllowedType(*value, schema["type"])) {
          options.push_back(builder_.Literal(Dump(*value)));
        }
      }
      if (options.empty()) return Error(pointer, "no enum/const value has the schema's type");
      return builder_.Alternatives(options);
    }
    // The types this schema allows.
    std::vector<std::string> types;
    if (schema.contains("type")) {
      const Json& type = schema["type"];
      if (type.is_string()) {
        types.push_back(type.get<std::string>());
      } else if (type.is_array() && !type.empty()) {
        for (const Json& t : type) {
          if (!t.is_string()) return Error(pointer, "\"type\" must name types");
          types.push_back(t.get<std::string>());
        }
      } else {
        return Error(pointer, "\"type\" must be a string or a non-empty array");
      }
    } else if (schema.contains("properties") || schema.contains("required") ||
               schema.contains("additionalProperties")) {
      types.push_back("object");
    } else if (schema.contains("items") || schema.contains("minItems") ||
               schema.contains("maxItems")) {
      types.push_back("array");
    } else if (schema.contains("minLength") || schema.contains("maxLength") ||
               schema.contains("pattern") || schema.contains("format")) {
      types.push_back("string");
    } else {
      return json_.AnyValue();
    }
    std::vector<Fragment> options;
    for (const std::string& type : types) {
      MINIMIND_ASSIGN_OR_RETURN(Fragment option, Typed(type, schema, pointer, depth));
      options.push_back(option);
    }
    return options.size() == 1 ? options[0] : builder_.Alternatives(options);
  }

 private:
  absl::Status Error(const std::string& pointer, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("json_schema at \"", pointer.empty() ? "#" : pointer, "\": ", what));
  }

  absl::StatusOr<int64_t> Count(const Json& schema, const char* keyword,
                                const std::string& pointer) const {
    const Json& value = schema[keyword];
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
      return Error(pointer, absl::StrCat("\"", keyword, "\" must be a non-negative integer"));
    }
    return value.get<int64_t>();
  }

  absl::StatusOr<Fragment> Typed(const std::string& type, const Json& schema,
                                 const std::string& pointer, int depth) {
    if (type == "null") return builder_.Literal("null");
    if (type == "boolean") {
      return builder_.Alternatives(
          std::vector<Fragment>{builder_.Literal("true"), builder_.Literal("false")});
    }
    if (type == "integer") return json_.Integer();
    if (type == "number") return json_.Number();
    if (type == "string") return StringSchema(schema, pointer);
    if (type == "array") return ArraySchema(schema, pointer, depth);
    if (type == "object") return ObjectSchema(schema, pointer, depth);
    return Error(pointer, absl::StrCat("unknown type \"", type, "\""));
  }

  absl::StatusOr<Fragment> StringSchema(const Json& schema, const std::string& pointer) {
    int64_t min_length = 0, max_length = -1;
    if (schema.contains("minLength")) {
      MINIMIND_ASSIGN_OR_RETURN(min_length, Count(schema, "minLength", pointer));
    }
    if (schema.contains("maxLength")) {
      MINIMIND_ASSIGN_OR_RETURN(max_length, Count(schema, "maxLength", pointer));
      if (max_length < min_length) return Error(pointer, "maxLength is below minLength");
    }
    const bool lengths = schema.contains("minLength") || schema.contains("maxLength");
    std::string pattern;
    if (schema.contains("format")) {
      if (!schema["format"].is_string()) return Error(pointer, "\"format\" must be a string");
      const std::string format = schema["format"].get<std::string>();
      auto it = Formats().find(format);
      if (it == Formats().end()) {
        return Error(pointer, absl::StrCat("the format \"", format, "\" is not supported"));
      }
      if (schema.contains("pattern")) return Error(pointer, "\"format\" beside \"pattern\"");
      pattern = it->second;
    } else if (schema.contains("pattern")) {
      if (!schema["pattern"].is_string()) return Error(pointer, "\"pattern\" must be a string");
      // A JSON Schema pattern matches anywhere in the string unless anchored.
      std::string core = schema["pattern"].get<std::string>();
      const bool anchored_start = !core.empty() && core.front() == '^';
      if (anchored_start) core.erase(0, 1);
      const bool anchored_end =
          !core.empty() && core.back() == '$' && (core.size() < 2 || core[core.size() - 2] != '\\');
      if (anchored_end) core.pop_back();
      pattern =
          absl::StrCat(anchored_start ? "" : ".*", "(?:", core, ")", anchored_end ? "" : ".*");
    } else {
      return json_.String(min_length, max_length);
    }
    if (lengths) {
      return Error(pointer,
                   "minLength/maxLength beside \"pattern\" or \"format\" is not supported");
    }
    RegexOptions options;
    options.json_string = true;
    absl::StatusOr<Fragment> body = CompileRegex(pattern, builder_, options);
    if (!body.ok()) return Error(pointer + "/pattern", body.status().message());
    return builder_.Concat(
        std::vector<Fragment>{builder_.Literal("\""), *body, builder_.Literal("\"")});
  }

  absl::StatusOr<int32_t> RuleOf(const Json& schema, const std::string& pointer, int depth) {
    const int32_t rule = builder_.NewRule();
    MINIMIND_ASSIGN_OR_RETURN(Fragment body, Compile(schema, pointer, depth));
    builder_.DefineRule(rule, body);
    return rule;
  }

  absl::StatusOr<Fragment> ArraySchema(const Json& schema, const std::string& pointer, int depth) {
    int64_t min_items = 0, max_items = -1;
    if (schema.contains("minItems")) {
      MINIMIND_ASSIGN_OR_RETURN(min_items, Count(schema, "minItems", pointer));
    }
    if (schema.contains("maxItems")) {
      MINIMIND_ASSIGN_OR_RETURN(max_items, Count(schema, "maxItems", pointer));
      if (max_items < min_items) return Error(pointer, "maxItems is below minItems");
    }
    int32_t item = -1;
    if (schema.contains("items")) {
      if (schema["items"].is_array()) {
        return Error(pointer + "/items", "an array of item schemas is not supported");
      }
      MINIMIND_ASSIGN_OR_RETURN(item, RuleOf(schema["items"], pointer + "/items", depth + 1));
    }
    auto one = [&]() { return item >= 0 ? builder_.Call(item) : json_.AnyValue(); };
    std::vector<Fragment> parts = {builder_.Literal("[")};
    if (max_items != 0) {
      // item (, item){min-1, max-1}, optional when min is 0.
      const int64_t more_min = std::max<int64_t>(min_items - 1, 0);
      const Fragment items = builder_.Concat(
          one(), builder_.Repeat([&] { return builder_.Concat(json_.Comma(), one()); }, more_min,
                                 max_items < 0 ? -1 : max_items - 1));
      parts.push_back(min_items == 0 ? builder_.Optional(items) : items);
    }
    parts.push_back(builder_.Literal("]"));
    return builder_.Concat(parts);
  }

  absl::StatusOr<Fragment> ObjectSchema(const Json& schema, const std::string& pointer, int depth) {
    struct Property {
      std::string key;
      int32_t rule = -1;  // -1: any value
      bool required = false;
    };
    std::vector<Property> properties;
    if (schema.contains("properties")) {
      const Json& declared = schema["properties"];
      if (!declared.is_object()) return Error(pointer, "\"properties\" must be an object");
      for (const auto& [key, subschema] : declared.items()) {
        MINIMIND_ASSIGN_OR_RETURN(
            int32_t rule, RuleOf(subschema, absl::StrCat(pointer, "/properties/", key), depth + 1));
        properties.push_back({key, rule, false});
      }
    }
    if (schema.contains("required")) {
      const Json& required = schema["required"];
      if (!required.is_array()) return Error(pointer, "\"required\" must be an array");
      for (const Json& name : required) {
        if (!name.is_string()) return Error(pointer, "\"required\" must list strings");
        const std::string key = name.get<std::string>();
        auto it = std::find_if(properties.begin(), properties.end(),
                               [&](const Property& p) { return p.key == key; });
        if (it == properties.end()) {
          properties.push_back({key, -1, true});
        } else {
          it->required = true;
        }
      }
    }
    int32_t additional = -1;  // the rule of additional members' values; -2: any value; -1: none
    if (schema.contains("additionalProperties")) {
      const Json& extra = schema["additionalProperties"];
      if (extra.is_boolean()) {
        additional = extra.get<bool>() ? -2 : -1;
      } else {
        MINIMIND_ASSIGN_OR_RETURN(additional,
                                  RuleOf(extra, pointer + "/additionalProperties", depth + 1));
      }
    } else {
      additional = -2;
    }
    if (properties.empty()) {
      if (additional == -1) return builder_.Literal("{}");
      // Any members: '{' (string ':' value (',' string ':' value)*)? '}'.
      auto value = [&]() { return additional >= 0 ? builder_.Call(additional) : json_.AnyValue(); };
      auto member = [&]() {
        return builder_.Concat(std::vector<Fragment>{json_.String(), json_.Colon(), value()});
      };
      const Fragment members =
          builder_.Concat(member(), builder_.Star(builder_.Concat(json_.Comma(), member())));
      return builder_.Concat(std::vector<Fragment>{
          builder_.Literal("{"), builder_.Optional(members), builder_.Literal("}")});
    }
    // The declared properties in order; none[i] / some[i]: before property i with none / some
    // written so far.
    const size_t n = properties.size();
    std::vector<Fragment> none(n + 1), some(n + 1);
    for (size_t i = 0; i <= n; ++i) {
      none[i] = builder_.Empty();
      some[i] = builder_.Empty();
    }
    for (size_t i = 0; i < n; ++i) {
      const Property& property = properties[i];
      auto member = [&](bool comma) {
        std::vector<Fragment> parts;
        if (comma) parts.push_back(json_.Comma());
        parts.push_back(builder_.Literal(Dump(Json(property.key))));
        parts.push_back(json_.Colon());
        parts.push_back(property.rule >= 0 ? builder_.Call(property.rule) : json_.AnyValue());
        return builder_.Concat(parts);
      };
      const Fragment first = member(false);
      builder_.Connect(none[i], first);
      builder_.Connect(first, some[i + 1]);
      const Fragment later = member(true);
      builder_.Connect(some[i], later);
      builder_.Connect(later, some[i + 1]);
      if (!property.required) {
        builder_.Connect(none[i], none[i + 1]);
        builder_.Connect(some[i], some[i + 1]);
      }
    }
    const Fragment open = builder_.Literal("{");
    const Fragment close = builder_.Literal("}");
    builder_.Connect(open, none[0]);
    builder_.Connect(none[n], close);
    builder_.Connect(some[n], close);
    return Fragment{open.start, close.end};
  }

  absl::StatusOr<Fragment> Ref(const Json& ref, const std::string& pointer, int depth) {
    if (!ref.is_string()) return Error(pointer, "\"$ref\" must be a string");
    const std::string target = ref.get<std::string>();
    if (target.empty() || target[0] != '#') {
      return Error(pointer, absl::StrCat("\"$ref\" \"", target,
                                         "\" is not within this document (it must start with #)"));
    }
    auto it = ref_rules_.find(target);
    if (it == ref_rules_.end()) {
      // Resolve the JSON pointer.
      const Json* at = &root_;
      for (absl::string_view token :
           absl::StrSplit(absl::string_view(target).substr(1), '/', absl::SkipEmpty())) {
        std::string key = absl::StrReplaceAll(token, {{"~1", "/"}, {"~0", "~"}});
        if (at->is_object() && at->contains(key)) {
          at = &(*at)[key];
        } else if (at->is_array() && !key.empty() &&
                   std::all_of(key.begin(), key.end(), ::isdigit) && std::stoul(key) < at->size()) {
          at = &(*at)[std::stoul(key)];
        } else {
          return Error(pointer, absl::StrCat("\"$ref\" \"", target, "\" points nowhere"));
        }
      }
      const int32_t rule = builder_.NewRule();
      it = ref_rules_.emplace(target, rule).first;  // before compiling: recursion calls it
      MINIMIND_ASSIGN_OR_RETURN(Fragment body, Compile(*at, target, depth + 1));
      builder_.DefineRule(rule, body);
    }
    return builder_.Call(it->second);
  }

  const Json& root_;
  GrammarBuilder& builder_;
  JsonGrammar json_;
  const JsonSchemaLimits& limits_;
  absl::flat_hash_map<std::string, int32_t> ref_rules_;
};

}  // namespace

absl::StatusOr<Grammar> CompileJsonSchema(absl::string_view schema_text,
                                          const JsonSchemaLimits& limits) {
  if (static_cast<int64_t>(schema_text.size()) > limits.max_schema_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "json_schema is ", schema_text.size(), " bytes; the limit is ", limits.max_schema_bytes));
  }
  const Json schema = Json::parse(schema_text, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return absl::InvalidArgumentError("json_schema is not valid JSON");
  GrammarBuilder builder(limits.max_grammar_states);
  SchemaCompiler compiler(schema, builder, limits);
  const int32_t root = builder.NewRule();
  MINIMIND_ASSIGN_OR_RETURN(Fragment body, compiler.Compile(schema, "", 0));
  builder.DefineRule(root, body);
  return std::move(builder).Build(root);
}

absl::StatusOr<Grammar> CompileJsonObject(int64_t max_grammar_states) {
  GrammarBuilder builder(max_grammar_states);
  JsonGrammar json(builder);
  const int32_t root = builder.NewRule();
  builder.DefineRule(root, json.AnyObject());
  return std::move(builder).Build(root);
}

}  // namespace minimind
