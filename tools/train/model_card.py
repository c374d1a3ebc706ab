#!/usr/bin/env python3
"""Writes models/<name>/README.md (the model card) from the files finalize.py and train.py wrote.

Usage: model_card.py --model-dir models/minimind-serve-tiny --corpus DIR --run DIR [--note TEXT]
                     [--baseline-perplexity X --baseline-name TEXT]

The schedule (peak learning rate, warm-up, steps, batch) is read back from <run>/log.jsonl; the size
of the train stream is recounted with train.py's own encoding.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe_tokenizer  # noqa: E402
import corpus  # noqa: E402
import train  # noqa: E402

LICENCES = [
    ("fortunes", "1:1.99.1-7.3", "BSD (Regents of the University of California, fortune-mod; Debian main)"),
    ("fortunes-min", "1:1.99.1-7.3", "BSD (same copyright file as fortunes)"),
    ("fortunes-zh", "2.98", "GPL-3.0-or-later"),
    ("fortunes-debian-hints", "2.01.4", "BSD-3-clause"),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model-dir", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--note", default="")
    p.add_argument("--baseline-perplexity", type=float,
                   help="held-out perplexity of the previous model on the same windows")
    p.add_argument("--baseline-name", default="the previous model")
    args = p.parse_args()
    load = lambda path: json.load(open(path, encoding="utf-8"))  # noqa: E731
    config = load(os.path.join(args.model_dir, "config.json"))
    results = load(os.path.join(args.model_dir, "eval", "results.json"))
    greedy = load(os.path.join(args.model_dir, "eval", "greedy.json"))
    sample = load(os.path.join(args.model_dir, "eval", "heldout_sample.json"))
    stats = load(os.path.join(args.corpus, "stats.json"))
    log = [json.loads(line) for line in open(os.path.join(args.run, "log.jsonl"))]
    size = os.path.getsize(os.path.join(args.model_dir, "model.safetensors"))
    tokenizer = bpe_tokenizer.read_tokenizer(args.model_dir)
    train_docs = train.read_jsonl(os.path.join(args.corpus, "train.jsonl"))
    sft = train.read_jsonl(os.path.join(args.corpus, "sft.jsonl"))
    stream_tokens = sum(len(train.encode_with_specials(tokenizer, t)) + 1 for t in
                        [d["text"] for d in train_docs] + [train.chat_text(q["user"], q["assistant"]) for q in sft])
    peak = max(log, key=lambda r: r["lr"])
    tokens_per_step = log[0]["tokens"]

    by_package = {}
    for source, s in stats["sources"].items():
        row = by_package.setdefault(s["package"], [0, 0, 0, 0])
        row[0] += s["train_docs"]
        row[1] += s["eval_docs"]
        row[2] += s["train_bytes"]
        row[3] += s["eval_bytes"]

    out = []
    w = out.append
    w("# minimind-serve-tiny\n")
    w("Our own tiny default model: a byte-level BPE tokenizer (6,400 tokens) and a "
      f"{config['num_hidden_layers']}-layer Qwen3 decoder trained from scratch on the CPU, in MiniMind's "
      "spirit, on fortune cookies and classical Chinese poems that Debian ships. It is a toy: it has "
      f"seen {log[-1]['tokens'] / 1e6:.2f} M tokens, so it writes fortune-shaped and poem-shaped text, not sense; "
      "a chat turn answers in the language of the question, with a fortune or a poem line, but seldom on "
      "the asked topic (see the greedy turns below). It exists so that the server has a real, redistributable, "
      "trained model to serve out of the box.\n")
    if args.note:
        w(f"**Note:** {args.note}\n")
    w("## Architecture (`config.json`)\n")
    w("| field | value |\n| --- | --- |")
    for key in ("model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "intermediate_size", "max_position_embeddings",
                "rope_theta", "rms_norm_eps", "tie_word_embeddings"):
        w(f"| `{key}` | {config[key]} |")
    n_params = config["vocab_size"] * config["hidden_size"]
    h, d = config["hidden_size"], config["head_dim"]
    per_layer = (h * config["num_attention_heads"] * d * 2 + h * config["num_key_value_heads"] * d * 2 +
                 3 * h * config["intermediate_size"] + 2 * h + 2 * d)
    n_params += config["num_hidden_layers"] * per_layer + h
    w(f"\n{n_params:,} parameters (embedding tied to the output), stored as F32 in `model.safetensors` "
      f"({size / 1e6:.1f} MB). RMSNorm, per-head q/k RMSNorm before RoPE, NeoX RoPE, GQA "
      f"({config['num_attention_heads']} query / {config['num_key_value_heads']} kv heads), SwiGLU, no biases.\n")
    w("Tokenizer: `tokenizer.json` (HF format: BPE, ByteLevel pre-tokenizer with the GPT-2 split regex, "
      "ByteLevel decoder), ids 0/1/2 = `<|endoftext|>`/`<|im_start|>`/`<|im_end|>` (special); "
      "`tokenizer_config.json` has MiniMind's bos/eos/pad fields and the plain ChatML template "
      "(`kChatMlTemplate`). Documents end with `<|endoftext|>`, chat turns with `<|im_end|>`.\n")

    w("## Data and licences\n")
    w("Fortune files from these Debian 12 packages (`tools/train/install-corpus.sh`); their copyright "
      "files are in `licenses/`. Because fortunes-zh is GPL-3.0-or-later, treat these weights (a work "
      "derived from that text) and the text excerpts under `eval/` as GPL-3.0-or-later, with the BSD "
      "notices of the other packages kept.\n")
    w("| package | version | licence | train docs | held-out docs | train bytes |\n| --- | --- | --- | --- | --- | --- |")
    for package, version, licence in LICENCES:
        row = by_package.get(package, [0, 0, 0, 0])
        w(f"| {package} | {version} | {licence} | {row[0]} | {row[1]} | {row[2]:,} |")
    w(f"\nTotal {stats['train_docs']} train documents, {stats['eval_docs']} held out (document-level, "
      "`sha256(source, text)[0] < 8`), plus "
      f"{stats['sft_pairs']} chat pairs built from train documents only (`tools/train/corpus.py`): "
      "\"Tell me a fortune.\" → a fortune, \"给我一句诗。\" → a line of a poem, \"来一首唐诗。\" → a poem, "
      "\"说一句格言。\" → a saying, and topic questions — \"Tell me something about the sea.\" / "
      "\"Tell me about love.\" → a fortune holding that word, \"说说月亮。\" / \"写一句关于山的诗。\" → a poem "
      f"line holding 月 / 山 ({len(corpus.EN_TOPICS)} English and {len(corpus.ZH_TOPICS)} Chinese topics, "
      f"up to {corpus.TOPIC_PAIRS_PER_TOPIC} answers each) — mixed into the pretraining stream in ChatML form. "
      "`ascii-art` is left out.\n")

    w("## Training\n")
    first, last = log[0], log[-1]
    w("```sh\ntools/train/run_pipeline.sh build/train\n```\n")
    w(f"Seed 20261128; AdamW (β 0.9/0.95, wd 0.1), peak lr {peak['lr']:g}, {peak['step']} warm-up steps, "
      f"cosine to 10% of the peak at the last step; batch {tokens_per_step // 256} × 256 tokens; "
      f"{last['step']} steps = {last['tokens']:,} tokens "
      f"(about {last['tokens'] / stream_tokens:.2f} epochs of the {stream_tokens / 1e6:.2f} M-token train stream); "
      f"{last['seconds'] / 60:.1f} min of training wall clock on 2 shared cores (`nice -n 10`, one torch "
      "thread, OpenBLAS, the other core busy with other work). The tokenizer is the committed one, "
      "reused as-is (`run_pipeline.sh` without `--train-tokenizer`), so the held-out windows are the "
      "same token ids as for earlier versions of this model.\n")
    w("| step | tokens | train loss | held-out loss (first 32 windows) | held-out ppl |\n| --- | --- | --- | --- | --- |")
    for r in log:
        if "eval_loss" in r or r["step"] in (1, 10, 20):
            w(f"| {r['step']} | {r['tokens']:,} | {r['train_loss']} | {r.get('eval_loss', '')} | "
              f"{r.get('eval_ppl', '')} |")
    w("\n## Results\n")
    w(f"* Held-out perplexity (all {results['heldout_windows']} held-out windows, "
      f"{results['heldout_tokens_predicted']:,} predicted tokens, independent reference forward pass "
      f"`tools/reference`, f32): **{results['heldout_perplexity_reference_f32']:.3f}** "
      f"(uniform over the vocabulary would be 6400).")
    if args.baseline_perplexity:
        w(f"* Before / after on the same held-out windows: {args.baseline_name}: "
          f"{args.baseline_perplexity:.3f} → this model: {results['heldout_perplexity_reference_f32']:.3f}.")
    w(f"* Golden for the C++ test (`eval/heldout_sample.json`, first {len(sample['windows'])} windows): "
      f"reference f64 perplexity {sample['perplexity_f64']:.6f}; "
      "`tests/models/minimind_serve_tiny_test` checks our engine within 1e-3 relative.")
    cli_checked = results['tokenizer_docs_checked_minimind_cli']
    cli_note = (f"and {cli_checked} of them with `minimind tokenize`" if cli_checked else
                "(`minimind tokenize` was not run by this pipeline run: finalize.py had no --minimind)")
    w(f"* Tokenizer: all {results['tokenizer_docs_checked_hf']} held-out documents encode to identical ids in "
      f"our Python BPE and HF tokenizers {cli_note}; the first 120 are committed in "
      "`eval/tokenizer_golden.jsonl` and checked by the C++ test.\n")
    n_tokens = len(greedy["prompts"][0]["tokens"])
    w("### Greedy chat turns (`eval/greedy.json`; the C++ test reproduces these ids)\n")
    w(f"Greedy decoding (argmax) of up to {n_tokens} tokens; the reply is what the server returns, the "
      "tokens before the first end-of-sequence id.\n")
    w("| prompt | greedy reply |\n| --- | --- |")
    for row in greedy["prompts"]:
        if row["prompt_text"].startswith("<|im_start|>user\n"):
            question = row["prompt_text"].split("\n")[1].replace("<|im_end|>", "")
            w(f"| {question} | {row['reply'].strip().replace(chr(10), ' / ').replace('|', '&#124;')} |")
    w("\n### Raw greedy continuations (no stop on end-of-sequence ids)\n")
    for row in greedy["prompts"]:
        w(f"**{row['name']}** — prompt `{json.dumps(row['prompt_text'], ensure_ascii=False)}`\n")
        w("```\n" + row["text"] + "\n```\n")
    with open(os.path.join(args.model_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
