#!/usr/bin/env python3
"""Fault tests of the built minimind-server (reliability issue), each bounded in time:

1. A model directory with a truncated or corrupt file: the server exits with code 1 and a clear
   message naming the problem, never a crash (no signal, no core).
2. A KV-budget flood: 48 streams against a pool that holds a handful; every admitted stream
   completes with exactly the tokens it gets when run alone (preemption and queueing change
   nothing), a request that can never fit is RESOURCE_EXHAUSTED with a message, and the pool is
   empty afterwards.
3. A client that stops reading a long stream: the server's memory stays bounded, the engine keeps
   serving other streams at full length meanwhile.
4. 1,000 cancels racing 1,000 completions: every call ends (OK with LENGTH or CANCELLED, or the
   cancel found nothing), the server stays healthy and no KV block stays in use.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (ServerProcess, add_common_arguments, check, generate_stubs,  # noqa: E402
                         grpc, make_random_model)


def start_and_expect_failure(server_binary, model_dir, expected):
    result = subprocess.run([server_binary, "--listen", "127.0.0.1:0", "--model", model_dir],
                            capture_output=True, text=True, timeout=60)
    check(result.returncode == 1,
          f"exit code {result.returncode} (a negative code is a signal), stderr {result.stderr!r}")
    check(expected in result.stderr, f"stderr {result.stderr!r} lacks {expected!r}")
    return result.stderr.strip().splitlines()[-1]


def scenario_corrupt_models(args, model_dir, scratch):
    cases = []
    truncated = os.path.join(scratch, "truncated")
    shutil.copytree(model_dir, truncated)
    path = os.path.join(truncated, "model.safetensors")
    os.truncate(path, os.path.getsize(path) // 2)
    cases.append((truncated, "model.safetensors"))
    garbage = os.path.join(scratch, "garbage-header")
    shutil.copytree(model_dir, garbage)
    with open(os.path.join(garbage, "model.safetensors"), "r+b") as f:
        f.write(b"\xff" * 16)
    cases.append((garbage, "model.safetensors"))
    bad_config = os.path.join(scratch, "bad-config")
    shutil.copytree(model_dir, bad_config)
    with open(os.path.join(bad_config, "config.json"), "w") as f:
        f.write('{"hidden_size": "wide"')
    cases.append((bad_config, "config.json"))
    no_tokenizer = os.path.join(scratch, "no-tokenizer")
    shutil.copytree(model_dir, no_tokenizer)
    os.remove(os.path.join(no_tokenizer, "tokenizer.json"))
    cases.append((no_tokenizer, "tokenizer.json"))
    for directory, expected in cases:
        line = start_and_expect_failure(args.server, directory, expected)
        print(f"corrupt model ({os.path.basename(directory)}): exit 1: {line}")


def scenario_kv_flood(args, model_dir, pb):
    inference_pb2, inference_pb2_grpc = pb
    # 16 tokens per block; 40 blocks hold about 6 sequences of 64 + 40 tokens.
    server = ServerProcess(args.server, model_dir, "--kv-cache-memory", "640KiB",
                           "--block-size", "16")
    try:
        server.wait_serving()
        channel = grpc.insecure_channel(server.target)
        stub = inference_pb2_grpc.InferenceStub(channel)

        def request(i):
            return inference_pb2.GenerateRequest(prompt=f"flood {i} " + "x" * 60, max_tokens=40,
                                                 seed=i, ignore_eos=True, temperature=0.8)
        alone = {i: list(stub.Complete(request(i), timeout=60).token_ids) for i in range(4)}
        results = {}

        def run(i):
            try:
                ids = [t for m in stub.Generate(request(i % 4), timeout=120) for t in m.token_ids]
                results[i] = ("ok", ids)
            except grpc.RpcError as error:
                results[i] = (error.code(), error.details())
        threads = [threading.Thread(target=run, args=(i,)) for i in range(48)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        failures = [r for r in results.values() if r[0] != "ok"]
        check(len(results) == 48, f"{48 - len(results)} streams never ended")
        for i, (status, ids) in results.items():
            if status == "ok":
                check(ids == alone[i % 4], f"stream {i} differs from the same request alone")
        check(not failures or all(f[0] == grpc.StatusCode.RESOURCE_EXHAUSTED for f in failures),
              f"unexpected failures {failures[:3]}")
        try:
            stub.Complete(inference_pb2.GenerateRequest(prompt="y" * 2000, max_tokens=10),
                          timeout=30)
            check(False, "a request larger than the whole pool was accepted")
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "KV" in error.details(),
                  f"oversized request: {error.code()} {error.details()!r}")
            oversized = error.details()
        print(f"KV flood: {len(results) - len(failures)} of 48 streams completed, each equal to "
              f"the request alone; {len(failures)} refused; oversized: {oversized!r}")
        channel.close()
    finally:
        server.kill()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def scenario_slow_reader(args, model_dir, pb):
    inference_pb2, inference_pb2_grpc = pb
    server = ServerProcess(args.server, model_dir)
    try:
        server.wait_serving()
        # A raw client that sends one Generate and never reads: small receive window.
        slow = grpc.insecure_channel(server.target, options=[
            ("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)])
        stalled = inference_pb2_grpc.InferenceStub(slow).Generate(
            inference_pb2.GenerateRequest(prompt="never read me", max_tokens=1500,
                                          ignore_eos=True, logprobs=True, top_logprobs=5),
            timeout=120)
        next(stalled)  # Started; from now on nobody reads.
        before = rss_kib(server.process.pid)
        channel = grpc.insecure_channel(server.target)
        stub = inference_pb2_grpc.InferenceStub(channel)
        started = time.time()
        for i in range(10):
            reply = stub.Complete(inference_pb2.GenerateRequest(
                prompt=f"meanwhile {i}", max_tokens=64, ignore_eos=True), timeout=30)
            check(reply.usage.completion_tokens == 64, "a stream beside the stalled one was cut")
        elapsed = time.time() - started
        after = rss_kib(server.process.pid)
        check(after - before < 64 * 1024, f"RSS grew {after - before} KiB beside a stalled reader")
        stalled.cancel()
        print(f"slow reader: 10 other requests x 64 tokens done in {elapsed:.2f} s while a client "
              f"did not read a 1,500-token stream; RSS {before} -> {after} KiB")
        channel.close()
        slow.close()
    finally:
        server.kill()


def scenario_cancel_race(args, model_dir, pb, models):
    inference_pb2, inference_pb2_grpc = pb
    models_pb2, models_pb2_grpc = models
    server = ServerProcess(args.server, model_dir, "--max-waiting", "4096")
    try:
        server.wait_serving()
        channel = grpc.insecure_channel(server.target)
        stub = inference_pb2_grpc.InferenceStub(channel)
        # Each cancel chases the completion submitted 50 calls before it: some are queued, some
        # running, some already finished when their cancel lands.
        completions, cancels = [], []

        def cancel(i):
            cancels.append(stub.Cancel.future(
                inference_pb2.CancelRequest(request_id=f"race-{i}"), timeout=120))
        for i in range(1000):
            completions.append(stub.Complete.future(inference_pb2.GenerateRequest(
                prompt=f"race {i}", max_tokens=24, ignore_eos=True, request_id=f"race-{i}"),
                timeout=120))
            if i >= 50:
                cancel(i - 50)
        for i in range(950, 1000):
            cancel(i)
        outcomes = {"LENGTH": 0, "CANCELLED": 0}
        for future in completions:
            reply = future.result()
            name = inference_pb2.FinishReason.Name(reply.finish_reason).replace("FINISH_REASON_", "")
            check(name in outcomes, f"finish reason {name}")
            check((name == "LENGTH") == (reply.usage.completion_tokens == 24),
                  f"{name} after {reply.usage.completion_tokens} tokens")
            outcomes[name] += 1
        found = sum(1 for future in cancels if future.result().cancelled)
        check(found >= outcomes["CANCELLED"], "more cancelled completions than cancels that hit")
        info = models_pb2_grpc.ModelsStub(channel)
        deadline = time.time() + 10
        while True:
            in_use = info.GetModelInfo(models_pb2.GetModelInfoRequest(), timeout=10).kv_blocks_in_use
            if in_use == 0:
                break
            check(time.time() < deadline, f"{in_use} KV blocks still in use after the race")
            time.sleep(0.05)
        print(f"cancel race: 1,000 cancels raced 1,000 completions ({outcomes['LENGTH']} LENGTH, "
              f"{outcomes['CANCELLED']} CANCELLED), {found} cancels found their request; "
              "KV blocks in use 0")
        channel.close()
        server.process.terminate()
        code, _ = server.finish(timeout=60)
        check(code == 0, f"exit code {code} after the race")
    finally:
        server.kill()


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minimind_faults_") as scratch:
        model_dir = make_random_model(args.cli, os.path.join(scratch, "model"))
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import models_pb2, models_pb2_grpc
        pb = (inference_pb2, inference_pb2_grpc)
        scenario_corrupt_models(args, model_dir, scratch)
        scenario_kv_flood(args, model_dir, pb)
        scenario_slow_reader(args, model_dir, pb)
        scenario_cancel_race(args, model_dir, pb, (models_pb2, models_pb2_grpc))
    print("PASSED")


if __name__ == "__main__":
    main()
