// Expected strings are Python 3.11's json.dumps(json.loads(input), ensure_ascii=False).
#include "engine/tokenizer/jinja_tojson.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

std::string ToJsonOrDie(absl::string_view json_text) {
  auto result = JinjaToJson(json_text);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : std::string();
}

TEST(JinjaToJsonTest, NestedObjectsAndArraysKeepKeyOrderWithPythonSeparators) {
  EXPECT_EQ(ToJsonOrDie(R"({"b":1,"a":[true,false,null,{"x":"y"}],"c":{"d":{}},"e":[]})"),
            R"({"b": 1, "a": [true, false, null, {"x": "y"}], "c": {"d": {}}, "e": []})");
  EXPECT_EQ(ToJsonOrDie(" [ 1 ,2 ] "), "[1, 2]");
}

// A number beyond double's range is an error (nlohmann's out_of_range 406), never an escaping
// exception: tool-call arguments from a request reach this parser.
TEST(JinjaToJsonTest, NumberBeyondDoubleIsAnError) {
  auto result = JinjaToJson("[1e999]");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("number overflow"));
}

TEST(JinjaToJsonTest, TopLevelScalars) {
  EXPECT_EQ(ToJsonOrDie("true"), "true");
  EXPECT_EQ(ToJsonOrDie("false"), "false");
  EXPECT_EQ(ToJsonOrDie("null"), "null");
  EXPECT_EQ(ToJsonOrDie(R"("s")"), R"("s")");
}

TEST(JinjaToJsonTest, NonAsciiIsWrittenAsIs) {
  EXPECT_EQ(ToJsonOrDie(R"("中文 😀 é \u4e2d \ud83d\ude00")"), "\"中文 😀 é 中 😀\"");
}

TEST(JinjaToJsonTest, EscapesQuotesBackslashesAndControlCharactersLikePython) {
  EXPECT_EQ(
      ToJsonOrDie(
          R"("quote\" backslash\\ nl\n cr\r tab\t bs\b ff\f nul\u0000 us\u001f del\u007f slash\/ ls\u2028")"),
      "\"quote\\\" backslash\\\\ nl\\n cr\\r tab\\t bs\\b ff\\f nul\\u0000 us\\u001f del\x7f "
      "slash/ ls\u2028\"");
  EXPECT_EQ(ToJsonOrDie(R"({"k\n\"ey": "v"})"), R"({"k\n\"ey": "v"})");
}

TEST(JinjaToJsonTest, IntegersAreExact) {
  EXPECT_EQ(ToJsonOrDie("[0, -7, 9007199254740993, 18446744073709551615, -9223372036854775808]"),
            "[0, -7, 9007199254740993, 18446744073709551615, -9223372036854775808]");
}

TEST(JinjaToJsonTest, FloatsUsePythonRepr) {
  EXPECT_EQ(ToJsonOrDie("[0.5, 1.0, -0.0, 1e16, 1e15, 0.0001, 0.00001, 1.5e300, 123.456, 1e-7, "
                        "0.30000000000000004, 2.5E+3, 1.7976931348623157e308, 5e-324]"),
            "[0.5, 1.0, -0.0, 1e+16, 1000000000000000.0, 0.0001, 1e-05, 1.5e+300, 123.456, "
            "1e-07, 0.30000000000000004, 2500.0, 1.7976931348623157e+308, 5e-324]");
}

TEST(JinjaToJsonTest, RepeatedKeyKeepsFirstPositionAndLastValue) {
  EXPECT_EQ(ToJsonOrDie(R"({"a": 1, "b": 2, "a": 3})"), R"({"a": 3, "b": 2})");
}

TEST(JinjaToJsonTest, RejectsInvalidJson) {
  for (const absl::string_view bad : {"", "{", "[1,]", "1 2", "\"\xff\"", "{'a': 1}"}) {
    const auto result = JinjaToJson(bad);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(result.status().message(), HasSubstr("not valid JSON")) << bad;
  }
}

}  // namespace
}  // namespace minimind
