#!/usr/bin/env python3
"""The interleaved rounds of run_llama_cpp.sh: each round runs every measurement once, llama.cpp's
and ours alternating, so both see the same machine; prints the medians and ratios as a markdown
table (BENCHMARKS.md "vs llama.cpp").

  llama.cpp: llama-bench -t 2, pp512 (prompt 512) and tg32 at depth 128 (32 tokens after 128 in
             the KV cache), on the f16 and Q8_0 GGUF files;
  ours:      forward_bench BM_Prefill/shape:0/threads:2/tokens:512 (f16 weights),
             weight_dtype_bench BM_Decode/dtype:{1,3,4}/threads:2 (one token at position 128, f16,
             int8 and q8_0 weights) and BM_Prefill/dtype:{3,4} (512 tokens, int8 and q8_0) on the
             same shape (random weights from the same generator).
  8-bit: llama.cpp's Q8_0 rounds activations to 8 bits (as our q8_0 does); our int8 multiplies
  the same 8-bit weights with f32 activations."""
import argparse
import csv
import io
import statistics
import subprocess


def llama_bench(binary, model, args):
    out = subprocess.run([binary, "-m", model, "-t", "2", "-r", "1", "-o", "csv", *args],
                         capture_output=True, text=True, check=True).stdout
    row = list(csv.DictReader(io.StringIO(out)))[0]
    return float(row["avg_ts"])


def google_bench(binary, pattern):
    out = subprocess.run([binary, f"--benchmark_filter={pattern}", "--benchmark_format=csv"],
                         capture_output=True, text=True, check=True).stdout
    text = out[out.index("name,"):]
    row = list(csv.DictReader(io.StringIO(text)))[0]
    return float(row["tok/s"])


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--llama-bench", "--gguf-f16", "--gguf-q8", "--forward-bench",
                 "--weight-dtype-bench"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--reps", type=int, default=5)
    a = parser.parse_args()
    rows = {  # name: (llama.cpp measurement, ours)
        "prefill 512, f16 weights": (
            lambda: llama_bench(a.llama_bench, a.gguf_f16, ["-p", "512", "-n", "0"]),
            lambda: google_bench(a.forward_bench, "BM_Prefill/shape:0/threads:2/tokens:512")),
        "decode batch 1 at 128, f16": (
            lambda: llama_bench(a.llama_bench, a.gguf_f16, ["-p", "0", "-n", "32", "-d", "128"]),
            lambda: google_bench(a.weight_dtype_bench, "BM_Decode/dtype:1/threads:2")),
        "decode batch 1 at 128, 8-bit (Q8_0 vs our int8)": (
            lambda: llama_bench(a.llama_bench, a.gguf_q8, ["-p", "0", "-n", "32", "-d", "128"]),
            lambda: google_bench(a.weight_dtype_bench, "BM_Decode/dtype:3/threads:2")),
        "decode batch 1 at 128, 8-bit (Q8_0 vs our q8_0)": (
            lambda: llama_bench(a.llama_bench, a.gguf_q8, ["-p", "0", "-n", "32", "-d", "128"]),
            lambda: google_bench(a.weight_dtype_bench, "BM_Decode/dtype:4/threads:2")),
        "prefill 512, 8-bit (Q8_0 vs our int8)": (
            lambda: llama_bench(a.llama_bench, a.gguf_q8, ["-p", "512", "-n", "0"]),
            lambda: google_bench(a.weight_dtype_bench, "BM_Prefill/dtype:3")),
        "prefill 512, 8-bit (Q8_0 vs our q8_0)": (
            lambda: llama_bench(a.llama_bench, a.gguf_q8, ["-p", "512", "-n", "0"]),
            lambda: google_bench(a.weight_dtype_bench, "BM_Prefill/dtype:4")),
    }
    samples = {name: ([], []) for name in rows}
    for _ in range(a.reps):
        for name, (theirs, ours) in rows.items():
            samples[name][0].append(theirs())
            samples[name][1].append(ours())
    print(f"| metric (tok/s, median of {a.reps}, interleaved) | llama.cpp | minimind-serve | ratio |")
    print("| --- | --- | --- | --- |")
    for name, (theirs, ours) in samples.items():
        t, o = statistics.median(theirs), statistics.median(ours)
        print(f"| {name} | {t:,.0f} | {o:,.0f} | {o / t:.2f}x |")


if __name__ == "__main__":
    main()
