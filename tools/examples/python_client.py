#!/usr/bin/env python3
"""A minimal Python client of minimind-server: streams chat replies to stdout.

One message: a stateless chat request. Several messages: one session, one turn per message, each
call carrying the session id as `x-session-id` metadata (what session-affine load balancers route
by, deploy/README.md); every turn after the first reuses the session's KV cache.

Uses only Debian packages (python3-grpcio, python3-protobuf, protobuf-compiler,
protobuf-compiler-grpc; scripts/install-deps.sh installs them). The Python stubs are generated from
proto/ into a temporary directory at start, so nothing generated is committed.

    python3 tools/examples/python_client.py localhost:50051 "Tell me a fortune."
    python3 tools/examples/python_client.py localhost:50051 "Hello." "Tell me more."
"""
import os
import shutil
import subprocess
import sys
import tempfile

import grpc

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")


def load_stubs(out_dir):
    plugin = shutil.which("grpc_python_plugin")
    files = [f"minimind/v1/{name}.proto" for name in ("inference", "models", "sessions")]
    subprocess.run(["protoc", f"-I{PROTO_DIR}", f"--python_out={out_dir}",
                    f"--grpc_python_out={out_dir}", f"--plugin=protoc-gen-grpc_python={plugin}",
                    *files], check=True)
    sys.path.insert(0, out_dir)
    from minimind.v1 import inference_pb2, inference_pb2_grpc, sessions_pb2, sessions_pb2_grpc
    return inference_pb2, inference_pb2_grpc, sessions_pb2, sessions_pb2_grpc


def stream_reply(pb, stub, request, metadata=()):
    for response in stub.Generate(request, timeout=60, metadata=metadata):
        print(response.text, end="", flush=True)
        if response.HasField("usage"):
            usage = response.usage
            print(f"\n[{pb.FinishReason.Name(response.finish_reason)}: prompt "
                  f"{usage.prompt_tokens} tokens ({usage.cached_prompt_tokens} cached), "
                  f"completion {usage.completion_tokens}]")


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "localhost:50051"
    texts = sys.argv[2:] or ["Tell me a fortune."]
    with tempfile.TemporaryDirectory() as stubs:
        pb, pb_grpc, sessions_pb, sessions_grpc = load_stubs(stubs)
        channel = grpc.insecure_channel(target)
        stub = pb_grpc.InferenceStub(channel)

        def user(text):
            return pb.ChatMessages(messages=[pb.ChatMessage(role="user", content=text)])

        if len(texts) == 1:
            stream_reply(pb, stub, pb.GenerateRequest(messages=user(texts[0]), max_tokens=64,
                                                      temperature=0.8, seed=1))
            return
        sessions = sessions_grpc.SessionsStub(channel)
        session = sessions.CreateSession(sessions_pb.CreateSessionRequest(), timeout=10)
        routing = (("x-session-id", session.session_id),)
        try:
            for turn, text in enumerate(texts):
                print(f"> {text}")
                stream_reply(pb, stub, pb.GenerateRequest(session_id=session.session_id,
                                                          messages=user(text), max_tokens=64,
                                                          temperature=0.8, seed=turn),
                             metadata=routing)
        finally:
            sessions.DeleteSession(sessions_pb.DeleteSessionRequest(
                session_id=session.session_id), timeout=10, metadata=routing)


if __name__ == "__main__":
    main()
