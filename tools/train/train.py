#!/usr/bin/env python3
"""Trains the tokenizer and the tiny Qwen3 model of models/minimind-serve-tiny on the CPU.

Steps (all deterministic for a given seed, torch build and BLAS):
 1. tokenizer: byte-level BPE (tools/train/bpe_tokenizer.py) on the train documents, vocab 6400.
 2. data: every train document, and every chat pair rendered with the ChatML template
    ("<|im_start|>user\\n{q}<|im_end|>\\n<|im_start|>assistant\\n{a}<|im_end|>\\n"), is encoded and
    followed by <|endoftext|> (id 0); the documents are shuffled (random.Random(seed)), concatenated,
    and cut into windows of seq_len + 1 tokens. Held-out documents are packed the same way, in file
    order without shuffling, into windows of seq_len tokens (the eval set).
 3. training: AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), linear warm-up then cosine decay
    to 10% of the peak learning rate, batches drawn from a torch.Generator(seed) permutation.
    Every --save-every steps the checkpoint is written in the HF layout to <out>/checkpoint
    (config.json, model.safetensors F32, tokenizer.json, tokenizer_config.json) with the held-out
    loss logged to <out>/log.jsonl, so a run cut short still leaves its best-so-far model.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import bpe_tokenizer  # noqa: E402
import safetensors_io  # noqa: E402
from qwen3_model import Qwen3ForCausalLM  # noqa: E402

VOCAB_SIZE = 6400


def model_config(args):
    return {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": VOCAB_SIZE,
        "hidden_size": args.hidden,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "head_dim": args.head_dim,
        "intermediate_size": args.ffn,
        "hidden_act": "silu",
        "max_position_embeddings": 512,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "use_sliding_window": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 0,
        "torch_dtype": "float32",
    }


def chat_text(user, assistant):
    return f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{assistant}<|im_end|>\n"


def encode_with_specials(tokenizer, text):
    """Encodes text in which the three special tokens may appear literally."""
    ids, rest = [], text
    while rest:
        positions = [(rest.find(t), t) for t in bpe_tokenizer.SPECIAL_TOKENS if rest.find(t) >= 0]
        if not positions:
            ids += tokenizer.encode(rest)
            break
        pos, token = min(positions)
        ids += tokenizer.encode(rest[:pos]) + [bpe_tokenizer.SPECIAL_TOKENS.index(token)]
        rest = rest[pos + len(token):]
    return ids


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def pack(sequences, window):
    stream = [t for seq in sequences for t in seq]
    n = len(stream) // window
    return torch.tensor(stream[:n * window], dtype=torch.long).view(n, window)


def write_checkpoint(directory, model, config, tokenizer_dir):
    os.makedirs(directory, exist_ok=True)
    tensors = {k: v.float().contiguous() for k, v in model.hf_state_dict().items()}
    safetensors_io.save_file(tensors, os.path.join(directory, "model.safetensors.tmp"))
    os.replace(os.path.join(directory, "model.safetensors.tmp"), os.path.join(directory, "model.safetensors"))
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(tokenizer_dir, name), "rb") as src, open(os.path.join(directory, name), "wb") as dst:
            dst.write(src.read())


@torch.no_grad()
def held_out_loss(model, eval_windows, batch):
    total, count = 0.0, 0
    for i in range(0, eval_windows.shape[0], batch):
        ids = eval_windows[i:i + batch]
        logits = model(ids[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), ids[:, 1:].reshape(-1), reduction="sum").item()
        count += ids[:, 1:].numel()
    return total / count


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", required=True, help="output dir of corpus.py")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=20261128)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=32)
    p.add_argument("--ffn", type=int, default=384)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--stop-after", type=int, default=0,
                   help="end after this many steps (0 = --steps); the schedule still spans --steps")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--save-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-windows", type=int, default=32, help="held-out windows scored at each save")
    p.add_argument("--tokenizer", help="reuse this tokenizer dir instead of training one")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    train_docs = read_jsonl(os.path.join(args.corpus, "train.jsonl"))
    eval_docs = read_jsonl(os.path.join(args.corpus, "eval.jsonl"))
    sft = read_jsonl(os.path.join(args.corpus, "sft.jsonl"))

    tokenizer_dir = os.path.join(args.out, "tokenizer")
    if args.tokenizer:
        tokenizer = bpe_tokenizer.read_tokenizer(args.tokenizer)
        bpe_tokenizer.write_tokenizer(tokenizer_dir, tokenizer.vocab, sorted(tokenizer.ranks, key=tokenizer.ranks.get))
    else:
        vocab, merges = bpe_tokenizer.train_bpe([d["text"] for d in train_docs], VOCAB_SIZE)
        bpe_tokenizer.write_tokenizer(tokenizer_dir, vocab, merges)
        tokenizer = bpe_tokenizer.read_tokenizer(tokenizer_dir)
    print(f"tokenizer: {len(tokenizer.vocab)} tokens ({time.time() - started:.0f} s)", flush=True)

    texts = [d["text"] for d in train_docs] + [chat_text(s["user"], s["assistant"]) for s in sft]
    random.Random(args.seed).shuffle(texts)
    train_windows = pack([encode_with_specials(tokenizer, t) + [0] for t in texts], args.seq_len + 1)
    eval_windows = pack([tokenizer.encode(d["text"]) + [0] for d in eval_docs], args.seq_len)
    torch.save(eval_windows, os.path.join(args.out, "eval_windows.pt"))
    print(f"data: {train_windows.numel()} train tokens in {train_windows.shape[0]} windows, "
          f"{eval_windows.numel()} held-out tokens in {eval_windows.shape[0]} windows "
          f"({time.time() - started:.0f} s)", flush=True)

    config = model_config(args)
    model = Qwen3ForCausalLM(config)
    model.init_weights(torch.Generator().manual_seed(args.seed))
    print(f"model: {sum(p.numel() for p in model.parameters())} parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    generator = torch.Generator().manual_seed(args.seed)
    order = torch.empty(0, dtype=torch.long)
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    train_started = time.time()
    last_step = args.stop_after if 0 < args.stop_after < args.steps else args.steps
    for step in range(last_step):
        if order.numel() < args.batch:
            order = torch.cat([order, torch.randperm(train_windows.shape[0], generator=generator)])
        batch_ids, order = train_windows[order[:args.batch]], order[args.batch:]
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        logits = model(batch_ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), batch_ids[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        elapsed = time.time() - train_started
        record = {"step": step + 1, "train_loss": round(loss.item(), 4), "lr": lr_at(step),
                  "tokens": (step + 1) * args.batch * args.seq_len, "seconds": round(elapsed, 1)}
        if (step + 1) % args.save_every == 0 or step + 1 == last_step:
            record["eval_loss"] = round(held_out_loss(model, eval_windows[:args.eval_windows], 32), 4)
            record["eval_ppl"] = round(math.exp(record["eval_loss"]), 3)
            write_checkpoint(os.path.join(args.out, "checkpoint"), model, config, tokenizer_dir)
        log.write(json.dumps(record) + "\n")
        log.flush()
        if "eval_loss" in record or step % 5 == 0:
            print(json.dumps(record), flush=True)
    print(f"done in {time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
