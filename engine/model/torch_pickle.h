// A safe interpreter for the pickle that torch.save writes for a state dict (the `data.pkl` of a
// .pth archive): a dict or OrderedDict mapping names to tensors, each rebuilt by
// `torch._utils._rebuild_tensor_v2` from a persistent-id storage reference. It understands only
// the opcodes such pickles use (protocols 2–5: PROTO FRAME STOP MARK NONE NEWTRUE NEWFALSE
// BININT BININT1 BININT2 LONG1 BINFLOAT BINUNICODE SHORT_BINUNICODE BINUNICODE8 EMPTY_TUPLE
// TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST LIST APPEND APPENDS EMPTY_DICT DICT SETITEM SETITEMS
// BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET GLOBAL STACK_GLOBAL BINPERSID REDUCE BUILD) and
// only these globals: torch._utils._rebuild_tensor_v2, collections.OrderedDict and
// torch.{Float,Half,BFloat16}Storage. It never imports or calls anything — REDUCE of an allowed
// global is interpreted, not executed — so a hostile file can only produce an error.
//
// Memory is linear in the pickle size (values live in arenas; memo and stack copies are O(1))
// and nothing recurses, so crafted nesting cannot exhaust the stack. Thread-safe (pure).
#ifndef MINIMIND_ENGINE_MODEL_TORCH_PICKLE_H_
#define MINIMIND_ENGINE_MODEL_TORCH_PICKLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/model/tensor.h"

namespace minimind {

// One entry of the state dict: where the tensor's storage is and how the tensor views it. Sizes,
// strides and the offset are in elements, as torch records them; they are not yet checked
// against the storage (the .pth reader does that).
struct PickledTensor {
  std::string name;         // The state-dict key.
  std::string storage_key;  // Payload of zip entry `<archive prefix>/data/<storage_key>`.
  DType dtype = DType::kF32;
  int64_t storage_elements = 0;
  int64_t storage_offset = 0;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;
};

// Entries in dict order. InvalidArgument names the byte offset and opcode for malformed input,
// the global for a forbidden one, and the key for a non-tensor entry.
absl::StatusOr<std::vector<PickledTensor>> ParseStateDictPickle(absl::Span<const uint8_t> pickle);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_TORCH_PICKLE_H_
