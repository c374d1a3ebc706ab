#!/usr/bin/env python3
"""Extracts the training corpus of models/minimind-serve-tiny from Debian's fortune packages.

Reads the fortune files that tools/train/install-corpus.sh installs, strips the terminal colour
escapes that fortunes-zh uses, splits every file into its entries (separated by lines holding a
single "%"), and writes:

  <out>/train.jsonl   one document per line: {"source": file, "text": ...}   (pretraining text)
  <out>/eval.jsonl    the held-out documents, same format
  <out>/sft.jsonl     {"user": ..., "assistant": ...} chat pairs built from TRAIN documents only
  <out>/stats.json    document / byte counts per source and split

The held-out split is deterministic and independent of file order: a document is held out when the
first byte of sha256(source + "\\0" + text) is < 8 (about 3%). The chat pairs are chosen with
random.Random(seed); besides the fixed-question kinds ("Tell me a fortune." -> a fortune, "给我一句诗。" -> a poem
line, ...) there are topic questions ("Tell me something about the sea." -> a fortune holding "sea",
"说说月亮。" -> a poem line holding 月). Rerunning on the same package versions gives byte-identical files.
"""
import argparse
import hashlib
import json
import os
import random
import re

FORTUNE_DIR = "/usr/share/games/fortunes"

# (package, file relative to FORTUNE_DIR, language). ascii-art is left out: pictures, not text.
SOURCES = [("fortunes", name, "en") for name in (
    "art", "computers", "cookie", "debian", "definitions", "disclaimer", "drugs", "education",
    "ethnic", "food", "goedel", "humorists", "kids", "knghtbrd", "law", "linux", "linuxcookie",
    "love", "magic", "medicine", "men-women", "miscellaneous", "news", "paradoxum", "people",
    "perl", "pets", "platitudes", "politics", "pratchett", "science", "songs-poems", "sports",
    "startrek", "tao", "translate-me", "wisdom", "work", "zippy")]
SOURCES += [("fortunes-min", name, "en") for name in ("fortunes", "literature", "riddles")]
SOURCES += [("fortunes-zh", name, "zh") for name in ("chinese", "song100", "tang300")]
SOURCES += [("fortunes-debian-hints", "debian-hints", "en"),
            ("fortunes-debian-hints", "zh_CN/debian-hints", "zh"),
            ("fortunes-debian-hints", "zh_TW/debian-hints", "zh")]

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
HELD_OUT_BELOW = 8  # first sha256 byte < 8 -> eval (8/256 = 3.1%)

EN_PROMPTS = ["Tell me a fortune.", "Give me a quote.", "Say something wise.",
              "Tell me something funny.", "Share a saying with me."]
ZH_POEM_PROMPTS = ["给我一首诗。", "背一首古诗。", "来一首唐诗。"]
ZH_LINE_PROMPTS = ["给我一句诗。", "说一句诗。"]
ZH_SAYING_PROMPTS = ["说一句格言。", "给我讲一句话。", "来一句名言。"]

# Topic questions: the answer is a train document (English) or a poem line (Chinese) that holds the
# topic word, so a chat turn stays on the asked topic and in the asked language.
EN_TOPIC_PROMPTS = ["Tell me something about {}.", "Tell me about {}.", "What do you know about {}?"]
# (phrase in the question, word the answer must contain as a whole word, case-insensitive).
EN_TOPICS = [("the sea", "sea"), ("love", "love"), ("life", "life"), ("time", "time"),
             ("money", "money"), ("work", "work"), ("death", "death"), ("war", "war"),
             ("cats", "cat"), ("dogs", "dog"), ("the moon", "moon"), ("the sun", "sun"),
             ("the night", "night"), ("friends", "friend"), ("women", "women"), ("men", "men"),
             ("computers", "computer"), ("food", "food"), ("music", "music"), ("books", "book"),
             ("the heart", "heart"), ("truth", "truth"), ("wisdom", "wisdom"), ("children", "children"),
             ("wine", "wine"), ("water", "water"), ("fire", "fire"), ("rain", "rain"), ("the sky", "sky"),
             ("rivers", "river"), ("mountains", "mountain"), ("trees", "tree"), ("the stars", "star"),
             ("kings", "king"), ("dreams", "dream"), ("God", "god"), ("science", "science"),
             ("politics", "politics"), ("Linux", "linux"), ("Debian", "debian")]
ZH_TOPIC_PROMPTS = ["说说{}。", "写一句关于{}的诗。", "给我一句关于{}的诗。"]
# (word in the question, character the poem line must contain).
ZH_TOPICS = [("月亮", "月"), ("山", "山"), ("水", "水"), ("花", "花"), ("春天", "春"), ("风", "风"),
             ("雨", "雨"), ("雪", "雪"), ("酒", "酒"), ("江", "江"), ("云", "云"), ("秋天", "秋"),
             ("夜", "夜"), ("心", "心"), ("家", "家"), ("柳", "柳"), ("马", "马"), ("海", "海"),
             ("天", "天"), ("太阳", "日"), ("梦", "梦"), ("鸟", "鸟"), ("草", "草"), ("泪", "泪"),
             ("故乡", "乡")]
TOPIC_PAIRS_PER_TOPIC = 60
TOPIC_ANSWER_MAX_CHARS = 320


def clean(text):
    text = ANSI_ESCAPE.sub("", text).replace("\r", "").replace("\t", "    ")
    for token in SPECIAL_TOKENS:
        text = text.replace(token, "")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def read_entries(path):
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", errors="replace")
    entries, current = [], []
    for line in raw.split("\n"):
        if line.strip() == "%":
            entries.append("\n".join(current))
            current = []
        else:
            current.append(line)
    entries.append("\n".join(current))
    return [e for e in (clean(x) for x in entries) if e.strip()]


def is_held_out(source, text):
    digest = hashlib.sha256((source + "\0" + text).encode("utf-8")).digest()
    return digest[0] < HELD_OUT_BELOW


def poem_lines(text):
    # Body lines of a fortunes-zh poem: drop the title / author lines.
    return [l for l in text.split("\n") if l and not l.startswith(("题目", "作者", "《"))]


def build_sft(train_docs, rng):
    pairs = []
    en = [d for d in train_docs if d["lang"] == "en" and len(d["text"]) <= 240]
    for doc in rng.sample(en, min(3000, len(en))):
        pairs.append({"user": rng.choice(EN_PROMPTS), "assistant": doc["text"]})
    poems = [d for d in train_docs if d["source"] in ("tang300", "song100")]
    for doc in poems:
        pairs.append({"user": rng.choice(ZH_POEM_PROMPTS), "assistant": doc["text"]})
        lines = poem_lines(doc["text"])
        if lines:
            pairs.append({"user": rng.choice(ZH_LINE_PROMPTS), "assistant": rng.choice(lines)})
    sayings = [d for d in train_docs if d["source"] == "chinese" and len(d["text"]) <= 120]
    for doc in rng.sample(sayings, min(1500, len(sayings))):
        pairs.append({"user": rng.choice(ZH_SAYING_PROMPTS), "assistant": doc["text"]})
    pairs += topic_pairs(train_docs, poems, rng)
    rng.shuffle(pairs)
    return pairs


def topic_pairs(train_docs, poems, rng):
    pairs = []
    en = [d["text"] for d in train_docs if d["lang"] == "en" and len(d["text"]) <= TOPIC_ANSWER_MAX_CHARS]
    for phrase, word in EN_TOPICS:
        pattern = re.compile(r"\b" + re.escape(word) + r"s?\b", re.IGNORECASE)
        matches = [t for t in en if pattern.search(t)]
        for text in rng.sample(matches, min(TOPIC_PAIRS_PER_TOPIC, len(matches))):
            pairs.append({"user": rng.choice(EN_TOPIC_PROMPTS).format(phrase), "assistant": text})
    lines = [line for doc in poems for line in poem_lines(doc["text"])]
    for name, char in ZH_TOPICS:
        matches = [line for line in lines if char in line]
        for line in rng.sample(matches, min(TOPIC_PAIRS_PER_TOPIC, len(matches))):
            pairs.append({"user": rng.choice(ZH_TOPIC_PROMPTS).format(name), "assistant": line})
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    train, held_out, stats = [], [], {}
    for package, name, lang in SOURCES:
        path = os.path.join(FORTUNE_DIR, name)
        if not os.path.exists(path):
            raise SystemExit(f"missing {path}: run tools/train/install-corpus.sh (package {package})")
        source = name.replace("/", "_")
        for text in read_entries(path):
            doc = {"source": source, "lang": lang, "text": text}
            split = "eval" if is_held_out(source, text) else "train"
            (held_out if split == "eval" else train).append(doc)
            entry = stats.setdefault(source, {"package": package, "train_docs": 0, "eval_docs": 0,
                                              "train_bytes": 0, "eval_bytes": 0})
            entry[split + "_docs"] += 1
            entry[split + "_bytes"] += len(text.encode("utf-8"))

    sft = build_sft(train, random.Random(args.seed))
    for file_name, rows in (("train.jsonl", train), ("eval.jsonl", held_out), ("sft.jsonl", sft)):
        with open(os.path.join(args.out, file_name), "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    with open(os.path.join(args.out, "stats.json"), "w", encoding="utf-8") as f:
        json.dump({"sources": stats, "train_docs": len(train), "eval_docs": len(held_out),
                   "sft_pairs": len(sft)}, f, indent=1, sort_keys=True)
    print(f"train {len(train)} docs, eval {len(held_out)} docs, sft {len(sft)} pairs -> {args.out}")


if __name__ == "__main__":
    main()
