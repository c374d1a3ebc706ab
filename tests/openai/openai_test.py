#!/usr/bin/env python3
"""The OpenAI-compatible HTTP API with clients nobody here wrote: the `openai` npm package
(openai_client.mjs: models, unary and streaming chat, completions, a session over HTTP, bad input,
a wrong key) and curl (raw server-sent events). The server runs with an API keys file so
authentication is exercised too. Exits 77 (ctest SKIP) without node/npm or curl, or when the locked
npm packages cannot be installed (offline)."""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from e2e_support import ServerProcess, check, free_port, skip  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    for tool in ("node", "npm", "curl"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "openai")):
        if subprocess.run(["npm", "ci", "--prefix", HERE, "--no-audit", "--no-fund",
                           "--loglevel=error"]).returncode != 0:
            skip("npm ci failed (offline?); run it once with network")
    with tempfile.TemporaryDirectory(prefix="minimind_openai_") as scratch:
        keys = os.path.join(scratch, "keys.json")
        with open(keys, "w") as f:
            json.dump({"tenants": {"web": {}}, "keys": [
                {"sha256": hashlib.sha256(b"sk-test").hexdigest(), "tenant": "web"}]}, f)
        http_port = free_port()
        server = ServerProcess(args.server, args.model, "--http-listen",
                               f"127.0.0.1:{http_port}", "--api-keys-file", keys)
        try:
            import grpc  # noqa: F401  (health only; the API under test is HTTP)
            deadline_ok = False
            for _ in range(600):
                result = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                         "-H", "Authorization: Bearer sk-test",
                                         f"http://127.0.0.1:{http_port}/v1/models"],
                                        capture_output=True, text=True)
                if result.stdout == "200":
                    deadline_ok = True
                    break
                import time
                time.sleep(0.1)
            check(deadline_ok, "the HTTP API never answered /v1/models")
            base = f"http://127.0.0.1:{http_port}/v1"
            result = subprocess.run(["node", os.path.join(HERE, "openai_client.mjs"), base,
                                     "sk-test"], capture_output=True, text=True, timeout=120)
            check(result.returncode == 0, f"openai client failed: {result.stderr}")
            out = json.loads(result.stdout.strip().splitlines()[-1])
            check(out["models"] == [os.path.basename(os.path.normpath(args.model))],
                  f"models {out['models']}")
            unary, stream = out["unary"], out["stream"]
            check(unary["usage"]["completion_tokens"] == 12 and unary["finish"] == "length",
                  f"unary {unary}")
            check(stream["text"] == unary["text"],
                  f"streamed text {stream['text']!r} != unary {unary['text']!r} (same seed)")
            check(stream["chunks"] >= 3 and stream["finish"] == "length", f"stream {stream}")
            check(stream["usage"]["prompt_tokens"] == unary["usage"]["prompt_tokens"],
                  "stream usage")
            check(out["completion"]["usage"]["completion_tokens"] == 8, f"{out['completion']}")
            first, second = out["session_turns"]
            check(first["prompt_tokens_details"]["cached_tokens"] == 0, f"turn 1 {first}")
            history = first["prompt_tokens"] + first["completion_tokens"]
            check(second["prompt_tokens_details"]["cached_tokens"] == history - 1,
                  f"turn 2 reused {second['prompt_tokens_details']['cached_tokens']} of "
                  f"{history} history tokens")
            check(out["bad"] != "accepted" and out["bad"]["status"] == 400 and
                  out["bad"]["type"] == "invalid_request_error", f"bad input {out['bad']}")
            check(out["unauthenticated"] != "accepted" and
                  out["unauthenticated"]["status"] == 401, f"wrong key {out['unauthenticated']}")
            print(f"openai npm client: models {out['models']}; unary == stream "
                  f"({stream['chunks']} chunks); completions; session turn 2 cached "
                  f"{second['prompt_tokens_details']['cached_tokens']} tokens; bad input "
                  f"{out['bad']['status']} {out['bad']['message']!r}; wrong key 401")

            sse = subprocess.run(["curl", "-sN", "-H", "Authorization: Bearer sk-test",
                                  f"{base}/completions", "-d",
                                  '{"model": "m", "prompt": "Hi", "max_tokens": 4, '
                                  '"seed": 5, "ignore_eos": true, "stream": true}'], capture_output=True, text=True, timeout=60)
            events = [line for line in sse.stdout.splitlines() if line.startswith("data: ")]
            check(events and events[-1] == "data: [DONE]", f"SSE {sse.stdout!r}")
            payloads = [json.loads(e[6:]) for e in events[:-1]]
            check(payloads[-1]["choices"][0]["finish_reason"] == "length", "SSE finish")
            print(f"curl: {len(events)} server-sent events ending in [DONE]")
        finally:
            server.kill()
    print("PASSED")


if __name__ == "__main__":
    main()
