"""End to end: the official `standardwebhooks` and `svix` packages sign
deliveries under Svix's header names and POST them over HTTP to the
crate's receiver, `titan-webhooks listen`, which accepts them and refuses
a tampered one and a mix of header families.

`python/ci.sh e2e` builds the binary and names it in `TITAN_WEBHOOKS_CLI`.
Without it every test fails: nothing here is skipped.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import secrets
import subprocess
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import IO, Mapping

import pytest
import standardwebhooks
import svix.webhooks

STARTUP_SECONDS = 30
SECRET_ENV = "TITAN_WEBHOOKS_E2E_SECRET"


def cli() -> str:
    path = os.environ.get("TITAN_WEBHOOKS_CLI", "")
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        pytest.fail(
            f"TITAN_WEBHOOKS_CLI={path!r} is not an executable titan-webhooks binary; "
            "run this through python/ci.sh e2e, which builds it",
            pytrace=False,
        )
    return path


class Listener:
    """`titan-webhooks listen` on a free port of 127.0.0.1, secret from the environment."""

    def __init__(self, scheme: str, secret: str, deliveries: int) -> None:
        self.process = subprocess.Popen(
            [cli(), "listen", "--scheme", scheme, "--port", "0", "--secret-env", SECRET_ENV,
             "--max-deliveries", str(deliveries), "--json"],
            env=dict(os.environ, **{SECRET_ENV: secret}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: queue.Queue[str | None] = queue.Queue()
        self.stdout: queue.Queue[str | None] = queue.Queue()
        # Both pipes drained to the end, so the listener never blocks writing.
        self.drains = [
            threading.Thread(target=drain, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stderr, self.stderr), (self.process.stdout, self.stdout))
        ]
        for thread in self.drains:
            thread.start()
        try:
            self.url = self.wait_for_address()
        except BaseException:
            self.__exit__()
            raise

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for thread in self.drains:
            thread.join()

    def wait_for_address(self) -> str:
        seen: list[str] = []
        while True:
            try:
                line = self.stderr.get(timeout=STARTUP_SECONDS)
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"no address within {STARTUP_SECONDS} s; stderr so far: {seen}") from None
            if line is None:
                raise AssertionError(f"the listener exited with {self.process.wait()}: {seen}")
            seen.append(line)
            match = re.search(r"Listening on (http://127\.0\.0\.1:\d+/)", line)
            if match:
                return match.group(1)

    def finish(self) -> tuple[int, list[dict[str, object]], str]:
        """Exit code, JSON lines and stderr, once the listener stopped by itself."""
        try:
            code = self.process.wait(timeout=STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return code, [json.loads(line) for line in lines_of(self.stdout)], "".join(lines_of(self.stderr))


def drain(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    assert stream is not None
    with stream:
        for line in stream:
            lines.put(line)
    lines.put(None)


def lines_of(lines: queue.Queue[str | None]) -> list[str]:
    out = []
    while (line := lines.get(timeout=STARTUP_SECONDS)) is not None:
        out.append(line)
    return out


def post(url: str, headers: Mapping[str, str], body: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=body.encode(), method="POST", headers=dict(headers, **{"content-type": "application/json"})
    )
    try:
        with urllib.request.urlopen(request, timeout=STARTUP_SECONDS) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def svix_headers(msg_id: str, timestamp: datetime, signature: str) -> dict[str, str]:
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(int(timestamp.timestamp())),
        "svix-signature": signature,
    }


def body(event: str) -> str:
    return json.dumps({"id": f"evt_{secrets.token_hex(4)}", "type": event, "data": {"text": "caf\u00e9 \U0001f44b"}})


def test_svix_named_deliveries_from_both_libraries_are_received() -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with Listener("svix", secret, deliveries=4) as listener:
        deliver_to_svix_listener(listener, secret)


def deliver_to_svix_listener(listener: Listener, secret: str) -> None:
    now = datetime.now(tz=timezone.utc)
    standard, svix_hook = standardwebhooks.Webhook(secret), svix.webhooks.Webhook(secret)

    first = body("message.received")
    signed = svix_headers("msg_standardwebhooks", now, standard.sign("msg_standardwebhooks", now, first))
    assert post(listener.url, signed, first) == (200, {"received": True})

    second = body("message.sent")
    signed = svix_headers("msg_svix", now, svix_hook.sign("msg_svix", now, second))
    svix_hook.verify(second, signed)  # The svix package accepts what it signed.
    assert post(listener.url, signed, second) == (200, {"received": True})

    # The same signature over another body.
    assert post(listener.url, signed, second.replace("caf", "cab")) == (401, {"error": "signature_mismatch"})

    # A valid signature, its id under the other family's name: refused, not mixed.
    mixed = dict(svix_headers("msg_mixed", now, svix_hook.sign("msg_mixed", now, first)))
    mixed["webhook-id"] = mixed.pop("svix-id")
    assert post(listener.url, mixed, first) == (401, {"error": "malformed_header"})

    code, lines, stderr = listener.finish()
    assert [line["result"] for line in lines] == ["verified", "verified", "rejected", "rejected"], lines
    assert [line.get("id") for line in lines[:2]] == [json.loads(first)["id"], json.loads(second)["id"]]
    assert "4 deliveries: 2 verified, 0 duplicate, 2 rejected" in stderr, stderr
    assert code == 1, "a rejected delivery makes listen exit 1"
    assert secret not in stderr and secret[6:] not in stderr


def test_a_standard_webhooks_receiver_takes_svix_names_and_a_bare_unpadded_secret() -> None:
    # 17 bytes: padded base64 ends in `=`, which users' copies often lose.
    key = secrets.token_bytes(17)
    padded = base64.b64encode(key).decode()
    assert padded.endswith("=")
    with Listener("standard-webhooks", padded.rstrip("="), deliveries=2) as listener:
        deliver_to_standard_listener(listener, padded)


def deliver_to_standard_listener(listener: Listener, padded: str) -> None:
    now = datetime.now(tz=timezone.utc)
    hook = svix.webhooks.Webhook("whsec_" + padded)

    payload = body("message.received")
    assert post(listener.url, svix_headers("msg_1", now, hook.sign("msg_1", now, payload)), payload)[0] == 200
    signature = standardwebhooks.Webhook(padded.rstrip("=")).sign("msg_2", now, payload)
    webhook_names = {"webhook-id": "msg_2", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    assert post(listener.url, webhook_names, payload)[0] == 200

    code, lines, stderr = listener.finish()
    assert [line["result"] for line in lines] == ["verified", "verified"], (lines, stderr)
    assert code == 0, stderr
