#include "proto/lenient_parse.h"

#include <grpcpp/support/proto_buffer_reader.h>

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/unknown_field_set.h"

namespace minimind {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::DescriptorProto;
using google::protobuf::DynamicMessageFactory;
using google::protobuf::FieldDescriptor;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The unknown field that carries a parse error: the largest field number, which no .proto of ours
// uses. A client-sent field with this number is dropped.
constexpr int kParseErrorField = 536870911;

void RelaxField(FieldDescriptorProto& field) {
  if (field.type() == FieldDescriptorProto::TYPE_STRING) {
    field.set_type(FieldDescriptorProto::TYPE_BYTES);
  }
}

void RelaxMessage(DescriptorProto& message) {
  // Map keys cannot be `bytes`; a map is a repeated entry message on the wire, so the twin keeps
  // it as one (the copy goes through the map's repeated-entry reflection).
  if (message.has_options()) message.mutable_options()->clear_map_entry();
  for (FieldDescriptorProto& field : *message.mutable_field()) RelaxField(field);
  for (FieldDescriptorProto& field : *message.mutable_extension()) RelaxField(field);
  for (DescriptorProto& nested : *message.mutable_nested_type()) RelaxMessage(nested);
}

// The lenient twins of generated message types, built on demand.
class TwinRegistry {
 public:
  // The twin prototype of `real`'s type; nullptr if its file could not be rebuilt.
  const Message* Prototype(const Descriptor* real) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    const Descriptor* twin = pool_.FindMessageTypeByName(real->full_name());
    if (twin == nullptr) {
      if (BuildTwinFile(real->file()) == nullptr) return nullptr;
      twin = pool_.FindMessageTypeByName(real->full_name());
      if (twin == nullptr) return nullptr;
    }
    return factory_.GetPrototype(twin);
  }

 private:
  const FileDescriptor* BuildTwinFile(const FileDescriptor* real)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (const FileDescriptor* built = pool_.FindFileByName(real->name())) return built;
    for (int i = 0; i < real->dependency_count(); ++i) {
      if (BuildTwinFile(real->dependency(i)) == nullptr) return nullptr;
    }
    FileDescriptorProto proto;
    real->CopyTo(&proto);
    // Only proto3 verifies UTF-8 on parse; proto2 strings (with their C-escaped defaults) stay.
    if (proto.syntax() == "proto3") {
      for (DescriptorProto& message : *proto.mutable_message_type()) RelaxMessage(message);
      for (FieldDescriptorProto& field : *proto.mutable_extension()) RelaxField(field);
    }
    return pool_.BuildFile(proto);
  }

  absl::Mutex mutex_;
  DescriptorPool pool_ ABSL_GUARDED_BY(mutex_);
  // GetPrototype is thread-safe; prototypes live as long as the factory.
  DynamicMessageFactory factory_{&pool_};
};

TwinRegistry& Twins() {
  // Never destroyed: parses may run on gRPC threads during exit. See the header comment.
  static TwinRegistry* const registry = new TwinRegistry();
  return *registry;
}

absl::Status CopyMessage(const Message& from, Message& to);

// Copies field `from_field` of `from` (twin) into `to_field` of `to` (real).
absl::Status CopyField(const Message& from, const FieldDescriptor* from_field, Message& to,
                       const FieldDescriptor* to_field) {
  const Reflection& in = *from.GetReflection();
  const Reflection& out = *to.GetReflection();
  if (from_field->is_repeated()) {
    const int size = in.FieldSize(from, from_field);
    for (int i = 0; i < size; ++i) {
      switch (from_field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          out.AddInt32(&to, to_field, in.GetRepeatedInt32(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          out.AddInt64(&to, to_field, in.GetRepeatedInt64(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          out.AddUInt32(&to, to_field, in.GetRepeatedUInt32(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          out.AddUInt64(&to, to_field, in.GetRepeatedUInt64(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE:
          out.AddDouble(&to, to_field, in.GetRepeatedDouble(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_FLOAT:
          out.AddFloat(&to, to_field, in.GetRepeatedFloat(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          out.AddBool(&to, to_field, in.GetRepeatedBool(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          out.AddEnumValue(&to, to_field, in.GetRepeatedEnumValue(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_STRING:
          out.AddString(&to, to_field, in.GetRepeatedString(from, from_field, i));
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (absl::Status s = CopyMessage(in.GetRepeatedMessage(from, from_field, i),
                                           *out.AddMessage(&to, to_field));
              !s.ok()) {
            return s;
          }
          break;
      }
    }
    return absl::OkStatus();
  }
  switch (from_field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      out.SetInt32(&to, to_field, in.GetInt32(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      out.SetInt64(&to, to_field, in.GetInt64(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      out.SetUInt32(&to, to_field, in.GetUInt32(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      out.SetUInt64(&to, to_field, in.GetUInt64(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out.SetDouble(&to, to_field, in.GetDouble(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      out.SetFloat(&to, to_field, in.GetFloat(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out.SetBool(&to, to_field, in.GetBool(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      out.SetEnumValue(&to, to_field, in.GetEnumValue(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      out.SetString(&to, to_field, in.GetString(from, from_field));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return CopyMessage(in.GetMessage(from, from_field), *out.MutableMessage(&to, to_field));
  }
  return absl::OkStatus();
}

// Merges the twin message `from` into the real message `to`: the fields that are set (ListFields:
// set oneof members, present optionals, non-default proto3 scalars) and the unknown fields.
absl::Status CopyMessage(const Message& from, Message& to) {
  const Descriptor& to_type = *to.GetDescriptor();
  std::vector<const FieldDescriptor*> fields;
  from.GetReflection()->ListFields(from, &fields);
  for (const FieldDescriptor* from_field : fields) {
    const FieldDescriptor* to_field =
        from_field->is_extension() ? nullptr : to_type.FindFieldByNumber(from_field->number());
    if (to_field == nullptr || to_field->cpp_type() != from_field->cpp_type() ||
        to_field->is_repeated() != from_field->is_repeated()) {
      return absl::InternalError(absl::StrCat("the lenient twin of ", to_type.full_name(),
                                              " does not match at field ", from_field->number()));
    }
    if (absl::Status s = CopyField(from, from_field, to, to_field); !s.ok()) return s;
  }
  const google::protobuf::UnknownFieldSet& unknown = from.GetReflection()->GetUnknownFields(from);
  if (!unknown.empty()) to.GetReflection()->MutableUnknownFields(&to)->MergeFrom(unknown);
  return absl::OkStatus();
}

}  // namespace

absl::Status MergeLenientFromStream(google::protobuf::io::ZeroCopyInputStream& input,
                                    Message& message) {
  const Message* prototype = Twins().Prototype(message.GetDescriptor());
  if (prototype == nullptr) {
    return absl::InternalError(
        absl::StrCat("no lenient twin of ", message.GetDescriptor()->full_name()));
  }
  std::unique_ptr<Message> twin(prototype->New());
  if (!twin->ParseFromZeroCopyStream(&input)) {
    return absl::InvalidArgumentError(absl::StrCat("the bytes are not protobuf wire format of ",
                                                   message.GetDescriptor()->full_name()));
  }
  return CopyMessage(*twin, message);
}

absl::Status ParseLenientFromString(absl::string_view bytes, Message& message) {
  message.Clear();
  google::protobuf::io::ArrayInputStream input(bytes.data(), static_cast<int>(bytes.size()));
  return MergeLenientFromStream(input, message);
}

std::optional<std::string> RequestParseError(const Message& message) {
  const google::protobuf::UnknownFieldSet& unknown =
      message.GetReflection()->GetUnknownFields(message);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField& field = unknown.field(i);
    if (field.number() == kParseErrorField &&
        field.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      return field.length_delimited();
    }
  }
  return std::nullopt;
}

void MarkRequestParseError(Message& message, absl::string_view error) {
  message.Clear();
  message.GetReflection()->MutableUnknownFields(&message)->AddLengthDelimited(kParseErrorField,
                                                                              std::string(error));
}

grpc::Status LenientDeserialize(grpc::ByteBuffer* buffer, Message* message) {
  if (buffer == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "No payload");
  const size_t size = buffer->Length();
  absl::Status parsed;
  {
    grpc::ProtoBufferReader reader(buffer);
    if (!reader.status().ok()) return reader.status();
    message->Clear();
    parsed = MergeLenientFromStream(reader, *message);
  }
  buffer->Clear();
  if (absl::IsInternal(parsed)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string(parsed.message()));
  }
  // A client-sent field with the marker's number must not pose as a parse error.
  message->GetReflection()->MutableUnknownFields(message)->DeleteByNumber(kParseErrorField);
  if (!parsed.ok()) {
    MarkRequestParseError(
        *message, absl::StrCat("request is not a valid ", message->GetDescriptor()->full_name(),
                               ": malformed protobuf wire format (", size, " bytes)"));
  }
  return grpc::Status::OK;
}

}  // namespace minimind
