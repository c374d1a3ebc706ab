#!/usr/bin/env python3
"""Chaos across replicas: nginx (deploy/nginx, session-affine) + 3 minimind-server replicas + a
persistent redis-server on loopback, clients behaving as real ones, faults on a schedule, and the
invariants a platform team relies on checked with figures (issue 30; scripts/chaos.sh SECONDS).

Clients (--clients, default 24), all through nginx:
- half hold chat sessions: create, 3-5 streamed turns (each only the new message, x-session-id),
  compare the session's transcript with what they were told, delete it;
- a quarter stream stateless completions (every other one reads slowly), a quarter call Complete.
They retry UNAVAILABLE / ABORTED with backoff (a replica or Redis away, a dead replica's turn lease
not yet expired); a session turn whose outcome is unknown (the call failed after it was sent) is
resolved as a real client would: read the session (once it is not busy) and see whether the turn is
there; a turn that failed is retried once.

Faults (one every --fault-interval seconds, in turn): kill -9 a replica and restart it; SIGSTOP
redis for 1-10 s; restart redis (append-only, fsync always); SIGTERM (drain) a replica under load
and restart it.

Invariants, checked as the run goes and at the end (any breach: exit 1):
- no committed turn lost, no turn the client was told failed present, no turn applied twice: every
  session's transcript equals the turns its client was told (or found) were saved;
- after a replica dies its sessions go on elsewhere with their whole transcript (the same check:
  a turn on another replica sees the full history);
- every replica's KV blocks in use return to 0 once the sessions are deleted;
- RSS flat: every replica process that lived 45 s grows by < 32 MiB from 15 s after its start
  (its KV pool filled) to its end;
- a determinism probe (a greedy request sent to each replica directly) equals at the end what it
  was at the start;
- errors only from the documented set (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED,
  RESOURCE_EXHAUSTED, CANCELLED; plus INTERNAL for a stream cut when its replica died behind
  nginx — see docs/reliability.md).
Report (Markdown, --report): requests, faults by kind, errors by code, turns retried and resolved,
lost / duplicate / unexpected turns, TTFT p50/p99 during and outside faults.
"""
import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2e_support import (add_common_arguments, check, find, free_port,  # noqa: E402
                         generate_stubs, grpc, health, parse_prometheus, start_nginx,
                         start_redis, value)

DOCUMENTED_CODES = {"UNAVAILABLE", "ABORTED", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED",
                    "CANCELLED", "INTERNAL"}
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED,
             grpc.StatusCode.RESOURCE_EXHAUSTED}
# Reads (and deletes) change nothing when repeated: also retried when the server cancelled them
# (a drain's grace ended) or they ran out of time (Redis paused).
RETRYABLE_READS = RETRYABLE | {grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED,
                               grpc.StatusCode.INTERNAL}
RSS_GROWTH_LIMIT_KIB = 32 * 1024
RSS_WARMUP = 15  # seconds after a replica starts: its 16 MiB KV pool is filled by then
RSS_SPAN = 30    # seconds of RSS compared, at least


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Replica:
    """One minimind-server on fixed ports (so nginx's upstream list stays valid across restarts)."""

    def __init__(self, server, model, store, scratch, index):
        self.server, self.model, self.store = server, model, store
        self.port, self.metrics_port = free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = open(os.path.join(scratch, f"replica{index}.log"), "ab")
        self.process = None
        self.lifetimes = []  # per process started: [(time, RSS KiB), ...]
        self.lock = threading.Lock()

    def start(self):
        with self.lock:
            self.process = subprocess.Popen(
                [self.server, "--model", self.model, "--listen", self.address,
                 "--metrics-listen", f"127.0.0.1:{self.metrics_port}", "--session-store",
                 self.store, "--shutdown-grace", "5s", "--session-commit-deadline", "10s",
                 # A pool the run fills early (the prefix cache keeps every block it can), so
                 # that RSS after the warm-up measures everything but first touches of the pool.
                 "--kv-cache-memory", "16MiB"],
                stdout=self.log, stderr=self.log)
            self.lifetimes.append([])
        self.wait_serving()

    def wait_serving(self, timeout=60):
        deadline = time.time() + timeout
        channel = grpc.insecure_channel(self.address)
        try:
            while True:
                check(self.process.poll() is None, f"replica {self.address} exited at start")
                try:
                    if health(channel) == 1:
                        return
                except grpc.RpcError:
                    pass
                check(time.time() < deadline, f"replica {self.address} not serving")
                time.sleep(0.1)
        finally:
            channel.close()

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=5) as response:
            return parse_prometheus(response.read().decode())

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def drain(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def sample_rss(self):
        with self.lock:
            if self.alive():
                kib = rss_kib(self.process.pid)
                if kib is not None:
                    self.lifetimes[-1].append((time.time(), kib))


class Redis:
    def __init__(self, binary, scratch):
        self.binary, self.scratch = binary, scratch
        self.port = free_port()
        self.process = None

    def start(self):
        self.process = start_redis(self.binary, self.port, self.scratch, persistent=True)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = collections.Counter()      # by kind
        self.errors = collections.Counter()        # by code name
        self.breaches = []
        self.ttft = []                             # (start time, seconds)
        self.counts = collections.Counter()
        self.error_examples = {}                   # code name -> a few messages

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] += n

    def error(self, code, details=""):
        with self.lock:
            self.errors[code.name] += 1
            examples = self.error_examples.setdefault(code.name, [])
            if len(examples) < 3 and details not in examples:
                examples.append(details)
            if code.name not in DOCUMENTED_CODES:
                self.breaches.append(f"undocumented error code {code.name}")

    def breach(self, message):
        with self.lock:
            self.breaches.append(message)
        print(f"BREACH: {message}", file=sys.stderr)


class Chaos:
    def __init__(self, args, pb, router, replicas, redis, stats, deadline):
        self.args, self.router, self.replicas, self.redis = args, router, replicas, redis
        self.ipb, self.igrpc, self.spb, self.sgrpc = pb
        self.stats = stats
        self.deadline = deadline
        self.faults = []          # (kind, start, end)
        self.active_faults = 0
        self.fault_lock = threading.Lock()

    # ---- clients ----

    def in_fault(self):
        with self.fault_lock:
            return self.active_faults > 0

    def call_with_retry(self, what, function, budget=45.0, codes=RETRYABLE, done_if=()):
        """function() until it does not fail with one of `codes`, with backoff, within budget.
        A retry failing with a code of `done_if` (a delete finding the session gone) means an
        earlier attempt did it and only its reply was lost: raised, but not counted as an error."""
        delay = 0.1
        end = time.time() + budget
        attempt = 0
        while True:
            attempt += 1
            try:
                return function()
            except grpc.RpcError as error:
                if attempt > 1 and error.code() in done_if:
                    self.stats.add(f"{what}: done by an attempt whose reply was lost")
                    raise
                self.stats.error(error.code(), error.details())
                if error.code() not in codes or time.time() + delay > end:
                    raise
                self.stats.add(f"retried {what}")
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def stream_turn(self, inference, session_id, text, seed, slow):
        """One streamed turn: (reply text, usage). Raises grpc.RpcError."""
        request = self.ipb.GenerateRequest(
            session_id=session_id, max_tokens=24, seed=seed, temperature=0.8,
            messages=self.ipb.ChatMessages(messages=[
                self.ipb.ChatMessage(role="user", content=text)]))
        started = time.time()
        fault = self.in_fault()
        reply, usage, first = [], None, None
        for message in inference.Generate(request, timeout=40,
                                          metadata=(("x-session-id", session_id),)):
            if first is None:
                first = time.time() - started
            reply.append(message.text)
            if message.HasField("usage"):
                usage = message.usage
            if slow:
                time.sleep(0.02)
        with self.stats.lock:
            self.stats.requests["session turn"] += 1
            if first is not None:
                self.stats.ttft.append((fault, first))
        return "".join(reply), usage

    def read_session(self, sessions, session_id):
        """The session once no turn is in progress (a dead replica's lease expires in 30 s)."""
        end = time.time() + 60
        while True:
            got = self.call_with_retry("read", lambda: sessions.GetSession(
                self.spb.GetSessionRequest(session_id=session_id), timeout=15,
                metadata=(("x-session-id", session_id),)), budget=90, codes=RETRYABLE_READS)
            if not got.busy or time.time() > end:
                return got
            self.stats.add("waited for a busy session")
            time.sleep(0.5)

    @staticmethod
    def pairs(session):
        messages = [(m.role, m.content) for m in session.messages]
        return [(messages[i][1], messages[i + 1][1]) for i in range(0, len(messages) - 1, 2)]

    def turn(self, inference, sessions, session_id, ledger, text, seed, slow):
        """A turn until it is saved, or it failed twice (once retried); the ledger gets what the
        client was told was saved."""
        retried = False
        delay = 0.2
        end = time.time() + 120
        while True:
            try:
                reply, usage = self.stream_turn(inference, session_id, text, seed, slow)
                if usage is not None and usage.session_saved:
                    ledger.append((text, reply))
                    return True
                # Told the turn was not saved: the session is as before it.
                self.stats.add("turns not saved (told)")
            except grpc.RpcError as error:
                self.stats.error(error.code(), error.details())
                # Sent, then failed: the outcome is unknown until the session is read.
                got = self.read_session(sessions, session_id)
                transcript = self.pairs(got)
                if transcript[:len(ledger)] == ledger and len(transcript) == len(ledger) + 1 \
                        and transcript[-1][0] == text:
                    ledger.append(transcript[-1])
                    self.stats.add("turns resolved as saved")
                    return True
                if error.code() in RETRYABLE and time.time() < end:
                    # Not sent, or sent to a replica that could not take it: try again.
                    self.stats.add("turns retried after UNAVAILABLE/ABORTED")
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
            # Failed: once retried.
            if not retried:
                retried = True
                self.stats.add("turns retried once")
                continue
            self.stats.add("turns failed")
            return False

    def verify(self, sessions, session_id, ledger, where):
        got = self.read_session(sessions, session_id)
        transcript = self.pairs(got)
        if transcript == ledger:
            return True
        told = [t for t, _ in ledger]
        have = [t for t, _ in transcript]
        lost = [t for t in told if t not in have]
        duplicates = [t for t in set(have) if have.count(t) > 1]
        unexpected = [t for t in have if t not in told]
        with self.stats.lock:
            self.stats.counts["lost turns"] += len(lost)
            self.stats.counts["duplicate turns"] += len(duplicates)
            self.stats.counts["unexpected turns"] += len(unexpected)
        self.stats.breach(f"session {session_id} ({where}): told {told}, transcript {have}; "
                          f"replies equal: {[a for _, a in ledger] == [a for _, a in transcript]}")
        return False

    def session_client(self, index, rng):
        channel = grpc.insecure_channel(self.router)
        inference = self.igrpc.InferenceStub(channel)
        sessions = self.sgrpc.SessionsStub(channel)
        slow = index % 8 == 1
        try:
            while time.time() < self.deadline:
                try:
                    created = self.call_with_retry("create", lambda: sessions.CreateSession(
                        self.spb.CreateSessionRequest(system_prompt=f"You are client {index}."),
                        timeout=15))
                except grpc.RpcError:
                    self.stats.add("sessions not created")
                    continue
                session_id = created.session_id
                self.stats.add("sessions")
                ledger = []
                for number in range(rng.randint(3, 5)):
                    text = f"client {index} session {session_id[:6]} turn {number}"
                    self.turn(inference, sessions, session_id, ledger, text, rng.randrange(1 << 30),
                              slow)
                try:
                    self.verify(sessions, session_id, ledger, "end")
                    try:
                        self.call_with_retry("delete", lambda: sessions.DeleteSession(
                            self.spb.DeleteSessionRequest(session_id=session_id), timeout=15,
                            metadata=(("x-session-id", session_id),)), codes=RETRYABLE_READS,
                            done_if={grpc.StatusCode.NOT_FOUND})
                    except grpc.RpcError as error:
                        # A retried delete finds the session gone: an earlier attempt worked.
                        if error.code() != grpc.StatusCode.NOT_FOUND:
                            raise
                    self.stats.add("turns saved", len(ledger))
                except grpc.RpcError as error:
                    self.stats.breach(f"session {session_id}: verify/delete failed: "
                                      f"{error.code().name} {error.details()}")
        finally:
            channel.close()

    def stateless_client(self, index, rng, stream):
        channel = grpc.insecure_channel(self.router)
        inference = self.igrpc.InferenceStub(channel)
        slow = stream and index % 2 == 0
        try:
            while time.time() < self.deadline:
                request = self.ipb.GenerateRequest(prompt=f"A story {rng.random()}",
                                                   max_tokens=rng.randint(8, 32), ignore_eos=True)
                started = time.time()
                fault = self.in_fault()
                try:
                    if stream:
                        first = None

                        def run():
                            nonlocal first
                            count = 0
                            for message in inference.Generate(request, timeout=40):
                                if first is None:
                                    first = time.time() - started
                                count += len(message.token_ids)
                                if slow:
                                    time.sleep(0.05)
                            return count
                        tokens = self.call_with_retry("stream", run)
                        kind = "stateless stream"
                    else:
                        first = None
                        reply = self.call_with_retry("unary", lambda: inference.Complete(
                            request, timeout=40))
                        first = time.time() - started
                        tokens = len(reply.token_ids)
                        kind = "unary"
                    if tokens != request.max_tokens:
                        self.stats.breach(f"{kind}: {tokens} tokens, asked {request.max_tokens}")
                    with self.stats.lock:
                        self.stats.requests[kind] += 1
                        if first is not None:
                            self.stats.ttft.append((fault, first))
                except grpc.RpcError:
                    self.stats.add("stateless requests failed")
        finally:
            channel.close()

    # ---- faults ----

    def fault_loop(self, rng):
        kinds = ["kill", "redis_pause", "drain", "redis_restart"]
        number = 0
        next_at = time.time() + self.args.fault_interval
        while True:
            wait = next_at - time.time()
            if wait > 0:
                time.sleep(min(wait, 0.5))
                if time.time() >= self.deadline - 5:
                    return
                continue
            kind = kinds[number % len(kinds)]
            number += 1
            with self.fault_lock:
                self.active_faults += 1
            start = time.time()
            try:
                if kind == "kill":
                    replica = rng.choice(self.replicas)
                    replica.kill()
                    time.sleep(rng.uniform(1, 3))
                    replica.start()
                elif kind == "drain":
                    replica = rng.choice(self.replicas)
                    code = replica.drain()
                    if code != 0:
                        self.stats.breach(f"drained replica exited {code}")
                    replica.start()
                elif kind == "redis_pause":
                    self.redis.process.send_signal(signal.SIGSTOP)
                    time.sleep(rng.uniform(1, 10))
                    self.redis.process.send_signal(signal.SIGCONT)
                else:
                    self.redis.process.terminate()
                    self.redis.process.wait(timeout=30)
                    self.redis.start()
            finally:
                with self.fault_lock:
                    self.active_faults -= 1
            self.faults.append((kind, start, time.time()))
            print(f"fault {kind}: {time.time() - start:.1f} s", file=sys.stderr)
            next_at = time.time() + self.args.fault_interval

    def rss_loop(self):
        while time.time() < self.deadline:
            for replica in self.replicas:
                replica.sample_rss()
            time.sleep(2)

    # ---- probes ----

    def probe(self, replica):
        channel = grpc.insecure_channel(replica.address)
        try:
            reply = self.call_with_retry("probe", lambda: self.igrpc.InferenceStub(channel).Complete(
                self.ipb.GenerateRequest(prompt="The determinism probe says", max_tokens=16,
                                         temperature=0, ignore_eos=True, use_cache=False),
                timeout=30))
            return list(reply.token_ids)
        finally:
            channel.close()


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def report(chaos, stats, seconds, probe_ok, kv_left, rss_rows):
    faults = collections.Counter(kind for kind, _, _ in chaos.faults)
    during = [t for fault, t in stats.ttft if fault]
    outside = [t for fault, t in stats.ttft if not fault]
    lines = [
        f"Chaos run: {seconds:.0f} s, {chaos.args.clients} clients, 3 replicas behind nginx, "
        f"redis (append-only), a fault every {chaos.args.fault_interval:.0f} s.",
        "",
        "| | |",
        "| --- | --- |",
        f"| requests | {sum(stats.requests.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(stats.requests.items()))}) |",
        f"| faults injected | {sum(faults.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(faults.items()))}) |",
        f"| errors seen by clients, by code | "
        f"{', '.join(f'{k} {v}' for k, v in sorted(stats.errors.items())) or 'none'} |",
    ]
    for key in ("sessions", "turns saved", "turns retried once",
                "turns retried after UNAVAILABLE/ABORTED", "turns resolved as saved",
                "turns not saved (told)", "turns failed", "waited for a busy session",
                "delete: done by an attempt whose reply was lost", "stateless requests failed",
                "sessions not created"):
        lines.append(f"| {key} | {stats.counts.get(key, 0)} |")
    for key in ("lost turns", "duplicate turns", "unexpected turns"):
        lines.append(f"| **{key}** (must be 0) | {stats.counts.get(key, 0)} |")
    lines += [
        f"| TTFT p50 / p99 outside faults | {percentile(outside, 0.5) * 1000:.0f} / "
        f"{percentile(outside, 0.99) * 1000:.0f} ms ({len(outside)} requests) |",
        f"| TTFT p50 / p99 during faults | {percentile(during, 0.5) * 1000:.0f} / "
        f"{percentile(during, 0.99) * 1000:.0f} ms ({len(during)} requests) |",
        f"| KV blocks in use after the sessions were deleted | {kv_left} |",
        f"| RSS growth per replica process (after a {RSS_WARMUP} s warm-up) | {rss_rows} |",
        f"| determinism probe equal at the end | {probe_ok} |",
        f"| invariant breaches | {len(stats.breaches)} |",
        "",
        "Error messages seen (up to 3 per code):",
        "",
    ]
    for code, examples in sorted(stats.error_examples.items()):
        for example in examples:
            lines.append(f"- {code}: {example}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    parser.add_argument("--model", required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--fault-interval", type=float, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", default="")
    args = parser.parse_args()
    nginx = find("nginx")
    redis_binary = find("redis-server")
    rng = random.Random(args.seed)
    stats = Stats()
    with tempfile.TemporaryDirectory(prefix="minimind_chaos_") as scratch:
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import sessions_pb2, sessions_pb2_grpc
        pb = (inference_pb2, inference_pb2_grpc, sessions_pb2, sessions_pb2_grpc)
        redis = Redis(redis_binary, scratch)
        redis.start()
        store = f"redis://127.0.0.1:{redis.port}/0"
        replicas = [Replica(args.server, args.model, store, scratch, i) for i in range(3)]
        nginx_process = None
        try:
            for replica in replicas:
                replica.start()
            router_port = free_port()
            nginx_process = start_nginx(nginx, scratch, router_port,
                                        [r.address for r in replicas])
            start = time.time()
            deadline = start + args.seconds
            chaos = Chaos(args, pb, f"127.0.0.1:{router_port}", replicas, redis, stats, deadline)
            probes = [chaos.probe(r) for r in replicas]
            check(all(p == probes[0] for p in probes), f"replicas disagree at start: {probes}")

            threads = []
            def guarded(target, *target_args):
                def run():
                    try:
                        target(*target_args)
                    except Exception as error:  # noqa: BLE001 — a client must never die
                        stats.breach(f"{target.__name__}{target_args[:1]} died: {error!r}")
                return run

            for index in range(args.clients):
                client_rng = random.Random(args.seed * 1000 + index)
                if index % 4 in (0, 1):
                    target, extra = chaos.session_client, ()
                else:
                    target, extra = chaos.stateless_client, (index % 4 == 2,)
                threads.append(threading.Thread(target=guarded(target, index, client_rng,
                                                               *extra)))
            threads.append(threading.Thread(target=chaos.fault_loop, args=(rng,)))
            threads.append(threading.Thread(target=chaos.rss_loop))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.time() - start

            # Every replica up (a fault may have ended just before), then the end checks.
            for replica in replicas:
                if not replica.alive():
                    replica.start()
            kv_left = {}
            for replica in replicas:
                end = time.time() + 20
                while True:
                    used = value(replica.scrape(), "minimind_kv_blocks_used")
                    if used == 0 or time.time() > end:
                        break
                    time.sleep(0.2)
                kv_left[replica.address] = int(used)
            if any(kv_left.values()):
                stats.breach(f"KV blocks still in use after every session was deleted: {kv_left}")
            for replica in replicas:
                replica.sample_rss()  # the last sample: after the clients' last requests
            # RSS per replica process: from RSS_WARMUP s after it started (its KV pool filled)
            # to its last sample, for every process that lived RSS_SPAN s more.
            growths = []
            for replica in replicas:
                for samples in replica.lifetimes:
                    if not samples:
                        continue
                    after = [(t, kib) for t, kib in samples if t >= samples[0][0] + RSS_WARMUP]
                    if not after or after[-1][0] - after[0][0] < RSS_SPAN:
                        continue
                    growth = after[-1][1] - after[0][1]
                    growths.append(growth)
                    if growth > RSS_GROWTH_LIMIT_KIB:
                        stats.breach(f"RSS of a {replica.address} process grew {growth} KiB over "
                                     f"{after[-1][0] - after[0][0]:.0f} s")
            rss_rows = (f"{len(growths)} replica processes measured (alive >= "
                        f"{RSS_WARMUP + RSS_SPAN} s); largest growth "
                        f"{max(growths) / 1024:+.1f} MiB" if growths else
                        f"no replica process lived {RSS_WARMUP + RSS_SPAN} s")
            final = [chaos.probe(r) for r in replicas]
            probe_ok = all(p == probes[0] for p in final)
            if not probe_ok:
                stats.breach(f"determinism probe changed: {probes[0]} -> {final}")
            text = report(chaos, stats, elapsed, probe_ok, kv_left, rss_rows)
            print(text)
            if args.report:
                os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
                with open(args.report, "w") as f:
                    f.write(text)
            saved = stats.counts.get("turns saved", 0)
            check(saved > 0, "no session turn was saved")
            check(sum(stats.requests.values()) > 0, "no request succeeded")
            if stats.breaches:
                for breach in stats.breaches[:20]:
                    print(f"breach: {breach}", file=sys.stderr)
                raise SystemExit(f"FAIL: {len(stats.breaches)} invariant breaches")
        finally:
            for replica in replicas:
                if replica.alive():
                    replica.kill()
            if nginx_process is not None and nginx_process.poll() is None:
                nginx_process.terminate()
                try:
                    nginx_process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    nginx_process.kill()
            if redis.process is not None and redis.process.poll() is None:
                redis.process.kill()
    print("chaos: PASSED")


if __name__ == "__main__":
    main()
