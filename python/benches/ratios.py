"""Prints the ratio table of a pytest-benchmark JSON file from
test_verify_bench.py, as Markdown for python/README.md."""

from __future__ import annotations

import json
import sys

OURS_AND_THEIRS = [
    ("standard_webhooks: standardwebhooks.Webhook.verify", "standard_webhooks: titan_webhooks.Verifier.verify"),
    ("stripe: stripe.WebhookSignature.verify_header", "stripe: titan_webhooks.Verifier.verify"),
]
FLOOR = "floor: hmac.new + hmac.compare_digest"


def main(path: str) -> int:
    data = json.load(open(path))
    medians: dict[tuple[str, str], float] = {}
    for bench in data["benchmarks"]:
        size = bench["group"].split(", ")[1].removesuffix(" body")
        medians[(size, bench["name"])] = bench["stats"]["median"]
    sizes = sorted({size for size, _ in medians}, key=lambda s: (s.endswith("MiB"), s))

    def show(seconds: float) -> str:
        return f"{seconds * 1e6:,.2f} µs" if seconds < 1e-3 else f"{seconds * 1e3:,.3f} ms"

    machine = data.get("machine_info", {})
    print(f"Python {machine.get('python_version', '?')}, {machine.get('cpu', {}).get('brand_raw', '?')}")
    print()
    print("| body | library (baseline) | its median | titan_webhooks median | titan_webhooks is |")
    print("|---|---|---|---|---|")
    for size in sizes:
        for theirs, ours in OURS_AND_THEIRS:
            t, o = medians[(size, theirs)], medians[(size, ours)]
            print(f"| {size} | `{theirs.split(': ')[1]}` | {show(t)} | {show(o)} | {t / o:.1f}× faster |")
    print()
    print("| body | titan_webhooks call | median | against the bare stdlib HMAC |")
    print("|---|---|---|---|")
    for size in sizes:
        floor = medians[(size, FLOOR)]
        for (s, name), median in sorted(medians.items()):
            if s == size and "titan_webhooks" in name:
                print(f"| {size} | `{name.split(': ')[1]}` ({name.split(':')[0]}) | {show(median)} | {median / floor:.2f}× its {show(floor)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
