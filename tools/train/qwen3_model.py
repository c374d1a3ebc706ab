"""A trainable, batched Qwen3 decoder (dense) in torch, written from the architecture description in
tools/reference/README.md: RMSNorm (plain weight), q/k RMSNorm per head before RoPE, NeoX RoPE,
GQA, SwiGLU MLP, tied input/output embeddings, no biases.

Module names mirror the Hugging Face state-dict names (`model.embed_tokens.weight`,
`model.layers.{i}.self_attn.q_proj.weight`, ...), so `state_dict()` is the checkpoint as written.
Evaluation of the written checkpoint goes through tools/reference (an independent forward pass).
"""
import math

import torch
from torch import nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, width, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.eps = eps

    def forward(self, x):
        # x: [..., width] -> [..., width]
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps))


def rope_tables(seq_len, head_dim, theta):
    # cos, sin: [seq_len, head_dim / 2], computed in float64 then rounded to float32.
    i = torch.arange(head_dim // 2, dtype=torch.float64)
    inv_freq = 1.0 / torch.pow(torch.tensor(theta, dtype=torch.float64), 2.0 * i / head_dim)
    angles = torch.arange(seq_len, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(angles).float(), torch.sin(angles).float()


def apply_rope(x, cos, sin):
    # x: [B, heads, T, d], cos/sin: [T, d/2]; element i pairs with i + d/2 (rotate_half).
    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., half:]
    return torch.cat([first * cos - second * sin, second * cos + first * sin], dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        hidden = c["hidden_size"]
        self.q_proj = nn.Linear(hidden, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, hidden, bias=False)
        self.q_norm = RMSNorm(self.head_dim, c["rms_norm_eps"])
        self.k_norm = RMSNorm(self.head_dim, c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        # x: [B, T, hidden] -> [B, T, hidden]
        b, t, _ = x.shape
        d = self.head_dim
        q = self.q_norm(self.q_proj(x).view(b, t, self.heads, d)).transpose(1, 2)       # [B, H, T, d]
        k = self.k_norm(self.k_proj(x).view(b, t, self.kv_heads, d)).transpose(1, 2)    # [B, K, T, d]
        v = self.v_proj(x).view(b, t, self.kv_heads, d).transpose(1, 2)                 # [B, K, T, d]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        group = self.heads // self.kv_heads      # query head h reads kv head h // group
        k = k.repeat_interleave(group, dim=1)    # [B, H, T, d]
        v = v.repeat_interleave(group, dim=1)    # [B, H, T, d]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d) + mask                          # [B, H, T, T]
        out = torch.softmax(scores, dim=-1) @ v                                          # [B, H, T, d]
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.heads * d))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        hidden, width = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(hidden, width, bias=False)
        self.up_proj = nn.Linear(hidden, width, bias=False)
        self.down_proj = nn.Linear(width, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = Mlp(c)

    def forward(self, h, cos, sin, mask):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Backbone(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Qwen3ForCausalLM(nn.Module):
    """`config` is the HF config.json dict (model_type qwen3, tie_word_embeddings true)."""

    def __init__(self, config):
        super().__init__()
        assert config["tie_word_embeddings"], "this trainer writes tied checkpoints only"
        self.config = config
        self.model = Backbone(config)
        cos, sin = rope_tables(config["max_position_embeddings"], config["head_dim"], config["rope_theta"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def init_weights(self, generator):
        """GPT-2-style init: N(0, 0.02), residual output projections scaled by 1/sqrt(2 * layers)."""
        residual_std = 0.02 / math.sqrt(2 * self.config["num_hidden_layers"])
        for name, p in self.named_parameters():
            with torch.no_grad():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif name.endswith(("o_proj.weight", "down_proj.weight")):
                    p.copy_(torch.randn(p.shape, generator=generator) * residual_std)
                else:
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.02)

    def forward(self, ids):
        # ids: [B, T] int64 -> logits [B, T, vocab]
        t = ids.shape[1]
        mask = torch.full((t, t), float("-inf")).triu(1)   # [T, T]: -inf above the diagonal
        cos, sin = self.cos[:t], self.sin[:t]
        h = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            h = layer(h, cos, sin, mask)
        h = self.model.norm(h)
        return h @ self.model.embed_tokens.weight.t()

    def hf_state_dict(self):
        """{HF tensor name: tensor} without the persistent-free RoPE buffers."""
        return {k: v.detach().clone() for k, v in self.state_dict().items()}
