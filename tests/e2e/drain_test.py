#!/usr/bin/env python3
"""Graceful drain of the built minimind-server on SIGTERM, with live streams.

Scenario 1 (--shutdown-grace 300s): three streams and a session turn are mid-generation when
SIGTERM arrives. At once: health NOT_SERVING, /metrics says minimind_draining 1, a new Generate
and a new CreateSession get UNAVAILABLE "draining". The in-flight streams run to their full length;
the process exits 0 and reports "KV blocks in use 0".
Scenario 2 (--shutdown-grace 500ms): streams that cannot finish in time end with a final message
FINISH_REASON_CANCELLED and status OK (not a transport error), soon after the grace period; exit 0,
no KV in use.
"""
import argparse
import os
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (ServerProcess, add_common_arguments, check, generate_stubs,  # noqa: E402
                         grpc, health, make_random_model, value)


def start_streams(stubs, channel, count, max_tokens):
    """Starts `count` streams; returns (threads, results) once each has delivered a message."""
    inference_pb2, inference_pb2_grpc = stubs
    inference = inference_pb2_grpc.InferenceStub(channel)
    results = [None] * count
    started = [threading.Event() for _ in range(count)]

    def run(index):
        request = inference_pb2.GenerateRequest(prompt=f"stream {index}", max_tokens=max_tokens,
                                                seed=index, ignore_eos=True)
        messages = []
        try:
            for message in inference.Generate(request, timeout=300):
                messages.append(message)
                started[index].set()
            results[index] = ("ok", messages)
        except grpc.RpcError as error:
            results[index] = (error.code(), messages)
        started[index].set()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for event in started:
        check(event.wait(60), "a stream never started")
    return threads, results


def tokens_of(messages):
    return sum(len(m.token_ids) for m in messages)


def expect_draining_refusals(server, stubs, sessions_stubs):
    inference_pb2, inference_pb2_grpc = stubs
    sessions_pb2, sessions_pb2_grpc = sessions_stubs
    channel = grpc.insecure_channel(server.target)
    deadline = time.time() + 5
    while health(channel) != 2:
        check(time.time() < deadline, "health did not go NOT_SERVING")
        time.sleep(0.01)
    refusals = [
        lambda: list(inference_pb2_grpc.InferenceStub(channel).Generate(
            inference_pb2.GenerateRequest(prompt="new", max_tokens=4), timeout=10)),
        lambda: sessions_pb2_grpc.SessionsStub(channel).CreateSession(
            sessions_pb2.CreateSessionRequest(), timeout=10),
    ]
    for call in refusals:
        try:
            call()
            check(False, "a new call succeeded while draining")
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.UNAVAILABLE and "draining" in error.details(),
                  f"new call while draining: {error.code()} {error.details()!r}")
    channel.close()
    print("draining: health NOT_SERVING, new Generate and CreateSession UNAVAILABLE 'draining'")


def scenario_finish_within_grace(args, model_dir, stubs, sessions_stubs):
    inference_pb2, inference_pb2_grpc = stubs
    sessions_pb2, sessions_pb2_grpc = sessions_stubs
    # A generous grace: sanitizer builds run the slow model several times slower.
    server = ServerProcess(args.server, model_dir, "--shutdown-grace", "300s", metrics=True)
    try:
        server.wait_serving()
        channel = grpc.insecure_channel(server.target)
        session = sessions_pb2_grpc.SessionsStub(channel).CreateSession(
            sessions_pb2.CreateSessionRequest(), timeout=10)
        turn_result = {}

        def session_turn():
            request = inference_pb2.GenerateRequest(
                session_id=session.session_id, max_tokens=300, ignore_eos=True, seed=9,
                messages=inference_pb2.ChatMessages(messages=[
                    inference_pb2.ChatMessage(role="user", content="a long answer please")]))
            turn_result["reply"] = inference_pb2_grpc.InferenceStub(channel).Complete(
                request, timeout=300)

        turn = threading.Thread(target=session_turn)
        turn.start()
        threads, results = start_streams(stubs, channel, 3, 600)
        signalled = time.time()
        server.process.send_signal(signal.SIGTERM)
        expect_draining_refusals(server, stubs, sessions_stubs)
        check(value(server.scrape(), "minimind_draining") == 1, "minimind_draining is not 1")
        for thread in threads:
            thread.join(120)
        turn.join(120)
        for status, messages in results:
            check(status == "ok", f"an in-flight stream failed: {status}")
            check(messages[-1].finish_reason == inference_pb2.FINISH_REASON_LENGTH,
                  f"finish_reason {messages[-1].finish_reason}")
            check(tokens_of(messages) == 600, f"{tokens_of(messages)} tokens, expected 600")
        check(turn_result["reply"].usage.completion_tokens == 300, "the session turn was cut")
        channel.close()
        code, output = server.finish(timeout=60)
        check(code == 0, f"exit code {code}; output {output!r}")
        check("KV blocks in use 0" in output, f"drain report: {output!r}")
        print(f"grace 300s: 3 streams x 600 tokens and a session turn finished; exit 0 "
              f"{time.time() - signalled:.2f} s after SIGTERM; {output.strip()}")
    finally:
        server.kill()


def scenario_cancel_past_grace(args, model_dir, stubs):
    inference_pb2, _ = stubs
    server = ServerProcess(args.server, model_dir, "--shutdown-grace", "500ms")
    try:
        server.wait_serving()
        channel = grpc.insecure_channel(server.target)
        threads, results = start_streams(stubs, channel, 3, 1900)
        signalled = time.time()
        server.process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(60)
        ended = time.time() - signalled
        for status, messages in results:
            check(status == "ok", f"a stream past the grace period failed with {status}, "
                                  "expected a final message and OK")
            last = messages[-1]
            check(last.finish_reason == inference_pb2.FINISH_REASON_CANCELLED,
                  f"finish_reason {last.finish_reason}, expected CANCELLED")
            check(last.usage.completion_tokens == tokens_of(messages) < 1900,
                  f"usage {last.usage.completion_tokens} vs {tokens_of(messages)} streamed")
        check(0.4 < ended < 5, f"streams ended {ended:.2f} s after SIGTERM (grace 0.5 s)")
        channel.close()
        code, output = server.finish(timeout=30)
        check(code == 0, f"exit code {code}; output {output!r}")
        check("KV blocks in use 0" in output and "3 cancelled" in output,
              f"drain report: {output!r}")
        print(f"grace 500ms: 3 streams ended CANCELLED with a final message {ended:.2f} s after "
              f"SIGTERM; exit 0; {output.strip()}")
    finally:
        server.kill()


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minimind_drain_") as scratch:
        model_dir = make_random_model(args.cli, os.path.join(scratch, "model"), slow=True)
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import sessions_pb2, sessions_pb2_grpc
        stubs = (inference_pb2, inference_pb2_grpc)
        sessions_stubs = (sessions_pb2, sessions_pb2_grpc)
        scenario_finish_within_grace(args, model_dir, stubs, sessions_stubs)
        scenario_cancel_past_grace(args, model_dir, stubs)
    print("PASSED")


if __name__ == "__main__":
    main()
