#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 20s), one
# after the other, and prints per target how long it ran and whether it
# found anything. A failing input is written by go test under the
# package's testdata/fuzz/<Target>/: commit it as a seed with the fix.
# Every seed also runs in plain `go test`.
#
#   FUZZTIME=1m scripts/fuzz.sh [package pattern, default ./...]
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-20s}"
pattern="${1:-./...}"
failed=()
summary=()
for dir in $(go list -f '{{.Dir}}' "$pattern"); do
	pkg=./$(realpath --relative-to=. "$dir")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		printf '== %s %s for %s\n' "$pkg" "$target" "$fuzztime" >&2
		start=$(date +%s)
		seeds=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | wc -l)
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >&2; then
			result=ok
		elif [ "$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | wc -l)" -gt "$seeds" ]; then
			result=FAILED
			failed+=("$pkg $target")
		else
			# The fuzzing engine sometimes ends with "context deadline
			# exceeded" and no input on a loaded machine: not a finding.
			result="no input written (engine error, see log)"
			failed+=("$pkg $target")
		fi
		summary+=("$(printf '%-22s %-24s %4ss  %s' "$pkg" "$target" "$(($(date +%s) - start))" "$result")")
	done
done
printf '\n%-22s %-24s %5s  %s\n' package target time result
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
	printf '\nfindings (inputs under testdata/fuzz/): %s\n' "${failed[*]}" >&2
	exit 1
fi
