#!/usr/bin/env python3
"""`minimind chat` on a real terminal (a pseudo-terminal): the reply is followed by a stats line
(tokens, tok/s, cached prompt tokens), Ctrl-C during a long reply cancels that turn and the program
keeps running, the next turn works, and /quit exits 0."""
import argparse
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import ServerProcess, add_common_arguments, check, make_random_model  # noqa: E402


def read_until(fd, needle, timeout):
    seen = b""
    deadline = time.time() + timeout
    while needle.encode() not in seen:
        check(b"error:" not in seen, f"the chat printed an error: {seen[-400:]!r}")
        remaining = deadline - time.time()
        check(remaining > 0, f"never saw {needle!r}; got {seen[-400:]!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen.decode(errors="replace")


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minimind_chat_tty_") as scratch:
        model_dir = make_random_model(args.cli, os.path.join(scratch, "model"), slow=True)
        server = ServerProcess(args.server, model_dir)
        try:
            server.wait_serving()
            controller, terminal = pty.openpty()
            chat = subprocess.Popen([args.cli, "chat", "--target", server.target,
                                     "--max-tokens", "400", "--ignore-eos"],
                                    stdin=terminal, stdout=terminal, stderr=terminal,
                                    start_new_session=True)
            os.close(terminal)
            read_until(controller, "Ctrl-C cancels", 30)
            os.write(controller, b"Say a lot.\r")
            # The reply is streaming (400 tokens take over a second here): interrupt it.
            read_until(controller, "Say a lot.", 30)
            time.sleep(0.3)
            os.killpg(chat.pid, signal.SIGINT)
            text = read_until(controller, "[turn cancelled", 30)
            check(chat.poll() is None, "Ctrl-C ended the program instead of the turn")
            print("ctrl-c: the turn was cancelled, the program kept running")
            # At once, before the server has finished cancelling: the next turn must still work
            # (the client waits for the session to be free).
            chat_short = b"Short now.\r"
            os.write(controller, chat_short)
            text = read_until(controller, "tok/s", 170)
            check("prompt tokens cached]" in text or "cached]" in read_until(controller, "cached]", 30),
                  f"no stats line after the reply: {text[-300:]!r}")
            print("stats line after the reply: " +
                  next(line for line in text.splitlines() if "tok/s" in line).strip())
            os.write(controller, b"/quit\r")
            code = chat.wait(timeout=30)
            check(code == 0, f"exit code {code}")
            os.close(controller)
        finally:
            server.kill()
    print("PASSED")


if __name__ == "__main__":
    main()
