#!/usr/bin/env python3
"""Structured output (issue 27) through the real server and the official `openai` npm client,
every document checked by validators nobody here wrote (structured_output_client.mjs: ajv with
ajv-formats for JSON Schema, JavaScript's RegExp for regex, a recognizer written in the client for
the recursive grammar):

1. the shipped model over /v1/chat/completions: 22 schemas x DOCS documents (unary and streaming),
   json_object, 4 regexes, 2 EBNF grammars and a choice list; every reply finishes "stop" and
   validates (json_object and grammar replies cut at max_tokens are counted apart);
2. a random checkpoint (byte tokenizer, no chat template) over /v1/completions: the same schemas,
   fewer documents each.
An unsupported keyword, an unknown field, two constraints at once and malformed response_format
are 400s naming them; a session turn may be constrained and the next one free. Exits 77 (ctest
SKIP) without node/npm or when the locked npm packages cannot be installed (offline)."""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from e2e_support import (ServerProcess, check, free_port, http_json,  # noqa: E402
                         make_random_model, skip, value)


def ensure_packages():
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed")
    needed = ("openai", "ajv", "ajv-formats")
    if not all(os.path.isdir(os.path.join(HERE, "node_modules", name)) for name in needed):
        if subprocess.run(["npm", "ci", "--prefix", HERE, "--no-audit", "--no-fund",
                           "--loglevel=error"]).returncode != 0:
            skip("npm ci failed (offline?); run it once with network")


def serve(args, model, keys, *extra):
    http_port = free_port()
    server = ServerProcess(args.server, model, "--http-listen", f"127.0.0.1:{http_port}",
                           "--api-keys-file", keys, *extra, metrics=True)
    base = f"http://127.0.0.1:{http_port}/v1"
    deadline = time.time() + 60
    while True:
        try:
            request = urllib.request.Request(f"{base}/models",
                                             headers={"Authorization": "Bearer sk-test"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return server, base
        except OSError:
            pass
        check(time.time() < deadline, "the HTTP API never answered /v1/models")
        time.sleep(0.1)


def run_client(base, mode, docs, max_tokens):
    result = subprocess.run(["node", os.path.join(HERE, "structured_output_client.mjs"), base,
                             "sk-test", mode, str(docs), str(max_tokens)],
                            capture_output=True, text=True, timeout=900)
    check(result.returncode == 0, f"the client failed: {result.stderr[-3000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for failure in out["failures"][:10]:
        print("FAILURE", json.dumps(failure)[:600])
    check(not out["failures"], f"{len(out['failures'])} replies failed their validator")
    check(out["documents"] == out["schemas"] * docs == out["valid"], f"counts: {out}")
    check(out["json_object"] + out["json_object_length"] == docs and
          out["regex"] == out["regexes"] * docs and
          out["grammar"] + out["grammar_length"] == out["grammars"] * docs and
          out["grammar"] >= docs and
          out["choice"] == docs, f"counts: {out}")
    bad = out["bad_input"]
    check(isinstance(bad, dict) and bad["status"] == 400 and "minimum" in bad["message"],
          f"an unsupported keyword was not refused: {bad}")
    return out


def check_http_edges(base):
    """Bad input over HTTP, and a constrained turn of a session."""
    chat = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    for extra, needle in [
            ({"tools": []}, "tools is not supported"),
            ({"logit_bias": {"5": 1}}, "logit_bias is not supported"),
            ({"response_format": {"type": "json_object"}, "regex": "a"}, "only one of"),
            ({"response_format": {"type": "xml"}}, "response_format.type"),
            ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
             "response_format.json_schema"),
            ({"choice": "yes"}, "choice must be an array of strings"),
            ({"regex": "(?=a)b"}, "lookaround"),
            ({"grammar": "root ::= root \"a\" | \"a\""}, "left recursion"),
            ({"grammar": 5}, "grammar must be a string"),
            ({"grammar": "root ::= \"a\"", "regex": "a"}, "only one of")]:
        status, body = http_json("POST", f"{base}/chat/completions", {**chat, **extra})
        check(status == 400 and needle in body["error"]["message"],
              f"{extra}: {status} {body}")
    status, body = http_json("POST", f"{base}/chat/completions", {**chat, "user": "u-1",
                                                                   "metadata": {"a": "b"}})
    check(status == 200, f"ignored fields were refused: {status} {body}")
    # A session turn with a constraint, then one without: the transcript holds both replies.
    status, session = http_json("POST", f"{base}/sessions", {"system_prompt": "Reply in JSON."})
    check(status == 200, f"create session {status} {session}")
    schema = {"type": "object", "properties": {"mood": {"enum": ["happy", "sad"]}},
              "required": ["mood"], "additionalProperties": False}
    status, first = http_json("POST", f"{base}/chat/completions", {
             "model": "m", "session_id": session["id"], "max_tokens": 40, "seed": 4,
             "messages": [{"role": "user", "content": "How are you?"}],
             "response_format": {"type": "json_schema",
                                 "json_schema": {"name": "m", "schema": schema}}})
    check(status == 200 and first["usage"]["session_saved"] is True, f"turn {status} {first}")
    reply = json.loads(first["choices"][0]["message"]["content"])
    check(reply["mood"] in ("happy", "sad"), f"constrained session reply {reply}")
    status, second = http_json("POST", f"{base}/chat/completions", {
             "model": "m", "session_id": session["id"], "max_tokens": 8, "seed": 5,
             "messages": [{"role": "user", "content": "Why?"}]})
    check(status == 200 and second["usage"]["prompt_tokens_details"]["cached_tokens"] > 0,
          f"the next turn did not reuse the session's KV: {second}")
    status, got = http_json("GET", f"{base}/sessions/{session['id']}")
    check(status == 200 and len(got["messages"]) == 4 and
          got["messages"][1]["content"] == first["choices"][0]["message"]["content"],
          f"session transcript {got}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--docs", type=int, default=10)
    parser.add_argument("--random-docs", type=int, default=3)
    args = parser.parse_args()
    ensure_packages()
    with tempfile.TemporaryDirectory(prefix="minimind_structured_") as scratch:
        keys = os.path.join(scratch, "keys.json")
        with open(keys, "w") as f:
            json.dump({"tenants": {"web": {}}, "keys": [
                {"sha256": hashlib.sha256(b"sk-test").hexdigest(), "tenant": "web"}]}, f)
        server, base = serve(args, args.model, keys)
        try:
            out = run_client(base, "chat", args.docs, 300)
            check_http_edges(base)
            scraped = server.scrape()
            compiles = value(scraped, "minimind_constraint_compiles_total")
            hits = value(scraped, "minimind_constraint_cache_hits_total")
            # 22 schemas + json_object + 4 regexes + 2 grammars + 1 choice list + the session's
            # schema, each compiled once; every further document of them was a cache hit.
            check(compiles == 31 and hits >= 22 * (args.docs - 1),
                  f"constraint metrics: {compiles} compiles, {hits} cache hits")
            # What the cached automata hold stays within --constraint-cache-memory (256 MiB by
            # default); nothing was dropped (31 compiles: none compiled twice).
            cache_bytes = value(scraped, "minimind_constraint_cache_bytes")
            evictions = value(scraped, "minimind_constraint_cache_evictions_total")
            check(0 < cache_bytes <= 256 << 20 and evictions == 0,
                  f"constraint cache: {cache_bytes} bytes held, {evictions} evictions")
        finally:
            server.kill()
        print(f"shipped model: {out['valid']} documents over {out['schemas']} schemas valid "
              f"under ajv ({out['streamed']} streamed), {out['json_object']} JSON objects "
              f"({out['json_object_length']} more cut at max_tokens), "
              f"{out['regex']} regex matches, {out['grammar']} grammar matches "
              f"({out['grammar_length']} more cut at max_tokens), {out['choice']} choices; "
              f"{compiles:.0f} constraints cached in {cache_bytes / 2**20:.1f} MiB")
        random_model = make_random_model(args.cli, os.path.join(scratch, "random"))
        server, base = serve(args, random_model, keys)
        try:
            out = run_client(base, "completions", args.random_docs, 1500)
        finally:
            server.kill()
        print(f"random checkpoint: {out['valid']} documents over {out['schemas']} schemas valid "
              f"under ajv, {out['json_object']} JSON objects "
              f"({out['json_object_length']} more cut at max_tokens), "
              f"{out['regex']} regex matches, {out['grammar']} grammar matches "
              f"({out['grammar_length']} more cut at max_tokens), {out['choice']} choices")
    print("structured output: OK")


if __name__ == "__main__":
    main()
