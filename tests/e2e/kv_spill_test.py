#!/usr/bin/env python3
"""The KV spill tier through the built minimind-server on the shipped model (issue 26):

1. pin cap: with a pin cap of about one session, a second session's turn drops the first's KV;
   it goes to --kv-spill-dir instead, and the first session's next turn restores it: its
   cached_prompt_tokens is the whole history (not 0), and its output is bitwise the output of the
   same turn recomputed (a fork of the session with use_cache=false, same seed).
2. corrupt file: one flipped byte in a session's spill file: the next turn recomputes its history
   (only the shared system prompt may come from the prefix cache) with the same output, and the
   corrupt file is counted.
3. no room: a spill over the budget, and one that hits a full disk (ENOSPC), keep nothing and are
   counted; the session's next turn recomputes with the same output.
4. restart (--session-store redis://, the transcripts outlive the process): SIGTERM drains the
   sessions' KV into the spill directory; a new server on the same directory resumes the session
   with cached_prompt_tokens = its history, output equal to a recompute.
5. restart with the memory store (--session-state-file): the drain saves every session's
   transcript and spills its KV; a new server takes the sessions back (transcript, labels,
   overflow policy, window) and resumes one with cached_prompt_tokens = its history and output
   equal to a recompute; the file is consumed.
6. another model (the same weights served as bf16: another fingerprint) on the same files: the
   spill file is foreign (ignored, counted), the sessions are restored with their tokens rendered
   again, and a turn equals a stateless request of the whole conversation. A state file with one
   altered byte is set aside (*.corrupt) and the server starts without its sessions.

Exits 77 (ctest SKIP) when redis-server is not installed (scenario 4 needs it).
"""
import argparse
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (ServerProcess, add_common_arguments, check, find,  # noqa: E402
                         free_port, generate_stubs, grpc, http_json, start_redis, value)


def turn_request(ipb, session_id, text, seed, use_cache=True):
    return ipb.GenerateRequest(
        session_id=session_id, max_tokens=24, seed=seed, temperature=0.8, use_cache=use_cache,
        messages=ipb.ChatMessages(messages=[ipb.ChatMessage(role="user", content=text)]))


def wait_for(server, name, at_least, timeout=20):
    deadline = time.time() + timeout
    while True:
        got = value(server.scrape(), name)
        if got >= at_least:
            return got
        check(time.time() < deadline, f"{name} stayed at {got}, expected >= {at_least}")
        time.sleep(0.05)


def recompute(ipb, spb, inference, sessions, session_id, text, seed):
    """The same turn on a fork of the session, without any cache: the reference output."""
    fork = sessions.ForkSession(spb.ForkSessionRequest(session_id=session_id), timeout=10)
    reply = inference.Complete(turn_request(ipb, fork.session_id, text, seed, use_cache=False),
                               timeout=60)
    check(reply.usage.cached_prompt_tokens == 0, "the recompute used a cache")
    sessions.DeleteSession(spb.DeleteSessionRequest(session_id=fork.session_id), timeout=10)
    return list(reply.token_ids)


def scenario_pin_cap(args, pb, scratch):
    ipb, igrpc, spb, sgrpc = pb
    spill_dir = os.path.join(scratch, "spill-pin")
    # 256 MiB of f32 KV for the shipped model is ~10,900 blocks of 16 tokens: 0.001 of it pins
    # ~10 blocks, about one session of this test.
    http_port = free_port()
    server = ServerProcess(args.server, args.model, "--kv-spill-dir", spill_dir,
                           "--session-kv-fraction", "0.001", "--http-listen",
                           f"127.0.0.1:{http_port}", metrics=True)
    try:
        server.wait_serving()
        channel = grpc.insecure_channel(server.target)
        inference = igrpc.InferenceStub(channel)
        sessions = sgrpc.SessionsStub(channel)
        system = "You answer in one sentence about the sea and its tides."
        a = sessions.CreateSession(spb.CreateSessionRequest(system_prompt=system), timeout=10)
        b = sessions.CreateSession(spb.CreateSessionRequest(system_prompt=system), timeout=10)
        first = inference.Complete(turn_request(ipb, a.session_id, "Tell me about waves.", 1),
                                   timeout=60)
        history = first.usage.prompt_tokens + first.usage.completion_tokens
        b_first = inference.Complete(turn_request(ipb, b.session_id, "Tell me about the moon.", 2),
                                     timeout=60)
        b_history = b_first.usage.prompt_tokens + b_first.usage.completion_tokens
        wait_for(server, "minimind_kv_spilled_files_total", 1)
        got = sessions.GetSession(spb.GetSessionRequest(session_id=a.session_id), timeout=10)
        check(not got.kv_cached, "session A still holds its KV: the pin cap did not drop it")
        files = sorted(os.listdir(spill_dir))
        check(f"{a.session_id}.kv" in files, f"no spill file for session A in {files}")
        # The chat page's cache view says where each session's KV is.
        status, cache = http_json("GET", f"http://127.0.0.1:{http_port}/v1/cache")
        check(status == 200, f"GET /v1/cache: {status} {cache}")
        where = {s["id"]: (s["kv"], s["kv_blocks"]) for s in cache["sessions"]}
        check(where.get(a.session_id) == ("spilled", 0), f"cache view of A: {where}")
        check(where.get(b.session_id, ("",))[0] == "memory" and where[b.session_id][1] > 0,
              f"cache view of B: {where}")
        check(cache["spill"]["enabled"] and cache["spill"]["files"] >= 1, f"spill: {cache['spill']}")

        text, seed = "And the tides?", 3
        expected = recompute(ipb, spb, inference, sessions, a.session_id, text, seed)
        second = inference.Complete(turn_request(ipb, a.session_id, text, seed), timeout=60)
        check(second.usage.cached_prompt_tokens == history - 1,
              f"restored turn cached {second.usage.cached_prompt_tokens} of {history} history "
              "tokens")
        check(list(second.token_ids) == expected,
              "the restored turn's output differs from the recompute")
        check(wait_for(server, "minimind_kv_restored_files_total", 1) >= 1, "restored")
        print(f"pin cap: session A's KV spilled; its next turn restored {history - 1} of "
              f"{history} history tokens, output equal to the recompute")

        # A corrupt file: detected, the turn recomputes, nothing wrong comes out.
        wait_for(server, "minimind_kv_spilled_files_total", 2)  # B's KV, dropped for A's
        path = os.path.join(spill_dir, f"{b.session_id}.kv")
        check(os.path.exists(path), "no spill file for session B")
        with open(path, "r+b") as f:
            f.seek(-30, os.SEEK_END)
            byte = f.read(1)
            f.seek(-30, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x5a]))
        text, seed = "And the moon's pull?", 4
        expected = recompute(ipb, spb, inference, sessions, b.session_id, text, seed)
        reply = inference.Complete(turn_request(ipb, b.session_id, text, seed), timeout=60)
        # Only the prefix cache's blocks of the shared system prompt may be cached, never the
        # session's history from the corrupt file.
        check(reply.usage.cached_prompt_tokens < b_history - 1,
              f"a corrupt file was used: cached {reply.usage.cached_prompt_tokens} of {b_history}")
        check(list(reply.token_ids) == expected, "the recomputed turn differs")
        samples = server.scrape()
        check(value(samples, "minimind_kv_spill_corrupt_files_total") == 1, "corrupt not counted")
        print("corrupt spill file: detected and counted; the turn recomputed with the same output")
        channel.close()
    finally:
        server.kill()


def scenario_no_room(args, pb, scratch):
    """A spill that cannot be written — the budget is smaller than the file, or the disk is full
    (ENOSPC, from /dev/full behind the temporary file's name) — keeps nothing, is counted, and the
    session's next turn recomputes with the same output."""
    ipb, igrpc, spb, sgrpc = pb
    for label, budget in (("budget full", "4KiB"), ("disk full", "1GiB")):
        if label == "disk full" and not os.path.exists("/dev/full"):
            continue
        spill_dir = os.path.join(scratch, f"spill-{label.replace(' ', '-')}")
        os.makedirs(spill_dir)
        server = ServerProcess(args.server, args.model, "--kv-spill-dir", spill_dir,
                               "--kv-spill-budget", budget, "--session-kv-fraction", "0.001",
                               metrics=True)
        try:
            server.wait_serving()
            channel = grpc.insecure_channel(server.target)
            inference = igrpc.InferenceStub(channel)
            sessions = sgrpc.SessionsStub(channel)
            a = sessions.CreateSession(spb.CreateSessionRequest(system_prompt="A."), timeout=10)
            b = sessions.CreateSession(spb.CreateSessionRequest(system_prompt="B."), timeout=10)
            if label == "disk full":
                os.symlink("/dev/full", os.path.join(spill_dir, f"{a.session_id}.kv.tmp"))
            first = inference.Complete(turn_request(ipb, a.session_id, "Tell me about waves.", 1),
                                       timeout=60)
            history = first.usage.prompt_tokens + first.usage.completion_tokens
            inference.Complete(turn_request(ipb, b.session_id, "Tell me about the moon.", 2),
                               timeout=60)
            wait_for(server, "minimind_kv_spill_write_errors_total", 1)
            check(not os.path.exists(os.path.join(spill_dir, f"{a.session_id}.kv")),
                  f"{label}: a spill file was kept")
            check(not os.path.lexists(os.path.join(spill_dir, f"{a.session_id}.kv.tmp")),
                  f"{label}: the temporary file was left behind")
            text, seed = "And the tides?", 3
            expected = recompute(ipb, spb, inference, sessions, a.session_id, text, seed)
            reply = inference.Complete(turn_request(ipb, a.session_id, text, seed), timeout=60)
            check(reply.usage.cached_prompt_tokens < history - 1,
                  f"{label}: the turn claims restored KV")
            check(list(reply.token_ids) == expected, f"{label}: the recomputed turn differs")
            print(f"{label}: the spill was refused and counted; the next turn recomputed its "
                  f"history with the same output")
            channel.close()
        finally:
            server.kill()


def scenario_restart(args, pb, scratch):
    ipb, igrpc, spb, sgrpc = pb
    redis_server = find("redis-server")
    port = free_port()
    redis = start_redis(redis_server, port, scratch)
    spill_dir = os.path.join(scratch, "spill-restart")
    flags = ["--session-store", f"redis://127.0.0.1:{port}/0", "--kv-spill-dir", spill_dir]
    try:
        server = ServerProcess(args.server, args.model, *flags)
        server.wait_serving()
        channel = grpc.insecure_channel(server.target)
        inference = igrpc.InferenceStub(channel)
        sessions = sgrpc.SessionsStub(channel)
        session = sessions.CreateSession(spb.CreateSessionRequest(system_prompt="Be brief."),
                                         timeout=10)
        first = inference.Complete(turn_request(ipb, session.session_id, "Why is the sea salty?",
                                                5), timeout=60)
        history = first.usage.prompt_tokens + first.usage.completion_tokens
        channel.close()
        server.process.send_signal(signal.SIGTERM)
        code, _ = server.finish(timeout=60)
        check(code == 0, f"the drain exited {code}")
        check(f"{session.session_id}.kv" in os.listdir(spill_dir), "the drain spilled nothing")

        server = ServerProcess(args.server, args.model, *flags)
        server.wait_serving()
        channel = grpc.insecure_channel(server.target)
        inference = igrpc.InferenceStub(channel)
        sessions = sgrpc.SessionsStub(channel)
        text, seed = "And why is it blue?", 6
        expected = recompute(ipb, spb, inference, sessions, session.session_id, text, seed)
        reply = inference.Complete(turn_request(ipb, session.session_id, text, seed), timeout=60)
        check(reply.usage.cached_prompt_tokens == history - 1,
              f"after the restart the turn cached {reply.usage.cached_prompt_tokens} of "
              f"{history} history tokens")
        check(list(reply.token_ids) == expected, "the resumed turn differs from the recompute")
        print(f"restart: the drain spilled the session's KV; the new server resumed it "
              f"({history - 1} of {history} history tokens cached), output equal to the recompute")
        channel.close()
        server.kill()
    finally:
        redis.kill()
        redis.wait()


def scenario_memory_restart(args, pb, scratch):
    ipb, igrpc, spb, sgrpc = pb
    spill_dir = os.path.join(scratch, "spill-memory")
    state_file = os.path.join(scratch, "sessions.state")
    flags = ["--kv-spill-dir", spill_dir, "--session-state-file", state_file]

    def start(*extra):
        server = ServerProcess(args.server, args.model, *flags, *extra, metrics=True)
        server.wait_serving()
        channel = grpc.insecure_channel(server.target)
        return server, channel, igrpc.InferenceStub(channel), sgrpc.SessionsStub(channel)

    def drain(server, channel, expect_saved):
        channel.close()
        server.process.send_signal(signal.SIGTERM)
        code, rest = server.finish(timeout=60)
        check(code == 0, f"the drain exited {code}")
        check(f"saved {expect_saved} sessions to {state_file}" in rest,
              f"the drain did not report saving {expect_saved} sessions: {rest!r}")

    server, channel, inference, sessions = start()
    try:
        chat = sessions.CreateSession(spb.CreateSessionRequest(
            system_prompt="Be brief.", labels={"app": "e2e"}), timeout=10)
        strict = sessions.CreateSession(spb.CreateSessionRequest(
            system_prompt="Be exact.", context_overflow=ipb.CONTEXT_OVERFLOW_ERROR), timeout=10)
        conversation = [("Why is the sea salty?", 5), ("Name one salt.", 6)]
        for text, seed in conversation:
            last = inference.Complete(turn_request(ipb, chat.session_id, text, seed), timeout=60)
        history = last.usage.prompt_tokens + last.usage.completion_tokens
        before = sessions.GetSession(spb.GetSessionRequest(session_id=chat.session_id),
                                     timeout=10)
        drain(server, channel, 2)
        check(os.path.exists(state_file), "no state file after the drain")

        server, channel, inference, sessions = start()
        check(not os.path.exists(state_file), "the state file was not consumed")
        after = sessions.GetSession(spb.GetSessionRequest(session_id=chat.session_id), timeout=10)
        before.kv_cached = after.kv_cached = False  # the KV is in the spill directory now
        check(after == before, f"the restored session differs:\n{before}\n{after}")
        got = sessions.GetSession(spb.GetSessionRequest(session_id=strict.session_id), timeout=10)
        check(got.context_overflow == ipb.CONTEXT_OVERFLOW_ERROR, "the overflow policy was lost")
        text, seed = "And why is it blue?", 7
        expected = recompute(ipb, spb, inference, sessions, chat.session_id, text, seed)
        reply = inference.Complete(turn_request(ipb, chat.session_id, text, seed), timeout=60)
        check(reply.usage.cached_prompt_tokens == history - 1,
              f"after the restart the turn cached {reply.usage.cached_prompt_tokens} of "
              f"{history} history tokens")
        check(list(reply.token_ids) == expected, "the resumed turn differs from the recompute")
        conversation.append((text, seed))
        print(f"memory restart: 2 sessions saved and taken back as they were; the resumed turn "
              f"cached {history - 1} of {history} history tokens, output equal to the recompute")
        final = sessions.GetSession(spb.GetSessionRequest(session_id=chat.session_id), timeout=10)
        drain(server, channel, 2)

        # Another model: the same weights as bf16 (another fingerprint).
        server, channel, inference, sessions = start("--weight-dtype", "bf16")
        after = sessions.GetSession(spb.GetSessionRequest(session_id=chat.session_id), timeout=10)
        check(list(after.messages) == list(final.messages), "the transcript changed")
        text, seed = "Is it drinkable?", 8
        reply = inference.Complete(turn_request(ipb, chat.session_id, text, seed), timeout=60)
        check(value(server.scrape(), "minimind_kv_spill_foreign_files_total") >= 1,
              "the other model's spill file was not counted as foreign")
        check(reply.usage.cached_prompt_tokens < history,
              f"KV of another model was used ({reply.usage.cached_prompt_tokens} cached)")
        stateless = ipb.GenerateRequest(
            max_tokens=24, seed=seed, temperature=0.8, use_cache=False,
            messages=ipb.ChatMessages(messages=[
                ipb.ChatMessage(role="system", content=final.system_prompt), *final.messages,
                ipb.ChatMessage(role="user", content=text)]))
        fresh = inference.Complete(stateless, timeout=60)
        check(list(reply.token_ids) == list(fresh.token_ids),
              f"the turn after another model's restore differs from a stateless request: prompt "
              f"{reply.usage.prompt_tokens} vs {fresh.usage.prompt_tokens}")
        print("another model: the spill file was ignored as foreign; the sessions' tokens were "
              "rendered again; the next turn equals a stateless request of the conversation")
        drain(server, channel, 2)

        # A torn state file: set aside, the server starts without its sessions.
        with open(state_file, "r+b") as f:
            f.seek(os.path.getsize(state_file) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x01]))
        server, channel, inference, sessions = start()
        try:
            sessions.GetSession(spb.GetSessionRequest(session_id=chat.session_id), timeout=10)
            check(False, "a session came back from a corrupt state file")
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.NOT_FOUND, f"got {error.code()}")
        check(os.path.exists(state_file + ".corrupt"), "the corrupt state file was not set aside")
        print("corrupt state file: detected, set aside, the server started without its sessions")
        channel.close()
    finally:
        server.kill()


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2 as ipb
        from minimind.v1 import inference_pb2_grpc as igrpc
        from minimind.v1 import sessions_pb2 as spb
        from minimind.v1 import sessions_pb2_grpc as sgrpc
        pb = (ipb, igrpc, spb, sgrpc)
        scenario_pin_cap(args, pb, scratch)
        scenario_no_room(args, pb, scratch)
        scenario_restart(args, pb, scratch)
        scenario_memory_restart(args, pb, scratch)
    print("kv spill: OK")


if __name__ == "__main__":
    main()
