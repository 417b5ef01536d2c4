"""The examples: the seed's FastAPI receiver through TestClient and as a
real server on 127.0.0.1, and the Flask receiver through its test client."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import socket
import subprocess
import sys
import time
import types
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from titan_webhooks import Signer

from conftest import now

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
SECRET = "YOUR_ENDPOINT_SECRET"
BODY = (
    b'{"id":"0c3b1d5b-1d66-4a16-b2b5-7aa3c2c9b5ab","type":"quota.threshold.reached",'
    b'"created_at":"2026-05-26T09:14:02Z","data":{"scope":"daily","threshold":80,'
    b'"limit":10000,"count":8123,"plan":"builder"}}'
)


def load(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signed(body: bytes = BODY, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    headers = Signer("eventium", secret).sign(body, timestamp=now() if timestamp is None else timestamp)
    return {"X-TitanVX-Signature": headers["x-titanvx-signature"], "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def fastapi_client() -> TestClient:
    return TestClient(load("fastapi_receiver").app)


def test_fastapi_valid_delivery_gets_200(fastapi_client: TestClient) -> None:
    response = fastapi_client.post("/eventium/webhooks", content=BODY, headers=signed())
    assert response.status_code == 200
    assert response.json() == {"ok": True, "type": "quota.threshold.reached"}


def test_fastapi_rotation_header_gets_200(fastapi_client: TestClient) -> None:
    stamp = now()
    header = Signer("eventium", "next-secret", previous=SECRET, previous_expires_at=stamp + 60).sign(
        BODY, timestamp=stamp
    )["x-titanvx-signature"]
    response = fastapi_client.post("/eventium/webhooks", content=BODY, headers={"x-titanvx-signature": header})
    assert response.status_code == 200


REFUSED: dict[str, Callable[[], tuple[bytes, dict[str, str]]]] = {
    "tampered": lambda: (BODY.replace(b"8123", b"9999"), signed()),
    "stale": lambda: (BODY, signed(timestamp=now() - 330)),
    "from the future": lambda: (BODY, signed(timestamp=now() + 330)),
    "wrong secret": lambda: (BODY, signed(secret="another-secret")),
    "unsigned": lambda: (BODY, {"Content-Type": "application/json"}),
    "malformed": lambda: (BODY, {"X-TitanVX-Signature": "t=now,v1=yes"}),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_fastapi_refused_delivery_gets_400(fastapi_client: TestClient, case: str) -> None:
    body, headers = REFUSED[case]()
    response = fastapi_client.post("/eventium/webhooks", content=body, headers=headers)
    assert response.status_code == 400, case
    assert response.json() == {"detail": "Invalid signature"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_fastapi_example_runs_as_a_server() -> None:
    port = free_port()
    env = dict(os.environ, PORT=str(port), EVENTIUM_WEBHOOK_SECRET="server-secret")
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "fastapi_receiver.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/eventium/webhooks"
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert server.poll() is None, "the example exited before listening"
                assert time.monotonic() < deadline, "the example did not listen within 30 s"
                time.sleep(0.1)
        good = httpx.post(url, content=BODY, headers=signed(secret="server-secret"), timeout=10)
        assert (good.status_code, good.json()["type"]) == (200, "quota.threshold.reached")
        bad = httpx.post(url, content=BODY, headers=signed(secret=SECRET), timeout=10)
        assert bad.status_code == 400
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()


@pytest.fixture(scope="module")
def flask_module() -> types.ModuleType:
    return load("flask_receiver")


def test_flask_verifier_route(flask_module: types.ModuleType) -> None:
    client = flask_module.app.test_client()
    response = client.post("/eventium/webhooks", data=BODY, headers=signed())
    assert response.status_code == 200
    assert response.get_json()["type"] == "quota.threshold.reached"
    for headers, code in (
        (signed(timestamp=now() - 330), "timestamp_out_of_tolerance"),
        (signed(secret="another-secret"), "signature_mismatch"),
        ({}, "missing_header"),
    ):
        response = client.post("/eventium/webhooks", data=BODY, headers=headers)
        assert (response.status_code, response.get_json()["error"]) == (400, code)
    response = client.post("/eventium/webhooks", data=b"not json", headers=signed(b"not json"))
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_payload")


def test_flask_seed_route(flask_module: types.ModuleType) -> None:
    client = flask_module.app.test_client()
    assert client.post("/eventium/webhooks/simple", data=BODY, headers=signed()).status_code == 200
    assert client.post("/eventium/webhooks/simple", data=BODY + b" ", headers=signed()).status_code == 400
    assert client.post("/eventium/webhooks/simple", data=BODY).status_code == 400
