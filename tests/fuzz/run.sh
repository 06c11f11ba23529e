#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz`: run every libFuzzer target (build/tests/fuzz/fuzz_X, from
# tests/fuzz/fuzz_X.c) for SECONDS (default 60), starting from its seed
# corpus tests/fuzz/corpus/X/. What it finds that is new goes to
# build/fuzz/corpus/X/ (copy what is worth keeping into the seed corpus);
# a crash leaves build/fuzz/crash-X-* and fails the run. Targets run one
# after the other, each on one core.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2

B=${B:-build}
secs=${1:-60}
failed=()

for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	short=${name#fuzz_}
	bin=$B/tests/fuzz/$name
	seeds=tests/fuzz/corpus/$short
	work=$B/fuzz/corpus/$short
	dict=()
	[ -e "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	mkdir -p "$work" "$seeds"
	echo "== $name: ${secs}s from $seeds ($(find "$seeds" -type f | wc -l) seeds)"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$B/fuzz/crash-$short-" "$work" "$seeds" 2>&1 |
		grep -E '^(#[0-9]+.*(DONE|INITED)|stat::|==[0-9]+==|SUMMARY|Test unit written|.*ERROR)'; then
		:
	fi
	if [ "${PIPESTATUS[0]}" -ne 0 ]; then
		echo "FAIL $name: see $B/fuzz/crash-$short-*"
		failed+=("$name")
	else
		echo "PASS $name: $(find "$work" -type f | wc -l) inputs in $work"
	fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: crashes in ${failed[*]}"; exit 1; }
echo "fuzz: no crash"
