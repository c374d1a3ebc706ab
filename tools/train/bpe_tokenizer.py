#!/usr/bin/env python3
"""Byte-level BPE: training, encoding, and writing Hugging Face tokenizer files.

Format written (what engine/tokenizer/tokenizer_spec.* and HF `tokenizers` load):
  tokenizer.json  BPE model (vocab + merges as [left, right] pairs), ByteLevel pre-tokenizer
                  (use_regex: the GPT-2 split regex, add_prefix_space false), ByteLevel decoder,
                  added_tokens <|endoftext|>, <|im_start|>, <|im_end|> = ids 0, 1, 2 (special).
  tokenizer_config.json  MiniMind-style bos/eos/pad/unk fields and the plain ChatML template that
                  engine/tokenizer/known_chat_templates.h calls kChatMlTemplate (verbatim).

Training (`train_bpe`): the text is split with the GPT-2 regex, each piece mapped to the byte-level
alphabet; the base vocabulary is the 3 special tokens then the 256 byte symbols in GPT-2's
bytes_to_unicode order; then, until the vocabulary is full, the most frequent adjacent pair is
merged (ties: the lexicographically smallest (left, right) pair), so training is deterministic.
Encoding applies merges by rank (lowest first), as HF's BPE does.
"""
import heapq
import json
import os
from collections import Counter, defaultdict

import regex

GPT2_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# The plain ChatML template, verbatim equal to kChatMlTemplate in engine/tokenizer/known_chat_templates.h.
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map, in its canonical order."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) +
                 list(range(ord("®"), ord("ÿ") + 1)))
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def pre_tokenize(text):
    """Pieces of `text` in the byte-level alphabet."""
    return ["".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8")) for piece in GPT2_SPLIT.findall(text)]


def train_bpe(texts, vocab_size):
    """Returns (vocab: list of token strings, index = id; merges: list of (left, right))."""
    word_counts = Counter()
    for text in texts:
        word_counts.update(pre_tokenize(text))
    vocab = list(SPECIAL_TOKENS) + list(BYTE_TO_CHAR.values())
    words = [list(w) for w in word_counts]           # symbols of each distinct word
    counts = [word_counts[w] for w in word_counts]   # occurrences of each distinct word

    pair_count = defaultdict(int)
    pair_words = defaultdict(set)
    for index, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_count[pair] += counts[index]
            pair_words[pair].add(index)
    # Max-heap on count; ties -> smallest pair. Stale entries are skipped when popped.
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)

    merges = []
    while len(vocab) < vocab_size and heap:
        negative, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negative or negative == 0:
            continue
        left, right = pair
        merged = left + right
        merges.append(pair)
        vocab.append(merged)
        changed = defaultdict(int)
        for index in pair_words.pop(pair):
            symbols, n = words[index], counts[index]
            for old in zip(symbols, symbols[1:]):
                changed[old] -= n
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            words[index] = out
            for new in zip(out, out[1:]):
                changed[new] += n
                pair_words[new].add(index)
        for p, delta in changed.items():
            if delta == 0:
                continue
            pair_count[p] += delta
            if pair_count[p] <= 0:
                del pair_count[p]
            else:
                heapq.heappush(heap, (-pair_count[p], p))
        pair_count.pop(pair, None)
    return vocab, merges


class Tokenizer:
    """Encoder/decoder for a vocabulary + merges produced by train_bpe (no special-token parsing)."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ids = {token: i for i, token in enumerate(vocab)}
        self.ranks = {tuple(pair): rank for rank, pair in enumerate(merges)}
        self.cache = {}

    def _bpe(self, word):
        symbols = list(word)
        while len(symbols) > 1:
            best = min(((self.ranks.get(p, 1 << 30), i) for i, p in enumerate(zip(symbols, symbols[1:]))))
            if best[0] == 1 << 30:
                break
            left, right = symbols[best[1]], symbols[best[1] + 1]
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
                    out.append(left + right)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        return [self.ids[s] for s in symbols]

    def encode(self, text):
        ids = []
        for word in pre_tokenize(text):
            if word not in self.cache:
                self.cache[word] = self._bpe(word)
            ids.extend(self.cache[word])
        return ids

    def special(self, token):
        return SPECIAL_TOKENS.index(token)

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            if i < len(SPECIAL_TOKENS):
                out += SPECIAL_TOKENS[i].encode("utf-8")
            else:
                out += bytes(CHAR_TO_BYTE[c] for c in self.vocab[i])
        return out.decode("utf-8", errors="replace")


def tokenizer_json(vocab, merges):
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(SPECIAL_TOKENS)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False,
                  "vocab": {token: i for i, token in enumerate(vocab)},
                  "merges": [[a, b] for a, b in merges]},
    }


def tokenizer_config_json():
    decoder = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True} for i, t in enumerate(SPECIAL_TOKENS)}
    return {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": [],
        "bos_token": "<|im_start|>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "legacy": True,
        "model_max_length": 32768,
        "pad_token": "<|endoftext|>",
        "sp_model_kwargs": {},
        "spaces_between_special_tokens": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": "<|endoftext|>",
        "chat_template": CHATML_TEMPLATE,
    }


def write_tokenizer(directory, vocab, merges):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab, merges), f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config_json(), f, ensure_ascii=False, indent=2)
        f.write("\n")


def read_tokenizer(directory):
    with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
        model = json.load(f)["model"]
    vocab = [None] * len(model["vocab"])
    for token, i in model["vocab"].items():
        vocab[i] = token
    return Tokenizer(vocab, [tuple(m) for m in model["merges"]])
