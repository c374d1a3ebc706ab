#!/usr/bin/env python3
"""The service side by side: llama.cpp's llama-server against minimind-server, same model, same load.

One load generator (this file, standard library only) drives both servers' OpenAI-compatible
`POST /v1/completions` the same way: N clients at once, each sending requests one after another;
every request is a fresh prompt of random token ids (the same ids for both servers; distinct per
request, so no prefix is reused) with `max_tokens`, `ignore_eos` and greedy sampling, streamed.
Measured per run: output tokens per second over the run's wall time (first request sent to last
reply done), the median and p90 time to first token (request sent to the first streamed token).

Rounds are interleaved: each round runs every client count on both servers (the order of the two
servers alternating between rounds), each server started fresh for its run and stopped after it.
Printed: a Markdown table of medians over the rounds, and with --json every run.

Usage (bench/peers/run_llama_cpp.sh calls it):
  serve_compare.py --reps 5 --clients 8,32,64 --llama-server BIN --gguf MODEL.gguf \
      --minimind-server BIN --model MODEL_DIR [--threads 2] [--weight-dtype q8_0]
"""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, path, process, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {timeout} s")


def stream_completion(port, model, prompt, max_tokens):
    """One streamed completion: (seconds to the first token, completion tokens)."""
    body = json.dumps({
        "model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
        "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True},
    })
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.read()[:300]!r}")
    first = None
    chunks = 0
    usage_tokens = None
    for raw in response:
        line = raw.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        event = json.loads(data)
        if event.get("usage") and event["usage"].get("completion_tokens") is not None:
            usage_tokens = event["usage"]["completion_tokens"]
        if event.get("choices"):
            if first is None:
                first = time.perf_counter() - start
            chunks += 1
    conn.close()
    tokens = usage_tokens if usage_tokens is not None else chunks
    if tokens != max_tokens:
        raise RuntimeError(f"expected {max_tokens} completion tokens, got {tokens}")
    return first, tokens


def run_load(port, model, clients, requests_per_client, prompt_tokens, max_tokens, vocab, seed):
    rng = random.Random(seed)
    prompts = [[[rng.randrange(3, vocab) for _ in range(prompt_tokens)]
                for _ in range(requests_per_client)] for _ in range(clients)]
    ttfts, errors, totals = [], [], [0]
    lock = threading.Lock()

    def client(index):
        for prompt in prompts[index]:
            try:
                first, tokens = stream_completion(port, model, prompt, max_tokens)
                with lock:
                    ttfts.append(first)
                    totals[0] += tokens
            except Exception as error:  # noqa: BLE001 — reported below, the run fails
                with lock:
                    errors.append(str(error))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")
    ttfts.sort()
    return {
        "output_tok_s": totals[0] / wall,
        "ttft_p50_s": statistics.median(ttfts),
        "ttft_p90_s": ttfts[min(len(ttfts) - 1, int(0.9 * len(ttfts)))],
        "requests": len(ttfts),
        "wall_s": wall,
    }


def start_server(kind, args, clients, log):
    port = free_port()
    context = clients * (args.prompt_tokens + args.max_tokens + 64)
    if kind == "llama.cpp":
        command = [args.llama_server, "-m", args.gguf, "--host", "127.0.0.1", "--port", str(port),
                   "-t", str(args.threads), "-tb", str(args.threads), "-np", str(clients),
                   "-c", str(context), "--no-webui"]
        ready = "/health"
    else:
        command = [args.minimind_server, "--model", args.model,
                   "--listen", f"127.0.0.1:{free_port()}", "--http-listen", f"127.0.0.1:{port}",
                   "--threads", str(args.threads), "--max-batch", str(max(clients, 1))]
        if args.weight_dtype:
            command += ["--weight-dtype", args.weight_dtype]
        ready = "/v1/models"
    process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_ready(port, ready, process)
    except Exception:
        process.kill()
        raise
    return process, port


def stop_server(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--clients", default="8,32,64")
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=259,
                        help="prompt ids are drawn from [3, vocab): the byte tokens of make-random's tokenizer")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--llama-server", required=True)
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--minimind-server", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--weight-dtype", default=None,
                        help="minimind-server's --weight-dtype (default: as stored; q8_0 beside a Q8_0 GGUF)")
    parser.add_argument("--log", default=os.devnull, help="servers' output goes here")
    parser.add_argument("--json", action="store_true", help="also print every run as JSON")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]
    runs = []
    with open(args.log, "ab") as log:
        for rep in range(args.reps):
            for clients in client_counts:
                order = ["llama.cpp", "minimind-serve"]
                if rep % 2 == 1:
                    order.reverse()
                for kind in order:
                    process, port = start_server(kind, args, clients, log)
                    try:
                        model = "default"
                        # One request first: both servers warm up their buffers alike.
                        stream_completion(port, model, [3 + i % 256 for i in range(args.prompt_tokens)],
                                          args.max_tokens)
                        result = run_load(port, model, clients, args.requests_per_client,
                                          args.prompt_tokens, args.max_tokens, args.vocab,
                                          seed=1000 * rep + clients)
                    finally:
                        stop_server(process)
                    result.update({"server": kind, "clients": clients, "round": rep})
                    runs.append(result)
                    print(f"round {rep} {kind} clients={clients}: "
                          f"{result['output_tok_s']:.0f} tok/s, "
                          f"TTFT p50 {result['ttft_p50_s'] * 1000:.0f} ms", file=sys.stderr)
    if args.json:
        print(json.dumps(runs, indent=1))

    def median(kind, clients, key):
        return statistics.median(r[key] for r in runs
                                 if r["server"] == kind and r["clients"] == clients)

    print(f"| clients ({args.prompt_tokens}+{args.max_tokens} tokens, median of {args.reps}) | "
          "llama-server tok/s | TTFT p50 | minimind-server tok/s | TTFT p50 | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for clients in client_counts:
        theirs = median("llama.cpp", clients, "output_tok_s")
        ours = median("minimind-serve", clients, "output_tok_s")
        print(f"| {clients} | {theirs:,.0f} | "
              f"{median('llama.cpp', clients, 'ttft_p50_s') * 1000:,.0f} ms | {ours:,.0f} | "
              f"{median('minimind-serve', clients, 'ttft_p50_s') * 1000:,.0f} ms | "
              f"{ours / theirs:.2f}x |")


if __name__ == "__main__":
    main()
