#!/bin/sh
# Runs the test binaries of a build and ends with one line "N passed, N failed"
# (the test cases of every cmocka group, added up).
#
#   tests/run.sh BUILD_DIR unit|integration|all|test_NAME
#
# Each binary prints cmocka's own summary; its output is also kept in
# BUILD_DIR/test-logs/. Integration tests start their own redis-server and
# services (tests/integration/harness.c).
set -u
build=$1
what=${2:-all}
logs=$build/test-logs
mkdir -p "$logs"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TP_BUILD="$build"

unit=$(ls tests/unit/test_*.c 2>/dev/null | sed 's|tests/unit/||; s|\.c$||')
integ=$(ls tests/integration/test_*.c 2>/dev/null | sed 's|tests/integration/||; s|\.c$||')
case $what in
    unit) list=$unit ;;
    integration) list=$integ ;;
    test_*) list=$what ;;
    *) list="$unit $integ" ;;
esac

passed=0
failed=0
skipped=0
for t in $list; do
    bin=$build/tests/$t
    echo "== $t"
    "$bin" > "$logs/$t.log" 2>&1
    rc=$?
    # the [ PASSED ] / [ FAILED ] summary lines cmocka prints per group
    p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$logs/$t.log" | awk '{s += $4} END {print s + 0}')
    f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$logs/$t.log" | awk '{s += $4} END {print s + 0}')
    k=$(grep -E '^\[  SKIPPED \] [0-9]+ test' "$logs/$t.log" | awk '{s += $4} END {print s + 0}')
    grep -E '^\[ +(RUN|OK|FAILED|PASSED|SKIPPED|ERROR) +\]|^(tp|COUNTS|ERROR|audit:|==[0-9]+==)|runtime error' "$logs/$t.log" | grep -v '^\[ RUN' | tail -n 60
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "   $t exited with $rc (see $logs/$t.log)"
        tail -n 30 "$logs/$t.log"
        f=$((f + 1))
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + k))
done
# the fuzz targets, briefly (make fuzz runs them longer): one test each
if [ "$what" = all ] && [ "${FUZZ_SECONDS:-5}" -gt 0 ]; then
    echo "== fuzz"
    if make --no-print-directory -f tests/fuzz/fuzz.mk FUZZ_SECONDS="${FUZZ_SECONDS:-5}" > "$logs/fuzz.log" 2>&1; then
        grep -E '^fuzz|stat::number_of_executed_units' "$logs/fuzz.log"
        passed=$((passed + 1))
    else
        tail -n 30 "$logs/fuzz.log"
        failed=$((failed + 1))
    fi
fi

# a skipped test (the browser test without chromium) is said, never counted as passed
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
