"""Fixtures for the official-Python-SDK acceptance test of hubcalls.

A single hubcalls server (in-memory store, random port, random token) is started
for the whole test session.  Tests talk to it only through the official
``hubspot-api-client`` package; the only thing changed from a stock client is the
base URL, passed as ``HubSpot(access_token=..., host=...)``.  The SDK copies every
constructor keyword onto the ``Configuration`` of each sub-API it builds
(``hubspot/discovery/discovery_base.py``), so ``host`` reaches
``crm.objects.calls.basic_api``, ``batch_api`` and ``search_api`` alike.
"""

import sys
import uuid
from pathlib import Path

import pytest
from hubspot import HubSpot

# The server process is started by a helper shared with the date-versioned SDK suite.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hubcalls_server import running_server  # noqa: E402


@pytest.fixture(scope="session")
def server():
    with running_server("hubcalls-sdk-python-", "hubcalls_test_sdk_") as running:
        yield running


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
