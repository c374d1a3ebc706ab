#include "engine/model/torch_pickle.h"

#include <bit>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/status_macros.h"

namespace minimind {
namespace {

enum class Kind : uint8_t {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kTuple,
  kList,
  kDict,
  kGlobal,
  kStorage,
  kTensor
};

enum class Global : uint8_t {
  kRebuildTensorV2,
  kOrderedDict,
  kFloatStorage,
  kHalfStorage,
  kBFloat16Storage
};

// A pickled value. Compound values live in the interpreter's arenas and are referred to by index,
// so pushing, memoising and fetching a value is O(1) and aliasing matches pickle's reference
// semantics (SETITEMS on a memoised dict is visible through every copy).
struct Value {
  Kind kind = Kind::kNone;
  // kBool/kInt: the value. kGlobal: a Global. kString, kTuple, kList, kDict, kStorage, kTensor:
  // the index into the matching arena.
  int64_t number = 0;
  double real = 0;  // kFloat.
};

struct Storage {
  std::string key;
  DType dtype;
  int64_t elements;
};

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "global";
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
  }
  return "unknown";
}

class Interpreter {
 public:
  explicit Interpreter(absl::Span<const uint8_t> pickle) : pickle_(pickle) {}

  absl::StatusOr<std::vector<PickledTensor>> Run() {
    while (true) {
      opcode_offset_ = position_;
      MINIMIND_ASSIGN_OR_RETURN(const uint8_t opcode, ReadUnsigned<uint8_t>());
      opcode_ = opcode;
      if (opcode == '.') return Finish();
      MINIMIND_RETURN_IF_ERROR(Execute(opcode));
    }
  }

 private:
  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrFormat("pickle byte %d (opcode 0x%02x): %s", opcode_offset_, opcode_, message));
  }

  absl::StatusOr<const uint8_t*> Take(uint64_t length) {
    if (length > pickle_.size() - position_) {
      return Error(absl::StrCat("needs ", length, " more bytes but the pickle ends (truncated)"));
    }
    const uint8_t* bytes = pickle_.data() + position_;
    position_ += length;
    return bytes;
  }

  template <typename T>
  absl::StatusOr<T> ReadUnsigned() {
    MINIMIND_ASSIGN_OR_RETURN(const uint8_t* bytes, Take(sizeof(T)));
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    return value;
  }

  // GLOBAL's newline-terminated module and attribute names.
  absl::StatusOr<std::string> ReadLine() {
    constexpr size_t kMaxLine = 256;
    for (size_t end = position_; end < pickle_.size() && end - position_ <= kMaxLine; ++end) {
      if (pickle_[end] == '\n') {
        std::string line(reinterpret_cast<const char*>(pickle_.data() + position_),
                         end - position_);
        position_ = end + 1;
        return line;
      }
    }
    return Error("GLOBAL name is not newline-terminated");
  }

  absl::StatusOr<std::string> ReadString(uint64_t length) {
    MINIMIND_ASSIGN_OR_RETURN(const uint8_t* bytes, Take(length));
    return std::string(reinterpret_cast<const char*>(bytes), length);
  }

  void Push(Value value) { stack_.push_back(value); }
  void PushString(std::string text) {
    strings_.push_back(std::move(text));
    Push({.kind = Kind::kString, .number = static_cast<int64_t>(strings_.size() - 1)});
  }
  Value NewSequence(Kind kind, std::vector<Value> items) {
    sequences_.push_back(std::move(items));
    return {.kind = kind, .number = static_cast<int64_t>(sequences_.size() - 1)};
  }

  // The bottom of the current frame: values below the innermost MARK are out of reach.
  size_t FrameBottom() const { return marks_.empty() ? 0 : marks_.back(); }

  absl::StatusOr<Value> Pop() {
    if (stack_.size() <= FrameBottom()) return Error("pops from an empty stack");
    const Value value = stack_.back();
    stack_.pop_back();
    return value;
  }

  absl::StatusOr<Value*> Top() {
    if (stack_.size() <= FrameBottom()) return Error("reads the top of an empty stack");
    return &stack_.back();
  }

  absl::StatusOr<std::vector<Value>> PopToMark() {
    if (marks_.empty()) return Error("needs a MARK but none is open");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(stack_.begin() + mark, stack_.end());
    stack_.resize(mark);
    return items;
  }

  absl::StatusOr<std::vector<Value>*> TopContainer(Kind kind) {
    MINIMIND_ASSIGN_OR_RETURN(Value * top, Top());
    if (top->kind != kind) {
      return Error(absl::StrCat("expects a ", KindName(kind), " on the stack, found a ",
                                KindName(top->kind)));
    }
    return &sequences_[top->number];
  }

  absl::Status AddItems(Kind kind, const std::vector<Value>& items) {
    if (kind == Kind::kDict && items.size() % 2 != 0) {
      return Error("SETITEMS needs key/value pairs but got an odd number of values");
    }
    MINIMIND_ASSIGN_OR_RETURN(std::vector<Value> * container, TopContainer(kind));
    container->insert(container->end(), items.begin(), items.end());
    return absl::OkStatus();
  }

  absl::Status Memoize(uint64_t index) {
    MINIMIND_ASSIGN_OR_RETURN(const Value* top, Top());
    memo_[index] = *top;
    return absl::OkStatus();
  }

  absl::Status Fetch(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) return Error(absl::StrCat("memo entry ", index, " was never stored"));
    Push(it->second);
    return absl::OkStatus();
  }

  absl::Status PushGlobal(const std::string& module, const std::string& name) {
    static constexpr struct {
      const char* module;
      const char* name;
      Global global;
    } kAllowed[] = {
        {"torch._utils", "_rebuild_tensor_v2", Global::kRebuildTensorV2},
        {"collections", "OrderedDict", Global::kOrderedDict},
        {"torch", "FloatStorage", Global::kFloatStorage},
        {"torch", "HalfStorage", Global::kHalfStorage},
        {"torch", "BFloat16Storage", Global::kBFloat16Storage},
    };
    for (const auto& allowed : kAllowed) {
      if (module == allowed.module && name == allowed.name) {
        Push({.kind = Kind::kGlobal, .number = static_cast<int64_t>(allowed.global)});
        return absl::OkStatus();
      }
    }
    if (module == "torch" && name.size() > 7 && name.ends_with("Storage")) {
      return absl::UnimplementedError(
          absl::StrCat("tensor storage type torch.", name,
                       " is not supported (FloatStorage, HalfStorage and BFloat16Storage are)"));
    }
    return Error(absl::StrCat(
        "refuses global '", module, ".", name,
        "': a state dict needs only torch._utils._rebuild_tensor_v2, collections.OrderedDict and "
        "torch.{Float,Half,BFloat16}Storage, and nothing else is ever executed"));
  }

  // Element accessors for checking tuples taken apart by BINPERSID and REDUCE.
  absl::StatusOr<int64_t> NonNegativeInt(const Value& value, absl::string_view what) const {
    if (value.kind != Kind::kInt || value.number < 0) {
      return Error(
          absl::StrCat(what, " must be a non-negative int, found a ", KindName(value.kind)));
    }
    return value.number;
  }
  absl::StatusOr<std::vector<int64_t>> IntTuple(const Value& value, absl::string_view what) const {
    if (value.kind != Kind::kTuple) {
      return Error(absl::StrCat(what, " must be a tuple, found a ", KindName(value.kind)));
    }
    std::vector<int64_t> numbers;
    for (const Value& element : sequences_[value.number]) {
      MINIMIND_ASSIGN_OR_RETURN(const int64_t number, NonNegativeInt(element, what));
      numbers.push_back(number);
    }
    return numbers;
  }

  // BINPERSID: torch's ('storage', storage type, key, location, element count).
  absl::Status LoadPersistent() {
    MINIMIND_ASSIGN_OR_RETURN(const Value id, Pop());
    if (id.kind != Kind::kTuple || sequences_[id.number].size() != 5) {
      return Error("persistent id must be a 5-tuple ('storage', type, key, location, size)");
    }
    const std::vector<Value>& fields = sequences_[id.number];
    if (fields[0].kind != Kind::kString || strings_[fields[0].number] != "storage") {
      return Error("persistent id is not a 'storage' reference");
    }
    Storage storage;
    const Value& type = fields[1];
    if (type.kind == Kind::kGlobal && type.number == static_cast<int64_t>(Global::kFloatStorage)) {
      storage.dtype = DType::kF32;
    } else if (type.kind == Kind::kGlobal &&
               type.number == static_cast<int64_t>(Global::kHalfStorage)) {
      storage.dtype = DType::kF16;
    } else if (type.kind == Kind::kGlobal &&
               type.number == static_cast<int64_t>(Global::kBFloat16Storage)) {
      storage.dtype = DType::kBF16;
    } else {
      return Error("persistent id's storage type is not a torch storage class");
    }
    if (fields[2].kind != Kind::kString) return Error("storage key must be a str");
    storage.key = strings_[fields[2].number];
    // fields[3] is the device the tensor was saved from ("cpu", "cuda:0"): irrelevant here.
    MINIMIND_ASSIGN_OR_RETURN(storage.elements, NonNegativeInt(fields[4], "storage size"));
    storages_.push_back(std::move(storage));
    Push({.kind = Kind::kStorage, .number = static_cast<int64_t>(storages_.size() - 1)});
    return absl::OkStatus();
  }

  // REDUCE with an allowed global, interpreted rather than called.
  absl::Status Reduce() {
    MINIMIND_ASSIGN_OR_RETURN(const Value arguments, Pop());
    MINIMIND_ASSIGN_OR_RETURN(const Value callable, Pop());
    if (arguments.kind != Kind::kTuple) return Error("REDUCE arguments must be a tuple");
    // A reference: nothing below adds sequences before the last use of `args`.
    const std::vector<Value>& args = sequences_[arguments.number];
    if (callable.kind == Kind::kGlobal &&
        callable.number == static_cast<int64_t>(Global::kOrderedDict)) {
      if (!args.empty()) return Error("OrderedDict is only ever constructed empty");
      Push(NewSequence(Kind::kDict, {}));
      return absl::OkStatus();
    }
    if (callable.kind != Kind::kGlobal ||
        callable.number != static_cast<int64_t>(Global::kRebuildTensorV2)) {
      return Error(absl::StrCat("REDUCE may call only _rebuild_tensor_v2 or OrderedDict, not a ",
                                KindName(callable.kind)));
    }
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.size() != 6 && args.size() != 7) {
      return Error(absl::StrCat("_rebuild_tensor_v2 takes 6 or 7 arguments, got ", args.size()));
    }
    if (args[0].kind != Kind::kStorage) return Error("_rebuild_tensor_v2's storage is missing");
    const Storage& storage = storages_[args[0].number];
    PickledTensor tensor{
        .storage_key = storage.key, .dtype = storage.dtype, .storage_elements = storage.elements};
    MINIMIND_ASSIGN_OR_RETURN(tensor.storage_offset, NonNegativeInt(args[1], "storage offset"));
    MINIMIND_ASSIGN_OR_RETURN(tensor.shape, IntTuple(args[2], "tensor size"));
    MINIMIND_ASSIGN_OR_RETURN(tensor.stride, IntTuple(args[3], "tensor stride"));
    if (tensor.shape.size() != tensor.stride.size()) {
      return Error("tensor size and stride have different lengths");
    }
    if (args[4].kind != Kind::kBool) return Error("requires_grad must be a bool");
    if (args[5].kind != Kind::kDict) return Error("backward hooks must be an OrderedDict");
    tensors_.push_back(std::move(tensor));
    Push({.kind = Kind::kTensor, .number = static_cast<int64_t>(tensors_.size() - 1)});
    return absl::OkStatus();
  }

  absl::Status Execute(uint8_t opcode) {
    switch (opcode) {
      case 0x80: {  // PROTO
        MINIMIND_ASSIGN_OR_RETURN(const uint8_t version, ReadUnsigned<uint8_t>());
        if (version > 5) return Error(absl::StrCat("unknown pickle protocol ", version));
        return absl::OkStatus();
      }
      case 0x95:  // FRAME: a length hint only.
        return Take(8).status();
      case '(':  // MARK
        marks_.push_back(stack_.size());
        return absl::OkStatus();
      case 'N':  // NONE
        Push({});
        return absl::OkStatus();
      case 0x88:  // NEWTRUE
      case 0x89:  // NEWFALSE
        Push({.kind = Kind::kBool, .number = opcode == 0x88});
        return absl::OkStatus();
      case 'J': {  // BININT
        MINIMIND_ASSIGN_OR_RETURN(const uint32_t bits, ReadUnsigned<uint32_t>());
        Push({.kind = Kind::kInt, .number = static_cast<int32_t>(bits)});
        return absl::OkStatus();
      }
      case 'K': {  // BININT1
        MINIMIND_ASSIGN_OR_RETURN(const uint8_t number, ReadUnsigned<uint8_t>());
        Push({.kind = Kind::kInt, .number = number});
        return absl::OkStatus();
      }
      case 'M': {  // BININT2
        MINIMIND_ASSIGN_OR_RETURN(const uint16_t number, ReadUnsigned<uint16_t>());
        Push({.kind = Kind::kInt, .number = number});
        return absl::OkStatus();
      }
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes.
        MINIMIND_ASSIGN_OR_RETURN(const uint8_t length, ReadUnsigned<uint8_t>());
        if (length > 8) return Error("integer wider than 64 bits");
        MINIMIND_ASSIGN_OR_RETURN(const uint8_t* bytes, Take(length));
        uint64_t bits = 0;
        for (int i = length - 1; i >= 0; --i) bits = (bits << 8) | bytes[i];
        if (length > 0 && length < 8 && (bytes[length - 1] & 0x80) != 0) {
          bits |= ~uint64_t{0} << (8 * length);  // Sign-extend.
        }
        Push({.kind = Kind::kInt, .number = static_cast<int64_t>(bits)});
        return absl::OkStatus();
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double.
        MINIMIND_ASSIGN_OR_RETURN(const uint64_t bits, ReadUnsigned<uint64_t>());
        Push({.kind = Kind::kFloat, .real = std::bit_cast<double>(__builtin_bswap64(bits))});
        return absl::OkStatus();
      }
      case 'X': {  // BINUNICODE
        MINIMIND_ASSIGN_OR_RETURN(const uint32_t length, ReadUnsigned<uint32_t>());
        MINIMIND_ASSIGN_OR_RETURN(std::string text, ReadString(length));
        PushString(std::move(text));
        return absl::OkStatus();
      }
      case 0x8c: {  // SHORT_BINUNICODE
        MINIMIND_ASSIGN_OR_RETURN(const uint8_t length, ReadUnsigned<uint8_t>());
        MINIMIND_ASSIGN_OR_RETURN(std::string text, ReadString(length));
        PushString(std::move(text));
        return absl::OkStatus();
      }
      case 0x8d: {  // BINUNICODE8
        MINIMIND_ASSIGN_OR_RETURN(const uint64_t length, ReadUnsigned<uint64_t>());
        MINIMIND_ASSIGN_OR_RETURN(std::string text, ReadString(length));
        PushString(std::move(text));
        return absl::OkStatus();
      }
      case ')':  // EMPTY_TUPLE
        Push(NewSequence(Kind::kTuple, {}));
        return absl::OkStatus();
      case 't': {  // TUPLE
        MINIMIND_ASSIGN_OR_RETURN(std::vector<Value> items, PopToMark());
        Push(NewSequence(Kind::kTuple, std::move(items)));
        return absl::OkStatus();
      }
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        std::vector<Value> items(opcode - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) {
          MINIMIND_ASSIGN_OR_RETURN(*it, Pop());
        }
        Push(NewSequence(Kind::kTuple, std::move(items)));
        return absl::OkStatus();
      }
      case ']':  // EMPTY_LIST
        Push(NewSequence(Kind::kList, {}));
        return absl::OkStatus();
      case 'l': {  // LIST
        MINIMIND_ASSIGN_OR_RETURN(std::vector<Value> items, PopToMark());
        Push(NewSequence(Kind::kList, std::move(items)));
        return absl::OkStatus();
      }
      case 'a': {  // APPEND
        MINIMIND_ASSIGN_OR_RETURN(const Value item, Pop());
        return AddItems(Kind::kList, {item});
      }
      case 'e': {  // APPENDS
        MINIMIND_ASSIGN_OR_RETURN(const std::vector<Value> items, PopToMark());
        return AddItems(Kind::kList, items);
      }
      case '}':  // EMPTY_DICT
        Push(NewSequence(Kind::kDict, {}));
        return absl::OkStatus();
      case 'd': {  // DICT
        MINIMIND_ASSIGN_OR_RETURN(std::vector<Value> items, PopToMark());
        if (items.size() % 2 != 0) return Error("DICT needs key/value pairs");
        Push(NewSequence(Kind::kDict, std::move(items)));
        return absl::OkStatus();
      }
      case 's': {  // SETITEM
        MINIMIND_ASSIGN_OR_RETURN(const Value value, Pop());
        MINIMIND_ASSIGN_OR_RETURN(const Value key, Pop());
        return AddItems(Kind::kDict, {key, value});
      }
      case 'u': {  // SETITEMS
        MINIMIND_ASSIGN_OR_RETURN(const std::vector<Value> items, PopToMark());
        return AddItems(Kind::kDict, items);
      }
      case 'q': {  // BINPUT
        MINIMIND_ASSIGN_OR_RETURN(const uint8_t index, ReadUnsigned<uint8_t>());
        return Memoize(index);
      }
      case 'r': {  // LONG_BINPUT
        MINIMIND_ASSIGN_OR_RETURN(const uint32_t index, ReadUnsigned<uint32_t>());
        return Memoize(index);
      }
      case 0x94:  // MEMOIZE
        return Memoize(memo_.size());
      case 'h': {  // BINGET
        MINIMIND_ASSIGN_OR_RETURN(const uint8_t index, ReadUnsigned<uint8_t>());
        return Fetch(index);
      }
      case 'j': {  // LONG_BINGET
        MINIMIND_ASSIGN_OR_RETURN(const uint32_t index, ReadUnsigned<uint32_t>());
        return Fetch(index);
      }
      case 'c': {  // GLOBAL
        MINIMIND_ASSIGN_OR_RETURN(const std::string module, ReadLine());
        MINIMIND_ASSIGN_OR_RETURN(const std::string name, ReadLine());
        return PushGlobal(module, name);
      }
      case 0x93: {  // STACK_GLOBAL
        MINIMIND_ASSIGN_OR_RETURN(const Value name, Pop());
        MINIMIND_ASSIGN_OR_RETURN(const Value module, Pop());
        if (name.kind != Kind::kString || module.kind != Kind::kString) {
          return Error("STACK_GLOBAL needs two strings");
        }
        return PushGlobal(strings_[module.number], strings_[name.number]);
      }
      case 'Q':  // BINPERSID
        return LoadPersistent();
      case 'R':  // REDUCE
        return Reduce();
      case 'b': {  // BUILD: only the state dict's own `_metadata` attribute, which is ignored.
        MINIMIND_ASSIGN_OR_RETURN(const Value state, Pop());
        (void)state;
        return TopContainer(Kind::kDict).status();
      }
      default:
        return Error("unsupported opcode; this is not a pickle torch.save writes for a state dict");
    }
  }

  absl::StatusOr<std::vector<PickledTensor>> Finish() {
    MINIMIND_ASSIGN_OR_RETURN(const Value result, Pop());
    if (result.kind != Kind::kDict) {
      return Error(
          absl::StrCat("the pickled object is a ", KindName(result.kind), ", not a state dict"));
    }
    const std::vector<Value>& items = sequences_[result.number];
    std::vector<PickledTensor> tensors;
    tensors.reserve(items.size() / 2);
    for (size_t i = 0; i < items.size(); i += 2) {
      const Value& key = items[i];
      const Value& value = items[i + 1];
      if (key.kind != Kind::kString) {
        return Error(absl::StrCat("state dict key is a ", KindName(key.kind), ", not a str"));
      }
      if (value.kind != Kind::kTensor) {
        return Error(absl::StrCat("state dict entry '", strings_[key.number], "' is a ",
                                  KindName(value.kind),
                                  ", not a tensor (is this a training checkpoint rather than "
                                  "a weights file?)"));
      }
      PickledTensor tensor = tensors_[value.number];
      tensor.name = strings_[key.number];
      tensors.push_back(std::move(tensor));
    }
    return tensors;
  }

  absl::Span<const uint8_t> pickle_;
  size_t position_ = 0;
  size_t opcode_offset_ = 0;
  uint8_t opcode_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;  // Stack heights at each open MARK.
  absl::flat_hash_map<uint64_t, Value> memo_;
  std::vector<std::string> strings_;
  std::vector<std::vector<Value>> sequences_;  // Tuples, lists, and dicts as key/value runs.
  std::vector<Storage> storages_;
  std::vector<PickledTensor> tensors_;
};

}  // namespace

absl::StatusOr<std::vector<PickledTensor>> ParseStateDictPickle(absl::Span<const uint8_t> pickle) {
  return Interpreter(pickle).Run();
}

}  // namespace minimind
