#!/usr/bin/env bash
# Runs each libFuzzer target (build/fuzz/fuzz_TARGET) for SECONDS and prints, per target and in total, the
# executions, the time and the findings. A finding (crash, sanitizer report, broken promise, leak, timeout,
# out of memory) stops that target, is left in build/fuzz/findings/TARGET/ and fails the run.
# usage: tests/fuzz/run_fuzz.sh SECONDS TARGET...
#
# Each target starts from its seeds (tests/fuzz/TARGET/), its earlier findings (tests/fuzz/regress/TARGET/)
# and the corpus earlier runs grew (build/fuzz/corpus/TARGET/, where new inputs go), with its dictionary
# when there is one (tests/fuzz/TARGET.dict).
set -u
secs=$1; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
# A 16 MB quarantine (ASan default 256 MB) still catches a use after free within one execution, and new
# allocations reuse memory instead of faulting in fresh pages: up to twice the executions per second.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
total_execs=0; total_secs=0; total_findings=0; failed=""
for t in "$@"; do
    bin=build/fuzz/fuzz_$t
    corpus=build/fuzz/corpus/$t
    findings=build/fuzz/findings/$t
    log=build/fuzz/logs/$t.log
    mkdir -p "$corpus" "$findings" build/fuzz/logs
    dict=(); [ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
    seeds=(tests/fuzz/$t); [ -d tests/fuzz/regress/$t ] && seeds+=(tests/fuzz/regress/$t)
    before=$(ls "$findings" | wc -l)
    start=$(date +%s)
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: an input that needs 2 GB is a finding too.
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$findings/" "${dict[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    end=$(date +%s)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | tr -dc 0-9)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | tr -dc 0-9)
    new=$(($(ls "$findings" | wc -l) - before))
    [ $rc -ne 0 ] && [ $new -eq 0 ] && new=1 # died without writing an input: still a finding
    secs_run=$((end - start))
    printf 'fuzz %-8s %12d executions in %4d s (%d/s), %d finding%s\n' "$t" "${execs:-0}" "$secs_run" \
        "${rate:-0}" "$new" "$([ "$new" = 1 ] || echo s)"
    if [ $new -gt 0 ]; then
        grep -E 'ERROR|broken promise|runtime error|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/    /'
        for f in $(ls -t "$findings" | head -$new); do
            echo "    input: $findings/$f"
            echo "    replay: $bin $findings/$f; keep it as a regression: cp $findings/$f tests/fuzz/regress/$t/"
        done
        echo "    log: $log"
        failed="$failed $t"
    fi
    total_execs=$((total_execs + ${execs:-0})); total_secs=$((total_secs + secs_run))
    total_findings=$((total_findings + new))
done
printf 'fuzz total    %12d executions in %4d s, %d finding%s\n' "$total_execs" "$total_secs" "$total_findings" \
    "$([ "$total_findings" = 1 ] || echo s)"
[ -z "$failed" ] || { echo "fuzz: findings in:$failed"; exit 1; }
