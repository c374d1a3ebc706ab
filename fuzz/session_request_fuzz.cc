// Every other minimind.v1 request off the wire (the Sessions requests, Cancel, the Models
// requests): the first byte picks the type, the rest goes through the lenient parser
// (proto/lenient_parse.h) into a message on a protobuf arena, as gRPC's callback server parses
// requests, then the services' own checks (UTF-8 of every text field, the session labels' limits).
// A parsed message must re-serialize and parse back to the same bytes. Errors are fine; crashes
// and round-trip mismatches are not.
#include <google/protobuf/arena.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_support.h"
#include "minimind/v1/inference.pb.h"
#include "minimind/v1/models.pb.h"
#include "minimind/v1/sessions.pb.h"
#include "proto/lenient_parse.h"
#include "service/request_checks.h"
#include "service/sessions/session_store.h"

namespace {

using google::protobuf::Arena;

void CheckCreate(const minimind::v1::CreateSessionRequest& request) {
  (void)minimind::CheckUtf8("system_prompt", request.system_prompt());
  minimind::SessionLabels labels;
  for (const auto& [key, value] : request.labels()) {
    (void)minimind::CheckUtf8("a labels key", key);
    (void)minimind::CheckUtf8("a labels value", value);
    labels[key] = value;
  }
  (void)minimind::ValidateSessionLabels(labels, minimind::SessionStoreOptions());
}

// Parses `bytes` into a T on `arena`; when it parses cleanly, checks the round trip.
template <typename T>
T* ParseOnArena(Arena& arena, absl::string_view bytes) {
  T* request = Arena::CreateMessage<T>(&arena);
  if (!minimind::ParseLenientFromString(bytes, *request).ok()) return nullptr;
  if (minimind::RequestParseError(*request).has_value()) return nullptr;
  (void)minimind::CheckRequestParsed(*request);
  const std::string once = request->SerializeAsString();
  T* again = Arena::CreateMessage<T>(&arena);
  if (!minimind::ParseLenientFromString(once, *again).ok() ||
      minimind::RequestParseError(*again).has_value()) {
    minimind::fuzz::Violated("a re-serialized request does not parse", T::descriptor()->name());
  }
  // Maps serialize in hash order: compare sizes, which do not depend on it, for types with one.
  if (again->ByteSizeLong() != request->ByteSizeLong()) {
    minimind::fuzz::Violated("the round trip changed the request", T::descriptor()->name());
  }
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  Arena arena;
  switch (data[0] % 9) {
    case 0:
      if (auto* request = ParseOnArena<minimind::v1::CreateSessionRequest>(arena, bytes)) {
        CheckCreate(*request);
      }
      break;
    case 1:
      if (auto* request = ParseOnArena<minimind::v1::GetSessionRequest>(arena, bytes)) {
        (void)minimind::CheckUtf8("session_id", request->session_id());
      }
      break;
    case 2:
      (void)ParseOnArena<minimind::v1::ListSessionsRequest>(arena, bytes);
      break;
    case 3:
      if (auto* request = ParseOnArena<minimind::v1::DeleteSessionRequest>(arena, bytes)) {
        (void)minimind::CheckUtf8("session_id", request->session_id());
      }
      break;
    case 4:
      (void)ParseOnArena<minimind::v1::ForkSessionRequest>(arena, bytes);
      break;
    case 5:
      if (auto* request = ParseOnArena<minimind::v1::CancelRequest>(arena, bytes)) {
        (void)minimind::CheckUtf8("request_id", request->request_id());
      }
      break;
    case 6:
      (void)ParseOnArena<minimind::v1::GetModelInfoRequest>(arena, bytes);
      break;
    case 7:
      if (auto* request = ParseOnArena<minimind::v1::TokenizeRequest>(arena, bytes)) {
        (void)minimind::CheckUtf8("text", request->text());
      }
      break;
    default:
      (void)ParseOnArena<minimind::v1::DetokenizeRequest>(arena, bytes);
      break;
  }
  return 0;
}
