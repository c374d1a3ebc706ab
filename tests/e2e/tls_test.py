#!/usr/bin/env python3
"""Transport security of the built minimind-server: TLS, mTLS, certificate rotation, bad files.

Certificates are made with `openssl` at test time (a CA; a server certificate for localhost and
127.0.0.1; a client certificate CN=tenant-a from the CA; one from another CA). Scenarios:
1. TLS: Python (grpcio) with the CA runs Complete and a stream; `minimind generate --target
   localhost:PORT --tls-ca` works; a plaintext client and a client that does not trust the CA are
   refused (UNAVAILABLE); /metrics stays plaintext HTTP.
2. mTLS: the client certificate works from Python and from `minimind generate --tls-cert/--tls-key`;
   no client certificate, or one from the other CA, is refused.
3. Rotation: the certificate files are swapped the way Kubernetes updates a mounted Secret (an
   atomic rename of the ..data symlink); within the 5 s refresh interval plus a margin a new
   connection gets the new certificate (serial read with ssl), calls keep working, and a stream
   started before the swap runs to its end.
4. A missing or garbage certificate file: exit code 1 and a message naming the file.
Exits 77 (ctest SKIP) without openssl or python3-grpcio.
"""
import argparse
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import (ServerProcess, add_common_arguments, check, generate_stubs,  # noqa: E402
                         grpc, health, make_random_model, skip)

REFRESH_SECONDS = 5  # kTlsRefreshInterval (service/server_credentials.h)
NAME_OVERRIDE = [("grpc.ssl_target_name_override", "localhost")]


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_certificate(directory, name, common_name, ca=None, extensions="", serial=1):
    """Writes name.key and name.pem: a CA when ca is None, else signed by ca (a base path)."""
    base = os.path.join(directory, name)
    new_key = ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", f"{base}.key", "-subj", f"/CN={common_name}"]
    if ca is None:
        openssl(*new_key, "-x509", "-days", "1", "-out", f"{base}.pem",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return base
    openssl(*new_key, "-out", f"{base}.csr")
    with open(f"{base}.ext", "w") as ext:
        ext.write(extensions + "\n")
    openssl("x509", "-req", "-in", f"{base}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-set_serial", str(serial), "-days", "1", "-out", f"{base}.pem",
            "-extfile", f"{base}.ext")
    return base


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Certificates:
    SERVER_SAN = "subjectAltName=DNS:localhost,IP:127.0.0.1"

    def __init__(self, directory):
        self.directory = directory
        self.ca = make_certificate(directory, "ca", "minimind-test-ca")
        self.server = make_certificate(directory, "server", "localhost", self.ca,
                                       self.SERVER_SAN, serial=1001)
        self.client = make_certificate(directory, "client", "tenant-a", self.ca,
                                       "extendedKeyUsage=clientAuth", serial=1002)
        other_ca = make_certificate(directory, "other-ca", "other-test-ca")
        self.untrusted = make_certificate(directory, "untrusted", "intruder", other_ca,
                                          "extendedKeyUsage=clientAuth", serial=1003)

    def credentials(self, root=None, client=None):
        """grpc credentials trusting root (default: the CA), with client's certificate if any."""
        root = root or self.ca
        if client is None:
            return grpc.ssl_channel_credentials(root_certificates=read(f"{root}.pem"))
        return grpc.ssl_channel_credentials(root_certificates=read(f"{root}.pem"),
                                            private_key=read(f"{client}.key"),
                                            certificate_chain=read(f"{client}.pem"))


def expect_refused(channel, what):
    """A call on channel must fail with UNAVAILABLE; returns its details."""
    try:
        health(channel, timeout=5)
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.UNAVAILABLE,
              f"{what}: {error.code()} {error.details()!r}, expected UNAVAILABLE")
        channel.close()
        return error.details()
    check(False, f"{what}: the call succeeded")


def run_cli_generate(args, port, *tls_flags):
    return subprocess.run([args.cli, "generate", "--target", f"localhost:{port}", *tls_flags,
                           "--prompt", "Hello", "--max-tokens", "8", "--ignore-eos",
                           "--seed", "1"],
                          capture_output=True, text=True, timeout=60)


def scenario_tls(args, model_dir, certs, pb):
    inference_pb2, inference_pb2_grpc = pb
    server = ServerProcess(args.server, model_dir, "--tls-cert", f"{certs.server}.pem",
                           "--tls-key", f"{certs.server}.key", metrics=True)
    try:
        server.wait_serving(credentials=certs.credentials())
        # The certificate names 127.0.0.1 too: no name override needed.
        channel = grpc.secure_channel(server.target, certs.credentials())
        inference = inference_pb2_grpc.InferenceStub(channel)
        reply = inference.Complete(inference_pb2.GenerateRequest(
            prompt="Hello", max_tokens=8, seed=1, ignore_eos=True), timeout=30)
        check(reply.usage.completion_tokens == 8, f"Complete over TLS: {reply.usage}")
        messages = list(inference.Generate(inference_pb2.GenerateRequest(
            prompt="Hello", max_tokens=16, seed=1, ignore_eos=True), timeout=30))
        check(sum(len(m.token_ids) for m in messages) == 16, "stream over TLS cut short")
        channel.close()
        print("tls: Complete and a 16-token stream from Python with the CA")

        result = run_cli_generate(args, server.port, "--tls-ca", f"{certs.ca}.pem")
        check(result.returncode == 0 and "completion 8 tokens" in result.stderr,
              f"minimind generate --tls-ca: {result.returncode} {result.stderr!r}")
        result = run_cli_generate(args, server.port)
        check(result.returncode == 1 and "UNAVAILABLE" in result.stderr,
              f"plaintext minimind generate against TLS: {result.returncode} {result.stderr!r}")
        print("tls: minimind generate --target localhost:PORT --tls-ca works; without it "
              "UNAVAILABLE")

        details = expect_refused(grpc.insecure_channel(server.target), "plaintext client")
        print(f"tls: plaintext Python client refused: UNAVAILABLE {details!r}")
        untrusting = grpc.ssl_channel_credentials(
            root_certificates=read(os.path.join(certs.directory, "other-ca.pem")))
        details = expect_refused(grpc.secure_channel(server.target, untrusting),
                                 "client not trusting the CA")
        print(f"tls: client trusting another CA refused: UNAVAILABLE {details!r}")

        samples = server.scrape()
        check(len(samples) > 0, "no metrics over plaintext HTTP")
        print("tls: /metrics still answers plaintext HTTP on its own listener")
    finally:
        server.kill()


def scenario_mtls(args, model_dir, certs, pb):
    inference_pb2, inference_pb2_grpc = pb
    server = ServerProcess(args.server, model_dir, "--tls-cert", f"{certs.server}.pem",
                           "--tls-key", f"{certs.server}.key", "--tls-client-ca",
                           f"{certs.ca}.pem")
    try:
        server.wait_serving(credentials=certs.credentials(client=certs.client))
        channel = grpc.secure_channel(server.target, certs.credentials(client=certs.client))
        reply = inference_pb2_grpc.InferenceStub(channel).Complete(
            inference_pb2.GenerateRequest(prompt="Hi", max_tokens=4, ignore_eos=True), timeout=30)
        check(reply.usage.completion_tokens == 4, f"Complete over mTLS: {reply.usage}")
        channel.close()
        print("mtls: Complete from Python with the tenant-a certificate")

        result = run_cli_generate(args, server.port, "--tls-ca", f"{certs.ca}.pem",
                                  "--tls-cert", f"{certs.client}.pem",
                                  "--tls-key", f"{certs.client}.key")
        check(result.returncode == 0 and "completion 8 tokens" in result.stderr,
              f"minimind generate with a client certificate: {result.returncode} "
              f"{result.stderr!r}")
        result = run_cli_generate(args, server.port, "--tls-ca", f"{certs.ca}.pem")
        check(result.returncode == 1 and "UNAVAILABLE" in result.stderr,
              f"minimind generate without a client certificate: {result.returncode} "
              f"{result.stderr!r}")
        print("mtls: minimind generate --tls-ca --tls-cert --tls-key works; without the "
              "certificate UNAVAILABLE")

        details = expect_refused(grpc.secure_channel(server.target, certs.credentials()),
                                 "client without a certificate")
        print(f"mtls: Python client without a certificate refused: UNAVAILABLE {details!r}")
        details = expect_refused(
            grpc.secure_channel(server.target, certs.credentials(client=certs.untrusted)),
            "client certificate from another CA")
        print(f"mtls: certificate from another CA refused: UNAVAILABLE {details!r}")
    finally:
        server.kill()


def write_keys_file(path, keys):
    """keys: (key or None, client_cert_cn or None, tenant) rows; tenants a and b."""
    import hashlib
    import json
    rows = []
    for key, common_name, tenant in keys:
        if key is not None:
            rows.append({"sha256": hashlib.sha256(key.encode()).hexdigest(), "tenant": tenant})
        else:
            rows.append({"client_cert_cn": common_name, "tenant": tenant})
    with open(path, "w") as f:
        json.dump({"tenants": {"a": {}, "b": {}}, "keys": rows}, f)


def scenario_tenants_over_mtls(args, model_dir, certs, stubs):
    """mTLS + API keys: the certificate names tenant a, a key names tenant b and wins; tenants
    are isolated; the CLI sends --api-key / MINIMIND_API_KEY; SIGHUP reloads the keys."""
    inference_pb2, inference_pb2_grpc, sessions_pb2, sessions_pb2_grpc = stubs
    keys_path = os.path.join(certs.directory, "keys.json")
    write_keys_file(keys_path, [(None, "tenant-a", "a"), ("key-b", None, "b")])
    server = ServerProcess(args.server, model_dir, "--tls-cert", f"{certs.server}.pem",
                           "--tls-key", f"{certs.server}.key", "--tls-client-ca",
                           f"{certs.ca}.pem", "--api-keys-file", keys_path)
    try:
        credentials = certs.credentials(client=certs.client)
        server.wait_serving(credentials=credentials)
        channel = grpc.secure_channel(server.target, credentials)
        sessions = sessions_pb2_grpc.SessionsStub(channel)
        as_b = (("authorization", "Bearer key-b"),)
        session = sessions.CreateSession(sessions_pb2.CreateSessionRequest(), timeout=10)
        for metadata, expected in (((), grpc.StatusCode.OK), (as_b, grpc.StatusCode.NOT_FOUND)):
            try:
                sessions.GetSession(sessions_pb2.GetSessionRequest(session_id=session.session_id),
                                    timeout=10, metadata=metadata)
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                code = error.code()
            check(code == expected, f"GetSession as {metadata or 'the certificate'}: {code}")
        try:
            sessions.ListSessions(sessions_pb2.ListSessionsRequest(), timeout=10,
                                  metadata=(("authorization", "Bearer wrong"),))
            check(False, "a wrong key over a mapped certificate was accepted")
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.UNAUTHENTICATED, f"wrong key: {error.code()}")
        print("tenants: the certificate CN names tenant a; key-b wins and cannot see a's "
              "session (NOT_FOUND); a wrong key is UNAUTHENTICATED")

        tls_flags = ["--tls-ca", f"{certs.ca}.pem", "--tls-cert", f"{certs.client}.pem",
                     "--tls-key", f"{certs.client}.key"]
        result = run_cli_generate(args, server.port, *tls_flags, "--api-key", "key-b")
        check(result.returncode == 0, f"minimind generate --api-key: {result.stderr!r}")
        result = subprocess.run([args.cli, "generate", "--target", f"localhost:{server.port}",
                                 *tls_flags, "--prompt", "Hi", "--max-tokens", "2"],
                                capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, MINIMIND_API_KEY="key-c"))
        check(result.returncode == 1 and "UNAUTHENTICATED" in result.stderr,
              f"an unknown MINIMIND_API_KEY: {result.returncode} {result.stderr!r}")
        write_keys_file(keys_path, [(None, "tenant-a", "a"), ("key-b", None, "b"),
                                    ("key-c", None, "b")])
        server.process.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while True:
            result = subprocess.run(
                [args.cli, "generate", "--target", f"localhost:{server.port}", *tls_flags,
                 "--prompt", "Hi", "--max-tokens", "2"], capture_output=True, text=True,
                timeout=60, env=dict(os.environ, MINIMIND_API_KEY="key-c"))
            if result.returncode == 0:
                break
            check(time.time() < deadline, f"key-c never accepted after SIGHUP: {result.stderr!r}")
            time.sleep(0.1)
        print("tenants: minimind generate --api-key works; MINIMIND_API_KEY key-c refused, "
              "then accepted after the file changed and SIGHUP")
        channel.close()
    finally:
        server.kill()


def served_serial(port, ca_pem):
    context = ssl.create_default_context(cafile=ca_pem)
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            return int(tls.getpeercert()["serialNumber"], 16)


def install_version(secret_dir, version, base):
    """Kubernetes' atomic Secret update: files in a new ..VERSION directory, then ..data (which
    tls.crt and tls.key point through) renamed onto a symlink to it."""
    version_dir = os.path.join(secret_dir, f"..{version}")
    os.makedirs(version_dir)
    shutil.copy(f"{base}.pem", os.path.join(version_dir, "tls.crt"))
    shutil.copy(f"{base}.key", os.path.join(version_dir, "tls.key"))
    link = os.path.join(secret_dir, "..data_tmp")
    os.symlink(f"..{version}", link)
    os.replace(link, os.path.join(secret_dir, "..data"))
    for name in ("tls.crt", "tls.key"):
        if not os.path.islink(os.path.join(secret_dir, name)):
            os.symlink(os.path.join("..data", name), os.path.join(secret_dir, name))


def scenario_rotation(args, model_dir, certs, pb):
    inference_pb2, inference_pb2_grpc = pb
    secret_dir = os.path.join(certs.directory, "secret")
    os.makedirs(secret_dir)
    install_version(secret_dir, "v1", certs.server)
    renewed = make_certificate(certs.directory, "server-renewed", "localhost", certs.ca,
                               Certificates.SERVER_SAN, serial=2002)
    # One forward-pass thread: the stream's pace hardly depends on the machine's core count.
    server = ServerProcess(args.server, model_dir, "--threads", "1", "--tls-cert",
                           os.path.join(secret_dir, "tls.crt"), "--tls-key",
                           os.path.join(secret_dir, "tls.key"))
    try:
        credentials = certs.credentials()
        server.wait_serving(credentials=credentials)
        check(served_serial(server.port, f"{certs.ca}.pem") == 1001, "not the first certificate")
        channel = grpc.secure_channel(server.target, credentials)
        inference = inference_pb2_grpc.InferenceStub(channel)

        # A stream long enough to outlast the swap and the refresh that picks it up.
        started = time.time()
        inference.Complete(inference_pb2.GenerateRequest(prompt="rate", max_tokens=64,
                                                         ignore_eos=True), timeout=30)
        rate = 64 / (time.time() - started)
        max_tokens = max(256, min(2000, int(rate * (REFRESH_SECONDS + 8))))
        stream = {"messages": [], "arrivals": []}

        def read_stream():
            try:
                for message in inference.Generate(inference_pb2.GenerateRequest(
                        prompt="long", max_tokens=max_tokens, ignore_eos=True, seed=3),
                        timeout=60):
                    stream["messages"].append(message)
                    stream["arrivals"].append(time.time())
                stream["status"] = "ok"
            except grpc.RpcError as error:
                stream["status"] = f"{error.code()} {error.details()!r}"

        reader = threading.Thread(target=read_stream)
        reader.start()
        while not stream["messages"] and reader.is_alive():
            time.sleep(0.01)

        swapped = time.time()
        install_version(secret_dir, "v2", renewed)
        serial = 1001
        while serial == 1001:
            check(time.time() - swapped < REFRESH_SECONDS + 5,
                  f"the renewed certificate was not served {REFRESH_SECONDS + 5} s after the swap")
            time.sleep(0.2)
            serial = served_serial(server.port, f"{certs.ca}.pem")
        seen = time.time()
        check(serial == 2002, f"served serial {serial}")
        print(f"rotation: new connections get serial 2002 {seen - swapped:.1f} s after the swap")

        fresh = grpc.secure_channel(server.target, credentials)
        reply = inference_pb2_grpc.InferenceStub(fresh).Complete(inference_pb2.GenerateRequest(
            prompt="after", max_tokens=4, ignore_eos=True), timeout=30)
        check(reply.usage.completion_tokens == 4, "Complete on a new connection after rotation")
        reply = inference.Complete(inference_pb2.GenerateRequest(
            prompt="after", max_tokens=4, ignore_eos=True), timeout=30)
        check(reply.usage.completion_tokens == 4, "Complete on the old connection after rotation")
        fresh.close()

        reader.join(60)
        check(stream.get("status") == "ok", f"the stream across the rotation: {stream}")
        tokens = sum(len(m.token_ids) for m in stream["messages"])
        check(tokens == max_tokens, f"the stream across the rotation got {tokens}/{max_tokens}")
        check(stream["arrivals"][-1] > seen,
              f"the stream ({max_tokens} tokens at ~{rate:.0f} tok/s) ended before the new "
              "certificate was seen, so it did not test a live stream")
        channel.close()
        print(f"rotation: calls on new and old connections work; a {max_tokens}-token stream "
              f"started before the swap ran to its end {stream['arrivals'][-1] - seen:.1f} s "
              "after the new certificate was seen")
    finally:
        server.kill()


def scenario_bad_files(args, model_dir, certs):
    garbage = os.path.join(certs.directory, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("this is not a certificate\n")
    missing = os.path.join(certs.directory, "missing.pem")
    for cert, expected in ((missing, "No such file"), (garbage, "no PEM certificate")):
        result = subprocess.run([args.server, "--listen", "127.0.0.1:0", "--model", model_dir,
                                 "--tls-cert", cert, "--tls-key", f"{certs.server}.key"],
                                capture_output=True, text=True, timeout=30)
        check(result.returncode == 1, f"exit code {result.returncode} with --tls-cert {cert}")
        check(cert in result.stderr and expected in result.stderr and "--tls-cert" in result.stderr,
              f"message for --tls-cert {cert}: {result.stderr!r}")
        check("listening" not in result.stdout, f"it listened: {result.stdout!r}")
        print(f"bad file: exit 1, {result.stderr.strip()!r}")


def main():
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args()
    if shutil.which("openssl") is None:
        skip("openssl is not installed")
    begin = time.time()
    with tempfile.TemporaryDirectory(prefix="minimind_tls_") as scratch:
        model_dir = make_random_model(args.cli, os.path.join(scratch, "model"))
        slow_model_dir = make_random_model(args.cli, os.path.join(scratch, "slow-model"),
                                           slow=True)
        generate_stubs(args, os.path.join(scratch, "stubs"))
        from minimind.v1 import inference_pb2, inference_pb2_grpc
        from minimind.v1 import sessions_pb2, sessions_pb2_grpc
        pb = (inference_pb2, inference_pb2_grpc)
        certs_dir = os.path.join(scratch, "certs")
        os.makedirs(certs_dir)
        certs = Certificates(certs_dir)
        scenario_bad_files(args, model_dir, certs)
        scenario_tls(args, model_dir, certs, pb)
        scenario_mtls(args, model_dir, certs, pb)
        scenario_tenants_over_mtls(args, model_dir, certs,
                                   pb + (sessions_pb2, sessions_pb2_grpc))
        scenario_rotation(args, slow_model_dir, certs, pb)
    print(f"PASSED in {time.time() - begin:.1f} s")


if __name__ == "__main__":
    main()
