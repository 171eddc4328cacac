"""Starts the hubcalls binary for the Python SDK suites (``python/`` for the classic
``hubspot-api-client``, ``python_dated/`` for the date-versioned ``hubspot-sdk``).

One server per test session: in-memory store, random port, random token; or a fresh
PostgreSQL schema when ``HUBCALLS_TEST_DATABASE_URL`` is set, as for the Rust suite, so the
SDK tests run against both stores; with ``HUBCALLS_TEST_SHARDS=2`` as well, on two fresh
schemas as two shards (the tests' portal 1 on the second, not the default one). The binary is ``target/release/hubcalls`` or
``$HUBCALLS_BIN``.
"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / "target" / "release" / "hubcalls"
LISTEN_RE = re.compile(r"listening on (http://\S+)")
STARTUP_TIMEOUT_S = 30.0


@dataclass
class Server:
    base_url: str
    token: str
    log_path: str


def _store_args(schema_prefix: str) -> list:
    url = os.environ.get("HUBCALLS_TEST_DATABASE_URL", "").strip()
    if not url:
        return ["--in-memory"]
    return ["--database-url", url, "--database-schema", schema_prefix + secrets.token_hex(8)]


def _shard_count() -> int:
    """How many shards the harness asks for (0: none)."""
    url = os.environ.get("HUBCALLS_TEST_DATABASE_URL", "").strip()
    count = os.environ.get("HUBCALLS_TEST_SHARDS", "").strip()
    return int(count) if url and count.isdigit() and int(count) >= 2 else 0


def _shards_toml(schema_prefix: str, count: int) -> str:
    """The ``[postgres]`` section of ``count`` fresh shards, as tests/common/mod.rs writes it:
    portal 1 on shard ``s1``, every other portal on the default shard ``s0``."""
    url = os.environ["HUBCALLS_TEST_DATABASE_URL"].strip()
    base = schema_prefix + secrets.token_hex(8)
    text = '\n[postgres]\npool_size = 4\ndefault_shard = "s0"\n'
    for n in range(count):
        portals = "1" if n == 1 else ""
        text += (
            f'\n[[postgres.shards]]\nname = "s{n}"\nurl = "{url}"\n'
            f'schema = "{base}_s{n}"\nid_range = {n}\nportals = [{portals}]\n'
        )
    return text


def _with_shards(schema_prefix: str, extra_args: list, workdir: str) -> tuple:
    """(store args, extra args) for a sharded server: the shards go into a configuration
    file, together with the one ``extra_args`` may name (``--config`` can be given once)."""
    extra_args = list(extra_args)
    text = ""
    if "--config" in extra_args:
        at = extra_args.index("--config")
        text = Path(extra_args[at + 1]).read_text()
        del extra_args[at : at + 2]
    path = Path(workdir) / "shards.toml"
    path.write_text(text + _shards_toml(schema_prefix, _shard_count()))
    return ["--config", str(path)], extra_args


def _binary_path() -> Path:
    env = os.environ.get("HUBCALLS_BIN")
    return Path(env) if env else DEFAULT_BIN


@contextmanager
def running_server(log_prefix: str, schema_prefix: str, extra_args=()):
    """Yields a :class:`Server` for the life of the block, then stops it. ``extra_args`` go
    to ``hubcalls serve`` (e.g. ``--config`` for owners)."""
    binary = _binary_path()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            f"hubcalls binary not found or not executable at {binary}. "
            "Build it with `cargo build --release` (from the repository root) "
            "or point HUBCALLS_BIN at it.",
            pytrace=False,
        )

    token = "pat-na1-" + secrets.token_hex(16)
    log = tempfile.NamedTemporaryFile(prefix=log_prefix, suffix=".log", delete=False)
    workdir = tempfile.mkdtemp(prefix=log_prefix)
    if _shard_count():
        store_args, extra_args = _with_shards(schema_prefix, extra_args, workdir)
    else:
        store_args = _store_args(schema_prefix)
    proc = subprocess.Popen(
        [
            str(binary),
            "serve",
            *store_args,
            "--listen",
            "127.0.0.1:0",
            "--token",
            token,
            *extra_args,
        ],
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
        shutil.rmtree(workdir, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
