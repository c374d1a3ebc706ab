// Lenient parsing of minimind.v1 requests: proto3 `string` fields accept any bytes.
//
// The protobuf runtime refuses to parse a proto3 message whose `string` field holds invalid UTF-8,
// and gRPC 1.51's callback server answers any request-parse failure with UNIMPLEMENTED and an empty
// message, before the service sees the request. The services check every text field themselves
// and answer INVALID_ARGUMENT naming the field and the first bad byte, so their requests are parsed
// here instead: the bytes are parsed against a *lenient twin* of the message type (the same
// descriptors with every proto3 `string` field turned into `bytes`, map entries into plain nested
// messages) and copied field by field into the real message by reflection (nested and repeated
// messages, maps, oneofs, proto3 `optional` presence and unknown fields preserved). Setting a
// string field by reflection does not check UTF-8, so the text arrives byte for byte.
//
// Truly malformed bytes (not protobuf wire format) still parse "successfully" for gRPC: the
// request is cleared and marked, and RequestParseError() returns the message the service sends
// with INVALID_ARGUMENT. Every handler of a request type listed in MINIMIND_V1_REQUEST_TYPES must
// check RequestParseError first (service/request_checks.h: CheckRequestParsed).
//
// Wiring: every generated minimind/v1/*.grpc.pb.h includes this header (grpc_cpp_plugin option
// additional_header_includes, proto/CMakeLists.txt) before any gRPC handler or stub template is
// instantiated, so the explicit grpc::SerializationTraits specialisations below are visible
// everywhere they are used. Serialize is gRPC's default (requests built by clients, responses by
// us); only the server-side Deserialize changes.
//
// Thread-safety: everything here is thread-safe. The twin descriptors live in a private
// DescriptorPool built lazily, file by file, under a mutex, inside one function-local static that
// is never destroyed: grpc::SerializationTraits is a static interface, so there is no object
// through which an explicitly owned pool could be passed.
#ifndef MINIMIND_PROTO_LENIENT_PARSE_H_
#define MINIMIND_PROTO_LENIENT_PARSE_H_

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_writer.h>
#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/io/zero_copy_stream.h"
#include "google/protobuf/message.h"
#include "minimind/v1/inference.pb.h"
#include "minimind/v1/models.pb.h"
#include "minimind/v1/sessions.pb.h"

namespace minimind {

// Merges the wire-format `input` into `message` like Message::MergeFromZeroCopyStream, except that
// proto3 `string` fields (at any depth, including map keys and values) keep whatever bytes they
// carry. InvalidArgument when the bytes are not wire format of the type (the message may then be
// partly filled); Internal when no lenient twin of the type could be built.
absl::Status MergeLenientFromStream(google::protobuf::io::ZeroCopyInputStream& input,
                                    google::protobuf::Message& message);
// The same from a byte string.
absl::Status ParseLenientFromString(absl::string_view bytes, google::protobuf::Message& message);

// Internal to the gRPC wiring. The error recorded by LenientDeserialize for a request whose bytes
// are not wire format of its type, as the full INVALID_ARGUMENT message ("request is not a valid
// minimind.v1.GenerateRequest: ..."); nullopt for a request that parsed.
std::optional<std::string> RequestParseError(const google::protobuf::Message& message);

// Internal: records `error` on `message` (cleared first) the way LenientDeserialize does.
void MarkRequestParseError(google::protobuf::Message& message, absl::string_view error);

// Internal: grpc::SerializationTraits::Deserialize for the request types. OK unless the byte buffer
// cannot be read; unparsable bytes are reported through RequestParseError.
grpc::Status LenientDeserialize(grpc::ByteBuffer* buffer, google::protobuf::Message* message);

// The SerializationTraits of a request type: default serialization, lenient deserialization.
template <typename Request>
class LenientRequestTraits {
 public:
  static grpc::Status Serialize(const Request& message, grpc::ByteBuffer* buffer,
                                bool* own_buffer) {
    return grpc::GenericSerialize<grpc::ProtoBufferWriter, Request>(message, buffer, own_buffer);
  }
  static grpc::Status Deserialize(grpc::ByteBuffer* buffer, Request* message) {
    return LenientDeserialize(buffer, message);
  }
};

}  // namespace minimind

// Every request type of the Inference, Models and Sessions services (tests check the list against
// the service descriptors).
#define MINIMIND_V1_REQUEST_TYPES(X) \
  X(GenerateRequest)                 \
  X(CancelRequest)                   \
  X(GetModelInfoRequest)             \
  X(TokenizeRequest)                 \
  X(DetokenizeRequest)               \
  X(CreateSessionRequest)            \
  X(GetSessionRequest)               \
  X(ListSessionsRequest)             \
  X(DeleteSessionRequest)            \
  X(ForkSessionRequest)

namespace grpc {

#define MINIMIND_V1_LENIENT_TRAITS(Type)                \
  template <>                                           \
  class SerializationTraits<::minimind::v1::Type, void> \
      : public ::minimind::LenientRequestTraits<::minimind::v1::Type> {};
MINIMIND_V1_REQUEST_TYPES(MINIMIND_V1_LENIENT_TRAITS)
#undef MINIMIND_V1_LENIENT_TRAITS

}  // namespace grpc

#endif  // MINIMIND_PROTO_LENIENT_PARSE_H_
