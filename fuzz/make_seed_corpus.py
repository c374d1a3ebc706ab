#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ from files in the
repository (the shipped model, the tiny test checkpoints) and small hand-made inputs. Standard
library only. Re-run after changing it; crash inputs found later are added next to the seeds
(named crash-*) and never removed."""
import json
import os
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def read(*parts):
    with open(os.path.join(ROOT, *parts), "rb") as f:
        return f.read()


def safetensors(tensors, metadata=None):
    """tensors: {name: (dtype, shape, bytes)}; the format's 8-byte header length + JSON header."""
    header, offset, body = {}, 0, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        body += data
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def main():
    model = os.path.join("models", "minimind-serve-tiny")
    # tokenizer.json: a minimal byte-level BPE and the shipped one.
    minimal = {"version": "1.0", "added_tokens": [
        {"id": 3, "content": "<|im_end|>", "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None, "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False,
                  "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
    write("tokenizer_json", "minimal.json", json.dumps(minimal))
    write("tokenizer_json", "shipped.json", read(model, "tokenizer.json"))
    # Texts for the round trip: English, Chinese, emoji, special-token look-alikes, invalid UTF-8.
    for name, text in {"english": "Tell me a fortune, friend.\n  Spaces   and\ttabs.",
                       "chinese": "给我一句诗。子曰：学而时习之。",
                       "emoji": "ok 👍🏽 🇫🇷 e\u0301",
                       "special": "<|im_start|>user\nhi<|im_end|><think></think>",
                       "digits": "3.14159 2026-12-04 0x7fff"}.items():
        write("bpe_round_trip", name, text)
    write("bpe_round_trip", "invalid-utf8", b"ab\xff\xfe\xc3")
    # Chat messages: role \x01 content \x01 reasoning, messages split by \x02; byte 0 = options.
    write("chat_template", "two-turns", b"\x01system\x01Be brief.\x02user\x01Hello\x02assistant"
                                        b"\x01Hi\x01thinking\x02user\x01Again")
    write("chat_template", "tools", b"\x09user\x01weather?\x02tool\x01{\"t\": 3}")
    write("chat_template", "bad-role", b"\x03narrator\x01once upon a time")
    # config.json: the shipped one and the tiny test models'.
    write("model_config", "shipped.json", read(model, "config.json"))
    for name in ("tiny-qwen3", "tiny-llama", "tiny-minimind-moe", "tiny-qwen3-moe"):
        write("model_config", f"{name}.json", read("tests", "data", "models", name, "config.json"))
    # safetensors: small hand-made files (the fuzzer mutates their headers).
    write("safetensors", "two-tensors", safetensors({
        "a.weight": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
        "b.bias": ("BF16", [3], b"\x80\x3f\x00\x40\x40\x40")}, {"format": "pt"}))
    write("safetensors", "empty-tensor", safetensors({"e": ("F16", [0, 4], b"")}))
    # .pth: byte 0 = 0 -> zip directory, 1 -> the state-dict pickle.
    pth = read("tests", "data", "models", "tiny-llama-pth", "model.pth")
    write("pth", "zip-tiny-llama", b"\x00" + pth)
    with zipfile.ZipFile(os.path.join(ROOT, "tests", "data", "models", "tiny-llama-pth",
                                      "model.pth")) as archive:
        pickle_name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
        write("pth", "pickle-tiny-llama", b"\x01" + archive.read(pickle_name))
    # GenerateRequest wire bytes: prompt, messages, sampling fields (hand-encoded protobuf).
    def field(number, wire, payload):
        key = bytes([(number << 3) | wire])
        if wire == 2:
            return key + bytes([len(payload)]) + payload
        return key + payload
    write("request", "prompt", field(2, 2, b"Tell me a fortune."))
    write("request", "bad-utf8-prompt", field(2, 2, b"ab\xff"))
    write("request", "truncated", b"\x12\x05ab")
    # session_request: a type byte (0 Create, 1 Get, 2 List, 3 Delete, 4 Fork, 5 Cancel,
    # 6 GetModelInfo, 7 Tokenize, 8 Detokenize), then the request's wire bytes.
    def entry(key, value):
        return field(3, 2, field(1, 2, key) + field(2, 2, value))
    write("session_request", "create-labels",
          b"\x00" + field(1, 2, b"You are terse.") + field(2, 2, field(1, 0, b"\x3c"))
          + entry(b"app", b"cli") + entry(b"team", b"search"))
    write("session_request", "create-duplicate-and-bad-labels",
          b"\x00" + entry(b"k", b"1") + entry(b"k", b"2") + entry(b"k\xff", b"v")
          + entry(b"", b"\xc3"))
    write("session_request", "create-truncated-entry", b"\x00\x1a\x06\x0a\x03ab")
    write("session_request", "get", b"\x01" + field(1, 2, b"s-0123456789abcdef"))
    write("session_request", "fork", b"\x04" + field(1, 2, b"s-1") + field(2, 2, b"\x08\x3c"))
    write("session_request", "cancel", b"\x05" + field(1, 2, b"req-1"))
    write("session_request", "tokenize", b"\x07" + field(1, 2, "你好 world".encode()))
    write("session_request", "detokenize", b"\x08" + field(1, 2, b"\x01\x02\x03"))
    # constraint: a first byte 0 (JSON Schema) or 1 (regex), then the text.
    schemas = {
        "object": {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3},
                                                     "b": {"type": "integer"}},
                   "required": ["a"]},
        "array": {"type": "array", "items": {"enum": [1, "x", None]}, "maxItems": 3},
        "ref": {"$defs": {"n": {"type": "object", "properties": {"k": {"$ref": "#/$defs/n"}}}},
                "$ref": "#/$defs/n"},
        "anyof": {"anyOf": [{"type": "number"}, {"type": "string", "format": "date"}]},
        "pattern": {"type": "string", "pattern": "^[a-z\\\"]{1,4}$"},
        "unsupported": {"type": "integer", "minimum": 1},
    }
    for name, schema in schemas.items():
        write("constraint", f"schema-{name}", b"\x00" + json.dumps(schema).encode())
    for name, regex in {"date": "[0-9]{4}-[0-9]{2}", "alt": "(a|bc)*d?", "class": "[^a-z]\\w+",
                        "utf8": "é{2}[α-ω]", "escape": "\\x{1F600}\\.", "bad": "(a"}.items():
        write("constraint", f"regex-{name}", b"\x01" + regex.encode())
    print(f"seed corpora written under {CORPUS}")


if __name__ == "__main__":
    main()
