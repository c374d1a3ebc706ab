#!/usr/bin/python3
"""Internal-consistency checks of the reference implementation and the generated test data.

  1. KV-cache decoding (chunked prefill + single-token steps) equals full recompute, every model.
  2. Sharded and unsharded safetensors readers agree (tiny-qwen3-moe re-saved unsharded, tiny-llama re-saved
     as 3 shards): identical tensors bit for bit and identical logits.
  3. safetensors round trip of F32/F16/BF16 including -0, inf, nan, subnormals; header layout rules.
  4. model.pth (MiniMind trainer format) holds exactly tiny-llama-f16's weights; tiny-llama-f16 is tiny-llama
     rounded to F16; lm_head.weight in the .pth equals the embedding.
  5. RoPE: rotate-half formula equals complex multiplication on pairs (i, i + d/2); q.k after RoPE depends only
     on relative position; YaRN with factor 1 equals plain RoPE.
  6. GQA head mapping: a GQA model equals the MHA model whose k/v heads are duplicated per group.
  7. Attention equals a naive per-query loop implementation.
  8. golden.json files match what the current code computes (a stale golden fails here).
Usage: /usr/bin/python3 tools/reference/selfcheck.py   (exit status 0 = all passed)
"""

import dataclasses
import json
import math
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_goldens  # noqa: E402
import reference_model as rm  # noqa: E402
import safetensors_io  # noqa: E402

MODELS_DIR = make_goldens.DEFAULT_MODELS_DIR
FAILURES = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        FAILURES.append(message)


def model_dir(name):
    return os.path.join(MODELS_DIR, name)


def max_abs(a, b):
    return float((a.double() - b.double()).abs().max())


def check_kv_cache():
    for name in make_goldens.MODEL_NAMES:
        for dtype, tolerance in ((torch.float64, 1e-11), (torch.float32, 2e-5)):
            model = rm.load_model(model_dir(name), dtype)
            ids = make_goldens.make_prompts(model.config.vocab_size)[2]    # 150 tokens
            full = rm.forward(model, ids)
            cache = rm.KVCache(model.config.num_layers)
            pieces = [rm.forward(model, ids[:37], cache)]
            for i in range(37, 45):
                pieces.append(rm.forward(model, ids[i:i + 1], cache))
            pieces.append(rm.forward(model, ids[45:], cache))
            diff = max_abs(torch.cat(pieces), full)
            check(diff <= tolerance, f"kv-cache == full recompute: {name} {dtype} max|dlogit| {diff:.2e}")


def check_sharding():
    with tempfile.TemporaryDirectory() as tmp:
        sharded = safetensors_io.load_checkpoint(model_dir("tiny-qwen3-moe"))
        single_path = os.path.join(tmp, "model.safetensors")
        safetensors_io.save_file(sharded, single_path)
        single = safetensors_io.load_file(single_path)
        check(same_tensors(sharded, single), "tiny-qwen3-moe: sharded == unsharded tensors (bitwise)")
        config = rm.parse_config(rm.read_config(model_dir("tiny-qwen3-moe")))
        ids = make_goldens.make_prompts(config.vocab_size)[1]
        a = rm.forward(rm.build_model(config, sharded, torch.float32), ids)
        b = rm.forward(rm.build_model(config, single, torch.float32), ids)
        check(torch.equal(a, b), "tiny-qwen3-moe: sharded and unsharded logits identical")

        dense = safetensors_io.load_checkpoint(model_dir("tiny-llama"))
        names = sorted(dense)
        safetensors_io.save_sharded(dense, tmp, [names[0::3], names[1::3], names[2::3]])
        os.remove(single_path)
        resharded = safetensors_io.load_checkpoint(tmp)
        check(same_tensors(dense, resharded), "tiny-llama: 3-shard re-save == single file (bitwise)")
        with open(os.path.join(tmp, safetensors_io.INDEX_FILE_NAME)) as f:
            index = json.load(f)
        total = sum(t.numel() * t.element_size() for t in dense.values())
        check(index["metadata"]["total_size"] == total, "index total_size == sum of tensor bytes")


def same_tensors(a, b):
    if sorted(a) != sorted(b):
        return False
    return all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and bits(a[k]) == bits(b[k]) for k in a)


def bits(tensor):
    return tensor.contiguous().view(torch.uint8).flatten().tolist() if tensor.numel() else []


def check_safetensors_format():
    specials = torch.tensor([0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), float("nan"), 1e-40, 65504.0,
                             3.0e-8, 1.0e38])
    tensors = {
        "f32": specials.clone().reshape(11, 1),
        "f16": specials.to(torch.float16),
        "bf16": specials.to(torch.bfloat16).reshape(1, 11),
        "scalar_like": torch.tensor([7.0]),
        "a.b.c": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.safetensors")
        safetensors_io.save_file(tensors, path, {"format": "pt", "note": "x"})
        back = safetensors_io.load_file(path)
        check(same_tensors(tensors, back), "safetensors round trip F32/F16/BF16 with specials (bitwise)")
        header, data_start, _ = safetensors_io.read_header(path)
        check(data_start % 8 == 0, "data section starts 8-byte aligned")
        check(header["__metadata__"] == {"format": "pt", "note": "x"}, "__metadata__ preserved")
        raw = open(path, "rb").read()
        expected_f32 = b"".join(__import__("struct").pack("<f", float(x)) for x in specials.tolist())
        begin, end = header["f32"]["data_offsets"]
        check(raw[data_start + begin:data_start + end] == expected_f32, "F32 payload is raw little-endian")
    for name in make_goldens.MODEL_NAMES:
        for file_name in sorted(os.listdir(model_dir(name))):
            if file_name.endswith(".safetensors"):
                header, data_start, _ = safetensors_io.read_header(os.path.join(model_dir(name), file_name))
                check(data_start % 8 == 0, f"{name}/{file_name}: valid layout, {len(header) - 1} tensors")


def check_pth():
    pth = torch.load(os.path.join(model_dir("tiny-llama-pth"), "model.pth"), map_location="cpu")
    f16 = safetensors_io.load_checkpoint(model_dir("tiny-llama-f16"))
    f32 = safetensors_io.load_checkpoint(model_dir("tiny-llama"))
    check(type(pth) is dict, "model.pth unpickles to a plain dict")
    check(all(t.dtype == torch.float16 for t in pth.values()), "model.pth tensors are float16")
    tied = dict(pth)
    lm_head = tied.pop("lm_head.weight")
    check(same_tensors(tied, f16), "model.pth (minus lm_head) == tiny-llama-f16 (bitwise)")
    check(torch.equal(lm_head, pth["model.embed_tokens.weight"]), "model.pth lm_head.weight == embed_tokens")
    check(same_tensors({k: v.half() for k, v in f32.items()}, f16), "tiny-llama-f16 == tiny-llama.half()")


def check_rope():
    config = rm.parse_config(rm.read_config(model_dir("tiny-llama-yarn")))
    d = config.head_dim
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(6, 3, d, generator=generator, dtype=torch.float64)
    positions = [0, 1, 5, 127, 128, 500]
    cos, sin = rm.rope_tables(config, positions, torch.float64)
    rotated = rm.apply_rope(x, cos, sin)
    as_complex = torch.complex(x[..., :d // 2], x[..., d // 2:])
    factor = config.yarn.attention_factor
    angles = torch.tensor(positions, dtype=torch.float64)[:, None] * rm.rope_inv_freq(config)[None, :]
    turned = as_complex * torch.polar(torch.full_like(angles, factor), angles)[:, None, :]
    expected = torch.cat([turned.real, turned.imag], dim=-1)
    check(max_abs(rotated, expected) < 1e-12, "RoPE rotate-half == complex multiply on pairs (i, i+d/2)")

    q, k = x[0:1, 0:1], x[1:2, 0:1]

    def score(m, n):
        cm, sm = rm.rope_tables(config, [m], torch.float64)
        cn, sn = rm.rope_tables(config, [n], torch.float64)
        return float((rm.apply_rope(q, cm, sm) * rm.apply_rope(k, cn, sn)).sum())
    check(abs(score(10, 3) - score(310, 303)) < 1e-9, "q.k after RoPE depends only on m - n")

    no_scaling = dataclasses.replace(config, yarn=None)
    unit = dataclasses.replace(config, yarn=dataclasses.replace(config.yarn, factor=1.0, attention_factor=1.0))
    check(torch.equal(rm.rope_inv_freq(no_scaling), rm.rope_inv_freq(unit)), "YaRN with factor 1 == plain RoPE")
    raw = rm.read_config(model_dir("tiny-llama-yarn"))["rope_scaling"]
    parsed = rm._parse_yarn(dict(raw), "llama", d, 512)
    check(abs(parsed.attention_factor - (0.1 * math.log(4.0) + 1.0)) < 1e-15, "YaRN attention factor 0.1 ln 4 + 1")


def check_gqa_mapping():
    model = rm.load_model(model_dir("tiny-llama"), torch.float64)
    c = model.config
    group = c.num_heads // c.num_kv_heads
    mha_config = dataclasses.replace(c, num_kv_heads=c.num_heads)
    weights = dict(model.weights)
    for layer in range(c.num_layers):
        for proj in ("k_proj", "v_proj"):
            name = f"model.layers.{layer}.self_attn.{proj}.weight"
            per_head = weights[name].view(c.num_kv_heads, c.head_dim, c.hidden_size)
            weights[name] = per_head.repeat_interleave(group, dim=0).reshape(-1, c.hidden_size)
    mha = rm.Model(config=mha_config, weights=weights, dtype=torch.float64)
    ids = make_goldens.make_prompts(c.vocab_size)[1]
    diff = max_abs(rm.forward(model, ids), rm.forward(mha, ids))
    check(diff < 1e-12, f"GQA == MHA with duplicated kv heads (query head h -> kv head h // {group})")


def naive_attention(model, layer, x):
    """Per-query, per-head loops; same math as rm.attention with an empty cache."""
    c = model.config
    p = f"model.layers.{layer}.self_attn"
    bias = (lambda n: model.w(f"{p}.{n}.bias")) if c.qkv_bias else (lambda n: None)
    t, d = x.shape[0], c.head_dim
    q = rm.linear(x, model.w(f"{p}.q_proj.weight"), bias("q_proj")).view(t, c.num_heads, d)
    k = rm.linear(x, model.w(f"{p}.k_proj.weight"), bias("k_proj")).view(t, c.num_kv_heads, d)
    v = rm.linear(x, model.w(f"{p}.v_proj.weight"), bias("v_proj")).view(t, c.num_kv_heads, d)
    if c.qk_norm:
        q = rm.rms_norm(q, model.w(f"{p}.q_norm.weight"), c.rms_norm_eps)
        k = rm.rms_norm(k, model.w(f"{p}.k_norm.weight"), c.rms_norm_eps)
    cos, sin = rm.rope_tables(c, list(range(t)), model.dtype)
    q, k = rm.apply_rope(q, cos, sin), rm.apply_rope(k, cos, sin)
    out = torch.zeros(t, c.num_heads, d, dtype=x.dtype)
    for i in range(t):
        for h in range(c.num_heads):
            kv = h * c.num_kv_heads // c.num_heads
            scores = torch.stack([q[i, h] @ k[j, kv] / math.sqrt(d) for j in range(i + 1)])
            weights = torch.exp(scores - scores.max())
            weights = weights / weights.sum()
            out[i, h] = sum(weights[j] * v[j, kv] for j in range(i + 1))
    o_bias = model.w(f"{p}.o_proj.bias") if c.o_bias else None
    return rm.linear(out.reshape(t, -1), model.w(f"{p}.o_proj.weight"), o_bias)


def check_naive_attention():
    for name in ("tiny-qwen2", "tiny-qwen3", "tiny-llama-yarn"):
        model = rm.load_model(model_dir(name), torch.float64)
        generator = torch.Generator().manual_seed(3)
        x = torch.randn(12, model.config.hidden_size, generator=generator, dtype=torch.float64)
        fast = rm.attention(model, 1, x, 0, rm.KVCache(model.config.num_layers))
        diff = max_abs(fast, naive_attention(model, 1, x))
        check(diff < 1e-12, f"attention == naive loop implementation: {name} ({diff:.1e})")


def check_goldens_current():
    for name in make_goldens.MODEL_NAMES:
        with open(os.path.join(model_dir(name), "golden.json")) as f:
            stored = json.load(f)
        model = rm.load_model(model_dir(name), torch.float64)
        prompt = stored["prompts"][1]
        fresh, _ = make_goldens.prompt_golden(model, prompt["ids"])
        same = fresh["prompt_logprobs"] == prompt["prompt_logprobs"] and \
            fresh["last_logprobs"] == prompt["last_logprobs"]
        check(same, f"{name}/golden.json matches the current reference (exact)")


def main():
    torch.set_num_threads(1)
    for section in (check_safetensors_format, check_sharding, check_pth, check_rope, check_gqa_mapping,
                    check_naive_attention, check_kv_cache, check_goldens_current):
        print(f"== {section.__name__}")
        section()
    print(f"{len(FAILURES)} failed" if FAILURES else "all checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
