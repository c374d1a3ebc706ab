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
from e2e_support import ServerProcess, check, free_port, http_json, skip  # noqa: E402


def check_session_routes(base):
    """The /v1/sessions extension routes: create, a turn, get, list, fork, delete, bad input."""
    status, created = http_json("POST", f"{base}/sessions",
                                {"system_prompt": "Be brief.", "ttl_seconds": 600,
                                 "labels": {"app": "test"}})
    check(status == 200 and created["object"] == "session" and len(created["id"]) == 32 and
          created["labels"] == {"app": "test"} and created["ttl_seconds"] == 600,
          f"create {status} {created}")
    sid = created["id"]
    status, reply = http_json("POST", f"{base}/chat/completions",
                              {"model": "m", "session_id": sid, "max_tokens": 6, "seed": 3,
                               "messages": [{"role": "user", "content": "hello"}]})
    check(status == 200 and reply["usage"]["session_saved"] is True, f"turn {status} {reply}")
    status, got = http_json("GET", f"{base}/sessions/{sid}")
    check(status == 200 and got["turns"] == 1 and len(got["messages"]) == 2 and
          got["messages"][0] == {"role": "user", "content": "hello"} and
          got["messages"][1]["content"] == reply["choices"][0]["message"]["content"] and
          got["kv_cached"] is True, f"get {status} {got}")
    status, listed = http_json("GET", f"{base}/sessions?limit=100")
    check(status == 200 and listed["object"] == "list" and
          sid in [entry["id"] for entry in listed["data"]], f"list {status} {listed}")
    status, fork = http_json("POST", f"{base}/sessions/{sid}/fork", {})
    check(status == 200 and fork["id"] != sid and len(fork["messages"]) == 2 and
          fork["ttl_seconds"] == 600, f"fork {status} {fork}")
    status, deleted = http_json("DELETE", f"{base}/sessions/{fork['id']}")
    check(status == 200 and deleted["deleted"] is True, f"delete {status} {deleted}")
    status, gone = http_json("GET", f"{base}/sessions/{fork['id']}")
    check(status == 404 and gone["error"]["type"] == "not_found_error" and
          "was deleted" in gone["error"]["message"], f"deleted session {status} {gone}")
    status, bad = http_json("POST", f"{base}/sessions", {"ttl_seconds": "soon"})
    check(status == 400 and "ttl_seconds must be an integer" in bad["error"]["message"],
          f"bad create {status} {bad}")
    status, bad = http_json("GET", f"{base}/sessions?limit=-1")
    check(status == 400 and "limit" in bad["error"]["message"], f"bad list {status} {bad}")
    status, foreign = http_json("GET", f"{base}/sessions/{sid}", key="sk-wrong")
    check(status == 401, f"wrong key on a session route {status} {foreign}")
    print(f"/v1/sessions: create, turn (session_saved), get (1 turn, 2 messages), list, fork, "
          f"delete -> 404 '{gone['error']['message']}', bad input 400")


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
            check(first.get("session_saved") is True and second.get("session_saved") is True,
                  f"session turns not reported saved: {first}, {second}")
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

            check_session_routes(base)

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
