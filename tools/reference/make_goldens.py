#!/usr/bin/python3
"""Writes tests/data/models/<name>/golden.json for every test model (deterministic, bit-for-bit).

Golden values are computed in float64 from the stored weights (upcast), i.e. they are the exact answer for
those weights up to float64 rounding. The same forward pass in float32 is run alongside, and the largest
|logprob_f32 - logprob_f64| is recorded in "meta" as the reference's own float32 noise floor.

golden.json:
  {"meta": {...},
   "prompts": [{"ids": [...],
                "prompt_logprobs": [null, lp_1, ..., lp_{T-1}],   # lp_i = log_softmax(logits[i-1])[ids[i]]
                "last_logprobs": [V floats]}],                    # log_softmax(logits[T-1])
   "greedy": {"prompt": [...], "tokens": [16 ids]}}                # argmax, full recompute each step
Floats are Python floats written with repr() (shortest string that round-trips the float64 exactly).

Usage: /usr/bin/python3 tools/reference/make_goldens.py [--models-dir tests/data/models]
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_model  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODELS_DIR = os.path.join(REPO_ROOT, "tests", "data", "models")

MODEL_NAMES = ("tiny-llama", "tiny-llama-f16", "tiny-llama-pth", "tiny-qwen2", "tiny-qwen3",
               "tiny-qwen3-moe", "tiny-minimind-moe", "tiny-llama-yarn")
PROMPT_LENGTHS = (5, 40, 150)
PROMPT_SEED = 20240611
GREEDY_TOKENS = 16


def make_prompts(vocab_size):
    """Token-id prompts of PROMPT_LENGTHS from a fixed generator (same for every model of this vocab)."""
    generator = torch.Generator().manual_seed(PROMPT_SEED)
    return [torch.randint(0, vocab_size, (n,), generator=generator).tolist() for n in PROMPT_LENGTHS]


class RouterMargins:
    """Records, for every routing decision, prob(k-th choice) - prob((k+1)-th choice)."""

    def __init__(self):
        self.smallest = None
        self._route = reference_model.route

    def __enter__(self):
        def recording_route(router_logits, top_k, norm_topk_prob):
            probs = torch.softmax(router_logits, dim=-1).sort(dim=-1, descending=True).values
            if probs.shape[-1] > top_k:
                margin = float((probs[:, top_k - 1] - probs[:, top_k]).min())
                self.smallest = margin if self.smallest is None else min(self.smallest, margin)
            return self._route(router_logits, top_k, norm_topk_prob)
        reference_model.route = recording_route
        return self

    def __exit__(self, *exc):
        reference_model.route = self._route


def prompt_golden(model, ids):
    """(golden dict, full [T, V] logprobs) for one prompt."""
    logprobs = reference_model.log_softmax(reference_model.forward(model, ids))   # [T, V]
    prompt_logprobs = [None] + [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]
    golden = {"ids": list(ids), "prompt_logprobs": prompt_logprobs,
              "last_logprobs": [float(x) for x in logprobs[-1]]}
    return golden, logprobs


def greedy_with_margin(model, prompt):
    """Greedy tokens by full recompute, and the smallest top-1 minus top-2 logit gap seen on the way."""
    ids, tokens, margin = list(prompt), [], float("inf")
    for _ in range(GREEDY_TOKENS):
        last = reference_model.forward(model, ids)[-1]
        top2 = torch.topk(last, 2).values
        margin = min(margin, float(top2[0] - top2[1]))
        token = int(torch.argmax(last))
        tokens.append(token)
        ids.append(token)
    return tokens, margin


def make_golden(directory, name):
    model64 = reference_model.load_model(directory, torch.float64)
    model32 = reference_model.load_model(directory, torch.float32)
    prompts = make_prompts(model64.config.vocab_size)

    goldens, max_diff = [], 0.0
    with RouterMargins() as routing:
        for ids in prompts:
            golden, lp64 = prompt_golden(model64, ids)
            _, lp32 = prompt_golden(model32, ids)
            max_diff = max(max_diff, float((lp32.double() - lp64).abs().max()))
            goldens.append(golden)
        greedy_prompt = prompts[0]
        tokens, logit_margin = greedy_with_margin(model64, greedy_prompt)
    tokens32, _ = greedy_with_margin(model32, greedy_prompt)
    if tokens32 != tokens:
        raise RuntimeError(f"{name}: float32 and float64 greedy decoding disagree: {tokens32} vs {tokens}")

    meta = {
        "model": name,
        "compute_dtype": "float64",
        "reference_f32_max_abs_logprob_diff": max_diff,
        "greedy_min_top2_logit_margin": logit_margin,
    }
    if routing.smallest is not None:
        meta["min_router_topk_prob_margin"] = routing.smallest
    doc = {"meta": meta, "prompts": goldens, "greedy": {"prompt": list(greedy_prompt), "tokens": tokens}}
    with open(os.path.join(directory, "golden.json"), "w") as out:
        out.write(format_golden(doc))
    return meta


def format_golden(doc):
    """One JSON document; each prompt on its own line to keep diffs readable."""
    compact = lambda value: json.dumps(value, separators=(",", ":"), allow_nan=False)
    lines = ["{", f'"meta":{compact(doc["meta"])},', '"prompts":[']
    lines += [compact(p) + ("," if i + 1 < len(doc["prompts"]) else "") for i, p in enumerate(doc["prompts"])]
    lines += ["],", f'"greedy":{compact(doc["greedy"])}', "}"]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", default=DEFAULT_MODELS_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)   # fixed BLAS reduction order -> bit-for-bit reproducible goldens

    worst = 0.0
    for name in MODEL_NAMES:
        meta = make_golden(os.path.join(args.models_dir, name), name)
        worst = max(worst, meta["reference_f32_max_abs_logprob_diff"])
        router = meta.get("min_router_topk_prob_margin")
        print(f"{name:18s} f32-f64 max|dlogprob| {meta['reference_f32_max_abs_logprob_diff']:.3e}  "
              f"greedy min logit margin {meta['greedy_min_top2_logit_margin']:.4f}"
              + (f"  router min prob margin {router:.4f}" if router is not None else ""))
    print(f"worst f32-f64 max|dlogprob| over all models: {worst:.3e}")


if __name__ == "__main__":
    main()
