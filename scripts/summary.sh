#!/bin/bash
# Passes prove's output through and ends it with the plain count line
# "N passed, N failed" over every test point, keeping prove's status.
set -uo pipefail

passed=0
failed=0
status=0

while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
        *"ok "[0-9]*)
            case "$line" in
                *"not ok "[0-9]*) failed=$((failed + 1)) ;;
                *) passed=$((passed + 1)) ;;
            esac
            ;;
        "Result: FAIL"*) status=1 ;;
    esac
done

if [ "$status" -eq 0 ] && [ "$failed" -gt 0 ]; then
    status=1
fi

echo "t: $passed passed, $failed failed"
exit $status
