"""The moto server on 127.0.0.1 that the end-to-end tests run the real CLI against."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests
from moto.server import ThreadedMotoServer
from recon_support import create_roles


@pytest.fixture(scope="module")  # stopped after each module, as before: no server thread
# outlives the e2e modules (the Ctrl-C tests of test_apply.py hung once beside one)
def server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture
def endpoint(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The server, emptied (moto's state is per process, shared with in-process mocks), with
    the executor and scheduler roles, as AWS_ENDPOINT_URL."""
    requests.post(f"{server}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # moto's 500s fail fast
    create_roles(server)
    return server
