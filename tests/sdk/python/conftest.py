"""Fixtures for the official-Python-SDK acceptance test of hubcalls.

A single hubcalls server (in-memory store, random port, random token) is started
for the whole test session.  Tests talk to it only through the official
``hubspot-api-client`` package; the only thing changed from a stock client is the
base URL, passed as ``HubSpot(access_token=..., host=...)``.  The SDK copies every
constructor keyword onto the ``Configuration`` of each sub-API it builds
(``hubspot/discovery/discovery_base.py``), so ``host`` reaches
``crm.objects.calls.basic_api``, ``batch_api`` and ``search_api`` alike.
"""

import os
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from hubspot import HubSpot

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BIN = REPO_ROOT / "target" / "release" / "hubcalls"
LISTEN_RE = re.compile(r"listening on (http://\S+)")
STARTUP_TIMEOUT_S = 30.0


@dataclass
class Server:
    base_url: str
    token: str
    log_path: str


def _store_args() -> list:
    """The in-memory store, or a fresh PostgreSQL schema when HUBCALLS_TEST_DATABASE_URL is set
    (as for the Rust suite, so the SDK tests run against both stores)."""
    url = os.environ.get("HUBCALLS_TEST_DATABASE_URL", "").strip()
    if not url:
        return ["--in-memory"]
    return ["--database-url", url, "--database-schema", "hubcalls_test_sdk_" + secrets.token_hex(8)]


def _binary_path() -> Path:
    env = os.environ.get("HUBCALLS_BIN")
    return Path(env) if env else DEFAULT_BIN


@pytest.fixture(scope="session")
def server():
    binary = _binary_path()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            f"hubcalls binary not found or not executable at {binary}. "
            "Build it with `cargo build --release` (from the repository root) "
            "or point HUBCALLS_BIN at it.",
            pytrace=False,
        )

    token = "pat-na1-" + secrets.token_hex(16)
    log = tempfile.NamedTemporaryFile(
        prefix="hubcalls-sdk-python-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        [str(binary), "serve", *_store_args(), "--listen", "127.0.0.1:0", "--token", token],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )

    found = {}
    ready = threading.Event()
    seen_lines = []

    def pump_stdout():
        # Keep draining stdout for the life of the server so it never blocks on a full pipe.
        for line in proc.stdout:
            if not ready.is_set():
                seen_lines.append(line)
                m = LISTEN_RE.search(line)
                if m:
                    found["url"] = m.group(1).rstrip("/")
                    ready.set()
            log.write(line.encode())
            log.flush()
        ready.set()  # EOF: the process exited

    threading.Thread(target=pump_stdout, daemon=True).start()

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready.wait(0.1):
        if time.monotonic() > deadline:
            break
    if "url" not in found:
        _stop(proc)
        pytest.fail(
            f"hubcalls did not print 'listening on http://...' within {STARTUP_TIMEOUT_S}s "
            f"(exit code {proc.returncode}). stdout so far: {''.join(seen_lines)!r}; "
            f"stderr/log: {log.name}",
            pytrace=False,
        )

    try:
        yield Server(base_url=found["url"], token=token, log_path=log.name)
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _make_client(base_url: str, token, **config):
    """An SDK client exactly as a user builds one, with only the host changed."""
    if token is None:
        return HubSpot(host=base_url, **config)
    return HubSpot(access_token=token, host=base_url, **config)


@pytest.fixture(scope="session")
def make_client(server):
    """Factory: ``make_client(token=..., **extra Configuration attributes)``."""

    def make(token=server.token, **config):
        return _make_client(server.base_url, token, **config)

    return make


@pytest.fixture(scope="session")
def client(make_client):
    return make_client()


@pytest.fixture(scope="session")
def calls(client):
    """``client.crm.objects.calls``: has ``basic_api``, ``batch_api``, ``search_api``."""
    return client.crm.objects.calls


@pytest.fixture
def unique():
    """Returns a function giving a title unique to this test run."""

    def make(prefix: str = "sdk") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    return make
