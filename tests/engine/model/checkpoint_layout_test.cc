#include "engine/model/checkpoint_layout.h"

#include <set>
#include <string>

#include "engine/model/model_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;

ModelConfig Committed(const std::string& model) {
  absl::StatusOr<ModelConfig> config = ParseModelConfig(
      testing::ReadFileOrEmpty(testing::TestDataDir() / "models" / model / "config.json"));
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

const WeightSlot* Find(const std::vector<WeightSlot>& slots, const std::string& name) {
  for (const WeightSlot& slot : slots) {
    if (slot.name == name) return &slot;
  }
  return nullptr;
}

TEST(CheckpointLayoutTest, TiedLlama) {
  ModelWeights weights;
  const std::vector<WeightSlot> slots = CheckpointLayout(Committed("tiny-llama"), weights);
  EXPECT_EQ(slots.size(), 20u);
  EXPECT_EQ(slots[0].name, "model.embed_tokens.weight");
  EXPECT_THAT(slots[0].shape, ElementsAre(384, 64));
  EXPECT_EQ(slots[0].destination, &weights.embed_tokens);
  EXPECT_EQ(Find(slots, "lm_head.weight"), nullptr);
  ASSERT_EQ(weights.layers.size(), 2u);
  const WeightSlot* k_proj = Find(slots, "model.layers.1.self_attn.k_proj.weight");
  ASSERT_NE(k_proj, nullptr);
  EXPECT_THAT(k_proj->shape, ElementsAre(32, 64));
  EXPECT_EQ(k_proj->destination, &weights.layers[1].attention.k_proj);
  const WeightSlot* down = Find(slots, "model.layers.0.mlp.down_proj.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_THAT(down->shape, ElementsAre(64, 128));
  EXPECT_EQ(down->destination, &weights.layers[0].mlp.down_proj);
}

TEST(CheckpointLayoutTest, Qwen2BiasesAndQwen3Norms) {
  ModelWeights qwen2;
  const std::vector<WeightSlot> qwen2_slots = CheckpointLayout(Committed("tiny-qwen2"), qwen2);
  const WeightSlot* bias = Find(qwen2_slots, "model.layers.0.self_attn.k_proj.bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_THAT(bias->shape, ElementsAre(32));
  EXPECT_EQ(bias->destination, &qwen2.layers[0].attention.k_bias);
  EXPECT_EQ(Find(qwen2_slots, "model.layers.0.self_attn.o_proj.bias"), nullptr);
  EXPECT_NE(Find(qwen2_slots, "lm_head.weight"), nullptr);

  ModelWeights qwen3;
  const std::vector<WeightSlot> qwen3_slots = CheckpointLayout(Committed("tiny-qwen3"), qwen3);
  const WeightSlot* q_norm = Find(qwen3_slots, "model.layers.1.self_attn.q_norm.weight");
  ASSERT_NE(q_norm, nullptr);
  EXPECT_THAT(q_norm->shape, ElementsAre(24));
  EXPECT_THAT(Find(qwen3_slots, "model.layers.1.self_attn.q_proj.weight")->shape,
              ElementsAre(96, 64));
  EXPECT_THAT(Find(qwen3_slots, "model.layers.1.self_attn.o_proj.weight")->shape,
              ElementsAre(64, 96));
}

TEST(CheckpointLayoutTest, MoeLayouts) {
  ModelWeights qwen3_moe;
  const std::vector<WeightSlot> slots = CheckpointLayout(Committed("tiny-qwen3-moe"), qwen3_moe);
  EXPECT_EQ(slots.size(), 3u + 2 * 21);
  EXPECT_EQ(qwen3_moe.layers[0].moe.experts.size(), 4u);
  EXPECT_TRUE(qwen3_moe.layers[0].moe.shared_experts.empty());
  EXPECT_THAT(Find(slots, "model.layers.0.mlp.gate.weight")->shape, ElementsAre(4, 64));
  const WeightSlot* expert = Find(slots, "model.layers.1.mlp.experts.3.down_proj.weight");
  ASSERT_NE(expert, nullptr);
  EXPECT_THAT(expert->shape, ElementsAre(64, 32));
  EXPECT_EQ(expert->destination, &qwen3_moe.layers[1].moe.experts[3].down_proj);
  EXPECT_EQ(Find(slots, "model.layers.0.mlp.gate_proj.weight"), nullptr);

  ModelWeights minimind;
  const std::vector<WeightSlot> minimind_slots =
      CheckpointLayout(Committed("tiny-minimind-moe"), minimind);
  EXPECT_EQ(minimind.layers[1].moe.shared_experts.size(), 1u);
  const WeightSlot* shared =
      Find(minimind_slots, "model.layers.1.mlp.shared_experts.0.up_proj.weight");
  ASSERT_NE(shared, nullptr);
  EXPECT_THAT(shared->shape, ElementsAre(32, 64));
  EXPECT_EQ(shared->destination, &minimind.layers[1].moe.shared_experts[0].up_proj);
}

TEST(CheckpointLayoutTest, NamesAreUniqueAndDestinationsDistinct) {
  for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-qwen3-moe",
                            "tiny-minimind-moe", "tiny-llama-yarn"}) {
    ModelWeights weights;
    const std::vector<WeightSlot> slots = CheckpointLayout(Committed(model), weights);
    std::set<std::string> names;
    std::set<const Tensor*> destinations;
    for (const WeightSlot& slot : slots) {
      names.insert(slot.name);
      destinations.insert(slot.destination);
    }
    EXPECT_EQ(names.size(), slots.size()) << model;
    EXPECT_EQ(destinations.size(), slots.size()) << model;
  }
}

}  // namespace
}  // namespace minimind
