#!/usr/bin/env python3
"""A minimal Python client of minimind-server: streams one chat reply to stdout.

Uses only Debian packages (python3-grpcio, python3-protobuf, protobuf-compiler,
protobuf-compiler-grpc; scripts/install-deps.sh installs them). The Python stubs are generated from
proto/ into a temporary directory at start, so nothing generated is committed.

    python3 tools/examples/python_client.py localhost:50051 "Tell me a fortune."
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
    from minimind.v1 import inference_pb2, inference_pb2_grpc
    return inference_pb2, inference_pb2_grpc


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "localhost:50051"
    text = sys.argv[2] if len(sys.argv) > 2 else "Tell me a fortune."
    with tempfile.TemporaryDirectory() as stubs:
        pb, pb_grpc = load_stubs(stubs)
        stub = pb_grpc.InferenceStub(grpc.insecure_channel(target))
        request = pb.GenerateRequest(
            messages=pb.ChatMessages(messages=[pb.ChatMessage(role="user", content=text)]),
            max_tokens=64, temperature=0.8, seed=1)
        for response in stub.Generate(request, timeout=60):
            print(response.text, end="", flush=True)
            if response.HasField("usage"):
                usage = response.usage
                print(f"\n[{pb.FinishReason.Name(response.finish_reason)}: prompt "
                      f"{usage.prompt_tokens} tokens ({usage.cached_prompt_tokens} cached), "
                      f"completion {usage.completion_tokens}]")


if __name__ == "__main__":
    main()
