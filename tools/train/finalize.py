#!/usr/bin/env python3
"""Ships a training run as models/<name>/ and writes the goldens the C++ tests check.

Copies <run>/checkpoint (config.json, model.safetensors, tokenizer.json, tokenizer_config.json) to
<model-dir>, then evaluates the SHIPPED files with the independent reference forward pass
(tools/reference/reference_model.py), never with the training module:

  <model-dir>/eval/heldout_sample.json   the first --sample-windows held-out windows (token ids),
        their decoded text, and the reference perplexity over them in float64 and float32
        (the golden of tests/models/minimind_serve_tiny_test.cc)
  <model-dir>/eval/greedy.json           fixed prompts (text and ids) and their greedy
        continuations (argmax, ties -> lowest id, full recompute each step, float64), with the
        smallest top-1/top-2 logit margin on each path
  <model-dir>/eval/tokenizer_golden.jsonl  the first --tokenizer-docs held-out documents with the
        ids Hugging Face tokenizers (tools/train/hf_encode.mjs) gives them
  <model-dir>/eval/results.json           full held-out perplexity (reference, float32), the loss
        curve from <run>/log.jsonl, tokenizer agreement counts, sample generations

Tokenizer agreement: every held-out document is encoded by this package's Python BPE, by HF
tokenizers (node) and, with --minimind, by our C++ `minimind tokenize`; any mismatch is an error.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import bpe_tokenizer  # noqa: E402
import reference_model  # noqa: E402

SHIPPED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
CORPUS_PACKAGES = ("fortunes", "fortunes-min", "fortunes-zh", "fortunes-debian-hints")
CHAT_TURN = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
GREEDY_PROMPTS = [
    ("chat_sea_en", CHAT_TURN.format("Tell me something about the sea.")),
    ("chat_fortune_en", CHAT_TURN.format("Tell me a fortune.")),
    ("chat_moon_zh", CHAT_TURN.format("说说月亮。")),
    ("chat_poem_zh", CHAT_TURN.format("给我一句诗。")),
    ("plain_en", "The best way to"),
    ("plain_zh", "春风"),
]
GREEDY_TOKENS = 48


def encode_with_specials(tokenizer, text):
    ids, rest = [], text
    while rest:
        found = [(rest.find(t), t) for t in bpe_tokenizer.SPECIAL_TOKENS if rest.find(t) >= 0]
        if not found:
            return ids + tokenizer.encode(rest)
        pos, token = min(found)
        ids += tokenizer.encode(rest[:pos]) + [bpe_tokenizer.SPECIAL_TOKENS.index(token)]
        rest = rest[pos + len(token):]
    return ids


def mean_logprob(model, windows):
    """Mean log p(token | prefix) over tokens 1.. of every window, summed in float64."""
    total, count = 0.0, 0
    for window in windows:
        logits = reference_model.forward(model, window)                      # [T, V]
        lp = torch.log_softmax(logits.double(), dim=-1)
        target = torch.tensor(window[1:])
        total += lp[:-1].gather(1, target[:, None]).sum().item()
        count += len(window) - 1
    return total / count, count


def greedy(model, prompt, steps):
    ids, out, margin = list(prompt), [], float("inf")
    for _ in range(steps):
        last = reference_model.forward(model, ids)[-1]
        top = torch.topk(last, 2)
        margin = min(margin, (top.values[0] - top.values[1]).item())
        token = int(torch.argmax(last))
        out.append(token)
        ids.append(token)
    return out, margin


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--minimind", help="path of the built `minimind` CLI, to check `minimind tokenize`")
    p.add_argument("--sample-windows", type=int, default=4)
    p.add_argument("--tokenizer-docs", type=int, default=120)
    p.add_argument("--full-eval-windows", type=int, default=0, help="0 = all held-out windows")
    args = p.parse_args()
    torch.set_num_threads(1)

    os.makedirs(os.path.join(args.model_dir, "eval"), exist_ok=True)
    for name in SHIPPED_FILES:
        shutil.copyfile(os.path.join(args.run, "checkpoint", name), os.path.join(args.model_dir, name))
    eval_dir = os.path.join(args.model_dir, "eval")
    # The corpus packages' copyright files (their licences ask for the notices to travel along).
    os.makedirs(os.path.join(args.model_dir, "licenses"), exist_ok=True)
    for package in CORPUS_PACKAGES:
        shutil.copyfile(f"/usr/share/doc/{package}/copyright",
                        os.path.join(args.model_dir, "licenses", f"{package}.copyright"))
    tokenizer = bpe_tokenizer.read_tokenizer(args.model_dir)

    # --- tokenizer agreement on the held-out documents ---------------------------------------
    with open(os.path.join(args.corpus, "eval.jsonl"), encoding="utf-8") as f:
        docs = [json.loads(line)["text"] for line in f]
    ours = [tokenizer.encode(d) for d in docs]
    inputs = os.path.join(eval_dir, ".hf_in.jsonl")
    outputs = os.path.join(eval_dir, ".hf_out.jsonl")
    with open(inputs, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")
    subprocess.run(["node", os.path.join(HERE, "hf_encode.mjs"), os.path.join(args.model_dir, "tokenizer.json"),
                    inputs, outputs], check=True)
    with open(outputs) as f:
        hf = [json.loads(line)["ids"] for line in f]
    os.remove(inputs)
    os.remove(outputs)
    hf_mismatch = [i for i, (a, b) in enumerate(zip(ours, hf)) if a != b]
    if hf_mismatch or len(hf) != len(ours):
        raise SystemExit(f"HF tokenizers disagrees with the Python BPE on documents {hf_mismatch[:10]}")
    cli_checked = 0
    if args.minimind:
        for doc, ids in zip(docs, hf):
            result = subprocess.run([args.minimind, "tokenize", "--model", args.model_dir], input=doc.encode(),
                                    capture_output=True, check=True)
            if json.loads(result.stdout) != ids:
                raise SystemExit(f"`minimind tokenize` disagrees with HF tokenizers on: {doc[:80]!r}")
            cli_checked += 1
    with open(os.path.join(eval_dir, "tokenizer_golden.jsonl"), "w", encoding="utf-8") as f:
        for doc, ids in list(zip(docs, hf))[:args.tokenizer_docs]:
            f.write(json.dumps({"text": doc, "ids": ids}, ensure_ascii=False) + "\n")
    print(f"tokenizer: {len(docs)} held-out documents identical in Python BPE and HF tokenizers; "
          f"{cli_checked} also checked with `minimind tokenize`", flush=True)

    # --- perplexity with the reference forward pass ---------------------------------------------
    windows = torch.load(os.path.join(args.run, "eval_windows.pt")).tolist()
    sample = windows[:args.sample_windows]
    model64 = reference_model.load_model(args.model_dir, torch.float64)
    model32 = reference_model.load_model(args.model_dir, torch.float32)
    lp64, n_sample = mean_logprob(model64, sample)
    lp32, _ = mean_logprob(model32, sample)
    write_json(os.path.join(eval_dir, "heldout_sample.json"), {
        "description": "first held-out windows (tools/train/train.py packing); perplexity = "
                       "exp(-mean log p(token_i | tokens_<i)) over positions 1.. of every window",
        "windows": sample,
        "text": [tokenizer.decode(w) for w in sample],
        "predicted_tokens": n_sample,
        "mean_logprob_f64": lp64,
        "perplexity_f64": math.exp(-lp64),
        "perplexity_f32": math.exp(-lp32),
    })
    print(f"sample perplexity f64 {math.exp(-lp64):.6f} f32 {math.exp(-lp32):.6f}", flush=True)
    full = windows if args.full_eval_windows == 0 else windows[:args.full_eval_windows]
    lp_full, n_full = mean_logprob(model32, full)
    print(f"held-out perplexity {math.exp(-lp_full):.4f} over {n_full} tokens", flush=True)

    # --- greedy goldens and samples ------------------------------------------------------------
    greedy_rows = []
    for name, text in GREEDY_PROMPTS:
        prompt = encode_with_specials(tokenizer, text)
        tokens, margin = greedy(model64, prompt, GREEDY_TOKENS)
        # What a server returns: the tokens before the first end-of-sequence id (0 or 2).
        reply = tokens[:next((i for i, t in enumerate(tokens) if t in (0, 2)), len(tokens))]
        greedy_rows.append({"name": name, "prompt_text": text, "prompt_ids": prompt, "tokens": tokens,
                            "text": tokenizer.decode(tokens), "reply": tokenizer.decode(reply),
                            "min_top2_logit_margin": margin})
        print(f"{name}: {tokenizer.decode(tokens)!r} (margin {margin:.4f})", flush=True)
    write_json(os.path.join(eval_dir, "greedy.json"), {
        "description": f"greedy (argmax, ties -> lowest id) continuations of {GREEDY_TOKENS} tokens, "
                       "float64 reference forward with full recompute; no stop on end-of-sequence ids",
        "prompts": greedy_rows})

    with open(os.path.join(args.run, "log.jsonl")) as f:
        log = [json.loads(line) for line in f]
    write_json(os.path.join(eval_dir, "results.json"), {
        "heldout_windows": len(full), "heldout_tokens_predicted": n_full,
        "heldout_perplexity_reference_f32": math.exp(-lp_full),
        "heldout_mean_logprob_reference_f32": lp_full,
        "tokenizer_docs_checked_hf": len(docs), "tokenizer_docs_checked_minimind_cli": cli_checked,
        "loss_curve": [r for r in log if "eval_loss" in r or r["step"] % 10 == 0],
    })


if __name__ == "__main__":
    main()
