#include "engine/model/torch_pickle.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/model/zip_archive.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using std::string_literals::operator""s;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

absl::StatusOr<std::vector<PickledTensor>> Parse(const std::string& pickle) {
  return ParseStateDictPickle(Bytes(pickle));
}

// Opcode spellings, so crafted pickles read like `pickletools.dis` output.
std::string BinUnicode(const std::string& text) {
  const uint32_t size = text.size();
  std::string op = "X";
  op.append(reinterpret_cast<const char*>(&size), 4);
  return op.append(text);
}
std::string Global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
std::string BinInt1(uint8_t value) { return std::string("K") + static_cast<char>(value); }
const std::string kRebuild = Global("torch._utils", "_rebuild_tensor_v2");
const std::string kEmptyHooks = Global("collections", "OrderedDict") + ")R";

// MARK ... TUPLE BINPERSID for a storage reference.
std::string Storage(const std::string& type, const std::string& key, uint8_t elements) {
  return absl::StrCat("(", BinUnicode("storage"), Global("torch", type), BinUnicode(key),
                      BinUnicode("cpu"), BinInt1(elements), "tQ");
}

// _rebuild_tensor_v2(storage, offset, (rows, cols), (cols, 1), False, OrderedDict())
std::string Matrix(const std::string& storage, uint8_t offset, uint8_t rows, uint8_t cols) {
  return kRebuild + "(" + storage + BinInt1(offset) + BinInt1(rows) + BinInt1(cols) + "\x86" +
         BinInt1(cols) + BinInt1(1) + "\x86" + "\x89" + kEmptyHooks + "tR";
}

// {name: tensor} as torch.save writes a plain dict (protocol 2).
std::string StateDict(const std::string& items) { return "\x80\x02}q\x00("s + items + "u."; }

TEST(TorchPickleTest, ParsesACraftedStateDict) {
  const std::string pickle =
      StateDict(BinUnicode("a.weight") + Matrix(Storage("HalfStorage", "0", 6), 0, 2, 3) +
                BinUnicode("b.weight") + Matrix(Storage("BFloat16Storage", "1", 8), 2, 3, 2));
  const absl::StatusOr<std::vector<PickledTensor>> tensors = Parse(pickle);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 2u);
  const PickledTensor& a = (*tensors)[0];
  EXPECT_EQ(a.name, "a.weight");
  EXPECT_EQ(a.storage_key, "0");
  EXPECT_EQ(a.dtype, DType::kF16);
  EXPECT_EQ(a.storage_elements, 6);
  EXPECT_EQ(a.storage_offset, 0);
  EXPECT_THAT(a.shape, ElementsAre(2, 3));
  EXPECT_THAT(a.stride, ElementsAre(3, 1));
  const PickledTensor& b = (*tensors)[1];
  EXPECT_EQ(b.dtype, DType::kBF16);
  EXPECT_EQ(b.storage_offset, 2);
  EXPECT_THAT(b.shape, ElementsAre(3, 2));
}

TEST(TorchPickleTest, ParsesTheCommittedPthPickle) {
  const std::string zip =
      testing::ReadFileOrEmpty(testing::TestDataDir() / "models" / "tiny-llama-pth" / "model.pth");
  const absl::StatusOr<std::vector<ZipEntry>> entries = ReadZipDirectory(Bytes(zip));
  ASSERT_TRUE(entries.ok()) << entries.status();
  const ZipEntry& pickle_entry = (*entries)[0];
  ASSERT_EQ(pickle_entry.name, "model/data.pkl");
  const absl::StatusOr<std::vector<PickledTensor>> tensors =
      Parse(zip.substr(pickle_entry.data_offset, pickle_entry.uncompressed_size));
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 21u);
  // Module registration order, as README.md lists it.
  EXPECT_EQ((*tensors)[0].name, "model.embed_tokens.weight");
  EXPECT_EQ((*tensors)[1].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ((*tensors)[19].name, "model.norm.weight");
  EXPECT_EQ((*tensors)[20].name, "lm_head.weight");
  EXPECT_EQ((*tensors)[0].storage_key, "0");
  EXPECT_EQ((*tensors)[0].storage_elements, 24576);
  EXPECT_THAT((*tensors)[0].shape, ElementsAre(384, 64));
  EXPECT_THAT((*tensors)[19].shape, ElementsAre(64));
  EXPECT_THAT((*tensors)[19].stride, ElementsAre(1));
  for (const PickledTensor& tensor : *tensors) EXPECT_EQ(tensor.dtype, DType::kF16);
}

TEST(TorchPickleTest, RefusesForbiddenGlobals) {
  // The classic exploit shape: os.system("...") via GLOBAL + REDUCE.
  for (const std::string& global :
       {Global("os", "system"), Global("posix", "system"), Global("builtins", "eval"),
        Global("torch._utils", "_rebuild_parameter"), Global("torch", "load"),
        BinUnicode("subprocess") + BinUnicode("call") + "\x93"}) {
    const std::string pickle = "\x80\x02" + global + "(" + BinUnicode("touch /tmp/pwned") + "tR.";
    const absl::Status status = Parse(pickle).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << global;
    EXPECT_THAT(status.message(), HasSubstr("refuses global")) << global;
  }
  const absl::Status status = Parse("\x80\x02" + Global("os", "system")).status();
  EXPECT_THAT(status.message(), HasSubstr("'os.system'"));
}

TEST(TorchPickleTest, UnsupportedStorageTypeIsUnimplemented) {
  const absl::Status status =
      Parse(StateDict(BinUnicode("w") + Matrix(Storage("LongStorage", "0", 6), 0, 2, 3))).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("LongStorage"));
}

TEST(TorchPickleTest, EveryTruncationFails) {
  const std::string pickle =
      StateDict(BinUnicode("a.weight") + Matrix(Storage("FloatStorage", "0", 6), 0, 2, 3));
  ASSERT_TRUE(Parse(pickle).ok());
  for (size_t length = 0; length < pickle.size(); ++length) {
    const absl::Status status = Parse(pickle.substr(0, length)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << length;
  }
}

TEST(TorchPickleTest, EveryByteFlipIsHandled) {
  const std::string pickle =
      StateDict(BinUnicode("a.weight") + Matrix(Storage("FloatStorage", "0", 6), 0, 2, 3));
  for (size_t i = 0; i < pickle.size(); ++i) {
    for (const uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::string corrupted = pickle;
      corrupted[i] = static_cast<char>(corrupted[i] ^ mask);
      (void)Parse(corrupted);  // Must return, never crash or hang.
    }
  }
}

TEST(TorchPickleTest, MalformedPicklesNameTheProblem) {
  struct Case {
    std::string pickle;
    const char* message;
  };
  const Case cases[] = {
      {"", "truncated"},
      {"\x80\x02}.", ""},  // An empty dict is a valid, empty state dict.
      {"\x80\x09}.", "protocol 9"},
      {"\x80\x02\xff", "unsupported opcode"},
      {"\x80\x02.", "empty stack"},
      {"\x80\x02].", "list, not a state dict"},
      {"\x80\x02h\x05", "memo entry 5"},
      {"\x80\x02t", "MARK"},
      {"\x80\x02}(" + BinUnicode("x") + BinInt1(3) + "u.", "'x' is a int, not a tensor"},
      {"\x80\x02}(" + BinInt1(1) + BinInt1(3) + "u.", "key is a int"},
      {"\x80\x02}(" + BinUnicode("x") + "u.", "odd number"},
      {"\x80\x02" + Global("torch", "HalfStorage") + ")R.", "REDUCE may call only"},
      {"\x80\x02" + kRebuild + "(K\x00tR."s, "6 or 7 arguments"},
      {"\x80\x02(K\x01tQ.", "5-tuple"},
      {"\x80\x02\x8a\x09" + std::string(9, '\x01'), "64 bits"},
      {"\x80\x02" + std::string("ctorch"), "newline"},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<std::vector<PickledTensor>> result = Parse(c.pickle);
    if (std::string(c.message).empty()) {
      EXPECT_TRUE(result.ok()) << result.status();
      continue;
    }
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(result.status().message(), HasSubstr(c.message)) << result.status();
  }
}

TEST(TorchPickleTest, LargerDictOpcodes) {
  // LONG_BINPUT/LONG_BINGET (memo past 255), BININT sizes, TUPLE3, a storage shared by two
  // tensors via the memo, and `model.state_dict()` saved directly: an OrderedDict with BUILD
  // of its `_metadata`.
  const std::string storage = Storage("FloatStorage", "7", 200) + "r\x00\x01\x00\x00"s;
  const std::string first = kRebuild + "(" + storage + BinInt1(0) + "J\x02\x00\x00\x00"s +
                            BinInt1(2) + BinInt1(5) + "\x87" + BinInt1(10) + BinInt1(5) +
                            BinInt1(1) + "\x87\x89" + kEmptyHooks + "tR";
  const std::string second = kRebuild + "(j\x00\x01\x00\x00"s + BinInt1(20) + BinInt1(30) + "\x85" +
                             BinInt1(1) + "\x85\x88" + kEmptyHooks + "N" + "tR";
  const std::string metadata =
      "}(" + BinUnicode("") + "}(" + BinUnicode("version") + BinInt1(1) + "uu";
  const std::string pickle = "\x80\x02" + kEmptyHooks + "(" + BinUnicode("first") + first +
                             BinUnicode("second") + second + "u" + metadata + "b.";
  const absl::StatusOr<std::vector<PickledTensor>> tensors = Parse(pickle);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 2u);
  EXPECT_EQ((*tensors)[0].name, "first");
  EXPECT_THAT((*tensors)[0].shape, ElementsAre(2, 2, 5));
  EXPECT_THAT((*tensors)[0].stride, ElementsAre(10, 5, 1));
  EXPECT_EQ((*tensors)[1].name, "second");
  EXPECT_EQ((*tensors)[1].storage_key, "7");
  EXPECT_EQ((*tensors)[1].storage_elements, 200);
  EXPECT_EQ((*tensors)[1].storage_offset, 20);
  EXPECT_THAT((*tensors)[1].shape, ElementsAre(30));
}

TEST(TorchPickleTest, MemoAliasingIsLinearNotExponential) {
  // Doubling a tuple through the memo 60 times would need 2^60 elements if values were copied.
  std::string pickle = "\x80\x02" + BinUnicode("leaf") + "q\x00"s;
  for (int i = 0; i < 60; ++i) pickle += "h\x00h\x00\x86q\x00"s;
  pickle += "0}.";  // Not a valid opcode ('0' is POP, unsupported): the point is to get here.
  const absl::Status status = Parse(pickle).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unsupported opcode"));
}

}  // namespace
}  // namespace minimind
