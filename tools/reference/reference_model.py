#!/usr/bin/python3
"""Independent reference forward pass for the MiniMind family of decoder-only LLMs.

Written from the architecture descriptions (see README.md beside this file), not from MiniMind's or HF
transformers' code. It exists to produce golden logits/logprobs that the C++ engine is tested against, so it
favours obviousness over speed: one sequence, no batching, every step spelled out.

Supported `model_type`s (HF config.json):
  llama      RMSNorm, GQA attention, NeoX-style RoPE, SwiGLU MLP, no biases (optional `attention_bias`).
  qwen2      llama + biases on q/k/v projections.
  qwen3      llama + per-head RMSNorm on q and k (before RoPE); `head_dim` from config.
  qwen3_moe  qwen3 attention + softmax-top-k routed experts.
  minimind   MiniMind2's own config (MiniMindConfig): llama-style attention (head_dim = hidden/heads),
             dense SwiGLU or (use_moe) routed experts + always-on shared experts.

All math runs in the dtype passed to `load_model` (float32 or float64); weights are read in their stored
dtype (F32/F16/BF16) and upcast once.
"""

import dataclasses
import json
import math
import os
from typing import List, Optional, Tuple

import torch

import safetensors_io

SUPPORTED_MODEL_TYPES = ("llama", "qwen2", "qwen3", "qwen3_moe", "minimind")


# ----------------------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class YarnConfig:
    factor: float                  # s
    original_max_positions: int    # L
    beta_fast: float
    beta_slow: float
    attention_factor: float        # multiplies cos and sin (so q.k scales by its square)
    truncate: bool                 # floor/ceil the correction range (HF default True)
    high_clamp: int                # upper clamp of the correction range: head_dim - 1 (HF), head_dim/2 - 1 (MiniMind)
    enabled: bool                  # MiniMind applies YaRN only when max_position_embeddings > L


@dataclasses.dataclass(frozen=True)
class MoeConfig:
    num_experts: int               # routed experts
    top_k: int
    norm_topk_prob: bool           # renormalise the k selected probabilities to sum to 1
    expert_intermediate_size: int
    num_shared_experts: int        # always-on experts added with weight 1 (MiniMind2 only)
    sparse_layers: Tuple[bool, ...]  # per layer: True = MoE MLP, False = dense MLP


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    model_type: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int         # dense MLP width
    rms_norm_eps: float
    rope_theta: float
    max_position_embeddings: int
    tie_word_embeddings: bool
    qkv_bias: bool
    o_bias: bool
    qk_norm: bool
    yarn: Optional[YarnConfig]
    moe: Optional[MoeConfig]


# Defaults of each architecture's own config class when a key is absent from config.json.
_TIE_DEFAULT = {"llama": False, "qwen2": False, "qwen3": False, "qwen3_moe": False, "minimind": True}
_EPS_DEFAULT = {"llama": 1e-6, "qwen2": 1e-6, "qwen3": 1e-6, "qwen3_moe": 1e-6, "minimind": 1e-5}
_THETA_DEFAULT = {"llama": 10000.0, "qwen2": 10000.0, "qwen3": 10000.0, "qwen3_moe": 10000.0, "minimind": 1e6}

# MiniMind2 builds this rope_scaling itself when `inference_rope_scaling` is true and none is given.
_MINIMIND_DEFAULT_YARN = {"type": "yarn", "factor": 16, "original_max_position_embeddings": 2048,
                          "beta_fast": 32, "beta_slow": 1, "attention_factor": 1.0}


def _yarn_mscale(scale, mscale=1.0):
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def _parse_yarn(raw, model_type, head_dim, max_positions):
    """rope_scaling dict -> YarnConfig (None for no scaling). See yarn_inv_freq for the formula."""
    if raw is None:
        return None
    kind = raw.get("rope_type", raw.get("type"))
    if kind in (None, "default"):
        return None
    if kind != "yarn":
        raise NotImplementedError(f"rope_scaling type {kind!r} is not supported (only yarn)")
    original = raw.get("original_max_position_embeddings") or max_positions
    factor = raw.get("factor")
    if factor is None:
        factor = max_positions / original
    factor = float(factor)
    attention_factor = raw.get("attention_factor")
    if attention_factor is None:
        mscale, mscale_all_dim = raw.get("mscale"), raw.get("mscale_all_dim")
        if mscale and mscale_all_dim:
            attention_factor = _yarn_mscale(factor, mscale) / _yarn_mscale(factor, mscale_all_dim)
        else:
            attention_factor = _yarn_mscale(factor)
    is_minimind = model_type == "minimind"
    return YarnConfig(
        factor=factor,
        original_max_positions=int(original),
        beta_fast=float(raw.get("beta_fast") or 32),
        beta_slow=float(raw.get("beta_slow") or 1),
        attention_factor=float(attention_factor),
        truncate=bool(raw.get("truncate", True)),
        high_clamp=head_dim // 2 - 1 if is_minimind else head_dim - 1,
        enabled=(max_positions / original > 1.0) if is_minimind else True,
    )


def _minimind_default_intermediate(hidden_size):
    # MiniMind2: 64 * ceil(int(hidden * 8 / 3) / 64)
    width = int(hidden_size * 8 / 3)
    return 64 * ((width + 64 - 1) // 64)


def parse_config(raw):
    """HF config.json dict -> ModelConfig. Raises on features the reference does not implement."""
    model_type = raw["model_type"]
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise NotImplementedError(f"model_type {model_type!r} is not supported")
    if raw.get("hidden_act", "silu") != "silu":
        raise NotImplementedError(f"hidden_act {raw['hidden_act']!r} is not supported")
    if raw.get("partial_rotary_factor", 1.0) != 1.0:
        raise NotImplementedError("partial_rotary_factor != 1 is not supported")
    if raw.get("use_sliding_window", False):
        raise NotImplementedError("sliding-window attention is not supported")
    if raw.get("mlp_bias", False):
        raise NotImplementedError("mlp_bias is not supported")

    hidden = raw["hidden_size"]
    num_heads = raw["num_attention_heads"]
    num_kv_heads = raw.get("num_key_value_heads") or num_heads
    num_layers = raw["num_hidden_layers"]
    if model_type == "minimind":
        head_dim = hidden // num_heads          # MiniMind2 ignores any head_dim key
    else:
        head_dim = raw.get("head_dim") or hidden // num_heads
    intermediate = raw.get("intermediate_size")
    if intermediate is None:
        if model_type != "minimind":
            raise ValueError("intermediate_size is required")
        intermediate = _minimind_default_intermediate(hidden)
    max_positions = raw.get("max_position_embeddings", 32768 if model_type == "minimind" else 2048)

    rope_scaling = raw.get("rope_scaling")
    if model_type == "minimind" and rope_scaling is None and raw.get("inference_rope_scaling", False):
        rope_scaling = _MINIMIND_DEFAULT_YARN

    attention_bias = bool(raw.get("attention_bias", False))
    if model_type == "qwen2":
        qkv_bias, o_bias = True, False           # Qwen2 always has q/k/v biases and never an o bias
    else:
        qkv_bias, o_bias = attention_bias, attention_bias

    moe = None
    if model_type == "qwen3_moe":
        step = raw.get("decoder_sparse_step", 1)
        mlp_only = set(raw.get("mlp_only_layers", []))
        num_experts = raw["num_experts"]
        moe = MoeConfig(
            num_experts=num_experts,
            top_k=raw["num_experts_per_tok"],
            norm_topk_prob=bool(raw.get("norm_topk_prob", False)),
            expert_intermediate_size=raw["moe_intermediate_size"],
            num_shared_experts=0,
            sparse_layers=tuple(i not in mlp_only and num_experts > 0 and (i + 1) % step == 0
                                for i in range(num_layers)),
        )
    elif model_type == "minimind" and raw.get("use_moe", False):
        if raw.get("scoring_func", "softmax") != "softmax":
            raise NotImplementedError(f"scoring_func {raw['scoring_func']!r} is not supported")
        moe = MoeConfig(
            num_experts=raw.get("n_routed_experts", 4),
            top_k=raw.get("num_experts_per_tok", 2),
            norm_topk_prob=bool(raw.get("norm_topk_prob", True)),
            expert_intermediate_size=intermediate,   # MiniMind2 experts are full-width FeedForwards
            num_shared_experts=raw.get("n_shared_experts", 1),
            sparse_layers=(True,) * num_layers,
        )

    return ModelConfig(
        model_type=model_type,
        vocab_size=raw["vocab_size"],
        hidden_size=hidden,
        num_layers=num_layers,
        num_heads=num_heads,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
        intermediate_size=intermediate,
        rms_norm_eps=float(raw.get("rms_norm_eps", _EPS_DEFAULT[model_type])),
        rope_theta=float(raw.get("rope_theta", _THETA_DEFAULT[model_type])),
        max_position_embeddings=max_positions,
        tie_word_embeddings=bool(raw.get("tie_word_embeddings", _TIE_DEFAULT[model_type])),
        qkv_bias=qkv_bias,
        o_bias=o_bias,
        qk_norm=model_type in ("qwen3", "qwen3_moe"),
        yarn=_parse_yarn(rope_scaling, model_type, head_dim, max_positions),
        moe=moe,
    )


# ----------------------------------------------------------------------------------------------------------
# Tensor names
# ----------------------------------------------------------------------------------------------------------

def expected_tensor_shapes(config):
    """{tensor name: shape} that a checkpoint of this config holds (HF/MiniMind naming)."""
    h, d = config.hidden_size, config.head_dim
    q_width, kv_width = config.num_heads * d, config.num_kv_heads * d
    shapes = {"model.embed_tokens.weight": (config.vocab_size, h), "model.norm.weight": (h,)}
    if not config.tie_word_embeddings:
        shapes["lm_head.weight"] = (config.vocab_size, h)

    def add_mlp(prefix, width):
        shapes[f"{prefix}.gate_proj.weight"] = (width, h)
        shapes[f"{prefix}.up_proj.weight"] = (width, h)
        shapes[f"{prefix}.down_proj.weight"] = (h, width)

    for i in range(config.num_layers):
        p = f"model.layers.{i}"
        shapes[f"{p}.input_layernorm.weight"] = (h,)
        shapes[f"{p}.post_attention_layernorm.weight"] = (h,)
        shapes[f"{p}.self_attn.q_proj.weight"] = (q_width, h)
        shapes[f"{p}.self_attn.k_proj.weight"] = (kv_width, h)
        shapes[f"{p}.self_attn.v_proj.weight"] = (kv_width, h)
        shapes[f"{p}.self_attn.o_proj.weight"] = (h, q_width)
        if config.qkv_bias:
            shapes[f"{p}.self_attn.q_proj.bias"] = (q_width,)
            shapes[f"{p}.self_attn.k_proj.bias"] = (kv_width,)
            shapes[f"{p}.self_attn.v_proj.bias"] = (kv_width,)
        if config.o_bias:
            shapes[f"{p}.self_attn.o_proj.bias"] = (h,)
        if config.qk_norm:
            shapes[f"{p}.self_attn.q_norm.weight"] = (d,)
            shapes[f"{p}.self_attn.k_norm.weight"] = (d,)
        moe = config.moe
        if moe is not None and moe.sparse_layers[i]:
            shapes[f"{p}.mlp.gate.weight"] = (moe.num_experts, h)
            for e in range(moe.num_experts):
                add_mlp(f"{p}.mlp.experts.{e}", moe.expert_intermediate_size)
            for s in range(moe.num_shared_experts):
                add_mlp(f"{p}.mlp.shared_experts.{s}", moe.expert_intermediate_size)
        else:
            add_mlp(f"{p}.mlp", config.intermediate_size)
    return shapes


# ----------------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Model:
    config: ModelConfig
    weights: dict        # name -> tensor in the compute dtype
    dtype: torch.dtype   # compute dtype

    def w(self, name):
        return self.weights[name]

    def output_embedding(self):
        # [vocab, hidden]
        if self.config.tie_word_embeddings:
            return self.weights["model.embed_tokens.weight"]
        return self.weights["lm_head.weight"]


def read_config(directory):
    with open(os.path.join(directory, "config.json")) as f:
        return json.load(f)


def load_stored_tensors(directory):
    """{name: tensor in stored dtype} from model.safetensors, a sharded index, or a MiniMind model.pth."""
    pth = os.path.join(directory, "model.pth")
    if os.path.exists(pth):
        return dict(torch.load(pth, map_location="cpu"))
    return safetensors_io.load_checkpoint(directory)


def build_model(config, stored, dtype):
    """Validates names/shapes strictly and upcasts every tensor to `dtype`."""
    expected = expected_tensor_shapes(config)
    extra = set(stored) - set(expected)
    # A tied MiniMind .pth still carries lm_head.weight (a copy of the embedding): tolerated, unused.
    if config.tie_word_embeddings:
        extra.discard("lm_head.weight")
    missing = set(expected) - set(stored)
    if missing or extra:
        raise ValueError(f"tensor names differ: missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}")
    weights = {}
    for name, shape in expected.items():
        tensor = stored[name]
        if tuple(tensor.shape) != shape:
            raise ValueError(f"{name}: shape {tuple(tensor.shape)}, expected {shape}")
        weights[name] = tensor.to(dtype)
    return Model(config=config, weights=weights, dtype=dtype)


def load_model(directory, dtype=torch.float32):
    config = parse_config(read_config(directory))
    return build_model(config, load_stored_tensors(directory), dtype)


# ----------------------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------------------

def rms_norm(x, weight, eps):
    # x: [..., n], weight: [n] -> [..., n];  y = w * x / sqrt(mean(x^2) + eps)
    return weight * (x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps))


def linear(x, weight, bias=None):
    # x: [T, in], weight: [out, in], bias: [out] -> [T, out]
    y = x @ weight.t()
    return y if bias is None else y + bias


def yarn_inv_freq(inv_freq, yarn, head_dim, theta):
    """YaRN frequency interpolation (Peng et al. 2023, as implemented by HF `_compute_yarn_parameters`).

    d = head_dim, b = rope_theta, s = factor, L = original_max_position_embeddings, i = 0 .. d/2-1:
        inv_freq_i  = b^(-2i/d)
        corr(r)     = d * ln(L / (2*pi*r)) / (2 * ln b)         # dimension whose wavelength makes r turns in L
        low         = max(floor(corr(beta_fast)), 0)            # no floor/ceil when truncate == false
        high        = min(ceil(corr(beta_slow)), d - 1)         # MiniMind2's own YaRN clamps to d/2 - 1
        if low == high: high += 0.001
        ramp_i      = clamp((i - low) / (high - low), 0, 1)     # 0 = keep (extrapolate), 1 = interpolate
        inv_freq'_i = inv_freq_i * ((1 - ramp_i) + ramp_i / s)
    The attention factor (0.1*ln(s) + 1 unless given) multiplies cos and sin, see rope_tables.
    """
    # inv_freq: [d/2] float64 -> [d/2] float64
    def corr(rotations):
        return head_dim * math.log(yarn.original_max_positions / (rotations * 2 * math.pi)) / (2 * math.log(theta))

    low, high = corr(yarn.beta_fast), corr(yarn.beta_slow)
    if yarn.truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, yarn.high_clamp)
    if low == high:
        high += 0.001
    i = torch.arange(head_dim // 2, dtype=torch.float64)
    ramp = torch.clamp((i - low) / (high - low), 0.0, 1.0)
    return inv_freq * ((1.0 - ramp) + ramp / yarn.factor)


def rope_inv_freq(config):
    # [d/2] float64: inv_freq_i = theta^(-2i/d), YaRN-scaled when configured.
    d = config.head_dim
    i = torch.arange(d // 2, dtype=torch.float64)
    inv_freq = 1.0 / torch.pow(torch.tensor(config.rope_theta, dtype=torch.float64), 2.0 * i / d)
    if config.yarn is not None and config.yarn.enabled:
        inv_freq = yarn_inv_freq(inv_freq, config.yarn, d, config.rope_theta)
    return inv_freq


def rope_tables(config, positions, dtype):
    """cos, sin: [T, d/2] for the given absolute positions, computed in float64 then rounded to dtype."""
    angles = torch.tensor(positions, dtype=torch.float64)[:, None] * rope_inv_freq(config)[None, :]
    scale = config.yarn.attention_factor if (config.yarn is not None and config.yarn.enabled) else 1.0
    return (torch.cos(angles) * scale).to(dtype), (torch.sin(angles) * scale).to(dtype)


def apply_rope(x, cos, sin):
    """NeoX / rotate_half RoPE: element i is paired with element i + d/2.

    x: [T, heads, d], cos/sin: [T, d/2] -> [T, heads, d]
        out[i]       = x[i] * cos_i - x[i + d/2] * sin_i
        out[i + d/2] = x[i + d/2] * cos_i + x[i] * sin_i
    """
    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., half:]
    cos, sin = cos[:, None, :], sin[:, None, :]
    return torch.cat([first * cos - second * sin, second * cos + first * sin], dim=-1)


class KVCache:
    """Per-layer keys (after RoPE) and values of the positions processed so far."""

    def __init__(self, num_layers):
        self.keys = [None] * num_layers     # each [T_past, kv_heads, d]
        self.values = [None] * num_layers   # each [T_past, kv_heads, d]

    def length(self):
        return 0 if self.keys[0] is None else self.keys[0].shape[0]

    def append(self, layer, k, v):
        """Appends k, v: [T_new, kv_heads, d]; returns all keys/values [T_past + T_new, kv_heads, d]."""
        if self.keys[layer] is None:
            self.keys[layer], self.values[layer] = k, v
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=0)
            self.values[layer] = torch.cat([self.values[layer], v], dim=0)
        return self.keys[layer], self.values[layer]


def attention(model, layer, x, start_pos, cache):
    """Causal GQA self-attention of T new tokens at positions start_pos .. start_pos+T-1.

    x: [T, hidden] (already normalised) -> [T, hidden]
    """
    c = model.config
    p = f"model.layers.{layer}.self_attn"
    t, d = x.shape[0], c.head_dim
    bias = (lambda name: model.w(f"{p}.{name}.bias")) if c.qkv_bias else (lambda name: None)
    q = linear(x, model.w(f"{p}.q_proj.weight"), bias("q_proj")).view(t, c.num_heads, d)     # [T, H, d]
    k = linear(x, model.w(f"{p}.k_proj.weight"), bias("k_proj")).view(t, c.num_kv_heads, d)  # [T, KVH, d]
    v = linear(x, model.w(f"{p}.v_proj.weight"), bias("v_proj")).view(t, c.num_kv_heads, d)  # [T, KVH, d]
    if c.qk_norm:
        q = rms_norm(q, model.w(f"{p}.q_norm.weight"), c.rms_norm_eps)
        k = rms_norm(k, model.w(f"{p}.k_norm.weight"), c.rms_norm_eps)
    cos, sin = rope_tables(c, list(range(start_pos, start_pos + t)), model.dtype)            # [T, d/2]
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    keys, values = cache.append(layer, k, v)                                                  # [S, KVH, d]
    s = keys.shape[0]

    group = c.num_heads // c.num_kv_heads            # query head h reads kv head h // group
    keys = keys.repeat_interleave(group, dim=1)      # [S, H, d]
    values = values.repeat_interleave(group, dim=1)  # [S, H, d]
    scores = torch.einsum("thd,shd->hts", q, keys) / math.sqrt(d)                             # [H, T, S]
    query_pos = torch.arange(start_pos, start_pos + t)[:, None]                               # [T, 1]
    key_pos = torch.arange(s)[None, :]                                                        # [1, S]
    scores = scores.masked_fill(key_pos > query_pos, float("-inf"))
    probs = torch.softmax(scores, dim=-1)                                                     # [H, T, S]
    out = torch.einsum("hts,shd->thd", probs, values).reshape(t, c.num_heads * d)             # [T, H*d]
    o_bias = model.w(f"{p}.o_proj.bias") if c.o_bias else None
    return linear(out, model.w(f"{p}.o_proj.weight"), o_bias)                                 # [T, hidden]


def swiglu(model, prefix, x):
    # x: [T, hidden] -> [T, hidden];  down(silu(gate(x)) * up(x))
    gate = linear(x, model.w(f"{prefix}.gate_proj.weight"))   # [T, width]
    up = linear(x, model.w(f"{prefix}.up_proj.weight"))       # [T, width]
    return linear(torch.nn.functional.silu(gate) * up, model.w(f"{prefix}.down_proj.weight"))


def route(router_logits, top_k, norm_topk_prob):
    """Softmax over experts, then top-k, then (optionally) renormalise.

    router_logits: [T, E] -> (weights [T, k], expert ids [T, k]) ordered by descending probability;
    equal probabilities are ordered by lower expert id first.
    """
    probs = torch.softmax(router_logits, dim=-1)                                   # [T, E]
    order = torch.sort(probs, dim=-1, descending=True, stable=True).indices        # [T, E]
    ids = order[:, :top_k]                                                         # [T, k]
    weights = torch.gather(probs, 1, ids)                                          # [T, k]
    if norm_topk_prob:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights, ids


def moe_mlp(model, layer, x):
    """Routed experts (+ shared experts). x: [T, hidden] -> [T, hidden]."""
    moe = model.config.moe
    p = f"model.layers.{layer}.mlp"
    weights, ids = route(linear(x, model.w(f"{p}.gate.weight")), moe.top_k, moe.norm_topk_prob)
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        token = x[t:t + 1]                                                         # [1, hidden]
        for j in range(moe.top_k):
            expert = int(ids[t, j])
            out[t] += weights[t, j] * swiglu(model, f"{p}.experts.{expert}", token)[0]
    for s in range(moe.num_shared_experts):
        out = out + swiglu(model, f"{p}.shared_experts.{s}", x)
    return out


def mlp(model, layer, x):
    moe = model.config.moe
    if moe is not None and moe.sparse_layers[layer]:
        return moe_mlp(model, layer, x)
    return swiglu(model, f"model.layers.{layer}.mlp", x)


# ----------------------------------------------------------------------------------------------------------
# Forward
# ----------------------------------------------------------------------------------------------------------

def forward(model, token_ids: List[int], cache: Optional[KVCache] = None):
    """Logits [T, vocab] for `token_ids` appended after whatever `cache` already holds."""
    c = model.config
    if cache is None:
        cache = KVCache(c.num_layers)
    start_pos = cache.length()
    if start_pos + len(token_ids) > c.max_position_embeddings:
        raise ValueError("sequence longer than max_position_embeddings")
    eps = c.rms_norm_eps
    h = model.w("model.embed_tokens.weight")[torch.tensor(token_ids, dtype=torch.long)]      # [T, hidden]
    for layer in range(c.num_layers):
        p = f"model.layers.{layer}"
        h = h + attention(model, layer, rms_norm(h, model.w(f"{p}.input_layernorm.weight"), eps), start_pos, cache)
        h = h + mlp(model, layer, rms_norm(h, model.w(f"{p}.post_attention_layernorm.weight"), eps))
    h = rms_norm(h, model.w("model.norm.weight"), eps)
    return linear(h, model.output_embedding())                                                # [T, vocab]


def log_softmax(logits):
    # [..., V] -> [..., V]
    return torch.log_softmax(logits, dim=-1)


def greedy_generate(model, prompt: List[int], num_tokens: int):
    """Greedy continuation by full recompute each step; ties pick the lowest token id."""
    ids = list(prompt)
    out = []
    for _ in range(num_tokens):
        last = forward(model, ids)[-1]
        token = int(torch.argmax(last))   # torch.argmax returns the first maximal index
        out.append(token)
        ids.append(token)
    return out
