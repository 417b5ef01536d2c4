#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/, one after the other, each in a
# single process, and prints what each run did.
#
#   scripts/fuzz.sh [--time SECONDS | --runs N] [TARGET...]
#
# Defaults: every target, 60 seconds each. Needs a nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz --locked`). Every run caps inputs at
# 64 KiB and fails on any single allocation of 1 MiB or more (the targets'
# global allocator, fuzz/src/lib.rs, aborts on one). The targets are built
# without AddressSanitizer (`-s none`): the crate forbids unsafe code, and the
# sanitizer costs several times the speed. The corpus grows in
# fuzz/corpus/TARGET; a crash is saved in fuzz/artifacts/TARGET and stops
# the script.
set -euo pipefail
cd "$(dirname "$0")/.."
# A backtrace's symbolizer allocates megabytes, which would turn a panic
# into a misleading report from the allocation cap.
export RUST_BACKTRACE=0

limit=(-max_total_time=60)
targets=()
while (($#)); do
    case $1 in
        --time) limit=("-max_total_time=$2"); shift 2 ;;
        --runs) limit=("-runs=$2"); shift 2 ;;
        -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

dict_for() {
    case $1 in
        url_guard) echo fuzz/dicts/url.dict ;;
        verify) echo fuzz/dicts/verify.dict ;;
        *) echo fuzz/dicts/json.dict ;;
    esac
}

summary=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    log=$(mktemp)
    echo "==> $target (${limit[*]})"
    started=$SECONDS
    # No -jobs/-workers: without them libFuzzer fuzzes in this one process,
    # which is what -jobs=1 -workers=1 ask for, minus the fork and log file.
    set +e
    cargo +nightly fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
        "${limit[@]}" \
        -max_len=65536 \
        -rss_limit_mb=2048 \
        -timeout=10 \
        -dict="$(dict_for "$target")" \
        -print_final_stats=1 2>&1 | tee "$log" | grep -E '^(#[0-9]+\s+(INITED|DONE)|==[0-9]+==|SUMMARY|stat::)'
    status=${PIPESTATUS[0]}
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
    summary+=("$(printf '%-12s %12s execs %8s exec/s %6s s %7s files %6s MB peak RSS  exit %s' \
        "$target" "${execs:-?}" "${rate:-?}" "$((SECONDS - started))" "$corpus" "${rss:-?}" "$status")")
    if ((status != 0)); then
        tail -n 40 "$log"
        rm -f "$log"
        printf '%s\n' "${summary[@]}"
        echo "$target failed; the input is in fuzz/artifacts/$target" >&2
        exit "$status"
    fi
    rm -f "$log"
done
echo
printf '%s\n' "${summary[@]}"
