import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import sys
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / ".." / "shared" / "vectors"


def free_port(kind: int) -> int:
    """A port of loopback free now, for a TCP (SOCK_STREAM) or UDP (SOCK_DGRAM) server."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """The ``omadm`` tool run as a user runs it."""
    return subprocess.run([sys.executable, "-m", "omadm.cli", *args], input=stdin, capture_output=True)


def exchanged(client: Any, server: Any) -> list[tuple[bytes, str | None]]:
    """A whole session, device and server in memory: each message in the order sent, with its
    x-syncml-hmac header (None without HMAC)."""
    sent: list[tuple[bytes, str | None]] = []
    while (body := client.next_message()) is not None:
        sent.append((body, client.hmac_header))
        server.receive(body, client.hmac_header)
        answer = server.next_message()
        assert answer is not None
        sent.append((answer, server.hmac_header))
        client.receive(answer, server.hmac_header)
    return sent


@contextlib.contextmanager
def omadm_serve(*args: str):
    """`omadm serve --port 0 ARGS` running: its process (stdout as text, after the URL line) and URL."""
    server = subprocess.Popen([sys.executable, "-m", "omadm.cli", "serve", "--port", "0", *args],
                              stdout=subprocess.PIPE, text=True)
    try:
        yield server, server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def vectors() -> pathlib.Path:
    assert VECTORS.is_dir(), f"{VECTORS} is missing"
    return VECTORS


@pytest.fixture
def run_agent():
    """Runs examples/c/agent.c (built by `make test-c`, with libomadm from target/debug) against a
    server URL."""
    agent = ROOT / "build" / "agent"
    assert agent.exists(), "make test-c builds build/agent"
    env = {**os.environ, "LD_LIBRARY_PATH": str(ROOT / "target" / "debug")}

    def run(url: str, *args: str, background: bool = False, valgrind: bool = False) -> Any:
        """With ``valgrind`` (where it is installed), under memcheck: an error or a leak exits 97."""
        command = [str(agent), url, *args]
        if valgrind and shutil.which("valgrind"):
            command = ["valgrind", "--quiet", "--error-exitcode=97", "--leak-check=full",
                       "--errors-for-leak-kinds=definite,indirect", *command]
        if background:
            return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    return run
