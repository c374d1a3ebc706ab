#include "proto/lenient_parse.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

constexpr char kBad[] = "ab\xff\xc3(";  // Invalid at offset 2 and 3.

// Serializes `message` the way the C++ client does: invalid UTF-8 is only logged.
std::string Bytes(const google::protobuf::Message& message) {
  std::string bytes;
  EXPECT_TRUE(message.SerializeToString(&bytes));
  return bytes;
}

v1::GenerateRequest FullRequest() {
  v1::GenerateRequest request;
  request.set_request_id("id-1");
  v1::ChatMessage* system = request.mutable_messages()->add_messages();
  system->set_role("system");
  system->set_content("be brief");
  v1::ChatMessage* user = request.mutable_messages()->add_messages();
  user->set_role("user");
  user->set_content(std::string("content ") + kBad);
  user->set_reasoning_content(kBad);
  request.set_session_id("s\xfe");
  request.set_use_cache(false);  // optional, present with the default value
  request.set_temperature(0.0f);
  request.set_max_tokens(7);
  request.set_seed(uint64_t{1} << 63);
  request.add_stop("ok");
  request.add_stop(kBad);
  request.add_stop("");
  request.add_stop_token_ids(3);
  request.add_stop_token_ids(-1);
  return request;
}

TEST(LenientParseTest, StrictParserRejectsInvalidUtf8) {
  // Why lenient parsing exists: protobuf refuses the bytes a client can send.
  v1::GenerateRequest strict;
  EXPECT_FALSE(strict.ParseFromString(Bytes(FullRequest())));
}

TEST(LenientParseTest, RoundTripKeepsEveryFieldKindAndInvalidBytes) {
  const v1::GenerateRequest original = FullRequest();
  v1::GenerateRequest parsed;
  ASSERT_TRUE(ParseLenientFromString(Bytes(original), parsed).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(original, parsed)) << parsed.DebugString();
  EXPECT_EQ(parsed.input_case(), v1::GenerateRequest::kMessages);
  ASSERT_EQ(parsed.messages().messages_size(), 2);
  EXPECT_EQ(parsed.messages().messages(1).content(), std::string("content ") + kBad);
  EXPECT_EQ(parsed.messages().messages(1).reasoning_content(), kBad);
  EXPECT_EQ(parsed.session_id(), "s\xfe");
  EXPECT_TRUE(parsed.has_use_cache());
  EXPECT_FALSE(parsed.use_cache());
  EXPECT_TRUE(parsed.has_temperature());
  EXPECT_FALSE(parsed.has_top_k());
  EXPECT_FALSE(parsed.has_enable_thinking());
  EXPECT_EQ(parsed.seed(), uint64_t{1} << 63);
  ASSERT_EQ(parsed.stop_size(), 3);
  EXPECT_EQ(parsed.stop(1), kBad);
  EXPECT_EQ(parsed.stop(2), "");
  EXPECT_THAT(parsed.stop_token_ids(), ::testing::ElementsAre(3, -1));
  EXPECT_EQ(Bytes(parsed), Bytes(original));
}

TEST(LenientParseTest, OneofStringMember) {
  v1::GenerateRequest original;
  original.set_prompt(kBad);
  v1::GenerateRequest parsed;
  parsed.mutable_token_ids()->add_ids(5);  // Parsing replaces, it does not merge.
  ASSERT_TRUE(ParseLenientFromString(Bytes(original), parsed).ok());
  EXPECT_EQ(parsed.input_case(), v1::GenerateRequest::kPrompt);
  EXPECT_EQ(parsed.prompt(), kBad);
}

TEST(LenientParseTest, MapsAndMessagesFromOtherFiles) {
  v1::CreateSessionRequest original;
  original.set_system_prompt(kBad);
  original.mutable_ttl()->set_seconds(90);
  (*original.mutable_labels())["team"] = "a";
  (*original.mutable_labels())[std::string("k\xff")] = std::string("v\xc3");
  v1::CreateSessionRequest parsed;
  ASSERT_TRUE(ParseLenientFromString(Bytes(original), parsed).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(original, parsed)) << parsed.DebugString();
  EXPECT_EQ(parsed.labels().size(), 2u);
  EXPECT_EQ(parsed.labels().at(std::string("k\xff")), std::string("v\xc3"));
  EXPECT_EQ(parsed.ttl().seconds(), 90);

  // A response type: enums, nested repeated messages, every scalar width.
  v1::GenerateResponse response;
  response.set_text(kBad);
  response.set_finish_reason(v1::FINISH_REASON_STOP_SEQUENCE);
  v1::TokenLogprob* logprob = response.add_logprobs();
  logprob->set_logprob(-0.5f);
  logprob->add_top_logprobs()->set_token_id(9);
  response.mutable_usage()->set_completion_tokens(4);
  v1::GenerateResponse parsed_response;
  ASSERT_TRUE(ParseLenientFromString(Bytes(response), parsed_response).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(response, parsed_response))
      << parsed_response.DebugString();
}

TEST(LenientParseTest, UnknownFieldsArePreserved) {
  v1::GetSessionRequest original;
  original.set_session_id("abc");
  std::string bytes = Bytes(original);
  bytes += "\xb8\x3e\x2a";  // field 999, varint 42
  v1::GetSessionRequest parsed;
  ASSERT_TRUE(ParseLenientFromString(bytes, parsed).ok());
  EXPECT_EQ(parsed.session_id(), "abc");
  const google::protobuf::UnknownFieldSet& unknown =
      parsed.GetReflection()->GetUnknownFields(parsed);
  ASSERT_EQ(unknown.field_count(), 1);
  EXPECT_EQ(unknown.field(0).number(), 999);
  EXPECT_EQ(unknown.field(0).varint(), 42u);
}

TEST(LenientParseTest, MalformedBytesAreInvalidArgument) {
  v1::GenerateRequest parsed;
  // Field 2 claims 5 bytes, 2 follow.
  absl::Status status = ParseLenientFromString(std::string("\x12\x05"
                                                           "ab",
                                                           4),
                                               parsed);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("minimind.v1.GenerateRequest"));
  // Field 1's varint is cut off.
  status = ParseLenientFromString("\x08\xff", parsed);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(LenientParseTest, SerializationTraitsRoundTrip) {
  using Traits = grpc::SerializationTraits<v1::GenerateRequest>;
  const v1::GenerateRequest original = FullRequest();
  grpc::ByteBuffer buffer;
  bool own_buffer = false;
  ASSERT_TRUE(Traits::Serialize(original, &buffer, &own_buffer).ok());
  v1::GenerateRequest parsed;
  ASSERT_TRUE(Traits::Deserialize(&buffer, &parsed).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(original, parsed));
  EXPECT_EQ(RequestParseError(parsed), std::nullopt);
}

TEST(LenientParseTest, SerializationTraitsMarkMalformedRequests) {
  grpc::ByteBuffer buffer =
      Buffer(std::string("\x12\x05"
                         "ab",
                         4));
  v1::GenerateRequest parsed;
  parsed.set_prompt("stale");
  // OK for gRPC (which would turn a failure into UNIMPLEMENTED); the service reports the error.
  ASSERT_TRUE(grpc::SerializationTraits<v1::GenerateRequest>::Deserialize(&buffer, &parsed).ok());
  EXPECT_EQ(RequestParseError(parsed),
            "request is not a valid minimind.v1.GenerateRequest: malformed protobuf wire format "
            "(4 bytes)");
  EXPECT_EQ(parsed.input_case(), v1::GenerateRequest::INPUT_NOT_SET);
}

TEST(LenientParseTest, ClientCannotForgeTheErrorMarker) {
  v1::GenerateRequest marked;
  MarkRequestParseError(marked, "forged");
  ASSERT_EQ(RequestParseError(marked), "forged");
  marked.set_prompt("hi");
  grpc::ByteBuffer buffer = Buffer(Bytes(marked));
  v1::GenerateRequest parsed;
  ASSERT_TRUE(grpc::SerializationTraits<v1::GenerateRequest>::Deserialize(&buffer, &parsed).ok());
  EXPECT_EQ(RequestParseError(parsed), std::nullopt);
  EXPECT_EQ(parsed.prompt(), "hi");
}

TEST(LenientParseTest, EveryRpcRequestTypeIsListed) {
  std::set<std::string> listed;
#define MINIMIND_LIST_TYPE(Type) listed.insert(v1::Type::descriptor()->full_name());
  MINIMIND_V1_REQUEST_TYPES(MINIMIND_LIST_TYPE)
#undef MINIMIND_LIST_TYPE
  int methods = 0;
  for (const google::protobuf::FileDescriptor* file :
       {v1::GenerateRequest::descriptor()->file(), v1::TokenizeRequest::descriptor()->file(),
        v1::CreateSessionRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        ++methods;
        EXPECT_EQ(listed.count(service->method(m)->input_type()->full_name()), 1u)
            << service->method(m)->full_name() << " takes an unlisted request type";
      }
    }
  }
  EXPECT_GE(methods, 11);
}

}  // namespace
}  // namespace minimind
