#!/usr/bin/env bash
# Builds and tests the Python package, as .ci/run does, one stage at a time:
#
#   python/ci.sh venv    a fresh virtual environment with the pinned tools
#   python/ci.sh build   the release abi3 wheel, installed into it
#   python/ci.sh test    pytest, then stubtest and mypy on the stubs and examples
#   python/ci.sh bench   the benchmark against standardwebhooks and stripe
#   python/ci.sh e2e     builds the CLI, then the pinned standardwebhooks and
#                        svix packages POST Svix-named deliveries to its
#                        `listen` over 127.0.0.1 (needs only the venv stage)
#   python/ci.sh all     all five
#
# The environment is $TITAN_WEBHOOKS_VENV (default: target/python-venv in
# the workspace). Nothing is skipped: a missing tool or package fails.
set -euo pipefail
cd "$(dirname "$0")"

root=$(cd .. && pwd)
venv=${TITAN_WEBHOOKS_VENV:-$root/target/python-venv}
python=${PYTHON:-python3}

stage_venv() {
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --require-virtualenv --no-input -r requirements-ci.txt
    "$venv/bin/python" -m pip check
    "$venv/bin/python" --version
    "$venv/bin/maturin" --version
}

stage_build() {
    rm -rf dist
    # --locked: the workspace's Cargo.lock decides every crate's version.
    "$venv/bin/maturin" build --release --locked --out dist
    local wheels=(dist/titan_webhooks-*-cp39-abi3-*.whl)
    if [ "${#wheels[@]}" != 1 ] || [ ! -f "${wheels[0]}" ]; then
        echo "expected exactly one abi3 wheel for CPython 3.9+ in dist/, found: $(ls dist)" >&2
        exit 1
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        --force-reinstall "${wheels[0]}"
}

stage_test() {
    # From tests/ the source tree is not importable: the installed wheel is tested.
    "$venv/bin/python" -m pytest -p no:cacheprovider tests
    # The stubs describe the extension as it is at run time...
    "$venv/bin/python" -m mypy.stubtest titan_webhooks
    # ...and the examples and tests type-check against them.
    "$venv/bin/python" -m mypy --strict --no-incremental --show-traceback examples tests
}

stage_bench() {
    "$venv/bin/python" -m pytest -p no:cacheprovider benches \
        --benchmark-only --benchmark-json="$root/target/python-bench.json" -q
    "$venv/bin/python" benches/ratios.py "$root/target/python-bench.json"
}

stage_e2e() {
    # --locked: the workspace's Cargo.lock decides every crate's version.
    (cd "$root" && cargo build --locked -p titan-webhooks-cli)
    local target
    target=$(cd "$root" && cargo metadata --format-version 1 --no-deps --locked |
        "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    local cli="$target/debug/titan-webhooks"
    if [ ! -x "$cli" ]; then
        echo "cargo built no titan-webhooks binary at $cli" >&2
        exit 1
    fi
    TITAN_WEBHOOKS_CLI="$cli" "$venv/bin/python" -m pytest -p no:cacheprovider e2e
    "$venv/bin/python" -m mypy --strict --no-incremental --show-traceback e2e
}

case "${1:-all}" in
venv) stage_venv ;;
build) stage_build ;;
test) stage_test ;;
bench) stage_bench ;;
e2e) stage_e2e ;;
all) stage_venv && stage_build && stage_test && stage_bench && stage_e2e ;;
*)
    echo "usage: $0 [venv|build|test|bench|e2e|all]" >&2
    exit 2
    ;;
esac
