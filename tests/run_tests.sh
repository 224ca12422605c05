#!/usr/bin/env bash
# Runs each cmocka test binary of one build (optimized or sanitized) and prints a total.
# usage: tests/run_tests.sh BUILD_DIR CLREG_BINARY TEST_NAME...
# Tests that drive the command line find the binary under test in $CLREG_BIN.
set -u
build=$1; shift
export CLREG_BIN=$1; shift
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0; failed=0; skipped=0; broken=""
for t in "$@"; do
    out=$(mktemp)
    t0=$(date +%s)
    "$build/tests/$t" >"$out" 2>&1
    rc=$?
    secs=$(($(date +%s) - t0))
    # cmocka's stdout and stderr interleave, so its summary lines need not start a line.
    p=$(grep -o '\[  PASSED  \] [0-9]* test' "$out" | tail -1 | tr -dc 0-9)
    f=$(grep -o '\[  FAILED  \] [0-9]* test' "$out" | tail -1 | tr -dc 0-9)
    s=$(grep -o '\[  SKIPPED \] [0-9]* test' "$out" | tail -1 | tr -dc 0-9)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
    if [ $rc -ne 0 ] || [ -z "$p" ]; then
        cat "$out"
        broken="$broken $t"
        [ -z "$f" ] && failed=$((failed + 1))
    else
        # the seconds show where the suite's time goes (CI must stay under 20 minutes)
        printf '%-28s %3d passed%-12s %4d s\n' "$t" "${p:-0}" "${s:+, $s skipped}" "$secs"
    fi
    rm -f "$out"
done
echo "$build: $passed passed, $failed failed, $skipped skipped"
[ -z "$broken" ] || { echo "failing:$broken"; exit 1; }
