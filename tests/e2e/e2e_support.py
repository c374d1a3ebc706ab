"""Shared pieces of the end-to-end tests: skipping, checks, Python stubs generated from proto/ at
test time, random models, and a running minimind-server process with its gRPC channel and
/metrics scrapes. Only the Python standard library, python3-grpcio and python3-protobuf."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def skip(message):
    print(f"SKIPPED: {message}")
    sys.exit(77)


try:
    import grpc
    import google.protobuf  # noqa: F401
except ImportError as error:
    skip(f"python3-grpcio/python3-protobuf are not installed ({error}); "
         "scripts/install-deps.sh installs them")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def add_common_arguments(parser):
    parser.add_argument("--server", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--protoc", required=True)
    parser.add_argument("--grpc-python-plugin", required=True)


def generate_stubs(args, out_dir):
    """Writes minimind.v1 stubs into out_dir and makes them importable."""
    os.makedirs(out_dir, exist_ok=True)
    files = [os.path.join("minimind", "v1", name)
             for name in ("inference.proto", "models.proto", "sessions.proto")]
    subprocess.run([args.protoc, f"-I{args.proto_dir}", f"--python_out={out_dir}",
                    f"--grpc_python_out={out_dir}",
                    f"--plugin=protoc-gen-grpc_python={args.grpc_python_plugin}", *files],
                   check=True, cwd=args.proto_dir)
    sys.path.insert(0, out_dir)


def make_random_model(cli, out_dir, *, slow=False):
    """A random f32 model with a byte tokenizer. slow=True: MiniMind2-Small-like layers (hidden
    512, 8 layers), a few hundred tokens/s on 2 cores, so streams outlast a signal."""
    shape = (["--hidden-size", "512", "--layers", "8", "--heads", "8", "--kv-heads", "2",
              "--head-dim", "64", "--intermediate-size", "1408"] if slow else
             ["--hidden-size", "128", "--layers", "2", "--heads", "4", "--kv-heads", "2",
              "--head-dim", "32", "--intermediate-size", "256"])
    subprocess.run([cli, "make-random", "--out", out_dir, "--dtype", "f32", *shape],
                   check=True, stdout=subprocess.DEVNULL)
    return out_dir


def health(channel, timeout=5):
    """1 SERVING, 2 NOT_SERVING (raw grpc.health.v1 call: no extra package needed)."""
    check_call = channel.unary_unary("/grpc.health.v1.Health/Check",
                                     request_serializer=lambda b: b,
                                     response_deserializer=lambda b: b)
    response = check_call(b"", timeout=timeout)
    return response[1] if len(response) == 2 and response[0] == 0x08 else 0


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text):
    """{(name, frozenset(labels.items())): value}; raises on a line that is not valid text
    exposition format (version 0.0.4), or a sample without its # TYPE line."""
    samples = {}
    typed = set()
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            check(kind in ("counter", "gauge", "histogram", "summary", "untyped"),
                  f"bad TYPE line {line!r}")
            typed.add(name)
            continue
        if line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        check(match is not None, f"not a sample line: {line!r}")
        name, _, labels_text, value = match.groups()
        labels = dict(_LABEL.findall(labels_text or ""))
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        check(name in typed or family in typed, f"sample {name} has no # TYPE line")
        samples[(name, frozenset(labels.items()))] = float(value)
    return samples


class ServerProcess:
    """A minimind-server child on 127.0.0.1 with a free gRPC port (and metrics port if asked)."""

    def __init__(self, server_binary, model_dir, *extra_args, env=None, metrics=False):
        self.metrics_port = None
        args = [server_binary, "--listen", "127.0.0.1:0", "--model", model_dir, *extra_args]
        if metrics:
            self.metrics_port = free_port()
            args += ["--metrics-listen", f"127.0.0.1:{self.metrics_port}"]
        self.process = subprocess.Popen(args, env=dict(os.environ, **(env or {})),
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        check(line.startswith("minimind-server listening on "), f"unexpected: {line!r}")
        self.target = line.split()[-1]
        self.port = int(self.target.rsplit(":", 1)[1])
        self.output = [line]

    def wait_serving(self, timeout=60, credentials=None, options=None):
        """credentials: grpc.ChannelCredentials for a TLS server (None: plaintext)."""
        channel = (grpc.insecure_channel(self.target) if credentials is None else
                   grpc.secure_channel(self.target, credentials, options or []))
        deadline = time.time() + timeout
        while True:
            try:
                if health(channel) == 1:
                    break
            except grpc.RpcError:
                pass
            check(time.time() < deadline, "server never became SERVING")
            time.sleep(0.05)
        channel.close()

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=10) as response:
            check(response.headers.get("Content-Type", "").startswith("text/plain"),
                  f"metrics content type {response.headers.get('Content-Type')}")
            return parse_prometheus(response.read().decode())

    def finish(self, timeout=60):
        """Waits for exit; returns (exit code, the rest of stdout)."""
        code = self.process.wait(timeout=timeout)
        rest = self.process.stdout.read()
        self.output.append(rest)
        return code, rest

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def http_json(method, url, body=None, key="sk-test"):
    """(status, parsed JSON body) of one HTTP request with a bearer key."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"Bearer {key}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def free_port():
    """A port a server may bind soon: free now, and below the kernel's ephemeral range.

    A port the kernel handed out for bind(0) comes from the ephemeral range (32768-60999 on
    Linux), where every outgoing connection and every other port-0 bind of the parallel tests (a
    browser, its driver, gRPC clients) also draws: taken again before our server binds it, it made
    tests fail at start. Below that range only another free_port caller competes, at random."""
    import random
    import socket
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-31999")


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def find(binary, *extra_dirs):
    """The path of an installed program; skips the test when it is missing."""
    found = shutil.which(binary, path=os.pathsep.join(
        [os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", *extra_dirs]))
    if found is None:
        skip(f"{binary} is not installed (scripts/install-deps.sh installs it)")
    return found


def start_redis(redis_server, port, scratch, *, persistent=False):
    """A redis-server on 127.0.0.1:port, answering PING. persistent=True: an append-only file in
    scratch synced on every write, so a kill -9 loses nothing acknowledged."""
    persistence = (["--appendonly", "yes", "--appendfsync", "always", "--save", ""] if persistent
                   else ["--save", "", "--appendonly", "no"])
    process = subprocess.Popen([redis_server, "--port", str(port), "--bind", "127.0.0.1",
                                *persistence, "--dir", scratch],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            pass
        check(time.time() < deadline, "redis-server did not start")
        time.sleep(0.05)


def start_nginx(nginx, scratch, port, upstreams):
    """nginx with the shipped session-affine config (deploy/nginx, rendered into scratch/nginx)
    routing 127.0.0.1:port to the `upstreams` (HOST:PORT), once it accepts connections."""
    source_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    prefix = os.path.join(scratch, "nginx")
    subprocess.run(["bash", os.path.join(source_dir, "deploy", "nginx", "render.sh"), prefix,
                    str(port), *upstreams], check=True)
    process = subprocess.Popen([nginx, "-p", prefix, "-c", "nginx.conf", "-e", "stderr",
                                "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            check(process.poll() is None, "nginx exited at start")
            check(time.time() < deadline, "nginx did not start")
            time.sleep(0.05)
