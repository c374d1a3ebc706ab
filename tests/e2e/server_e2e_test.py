#!/usr/bin/env python3
"""End-to-end test of the built minimind-server binary, driven by a Python gRPC client.

Makes a tiny random model with `minimind make-random`, generates Python stubs from proto/ with the
system protoc and grpc_python_plugin, starts `minimind-server --listen 127.0.0.1:0`, and checks:
health (grpc.health.v1) and reflection, streaming generation, a 3-turn session reusing its KV,
cancellation mid-stream from another connection (KV blocks back to where they were), and a clean
exit 0 on SIGTERM. Exits 77 (ctest SKIP) when python3-grpcio or python3-protobuf is missing.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (add_common_arguments, check, generate_stubs, grpc, health,  # noqa: E402
                         make_random_model)


def reflection_services(channel):
    call = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 request_serializer=lambda b: b,
                                 response_deserializer=lambda b: b)
    # ServerReflectionRequest{list_services: ""}: field 7, length-delimited, empty.
    return b"".join(call(iter([b"\x3a\x00"]), timeout=5))


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="minimind_e2e_") as scratch:
        model_dir = make_random_model(args.cli, os.path.join(scratch, "model"))
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import models_pb2, models_pb2_grpc
        from minimind.v1 import sessions_pb2, sessions_pb2_grpc

        env = dict(os.environ, MINIMIND_MODEL=model_dir, MINIMIND_KV_CACHE_MEMORY="16MiB")
        server = subprocess.Popen([args.server, "--listen", "127.0.0.1:0"], env=env,
                                  stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline()
            check(line.startswith("minimind-server listening on "), f"unexpected: {line!r}")
            target = line.split()[-1]
            channel = grpc.insecure_channel(target)
            deadline = time.time() + 60
            while health(channel) != 1:
                check(time.time() < deadline, "server never became SERVING")
                time.sleep(0.05)
            print("health: SERVING")
            check(b"minimind.v1.Inference" in reflection_services(channel),
                  "reflection does not list minimind.v1.Inference")
            print("reflection: lists minimind.v1.Inference")

            inference = inference_pb2_grpc.InferenceStub(channel)
            models = models_pb2_grpc.ModelsStub(channel)
            sessions = sessions_pb2_grpc.SessionsStub(channel)

            # Streaming generation.
            request = inference_pb2.GenerateRequest(prompt="Hello", max_tokens=16, seed=1,
                                                    ignore_eos=True)
            messages = list(inference.Generate(request, timeout=60))
            ids = [i for m in messages for i in m.token_ids]
            check(len(ids) == 16, f"expected 16 tokens, got {len(ids)}")
            last = messages[-1]
            check(last.finish_reason == inference_pb2.FINISH_REASON_LENGTH,
                  f"finish_reason {last.finish_reason}")
            check(last.usage.completion_tokens == 16 and last.usage.prompt_tokens == 5,
                  f"usage {last.usage}")
            print(f"stream: {len(messages)} messages, 16 tokens, finish LENGTH")

            # Invalid UTF-8 and malformed bytes, hand-encoded (the Python protobuf runtime would
            # refuse to build them): INVALID_ARGUMENT with the precise message, not UNIMPLEMENTED.
            raw_complete = channel.unary_unary("/minimind.v1.Inference/Complete",
                                               request_serializer=lambda b: b,
                                               response_deserializer=lambda b: b)
            bad_inputs = [
                # GenerateRequest{prompt: b"ab\xff"}: field 2, length-delimited.
                (b"\x12\x03ab\xff", "prompt is not valid UTF-8 (first bad byte at offset 2)"),
                # Field 2 claims 5 bytes, 2 follow.
                (b"\x12\x05ab", "request is not a valid minimind.v1.GenerateRequest: "
                                "malformed protobuf wire format (4 bytes)"),
            ]
            for raw, expected in bad_inputs:
                try:
                    raw_complete(raw, timeout=10)
                    check(False, f"Complete({raw!r}) succeeded")
                except grpc.RpcError as error:
                    check(error.code() == grpc.StatusCode.INVALID_ARGUMENT,
                          f"Complete({raw!r}): {error.code()} {error.details()!r}")
                    check(error.details() == expected,
                          f"Complete({raw!r}): details {error.details()!r}, expected {expected!r}")
            print("bad bytes: INVALID_ARGUMENT with precise messages")

            # A 3-turn session: every turn after the first reuses the previous turns' KV.
            session = sessions.CreateSession(
                sessions_pb2.CreateSessionRequest(system_prompt="Be brief."), timeout=10)
            history = 0
            for turn in range(3):
                request = inference_pb2.GenerateRequest(
                    session_id=session.session_id, max_tokens=8, seed=turn, ignore_eos=True,
                    messages=inference_pb2.ChatMessages(messages=[
                        inference_pb2.ChatMessage(role="user", content=f"question {turn}")]))
                reply = inference.Complete(request, timeout=60)
                cached = reply.usage.cached_prompt_tokens
                expected = 0 if turn == 0 else history - 1
                check(cached == expected, f"turn {turn}: cached {cached}, expected {expected}")
                history = reply.usage.prompt_tokens + reply.usage.completion_tokens
                print(f"session turn {turn}: prompt {reply.usage.prompt_tokens}, cached {cached}")
            got = sessions.GetSession(
                sessions_pb2.GetSessionRequest(session_id=session.session_id), timeout=10)
            check(got.turns == 3 and len(got.messages) == 6, f"session after 3 turns: {got}")

            # Cancellation mid-stream from another connection.
            blocks_before = models.GetModelInfo(models_pb2.GetModelInfoRequest()).kv_blocks_in_use
            request = inference_pb2.GenerateRequest(prompt="Tell me everything",
                                                    max_tokens=2000, seed=3, ignore_eos=True,
                                                    request_id="e2e-cancel")
            stream = inference.Generate(request, timeout=60)
            first = next(stream)
            check(len(first.token_ids) > 0, "first message has no tokens")
            other_channel = grpc.insecure_channel(target, options=[("minimind.e2e.other", 1)])
            other = inference_pb2_grpc.InferenceStub(other_channel)
            cancelled = other.Cancel(inference_pb2.CancelRequest(request_id="e2e-cancel"))
            check(cancelled.cancelled, "Cancel did not find the request")
            rest = list(stream)
            check(rest and rest[-1].finish_reason == inference_pb2.FINISH_REASON_CANCELLED,
                  "stream did not end with FINISH_REASON_CANCELLED")
            check(rest[-1].usage.completion_tokens < 2000, "cancel came too late")
            deadline = time.time() + 10
            while True:
                in_use = models.GetModelInfo(models_pb2.GetModelInfoRequest()).kv_blocks_in_use
                # Stats are as of the engine's last step, so blocks_before may still count a
                # handle the session replaced; the cancelled request must at least add nothing.
                if in_use <= blocks_before:
                    break
                check(time.time() < deadline, f"KV blocks {in_use}, expected {blocks_before}")
                time.sleep(0.02)
            print(f"cancel: stopped after {rest[-1].usage.completion_tokens} tokens, "
                  f"KV blocks back to {in_use} (<= {blocks_before} before)")

            # Graceful shutdown.
            # Idle connections are closed first: with one still open, gRPC 1.51 holds Shutdown
            # until the last call's client deadline (seen with the health check), not until it is
            # finished.
            channel.close()
            other_channel.close()
            started = time.time()
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=30)
            check(code == 0, f"server exited with {code}")
            check(time.time() - started < 5, "shutdown took longer than 5 s with nothing in flight")
            print(f"SIGTERM: exit 0 after {time.time() - started:.2f} s")
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    print("PASSED")


if __name__ == "__main__":
    main()
