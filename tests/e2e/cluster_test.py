#!/usr/bin/env python3
"""Sessions across replicas: nginx (deploy/nginx, session-affine) + 2 minimind-server replicas
sharing a real redis-server, all started here on loopback.

1. 20 sessions x 3 turns through nginx: every turn of a session lands on one replica (nginx's
   x-minimind-upstream header says which) and turns 2 and 3 reuse that replica's KV
   (cached_prompt_tokens = the whole history but the last token); both replicas get sessions.
2. The replica holding a session is killed (SIGKILL) between turns: the next turn through nginx
   lands on the other replica, succeeds with the whole transcript (prompt_tokens = history + the
   new message; the KV is rebuilt, so cached_prompt_tokens < history), and the turn after it reuses
   the rebuilt KV again. GetSession shows every message.
3. redis-server stopped: session calls are UNAVAILABLE, stateless calls still work; redis
   restarted on the same port: session calls work again without restarting the replicas.
4. Every replica down: nginx answers UNAVAILABLE with its own message (retryable), not an HTML
   error page.
Exits 77 (ctest SKIP) when nginx or redis-server is not installed.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (ServerProcess, add_common_arguments, check, find,  # noqa: E402
                         free_port, generate_stubs, grpc, make_random_model, start_nginx,
                         start_redis, value)

def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args()
    nginx = find("nginx")
    redis_server = find("redis-server")
    processes = []
    with tempfile.TemporaryDirectory(prefix="minimind_cluster_") as scratch:
        model_dir = make_random_model(args.cli, os.path.join(scratch, "model"))
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import sessions_pb2, sessions_pb2_grpc
        try:
            redis_port = free_port()
            redis = start_redis(redis_server, redis_port, scratch)
            processes.append(redis)
            store = f"redis://127.0.0.1:{redis_port}/0"
            replicas = {}
            for _ in range(2):
                replica = ServerProcess(args.server, model_dir, "--session-store", store,
                                        metrics=True)
                processes.append(replica)
                replica.wait_serving()
                replicas[f"127.0.0.1:{replica.port}"] = replica
            router_port = free_port()
            processes.append(start_nginx(nginx, scratch, router_port, list(replicas)))
            channel = grpc.insecure_channel(f"127.0.0.1:{router_port}")
            inference = inference_pb2_grpc.InferenceStub(channel)
            sessions = sessions_pb2_grpc.SessionsStub(channel)

            def turn(session_id, text, seed):
                """One turn through nginx; returns (reply, the replica that answered)."""
                request = inference_pb2.GenerateRequest(
                    session_id=session_id, max_tokens=6, seed=seed, ignore_eos=True,
                    messages=inference_pb2.ChatMessages(messages=[
                        inference_pb2.ChatMessage(role="user", content=text)]))
                reply, call = inference.Complete.with_call(
                    request, timeout=30, metadata=(("x-session-id", session_id),))
                # "A, B" when nginx tried A first (refused) and B answered.
                tried = dict(call.initial_metadata()).get("x-minimind-upstream", "")
                upstream = tried.split(", ")[-1]
                check(upstream in replicas, f"x-minimind-upstream {tried!r}")
                return reply, upstream

            # 1. 20 sessions x 3 turns, each pinned to one replica.
            history = {}
            home = {}
            for index in range(20):
                session_id = sessions.CreateSession(
                    sessions_pb2.CreateSessionRequest(system_prompt=f"You are agent {index}."),
                    timeout=10).session_id
                for number in range(3):
                    reply, upstream = turn(session_id, f"question {number} of {index}", number)
                    if number == 0:
                        home[session_id] = upstream
                    check(upstream == home[session_id],
                          f"session {index} turn {number} went to {upstream}, "
                          f"not {home[session_id]}")
                    if number > 0:
                        check(reply.usage.cached_prompt_tokens == history[session_id] - 1,
                              f"session {index} turn {number}: cached "
                              f"{reply.usage.cached_prompt_tokens}, history "
                              f"{history[session_id]}")
                    history[session_id] = reply.usage.prompt_tokens + reply.usage.completion_tokens
            per_replica = {name: list(home.values()).count(name) for name in replicas}
            check(all(count > 0 for count in per_replica.values()),
                  f"sessions per replica {per_replica}")
            for name, replica in replicas.items():
                scraped = replica.scrape()
                hits = value(scraped, "minimind_session_cache_hits_total")
                check(hits > 0, f"replica {name} has no session cache hits")
            print(f"20 sessions x 3 turns: each on one replica {per_replica}; turns 2-3 reused "
                  "the whole history's KV")

            # 2. Kill the replica holding a session; the conversation goes on on the other one.
            session_id = next(iter(home))
            victim = home[session_id]
            survivor = next(name for name in replicas if name != victim)
            replicas[victim].process.send_signal(signal.SIGKILL)
            replicas[victim].process.wait()
            reply, upstream = turn(session_id, "after the failover", 7)
            check(upstream == survivor, f"failover turn answered by {upstream}")
            new_message_tokens = reply.usage.prompt_tokens - history[session_id]
            check(new_message_tokens > 0, "the failover turn's prompt lost the history")
            check(reply.usage.cached_prompt_tokens < history[session_id] - 1,
                  "the failover turn claims the dead replica's KV")
            rebuilt = reply.usage.cached_prompt_tokens
            history[session_id] = reply.usage.prompt_tokens + reply.usage.completion_tokens
            reply, upstream = turn(session_id, "and once more", 8)
            check(upstream == survivor, f"post-failover turn answered by {upstream}")
            check(reply.usage.cached_prompt_tokens == history[session_id] - 1,
                  f"post-failover turn cached {reply.usage.cached_prompt_tokens}, history "
                  f"{history[session_id]}")
            got = sessions.GetSession(sessions_pb2.GetSessionRequest(session_id=session_id),
                                      timeout=10, metadata=(("x-session-id", session_id),))
            check(got.turns == 5 and len(got.messages) == 10,
                  f"after failover: {got.turns} turns, {len(got.messages)} messages")
            check(got.messages[6].content == "after the failover", "transcript order")
            print(f"failover: {victim} killed; {survivor} continued the session with the whole "
                  f"transcript ({rebuilt} of {history[session_id]} tokens cached at the "
                  "rebuild), then reused its KV")

            # 3. Redis down: sessions UNAVAILABLE, stateless fine; back up: sessions work.
            direct = grpc.insecure_channel(survivor)
            direct_inference = inference_pb2_grpc.InferenceStub(direct)
            direct_sessions = sessions_pb2_grpc.SessionsStub(direct)
            redis.terminate()
            redis.wait()
            try:
                direct_sessions.GetSession(sessions_pb2.GetSessionRequest(session_id=session_id),
                                           timeout=10)
                check(False, "GetSession succeeded with redis down")
            except grpc.RpcError as error:
                check(error.code() == grpc.StatusCode.UNAVAILABLE,
                      f"redis down: {error.code()} {error.details()}")
                print(f"redis down: GetSession UNAVAILABLE: {error.details()}")
            stateless = direct_inference.Complete(inference_pb2.GenerateRequest(
                prompt="still here", max_tokens=4, ignore_eos=True), timeout=30)
            check(stateless.usage.completion_tokens == 4, "stateless call failed with redis down")
            redis = start_redis(redis_server, redis_port, scratch)
            processes.append(redis)
            created = direct_sessions.CreateSession(sessions_pb2.CreateSessionRequest(),
                                                    timeout=10)
            check(len(created.session_id) == 32, "CreateSession after redis came back")
            print("redis back: sessions work again without restarting the replica")

            # 4. No replica left: nginx answers UNAVAILABLE (retryable), not an HTML error page
            # (which gRPC clients report as INTERNAL; found by the chaos run, tests/chaos).
            replicas[survivor].process.send_signal(signal.SIGKILL)
            replicas[survivor].process.wait()
            try:
                inference.Complete(inference_pb2.GenerateRequest(
                    prompt="anyone there?", max_tokens=2), timeout=10)
                check(False, "a call succeeded with every replica down")
            except grpc.RpcError as error:
                check(error.code() == grpc.StatusCode.UNAVAILABLE and
                      "no minimind-server replica" in error.details(),
                      f"every replica down: {error.code()} {error.details()}")
                print(f"every replica down: nginx answers UNAVAILABLE: {error.details()}")
            channel.close()
            direct.close()
        finally:
            for process in processes:
                if isinstance(process, ServerProcess):
                    process.kill()
                elif process.poll() is None:
                    # SIGTERM, not SIGKILL: nginx's master then stops its workers too.
                    process.terminate()
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
    print("PASSED")


if __name__ == "__main__":
    main()
