#!/usr/bin/env python3
"""/metrics of the built minimind-server after known traffic.

Scrapes before and after: 3 identical stateless Completes (the 2nd and 3rd hit the prefix
cache), a 2-turn session (the 2nd turn hits the session's KV), one INVALID_ARGUMENT, one stream
cancelled mid-way, a session deleted. Every counter must move by exactly what the responses'
usage says; histograms count every request; gauges agree with GetModelInfo; every metric the
Grafana dashboard (deploy/grafana) plots is exported. Also checks the text
format line by line (e2e_support.parse_prometheus).
"""
import argparse
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (ServerProcess, add_common_arguments, check, generate_stubs,  # noqa: E402
                         grpc, make_random_model, value)

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minimind_metrics_") as scratch:
        model_dir = make_random_model(args.cli, os.path.join(scratch, "model"))
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import models_pb2, models_pb2_grpc
        from minimind.v1 import sessions_pb2, sessions_pb2_grpc

        server = ServerProcess(args.server, model_dir, metrics=True)
        try:
            server.wait_serving()
            channel = grpc.insecure_channel(server.target)
            inference = inference_pb2_grpc.InferenceStub(channel)
            sessions = sessions_pb2_grpc.SessionsStub(channel)
            models = models_pb2_grpc.ModelsStub(channel)
            before = server.scrape()
            info = value(before, "minimind_model_info", model="model", architecture="qwen3",
                         kv_cache_dtype="f32", version="0.1.0")
            check(info == 1, "minimind_model_info{model=\"model\",...} is not 1")

            usages = []
            prompt = "The same system prompt, long enough to fill a few KV blocks of 16. " * 2
            for seed in range(3):
                reply = inference.Complete(inference_pb2.GenerateRequest(
                    prompt=prompt, max_tokens=8, seed=seed, ignore_eos=True), timeout=30)
                usages.append(reply.usage)
            check(usages[1].cached_prompt_tokens > 0, "the 2nd identical prompt missed the cache")

            session = sessions.CreateSession(sessions_pb2.CreateSessionRequest(), timeout=10)
            turn_usages = []
            for turn in range(2):
                reply = inference.Complete(inference_pb2.GenerateRequest(
                    session_id=session.session_id, max_tokens=6, seed=turn, ignore_eos=True,
                    messages=inference_pb2.ChatMessages(messages=[
                        inference_pb2.ChatMessage(role="user", content=f"turn {turn}")])),
                    timeout=30)
                turn_usages.append(reply.usage)
            check(turn_usages[1].cached_prompt_tokens > 0, "turn 2 missed the session's KV")

            try:
                inference.Complete(inference_pb2.GenerateRequest(prompt="x", temperature=-1),
                                   timeout=10)
                check(False, "temperature -1 was accepted")
            except grpc.RpcError as error:
                check(error.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{error.code()}")

            stream = inference.Generate(inference_pb2.GenerateRequest(
                prompt="cancel me", max_tokens=400, ignore_eos=True, request_id="m-cancel"),
                timeout=30)
            next(stream)
            check(inference.Cancel(inference_pb2.CancelRequest(request_id="m-cancel")).cancelled,
                  "Cancel found nothing")
            cancelled = list(stream)[-1].usage
            usages.append(cancelled)
            sessions.DeleteSession(sessions_pb2.DeleteSessionRequest(
                session_id=session.session_id), timeout=10)
            model_info = models.GetModelInfo(models_pb2.GetModelInfoRequest(), timeout=10)

            after = server.scrape()
            all_usages = usages + turn_usages
            check(delta(before, after, "minimind_request_finished_total",
                        finish_reason="length") == 5, "finished{length} did not grow by 5")
            check(delta(before, after, "minimind_request_finished_total",
                        finish_reason="cancelled") == 1, "finished{cancelled} did not grow by 1")
            for name, field in (("minimind_prompt_tokens_total", "prompt_tokens"),
                                ("minimind_cached_prompt_tokens_total", "cached_prompt_tokens"),
                                ("minimind_generation_tokens_total", "completion_tokens")):
                expected = sum(getattr(u, field) for u in all_usages)
                got = delta(before, after, name)
                check(got == expected, f"{name} grew by {got}, usage says {expected}")
            session_queries = sum(u.prompt_tokens for u in turn_usages)
            session_hits = sum(u.cached_prompt_tokens for u in turn_usages)
            check(delta(before, after, "minimind_session_cache_queries_total") == session_queries,
                  "session cache queries")
            check(delta(before, after, "minimind_session_cache_hits_total") == session_hits,
                  "session cache hits")
            # Stateless requests consult the prefix cache; session turns resume their handle.
            prefix_hits = sum(u.cached_prompt_tokens for u in usages)
            check(delta(before, after, "minimind_prefix_cache_hits_total") == prefix_hits,
                  f"prefix cache hits grew by "
                  f"{delta(before, after, 'minimind_prefix_cache_hits_total')}, "
                  f"expected {prefix_hits}")
            check(delta(before, after, "minimind_prefix_cache_queries_total") >=
                  sum(u.prompt_tokens for u in usages[:3]), "prefix cache queries")
            # Time per output token needs a second token: the cancelled stream may have been
            # cancelled after its first (a slow build, e.g. ASan).
            decoded = sum(1 for u in all_usages if u.completion_tokens > 1)
            for histogram, expected in (("minimind_request_queue_time_seconds", 6),
                                        ("minimind_time_to_first_token_seconds", 6),
                                        ("minimind_e2e_request_latency_seconds", 6),
                                        ("minimind_time_per_output_token_seconds", decoded)):
                got = delta(before, after, f"{histogram}_count")
                check(got == expected, f"{histogram}_count grew by {got}, expected {expected}")
                check(value(after, f"{histogram}_bucket", le="+Inf") ==
                      value(after, f"{histogram}_count"), f"{histogram} +Inf != count")
                check(delta(before, after, f"{histogram}_sum") >= 0, f"{histogram}_sum fell")
            rpc = "minimind_grpc_requests_total"
            complete = "/minimind.v1.Inference/Complete"
            check(delta(before, after, rpc, method=complete, code="OK") == 5, "Complete OK")
            check(delta(before, after, rpc, method=complete, code="INVALID_ARGUMENT") == 1,
                  "Complete INVALID_ARGUMENT")
            check(delta(before, after, rpc, method="/minimind.v1.Inference/Generate",
                        code="OK") == 1, "Generate OK")
            check(delta(before, after, "minimind_sessions_created_total") == 1, "created")
            check(delta(before, after, "minimind_sessions_deleted_total") == 1, "deleted")
            check(value(after, "minimind_sessions_active") == 0, "sessions active")
            check(value(after, "minimind_kv_blocks_total") == model_info.kv_blocks_total,
                  "kv_blocks_total")
            check(value(after, "minimind_kv_blocks_used") + value(after, "minimind_kv_blocks_free")
                  + value(after, "minimind_kv_blocks_cached") == model_info.kv_blocks_total,
                  "used + free + cached != total")
            # A gauge is the engine's snapshot published at the end of its step, which may come
            # a moment after the client read the cancelled stream's last message.
            deadline = time.time() + 5
            while value(after, "minimind_num_requests_running") != 0 and time.time() < deadline:
                time.sleep(0.01)
                after = server.scrape()
            check(value(after, "minimind_num_requests_running") == 0, "running")
            check(value(after, "minimind_draining") == 0, "draining")
            # The shipped Grafana dashboard may only plot what a real server exports.
            exported = {re.sub(r"_(bucket|sum|count)$", "", name) for name, _ in after} | \
                {name for name, _ in after}
            dashboard_path = os.path.join(SOURCE_DIR, "deploy", "grafana",
                                          "minimind-dashboard.json")
            with open(dashboard_path) as dashboard:
                used = set(re.findall(r"\bminimind_[a-z0-9_]+", dashboard.read()))
            used = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
            check(len(used) >= 20, f"the dashboard names only {len(used)} metrics")
            missing = sorted(used - exported)
            check(not missing, f"the dashboard uses metrics the server does not export: {missing}")
            print(f"metrics: 6 requests, {sum(u.prompt_tokens for u in all_usages)} prompt tokens "
                  f"({sum(u.cached_prompt_tokens for u in all_usages)} cached), "
                  f"{sum(u.completion_tokens for u in all_usages)} generated; prefix hits "
                  f"{prefix_hits}, session hits {session_hits}/{session_queries}: all match")
            channel.close()
        finally:
            server.kill()
    print("PASSED")


if __name__ == "__main__":
    main()
