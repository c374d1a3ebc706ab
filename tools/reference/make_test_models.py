#!/usr/bin/python3
"""Creates the tiny random test checkpoints under tests/data/models/<name>/ (deterministic, bit-for-bit).

Every model: vocab 384, hidden 64, 2 layers, 4 query heads / 2 kv heads, max_position_embeddings 512.
Weights come from torch.Generator(seed) in the order of reference_model.expected_tensor_shapes, are drawn in
float32 and then rounded to the stored dtype. Scales (see init_std) keep activations O(1) and make the
next-token distributions peaked enough that greedy decoding is not decided by noise.

  tiny-llama         llama, F32, tied embeddings (as MiniMind2's llama export), rope_theta 1e6, eps 1e-5
  tiny-llama-f16     the same weights rounded to F16
  tiny-llama-pth     the same F16 weights as a MiniMind trainer checkpoint (torch.save of a dict), + config.json
  tiny-qwen2         qwen2, F32, q/k/v biases, untied lm_head
  tiny-qwen3         qwen3, BF16, head_dim 24 (!= 64/4), q_norm/k_norm, tied embeddings
  tiny-qwen3-moe     qwen3_moe, F16, 4 experts top-1 (norm_topk_prob false), untied, 2 safetensors shards
  tiny-minimind-moe  minimind (MiniMind2 config), F32, 4 routed experts top-2 + 1 shared, tied
  tiny-llama-yarn    llama, F32, YaRN factor 4 over original_max_position_embeddings 128, untied

Usage: /usr/bin/python3 tools/reference/make_test_models.py [--out tests/data/models]
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_model  # noqa: E402
import safetensors_io  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "data", "models")

_COMMON = {
    "vocab_size": 384,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
    "hidden_act": "silu",
    "bos_token_id": 1,
    "eos_token_id": 2,
}

CONFIGS = {
    "tiny-llama": {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", **_COMMON,
        "intermediate_size": 128, "rms_norm_eps": 1e-5, "rope_theta": 1000000.0, "rope_scaling": None,
        "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": True, "torch_dtype": "float32",
    },
    "tiny-qwen2": {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", **_COMMON,
        "intermediate_size": 128, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None,
        "use_sliding_window": False, "tie_word_embeddings": False, "torch_dtype": "float32",
    },
    "tiny-qwen3": {
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", **_COMMON,
        "head_dim": 24, "intermediate_size": 128, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "rope_scaling": None, "attention_bias": False, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
    },
    "tiny-qwen3-moe": {
        "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", **_COMMON,
        "head_dim": 16, "intermediate_size": 128, "moe_intermediate_size": 32, "num_experts": 4,
        "num_experts_per_tok": 1, "norm_topk_prob": False, "decoder_sparse_step": 1, "mlp_only_layers": [],
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None, "attention_bias": False,
        "tie_word_embeddings": False, "torch_dtype": "float16",
    },
    "tiny-minimind-moe": {
        # MiniMindConfig (MiniMind2, model/model_minimind.py) keys; experts are FeedForward(intermediate_size).
        "architectures": ["MiniMindForCausalLM"], "model_type": "minimind", **_COMMON,
        "intermediate_size": 32, "rms_norm_eps": 1e-5, "rope_theta": 1000000.0,
        "inference_rope_scaling": False, "rope_scaling": None, "dropout": 0.0, "flash_attn": True,
        "use_moe": True, "n_routed_experts": 4, "num_experts_per_tok": 2, "n_shared_experts": 1,
        "scoring_func": "softmax", "aux_loss_alpha": 0.01, "seq_aux": True, "norm_topk_prob": True,
        "tie_word_embeddings": True, "torch_dtype": "float32",
    },
    "tiny-llama-yarn": {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", **_COMMON,
        "head_dim": 16, "intermediate_size": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128,
                         "beta_fast": 32.0, "beta_slow": 1.0},
        "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False, "torch_dtype": "float32",
    },
}

# tiny-llama's architecture expressed as MiniMind2's own MiniMindConfig (dense), for the .pth sidecar.
PTH_CONFIG = {
    "architectures": ["MiniMindForCausalLM"], "model_type": "minimind", **_COMMON,
    "intermediate_size": 128, "rms_norm_eps": 1e-5, "rope_theta": 1000000.0,
    "inference_rope_scaling": False, "rope_scaling": None, "dropout": 0.0, "flash_attn": True,
    "use_moe": False, "tie_word_embeddings": True, "torch_dtype": "float16",
}

SEEDS = {
    "tiny-llama": 1001,
    "tiny-qwen2": 1002,
    "tiny-qwen3": 1003,
    "tiny-qwen3-moe": 1004,
    "tiny-minimind-moe": 1005,
    "tiny-llama-yarn": 1006,
}

STORED_DTYPE = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def init_std(name, shape):
    """Standard deviation of N(0, std) for a tensor; None means 'norm weight' (1 + 0.1 * N(0, 1))."""
    if name.endswith("norm.weight"):
        return None
    if name.endswith(".bias"):
        return 0.1
    if name in ("model.embed_tokens.weight", "lm_head.weight"):
        return 0.25     # logits = normed hidden (rms 1) . row -> std ~ 0.25 * sqrt(64) = 2
    if name.endswith("mlp.gate.weight"):
        return 0.25     # router logits std ~2: decisive routing, large top-k margins
    fan_in = shape[1]
    if name.endswith(("q_proj.weight", "k_proj.weight")):
        return 1.25 / fan_in ** 0.5
    return 1.0 / fan_in ** 0.5


def random_weights(config, seed):
    """{name: float32 tensor} drawn from one generator in expected_tensor_shapes order."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, shape in reference_model.expected_tensor_shapes(config).items():
        noise = torch.randn(shape, generator=generator, dtype=torch.float32)
        std = init_std(name, shape)
        tensors[name] = 1.0 + 0.1 * noise if std is None else std * noise
    return tensors


def write_config(directory, raw_config):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as out:
        json.dump(raw_config, out, indent=2)
        out.write("\n")


def minimind_state_dict_order(config):
    """Key order of MiniMind2's MiniMindForCausalLM.state_dict() for a dense model (module registration order)."""
    names = ["model.embed_tokens.weight"]
    for i in range(config.num_layers):
        p = f"model.layers.{i}"
        names += [f"{p}.self_attn.q_proj.weight", f"{p}.self_attn.k_proj.weight",
                  f"{p}.self_attn.v_proj.weight", f"{p}.self_attn.o_proj.weight",
                  f"{p}.input_layernorm.weight", f"{p}.post_attention_layernorm.weight",
                  f"{p}.mlp.gate_proj.weight", f"{p}.mlp.down_proj.weight", f"{p}.mlp.up_proj.weight"]
    return names + ["model.norm.weight", "lm_head.weight"]


def write_minimind_pth(directory, config, f32_tensors):
    """A MiniMind trainer checkpoint: torch.save({k: v.half() for k, v in model.state_dict().items()}).

    MiniMind2 ties lm_head to embed_tokens, so its state_dict holds both keys for one parameter; `.half()`
    copies each, so the file has two separate (equal) storages.
    """
    state = {}
    for name in minimind_state_dict_order(config):
        source = f32_tensors["model.embed_tokens.weight" if name == "lm_head.weight" else name]
        state[name] = source.half()
    write_config(directory, PTH_CONFIG)
    torch.save(state, os.path.join(directory, "model.pth"))


def make_model(out_dir, name):
    raw = CONFIGS[name]
    config = reference_model.parse_config(raw)
    stored_dtype = STORED_DTYPE[raw["torch_dtype"]]
    f32 = random_weights(config, SEEDS[name])
    stored = {k: v.to(stored_dtype) for k, v in f32.items()}
    directory = os.path.join(out_dir, name)
    write_config(directory, raw)
    metadata = {"format": "pt"}
    if name == "tiny-qwen3-moe":
        first = sorted(n for n in stored if n.startswith(("model.embed_tokens.", "model.layers.0.")))
        second = sorted(n for n in stored if n not in first)
        safetensors_io.save_sharded(stored, directory, [first, second], metadata)
    else:
        safetensors_io.save_file(stored, os.path.join(directory, "model.safetensors"), metadata)
    return config, f32


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)

    for name in CONFIGS:
        config, f32 = make_model(args.out, name)
        if name == "tiny-llama":
            half = {k: v.half() for k, v in f32.items()}
            f16_raw = dict(CONFIGS[name], torch_dtype="float16")
            directory = os.path.join(args.out, "tiny-llama-f16")
            write_config(directory, f16_raw)
            safetensors_io.save_file(half, os.path.join(directory, "model.safetensors"), {"format": "pt"})
            write_minimind_pth(os.path.join(args.out, "tiny-llama-pth"), config, f32)

    for name in sorted(os.listdir(args.out)):
        directory = os.path.join(args.out, name)
        if name not in CONFIGS and name not in ("tiny-llama-f16", "tiny-llama-pth"):
            continue
        files = sorted(f for f in os.listdir(directory) if f != "golden.json")
        size = sum(os.path.getsize(os.path.join(directory, f)) for f in files)
        print(f"{name:20s} {size / 1024:7.1f} KiB  {' '.join(files)}")


if __name__ == "__main__":
    main()
