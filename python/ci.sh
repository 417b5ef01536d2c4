#!/usr/bin/env bash
# Builds and tests the Python package, as .ci/run does, one stage at a time:
#
#   python/ci.sh venv    a fresh virtual environment with the pinned tools
#   python/ci.sh build   the release abi3 wheel, installed into it
#   python/ci.sh test    pytest, then stubtest and mypy on the stubs and examples
#   python/ci.sh bench   the benchmark against standardwebhooks and stripe
#   python/ci.sh all     all four
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
    "$venv/bin/python" -m mypy --strict --no-incremental examples tests
}

stage_bench() {
    "$venv/bin/python" -m pytest -p no:cacheprovider benches \
        --benchmark-only --benchmark-json="$root/target/python-bench.json" -q
    "$venv/bin/python" benches/ratios.py "$root/target/python-bench.json"
}

case "${1:-all}" in
venv) stage_venv ;;
build) stage_build ;;
test) stage_test ;;
bench) stage_bench ;;
all) stage_venv && stage_build && stage_test && stage_bench ;;
*)
    echo "usage: $0 [venv|build|test|bench|all]" >&2
    exit 2
    ;;
esac
