"""Docstrings: their examples run, help() reads well, and the package ships
its stubs and py.typed."""

from __future__ import annotations

import doctest
import importlib
import importlib.resources
import inspect
import pydoc

import titan_webhooks


def test_every_docstring_example_runs() -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(titan_webhooks)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0
    assert result.attempted >= 50
    documented = {test.name.split(".")[1] for test in tests if test.examples and "." in test.name}
    assert {"verify_signature", "Verifier", "Signer", "Verified", "WebhookVerificationError"} <= documented


def test_help_reads_well() -> None:
    text = pydoc.render_doc(titan_webhooks, renderer=pydoc.plaintext)  # type: ignore[attr-defined]
    for expected in (
        "Verify and sign webhooks with the titan-webhooks Rust core.",
        "verify_signature(secret, signature_header, body, *, tolerance=300)",
        "class Verifier(builtins.object)",
        "Verifier(scheme, secret, *, tolerance=300, past_tolerance=None, future_tolerance=None)",
        "verify(self, /, headers, body, *, now=None)",
        "class WebhookVerificationError(builtins.Exception)",
        "Signer(scheme, secret, *, previous=None, previous_expires_at=None)",
    ):
        assert expected in text, expected
    assert "```" not in text and "[`" not in text


def test_signatures_are_introspectable() -> None:
    assert str(inspect.signature(titan_webhooks.verify_signature)) == (
        "(secret, signature_header, body, *, tolerance=300)"
    )
    assert str(inspect.signature(titan_webhooks.Verifier.verify_json)) == "(self, /, headers, body, *, now=None)"
    assert str(inspect.signature(titan_webhooks.Signer.sign)) == "(self, /, body, *, id=None, timestamp=None)"


def test_the_package_ships_its_stubs_and_is_typed() -> None:
    files = importlib.resources.files("titan_webhooks")
    assert (files / "py.typed").is_file()
    assert "def verify_signature(" in (files / "__init__.pyi").read_text()
    native = importlib.import_module("titan_webhooks._native")
    assert native.__file__ is not None and native.__file__.endswith(".abi3.so")


def test_the_public_names() -> None:
    assert titan_webhooks.SCHEMES == ("titan", "titanx", "eventium", "github", "stripe", "standard_webhooks")
    assert titan_webhooks.DEFAULT_TOLERANCE == 300
    assert titan_webhooks.__version__ == "0.1.0"
    public = {name for name in dir(titan_webhooks) if not name.startswith("_")}
    assert set(titan_webhooks.__all__) == public | {"__version__"}
