"""The GIL is released while a large body is hashed, and only then.

Python threads switch only at the switch interval or where the running
thread releases the GIL. With the interval set far beyond the test's
length, the main thread, waiting for the GIL, can run while a worker is
inside `verify` only if `verify` released it. No timing is asserted: the
worker records whether its call had returned when the main thread ran.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from titan_webhooks import Signer, Verifier, verify_signature

from conftest import eventium_header

BIG = b"x" * (64 << 20)
SMALL = b"x" * 1024


@pytest.fixture
def no_preemption() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def main_thread_ran_during(call: Callable[[], object]) -> bool:
    """Runs `call` in a worker; True if this thread ran before it returned."""
    state = {"returned": False}

    def worker() -> None:
        call()
        state["returned"] = True

    thread = threading.Thread(target=worker)
    # start() waits, without the GIL, for the worker to begin; the worker
    # then keeps the GIL until it releases it or finishes.
    thread.start()
    ran_during = not state["returned"]
    thread.join()
    assert state["returned"]
    return ran_during


def test_verify_releases_the_gil_for_a_large_body(no_preemption: None) -> None:
    verifier = Verifier("standard_webhooks", b"key-bytes-0123456789")
    headers = Signer("standard_webhooks", b"key-bytes-0123456789").sign(BIG)
    assert main_thread_ran_during(lambda: verifier.verify(headers, BIG))


def test_verify_signature_and_sign_release_the_gil_for_a_large_body(no_preemption: None) -> None:
    header = eventium_header("secret", BIG)
    assert main_thread_ran_during(lambda: verify_signature("secret", header, BIG))
    assert main_thread_ran_during(lambda: Signer("github", "secret").sign(BIG))


def test_a_small_body_keeps_the_gil(no_preemption: None) -> None:
    verifier = Verifier("github", "secret")
    headers = Signer("github", "secret").sign(SMALL)
    assert not main_thread_ran_during(lambda: [verifier.verify(headers, SMALL) for _ in range(1000)])
