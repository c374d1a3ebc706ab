#include "engine/model/forward_scratch.h"

#include "engine/model/model_config.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

ModelConfig MoeConfig() {
  ModelConfig config;
  config.vocab_size = 100;
  config.hidden_size = 8;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = 6;
  config.num_experts = 5;
  config.experts_per_token = 2;
  config.num_shared_experts = 1;
  return config;
}

TEST(ForwardScratchTest, ReserveSizesEveryBufferForTheBatch) {
  ForwardScratch scratch;
  scratch.Reserve(MoeConfig(), /*max_mlp_width=*/12, /*num_tokens=*/3, /*num_logits_rows=*/2,
                  /*max_keys=*/40, /*batch_size=*/2);
  EXPECT_EQ(scratch.hidden.size(), 3u * 8);
  EXPECT_EQ(scratch.q.size(), 3u * 24);
  EXPECT_EQ(scratch.k.size(), 3u * 12);
  // A MoE layer's MLP rows: 3 tokens x (2 routed experts + 1 shared expert).
  EXPECT_EQ(scratch.gate.size(), 3u * 3 * 12);
  EXPECT_EQ(scratch.router_probs.size(), 3u * 5);
  EXPECT_EQ(scratch.expert_begin.size(), 5u + 1);
  EXPECT_EQ(scratch.expert_slots.size(), 3u * 2);
  EXPECT_EQ(scratch.slot_gathered.size(), 3u * 2);
  EXPECT_EQ(scratch.expert_input.size(), 3u * 2 * 8);
  EXPECT_EQ(scratch.expert_output.size(), 3u * 3 * 8);
  ASSERT_EQ(scratch.attention_workers.size(), 1u);
  // kAttentionTokensPerTask tokens x 2 query heads per kv head = 8 queries per task: their
  // scores over 40 keys, then one chunk of widened rows.
  EXPECT_EQ(scratch.attention_workers[0].queries.size(), 8u);
  EXPECT_EQ(scratch.attention_workers[0].scratch.size(), 8u * 40 + kAttentionKeyChunk * 6);
  EXPECT_EQ(scratch.run_begin.size(), 2u * 2 + 1);
  EXPECT_EQ(scratch.sequence_rows.size(), 3u);
  EXPECT_EQ(scratch.logits_source.size(), 2u);
  EXPECT_EQ(scratch.logits.size(), 2u * 100);
}

TEST(ForwardScratchTest, EveryWorkerGetsItsOwnAttentionScratch) {
  ForwardScratch scratch;
  scratch.Reserve(MoeConfig(), 12, 3, 2, 40, 2, /*num_workers=*/3);
  ASSERT_EQ(scratch.attention_workers.size(), 3u);
  for (const ForwardScratch::AttentionWorker& worker : scratch.attention_workers) {
    EXPECT_EQ(worker.queries.size(), 8u);
    EXPECT_EQ(worker.scratch.size(), 8u * 40 + kAttentionKeyChunk * 6);
  }
  EXPECT_NE(scratch.attention_workers[0].scratch.data(),
            scratch.attention_workers[1].scratch.data());
}

TEST(ForwardScratchTest, BuffersOnlyGrow) {
  ForwardScratch scratch;
  scratch.Reserve(MoeConfig(), 12, 10, 10, 100, 4);
  const float* hidden = scratch.hidden.data();
  scratch.Reserve(MoeConfig(), 12, 1, 1, 11, 1);  // A smaller (decode) batch: no reallocation.
  EXPECT_EQ(scratch.hidden.size(), 10u * 8);
  EXPECT_EQ(scratch.hidden.data(), hidden);
  EXPECT_EQ(scratch.logits.size(), 10u * 100);
}

}  // namespace
}  // namespace minimind
