// Compile-time check: the generated gRPC headers alone bring in the lenient SerializationTraits
// (proto/CMakeLists.txt passes additional_header_includes to grpc_cpp_plugin). No other include
// here, so a header generated without it fails to compile.
#include <type_traits>

#include "minimind/v1/inference.grpc.pb.h"
#include "minimind/v1/models.grpc.pb.h"
#include "minimind/v1/sessions.grpc.pb.h"

#define MINIMIND_EXPECT_LENIENT(Type)                                                     \
  static_assert(std::is_base_of_v<::minimind::LenientRequestTraits<::minimind::v1::Type>, \
                                  ::grpc::SerializationTraits<::minimind::v1::Type>>,     \
                #Type " is not parsed leniently");
MINIMIND_V1_REQUEST_TYPES(MINIMIND_EXPECT_LENIENT)
#undef MINIMIND_EXPECT_LENIENT
