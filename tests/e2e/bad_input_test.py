#!/usr/bin/env python3
"""The bad-input table of docs/service.md, row by row, through the built server on the shipped
model: each row's request must answer the row's status with a message containing the row's text.
The table is parsed from the document (between <!-- bad-input-table --> markers), so the docs and
the server cannot drift apart."""
import argparse
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (ServerProcess, add_common_arguments, check, generate_stubs,  # noqa: E402
                         grpc)

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def table_rows():
    with open(os.path.join(SOURCE_DIR, "docs", "service.md")) as f:
        text = f.read()
    body = text.split("<!-- bad-input-table -->")[1].split("<!-- /bad-input-table -->")[0]
    rows = []
    for line in body.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        check(len(cells) == 6, f"malformed table row: {line!r}")
        rpc, field, _, request, status, message = cells
        rows.append((rpc, field, json.loads(request.strip("`")), status, message.strip("`")))
    return rows


def expand(value):
    """Recursively: a string "@c*N" becomes c repeated N times; inside a string, "@(text)*N"
    becomes text repeated N times; a list element "@each*N:text" becomes N elements "text"."""
    if isinstance(value, str):
        match = re.fullmatch(r"@(.)\*(\d+)", value)
        if match:
            return match.group(1) * int(match.group(2))
        return re.sub(r"@\((.*?)\)\*(\d+)", lambda m: m.group(1) * int(m.group(2)), value)
    if isinstance(value, list):
        out = []
        for v in value:
            match = re.fullmatch(r"@each\*(\d+):(.*)", v) if isinstance(v, str) else None
            out.extend([match.group(2)] * int(match.group(1)) if match else [expand(v)])
        return out
    if isinstance(value, dict):
        return {expand(k): expand(v) for k, v in value.items()}
    return value


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    rows = table_rows()
    check(len(rows) >= 40, f"only {len(rows)} rows in the bad-input table")
    with tempfile.TemporaryDirectory(prefix="minimind_bad_input_") as scratch:
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from google.protobuf import json_format
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import models_pb2, models_pb2_grpc
        from minimind.v1 import sessions_pb2, sessions_pb2_grpc
        requests = {"Complete": inference_pb2.GenerateRequest,
                    "Cancel": inference_pb2.CancelRequest,
                    "CreateSession": sessions_pb2.CreateSessionRequest,
                    "GetSession": sessions_pb2.GetSessionRequest,
                    "ListSessions": sessions_pb2.ListSessionsRequest,
                    "DeleteSession": sessions_pb2.DeleteSessionRequest,
                    "ForkSession": sessions_pb2.ForkSessionRequest,
                    "Detokenize": models_pb2.DetokenizeRequest}
        server = ServerProcess(args.server, args.model)
        try:
            server.wait_serving()
            channel = grpc.insecure_channel(server.target, options=[
                ("grpc.max_send_message_length", 16 << 20)])
            stubs = [inference_pb2_grpc.InferenceStub(channel),
                     sessions_pb2_grpc.SessionsStub(channel), models_pb2_grpc.ModelsStub(channel)]
            for rpc, field, request, status, message in rows:
                stub = next(s for s in stubs if hasattr(s, rpc))
                proto = json_format.ParseDict(expand(request), requests[rpc]())
                try:
                    getattr(stub, rpc)(proto, timeout=30)
                    check(False, f"{rpc} {field}: {request} succeeded, expected {status}")
                except grpc.RpcError as error:
                    check(error.code().name == status,
                          f"{rpc} {field}: {error.code().name} {error.details()!r}, "
                          f"expected {status}")
                    check(message in error.details(),
                          f"{rpc} {field}: message {error.details()!r} lacks {message!r}")
            print(f"bad input: {len(rows)} rows of docs/service.md answered as documented")
            channel.close()
        finally:
            server.kill()
    print("PASSED")


if __name__ == "__main__":
    main()
