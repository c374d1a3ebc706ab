#!/usr/bin/env python3
"""Soak test of the built minimind-server (not in the default suite; scripts/soak.sh runs it).

Runs the server at saturation for --seconds with N client threads, each looping over a random mix:
streaming and unary generation, session turns, forks and deletes, client cancels mid-stream,
short deadlines, abrupt disconnects (closing the channel mid-stream), slow readers that stop
reading, and sessions with a 2-second TTL left to expire under load. At the end it deletes every
session it still holds and reports: requests done, outcomes by status code, KV blocks in use (must
be 0), the server's RSS at start / middle / end (flat within 5 % from middle to end), and a
determinism probe (a seeded request repeated at the end equals its first answer bit for bit).
Writes a Markdown report to --report if given. Exit 1 when a check fails.
"""
import argparse
import collections
import os
import random
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2e_support import ServerProcess, check, generate_stubs, grpc  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Soak:
    def __init__(self, target, pb, deadline):
        self.target = target
        self.inference_pb2, self.inference_grpc, self.sessions_pb2, self.sessions_grpc = pb
        self.deadline = deadline
        self.lock = threading.Lock()
        self.outcomes = collections.Counter()
        self.done = 0
        self.sessions = set()

    def record(self, outcome):
        with self.lock:
            self.outcomes[outcome] += 1
            self.done += 1

    def request(self, rng, **extra):
        pb = self.inference_pb2
        return pb.GenerateRequest(prompt=f"soak {rng.randrange(10**6)} " * rng.randint(1, 20),
                                  max_tokens=rng.randint(4, 96), seed=rng.randrange(1000),
                                  ignore_eos=rng.random() < 0.5, **extra)

    def turn(self, rng, sessions, inference, session_id):
        pb = self.inference_pb2
        request = pb.GenerateRequest(
            session_id=session_id, max_tokens=rng.randint(4, 32),
            messages=pb.ChatMessages(messages=[pb.ChatMessage(role="user",
                                                              content=f"turn {rng.random()}")]))
        inference.Complete(request, timeout=60, metadata=(("x-session-id", session_id),))

    def client(self, index):
        rng = random.Random(index)
        channel = grpc.insecure_channel(self.target)
        inference = self.inference_grpc.InferenceStub(channel)
        sessions = self.sessions_grpc.SessionsStub(channel)
        mine = []
        while time.time() < self.deadline:
            action = rng.choices(["stream", "unary", "turn", "fork", "delete", "cancel",
                                  "deadline", "disconnect", "slow", "expire"],
                                 [20, 20, 20, 5, 5, 8, 6, 4, 2, 3])[0]
            try:
                if action == "stream":
                    list(inference.Generate(self.request(rng), timeout=60))
                elif action == "unary":
                    inference.Complete(self.request(rng), timeout=60)
                elif action in ("turn", "fork", "delete") and not mine:
                    session = sessions.CreateSession(self.sessions_pb2.CreateSessionRequest(
                        system_prompt="You are soaking."), timeout=30)
                    mine.append(session.session_id)
                elif action == "turn":
                    self.turn(rng, sessions, inference, rng.choice(mine))
                elif action == "fork":
                    fork = sessions.ForkSession(self.sessions_pb2.ForkSessionRequest(
                        session_id=rng.choice(mine)), timeout=30)
                    mine.append(fork.session_id)
                elif action == "delete":
                    victim = mine.pop(rng.randrange(len(mine)))
                    sessions.DeleteSession(self.sessions_pb2.DeleteSessionRequest(
                        session_id=victim), timeout=30)
                elif action == "cancel":
                    stream = inference.Generate(self.request(rng, request_id=f"c{index}-{rng.random()}"),
                                                timeout=60)
                    next(stream)
                    stream.cancel()
                    list(stream)
                elif action == "deadline":
                    list(inference.Generate(self.request(rng), timeout=rng.uniform(0.001, 0.05)))
                elif action == "disconnect":
                    other = grpc.insecure_channel(self.target)
                    stream = self.inference_grpc.InferenceStub(other).Generate(
                        self.request(rng), timeout=60)
                    next(stream)
                    other.close()
                    raise grpc.RpcError()  # Counted below as the disconnect it is.
                elif action == "slow":
                    slow = grpc.insecure_channel(self.target, options=[
                        ("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)])
                    stream = self.inference_grpc.InferenceStub(slow).Generate(
                        self.request(rng, logprobs=True, top_logprobs=5), timeout=60)
                    next(stream)
                    time.sleep(rng.uniform(0.5, 2))
                    slow.close()
                elif action == "expire":
                    session = sessions.CreateSession(self.sessions_pb2.CreateSessionRequest(
                        ttl={"seconds": 2}), timeout=30)
                    self.turn(rng, sessions, inference, session.session_id)
                self.record(f"{action}: OK")
            except grpc.RpcError as error:
                code = error.code().name if hasattr(error, "code") and callable(error.code) \
                    else "CLIENT_CLOSED"
                self.record(f"{action}: {code}")
            except StopIteration:
                self.record(f"{action}: ended early")
        for session_id in mine:
            try:
                sessions.DeleteSession(self.sessions_pb2.DeleteSessionRequest(
                    session_id=session_id), timeout=30)
            except grpc.RpcError as error:
                self.record(f"final delete: {error.code().name}")
        channel.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--protoc", default="protoc")
    # protoc needs the plugin as a path, not a bare name.
    parser.add_argument("--grpc-python-plugin",
                        default=shutil.which("grpc_python_plugin") or "grpc_python_plugin")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--report")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minimind_soak_") as scratch:
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import models_pb2, models_pb2_grpc
        from minimind.v1 import sessions_pb2, sessions_pb2_grpc
        server = ServerProcess(args.server, args.model)
        try:
            server.wait_serving()
            channel = grpc.insecure_channel(server.target)
            inference = inference_pb2_grpc.InferenceStub(channel)
            probe = inference_pb2.GenerateRequest(prompt="The determinism probe.", max_tokens=48,
                                                  seed=7, temperature=0.9)
            first = list(inference.Complete(probe, timeout=60).token_ids)
            rss = {"start": rss_kib(server.process.pid)}
            began = time.time()
            soak = Soak(server.target, (inference_pb2, inference_pb2_grpc, sessions_pb2,
                                        sessions_pb2_grpc), began + args.seconds)
            threads = [threading.Thread(target=soak.client, args=(i,)) for i in range(args.clients)]
            for thread in threads:
                thread.start()
            time.sleep(args.seconds / 2)
            rss["middle"] = rss_kib(server.process.pid)
            for thread in threads:
                thread.join(args.seconds + 300)
            rss["end"] = rss_kib(server.process.pid)
            elapsed = time.time() - began
            time.sleep(3)  # Let the 2-second-TTL sessions expire and the reaper run.
            models = models_pb2_grpc.ModelsStub(channel)
            sessions_left = -1
            deadline = time.time() + 20
            while True:
                info = models.GetModelInfo(models_pb2.GetModelInfoRequest(), timeout=10)
                if info.kv_blocks_in_use == 0 or time.time() > deadline:
                    break
                time.sleep(0.2)
            last = list(inference.Complete(probe, timeout=60).token_ids)
            listed = sessions_pb2_grpc.SessionsStub(channel).ListSessions(
                sessions_pb2.ListSessionsRequest(page_size=1000), timeout=10)
            sessions_left = len(listed.sessions)
            growth = (rss["end"] - rss["middle"]) / max(rss["middle"], 1)
            lines = [f"soak: {elapsed:.0f} s, {args.clients} clients, {soak.done} requests "
                     f"({soak.done / elapsed:.1f}/s)",
                     "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.outcomes.items())),
                     f"KV blocks in use at the end: {info.kv_blocks_in_use} (sessions left: "
                     f"{sessions_left})",
                     f"RSS start / middle / end: {rss['start']} / {rss['middle']} / {rss['end']} KiB "
                     f"({growth * 100:+.1f} % middle to end)",
                     f"determinism probe: {'equal' if first == last else 'DIFFERENT'} "
                     f"({len(first)} tokens)"]
            print("\n".join(lines))
            if args.report:
                with open(args.report, "w") as f:
                    f.write("\n".join(f"- {line}" for line in lines) + "\n")
            check(info.kv_blocks_in_use == 0, "KV blocks still in use after the soak")
            check(sessions_left == 0, f"{sessions_left} sessions left after deleting all")
            check(abs(growth) <= 0.05, f"RSS grew {growth * 100:.1f} % from middle to end")
            check(first == last, "the determinism probe changed")
            check(not any(k.endswith("INTERNAL") or k.endswith("UNKNOWN") for k in soak.outcomes),
                  "INTERNAL/UNKNOWN errors during the soak")
            channel.close()
        finally:
            server.kill()
    print("PASSED")


if __name__ == "__main__":
    main()
