#!/usr/bin/env python3
"""The README's quick start, run as written against the built server on the shipped model.

Extracts the client commands from the README's "Quick start" section (the shell block after "With
the server running"), starts minimind-server the way scripts/run.sh does (the default model,
models/minimind-serve-tiny, from the repository root) on a free port, and runs every command with
bash from the repository root. Only two things are rewritten: `localhost:50051` becomes the real
port and `build/release/` the build directory under test. Interactive commands read a fixed script
on stdin. Every command must exit 0, print something on stdout and no `error:`; so the README cannot
drift from what works.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

# Input for commands that read standard input when the README does not pipe any.
INTERACTIVE_INPUT = "Hello\n/stats\nTell me about the sea.\n/stats\n"


def quick_start_commands(readme_text):
    section = re.search(r"^## Quick start.*?(?=^## )", readme_text, re.S | re.M)
    if section is None:
        raise SystemExit("README has no '## Quick start' section")
    after = section.group(0).split("With the server running", 1)
    if len(after) != 2:
        raise SystemExit("README quick start has no 'With the server running' block")
    block = re.search(r"```sh\n(.*?)```", after[1], re.S)
    if block is None:
        raise SystemExit("README quick start has no client command block")
    commands = []
    for line in block.group(1).splitlines():
        command = re.sub(r"\s+#\s.*$", "", line).strip()
        if command:
            commands.append(command)
    return commands


def start_server(server, env):
    process = subprocess.Popen([server, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    port = None
    http_port = None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"listening on [^:]+:(\d+)", line)
        if match:
            port = match.group(1)
        match = re.search(r"HTTP API \(OpenAI-compatible\) on [^:]+:(\d+)", line)
        if match:
            http_port = match.group(1)
        if "serving" in line and port is not None and http_port is not None:
            return process, port, http_port
    process.kill()
    raise SystemExit("minimind-server did not start serving within 60 s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    args = parser.parse_args()
    source_dir = os.path.abspath(args.source_dir)
    build_dir = os.path.abspath(args.build_dir)
    with open(os.path.join(source_dir, "README.md"), encoding="utf-8") as readme:
        commands = quick_start_commands(readme.read())
    if len(commands) < 3:
        raise SystemExit(f"expected the quick start's client commands, found {commands}")

    env = dict(os.environ)
    os.chdir(source_dir)
    server, port, http_port = start_server(os.path.join(build_dir, "service", "minimind-server"),
                                           env)
    failures = []
    try:
        for command in commands:
            runnable = command.replace("localhost:50051", f"localhost:{port}")
            runnable = runnable.replace("localhost:8998", f"localhost:{http_port}")
            runnable = runnable.replace("build/release/", build_dir + "/")
            started = time.time()
            result = subprocess.run(["bash", "-o", "pipefail", "-c", runnable],
                                    input=INTERACTIVE_INPUT, capture_output=True, text=True,
                                    timeout=120, env=env)
            elapsed = time.time() - started
            ok = (result.returncode == 0 and result.stdout.strip() != ""
                  and "error:" not in result.stdout + result.stderr)
            print(f"{'ok  ' if ok else 'FAIL'} {elapsed:5.1f}s  {command}")
            if not ok:
                failures.append(command)
                print(f"  exit {result.returncode}\n  stdout: {result.stdout[-2000:]!r}\n"
                      f"  stderr: {result.stderr[-2000:]!r}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    if server.returncode != 0:
        failures.append(f"minimind-server exited {server.returncode} after SIGTERM")
    if failures:
        print(f"{len(failures)} README command(s) failed")
        return 1
    print(f"PASSED: {len(commands)} README quick-start commands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
