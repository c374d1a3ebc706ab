// Checks shared by every RPC handler: the request parsed (proto/lenient_parse.h lets malformed
// bytes through as a marked, empty request) and a text field holds valid UTF-8 (requests are parsed
// leniently, so proto3 `string` fields may hold any bytes until checked here). Pure functions.
#ifndef MINIMIND_SERVICE_REQUEST_CHECKS_H_
#define MINIMIND_SERVICE_REQUEST_CHECKS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace minimind {

// InvalidArgument "request is not a valid minimind.v1.<Type>: ..." when the request's bytes were
// not protobuf wire format of its type; OK otherwise. Every handler calls it first.
absl::Status CheckRequestParsed(const google::protobuf::Message& request);

// InvalidArgument "<field> is not valid UTF-8 (first bad byte at offset N)" unless `text` is UTF-8.
absl::Status CheckUtf8(absl::string_view field, absl::string_view text);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_REQUEST_CHECKS_H_
