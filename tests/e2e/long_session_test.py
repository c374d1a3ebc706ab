#!/usr/bin/env python3
"""A session never dies of its length (issue 26), through the built minimind-server on the shipped
model (512-token context):

1. 40 turns in one session (context_overflow TRUNCATE, the default): every turn succeeds and is
   saved; truncations are reported in usage (dropped messages and tokens) and in the metrics; the
   transcript keeps all 80 messages while GetSession's window_start says what the model sees.
2. The turn right after each truncation is bitwise the reply of a fresh conversation holding only
   the kept turns (a stateless request of the system prompt, the window's messages and the new
   one, same seed): the kept turns were recomputed exactly.
3. A message that cannot fit even alone: INVALID_ARGUMENT naming the sizes, over gRPC and over
   HTTP (x-session-id: 400), and the session is unchanged.
4. A session created with context_overflow ERROR still refuses an overlong conversation
   (RESOURCE_EXHAUSTED), as before.
"""
import argparse
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (ServerProcess, add_common_arguments, check, free_port,  # noqa: E402
                         generate_stubs, grpc, value)

SYSTEM = "You are a helpful assistant who answers briefly."
TURNS = 40


def user_message(turn):
    return (f"Turn {turn}: tell me one more thing about the sea, the moon and the tides, "
            f"and why sailors watch them.")


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
        http_port = free_port()
        server = ServerProcess(args.server, args.model, "--http-listen",
                               f"127.0.0.1:{http_port}", metrics=True)
        try:
            server.wait_serving()
            channel = grpc.insecure_channel(server.target)
            inference = igrpc.InferenceStub(channel)
            sessions = sgrpc.SessionsStub(channel)
            before = server.scrape()

            session_id = sessions.CreateSession(spb.CreateSessionRequest(system_prompt=SYSTEM),
                                                timeout=10).session_id
            truncations = []
            for turn in range(TURNS):
                request = ipb.GenerateRequest(
                    session_id=session_id, max_tokens=40, seed=1000 + turn, temperature=0.8,
                    messages=ipb.ChatMessages(messages=[
                        ipb.ChatMessage(role="user", content=user_message(turn))]))
                reply = inference.Complete(request, timeout=60)
                usage = reply.usage
                check(usage.session_saved, f"turn {turn} not saved: {usage.session_save_error}")
                if usage.context_dropped_messages > 0:
                    check(usage.context_dropped_tokens > 0, f"turn {turn}: dropped no tokens")
                    session = sessions.GetSession(spb.GetSessionRequest(session_id=session_id),
                                                  timeout=10)
                    truncations.append((turn, request, reply, session))
            check(len(truncations) >= 2, f"only {len(truncations)} truncations in {TURNS} turns")
            session = sessions.GetSession(spb.GetSessionRequest(session_id=session_id),
                                          timeout=10)
            check(len(session.messages) == 2 * TURNS,
                  f"the transcript holds {len(session.messages)} messages, not {2 * TURNS}")
            check(session.window_start > 0 and session.turns == TURNS,
                  f"window_start {session.window_start}, turns {session.turns}")
            check(session.num_tokens < 512, f"the window holds {session.num_tokens} tokens")
            print(f"{TURNS} turns, all saved; {len(truncations)} truncations at turns "
                  f"{[t for t, *_ in truncations]} (dropped messages "
                  f"{[r.usage.context_dropped_messages for _, _, r, _ in truncations]}, tokens "
                  f"{[r.usage.context_dropped_tokens for _, _, r, _ in truncations]}); transcript "
                  f"{len(session.messages)} messages, window from message {session.window_start} "
                  f"({session.num_tokens} tokens)")

            # The turn after a truncation equals a fresh conversation holding only the kept turns.
            for turn, request, reply, after in truncations:
                kept = list(after.messages[after.window_start:-1])  # without this turn's reply
                check(kept[-1].content == user_message(turn), "the window does not end with the turn")
                fresh = ipb.GenerateRequest(
                    max_tokens=40, seed=request.seed, temperature=0.8,
                    messages=ipb.ChatMessages(messages=[ipb.ChatMessage(role="system",
                                                                        content=SYSTEM)] +
                                              [ipb.ChatMessage(role=m.role, content=m.content)
                                               for m in kept]))
                alone = inference.Complete(fresh, timeout=60)
                check(list(alone.token_ids) == list(reply.token_ids),
                      f"turn {turn} after truncation differs from a fresh conversation of the "
                      f"kept turns: {list(reply.token_ids)[:8]} vs {list(alone.token_ids)[:8]}")
                check(alone.usage.prompt_tokens == reply.usage.prompt_tokens,
                      "the truncated prompt is not the fresh conversation's prompt")
            print(f"each of the {len(truncations)} turns after a truncation equals a fresh "
                  f"conversation of its kept turns (token ids and prompt length)")

            after_metrics = server.scrape()
            counted = (value(after_metrics, "minimind_context_truncations_total") -
                       value(before, "minimind_context_truncations_total"))
            check(counted == len(truncations), f"{counted} truncations counted")

            # A message that cannot fit even alone: INVALID_ARGUMENT naming the sizes.
            huge = "the sea " * 300
            try:
                inference.Complete(ipb.GenerateRequest(
                    session_id=session_id, max_tokens=8,
                    messages=ipb.ChatMessages(messages=[ipb.ChatMessage(role="user",
                                                                        content=huge)])),
                    timeout=60)
                check(False, "an oversized message was accepted")
            except grpc.RpcError as error:
                check(error.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{error.code()}")
                check("exceeds the context limit of 512 tokens" in error.details(),
                      f"message {error.details()!r}")
                print(f"oversized message: INVALID_ARGUMENT: {error.details()}")
            body = json.dumps({"model": "m", "max_tokens": 8,
                               "messages": [{"role": "user", "content": huge}]}).encode()
            http_request = urllib.request.Request(
                f"http://127.0.0.1:{http_port}/v1/chat/completions", data=body,
                headers={"Content-Type": "application/json", "x-session-id": session_id})
            try:
                urllib.request.urlopen(http_request, timeout=60)
                check(False, "an oversized message was accepted over HTTP")
            except urllib.error.HTTPError as error:
                payload = json.loads(error.read())
                check(error.code == 400 and
                      "exceeds the context limit" in payload["error"]["message"],
                      f"HTTP {error.code} {payload}")
            unchanged = sessions.GetSession(spb.GetSessionRequest(session_id=session_id),
                                            timeout=10)
            check(unchanged.turns == TURNS and len(unchanged.messages) == 2 * TURNS,
                  "a refused turn changed the session")

            # context_overflow ERROR keeps the old behaviour: the turn is refused.
            strict = sessions.CreateSession(spb.CreateSessionRequest(
                system_prompt=SYSTEM, context_overflow=ipb.CONTEXT_OVERFLOW_ERROR),
                timeout=10).session_id
            refused = None
            for turn in range(TURNS):
                try:
                    inference.Complete(ipb.GenerateRequest(
                        session_id=strict, max_tokens=40, seed=turn,
                        messages=ipb.ChatMessages(messages=[
                            ipb.ChatMessage(role="user", content=user_message(turn))])),
                        timeout=60)
                except grpc.RpcError as error:
                    refused = (turn, error)
                    break
            check(refused is not None, "an ERROR session never refused a turn")
            check(refused[1].code() == grpc.StatusCode.RESOURCE_EXHAUSTED,
                  f"{refused[1].code()}: {refused[1].details()}")
            print(f"context_overflow ERROR: turn {refused[0]} refused: {refused[1].details()}")
            channel.close()
        finally:
            server.kill()
    print("long session: OK")


if __name__ == "__main__":
    main()
