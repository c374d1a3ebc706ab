#!/usr/bin/env python3
"""Writes a GGUF file (version 3) of a llama-architecture checkpoint in Hugging Face safetensors
form, for llama.cpp: the weights as f16 (1-D tensors as f32, as llama.cpp's converter stores them)
and the byte-level BPE vocabulary of its tokenizer.json padded to the model's vocab_size. Standard
library only (no numpy, no transformers). For side-by-side speed runs on random checkpoints
(bench/peers/run_llama_cpp.sh): q_proj/k_proj rows are not permuted into llama.cpp's rope layout,
which changes the numbers a random model computes, not its cost.

    gguf_from_safetensors.py MODEL_DIR OUT.gguf
"""
import json
import os
import struct
import sys

ALIGNMENT = 32
# GGUF metadata value types.
UINT32, INT32, FLOAT32, STRING, ARRAY = 4, 5, 6, 8, 9
# GGML tensor types.
F32, F16 = 0, 1

NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(name):
    if name in NAMES:
        return NAMES[name]
    parts = name.split(".")
    if len(parts) > 3 and parts[0] == "model" and parts[1] == "layers":
        rest = ".".join(parts[3:])
        if rest in LAYER_NAMES:
            return f"blk.{parts[2]}.{LAYER_NAMES[rest]}"
    raise SystemExit(f"no GGUF name for tensor {name}")


def string(value):
    data = value.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def kv(key, kind, value):
    out = string(key) + struct.pack("<I", kind)
    if kind == UINT32:
        return out + struct.pack("<I", value)
    if kind == FLOAT32:
        return out + struct.pack("<f", value)
    if kind == STRING:
        return out + string(value)
    raise ValueError(kind)


def kv_array(key, element, values):
    out = string(key) + struct.pack("<I", ARRAY) + struct.pack("<IQ", element, len(values))
    for value in values:
        out += string(value) if element == STRING else struct.pack("<i", value)
    return out


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        base = 8 + size
        tensors = []
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            f.seek(base + begin)
            tensors.append((name, info["dtype"], info["shape"], f.read(end - begin)))
    return tensors


def to_f32(dtype, data):
    if dtype == "F32":
        return data
    if dtype == "F16":
        count = len(data) // 2
        return struct.pack(f"<{count}f", *struct.unpack(f"<{count}e", data))
    if dtype == "BF16":
        count = len(data) // 2
        return b"".join(b"\0\0" + data[2 * i:2 * i + 2] for i in range(count))
    raise SystemExit(f"unsupported dtype {dtype}")


def to_f16(dtype, data):
    if dtype == "F16":
        return data
    f32 = to_f32(dtype, data)
    count = len(f32) // 4
    return struct.pack(f"<{count}e", *struct.unpack(f"<{count}f", f32))


def main():
    model_dir, out_path = sys.argv[1], sys.argv[2]
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") != "llama":
        raise SystemExit("only llama-architecture checkpoints are written")
    with open(os.path.join(model_dir, "tokenizer.json")) as f:
        tokenizer = json.load(f)
    vocab_size = config["vocab_size"]
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [5] * vocab_size  # unused
    for token, index in tokenizer["model"]["vocab"].items():
        tokens[index], types[index] = token, 1  # normal
    for added in tokenizer.get("added_tokens", []):
        tokens[added["id"]], types[added["id"]] = added["content"], 3  # control
    eos = next((a["id"] for a in tokenizer.get("added_tokens", []) if a["content"] == "<|im_end|>"),
               0)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"].get("merges", [])]
    head_dim = config.get("head_dim", config["hidden_size"] // config["num_attention_heads"])
    metadata = [
        kv("general.architecture", STRING, "llama"),
        kv("general.name", STRING, os.path.basename(os.path.normpath(model_dir))),
        kv("general.alignment", UINT32, ALIGNMENT),
        kv("general.file_type", UINT32, 1),  # mostly f16
        kv("llama.context_length", UINT32, config["max_position_embeddings"]),
        kv("llama.embedding_length", UINT32, config["hidden_size"]),
        kv("llama.block_count", UINT32, config["num_hidden_layers"]),
        kv("llama.feed_forward_length", UINT32, config["intermediate_size"]),
        kv("llama.attention.head_count", UINT32, config["num_attention_heads"]),
        kv("llama.attention.head_count_kv", UINT32, config["num_key_value_heads"]),
        kv("llama.attention.key_length", UINT32, head_dim),
        kv("llama.attention.value_length", UINT32, head_dim),
        kv("llama.rope.dimension_count", UINT32, head_dim),
        kv("llama.rope.freq_base", FLOAT32, config.get("rope_theta", 10000.0)),
        kv("llama.attention.layer_norm_rms_epsilon", FLOAT32, config["rms_norm_eps"]),
        kv("llama.vocab_size", UINT32, vocab_size),
        kv("tokenizer.ggml.model", STRING, "gpt2"),
        kv("tokenizer.ggml.pre", STRING, "default"),
        kv_array("tokenizer.ggml.tokens", STRING, tokens),
        kv_array("tokenizer.ggml.token_type", INT32, types),
        kv_array("tokenizer.ggml.merges", STRING, merges),
        kv("tokenizer.ggml.bos_token_id", UINT32, eos),
        kv("tokenizer.ggml.eos_token_id", UINT32, eos),
    ]
    infos, blobs, offset = [], [], 0
    for name, dtype, shape, data in read_safetensors(os.path.join(model_dir, "model.safetensors")):
        kind = F32 if len(shape) == 1 else F16
        blob = to_f32(dtype, data) if kind == F32 else to_f16(dtype, data)
        dims = list(reversed(shape))  # GGUF lists the innermost dimension first
        infos.append(string(gguf_name(name)) + struct.pack("<I", len(dims)) +
                     b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", kind, offset))
        padding = (-len(blob)) % ALIGNMENT
        blobs.append(blob + b"\0" * padding)
        offset += len(blob) + padding
    header = (b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(metadata)) + b"".join(metadata) +
              b"".join(infos))
    header += b"\0" * ((-len(header)) % ALIGNMENT)
    with open(out_path, "wb") as f:
        f.write(header)
        for blob in blobs:
            f.write(blob)
    print(f"wrote {out_path}: {len(infos)} tensors, {vocab_size} tokens")


if __name__ == "__main__":
    main()
