#include "service/request_checks.h"

#include "gtest/gtest.h"
#include "minimind/v1/inference.pb.h"
#include "proto/lenient_parse.h"

namespace minimind {
namespace {

TEST(RequestChecksTest, CheckUtf8NamesFieldAndOffset) {
  EXPECT_TRUE(CheckUtf8("prompt", "h\xc3\xa9llo").ok());
  EXPECT_TRUE(CheckUtf8("prompt", "").ok());
  const absl::Status status = CheckUtf8("messages[2].content", "ok \xe2\x82");
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_EQ(status.message(),
            "messages[2].content is not valid UTF-8 (first bad byte at offset 3)");
}

TEST(RequestChecksTest, CheckRequestParsedReportsTheMarker) {
  v1::GenerateRequest request;
  request.set_prompt("hi");
  EXPECT_TRUE(CheckRequestParsed(request).ok());
  MarkRequestParseError(request, "request is not a valid minimind.v1.GenerateRequest: x");
  const absl::Status status = CheckRequestParsed(request);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_EQ(status.message(), "request is not a valid minimind.v1.GenerateRequest: x");
  EXPECT_EQ(request.input_case(), v1::GenerateRequest::INPUT_NOT_SET);
}

}  // namespace
}  // namespace minimind
