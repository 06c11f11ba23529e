#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The fuzz tier of tests/run.sh: replay a target's corpus, without mutation.
#   tests/fuzz/replay.sh BIN CORPUS_DIR
# Every file must run clean under ASan and UBSan; a failure names the file.
# Ends with "fuzz/NAME: N passed, N failed, 0 skipped".
set -u

bin=$1
dir=$2
name=fuzz/$(basename "$bin")
mapfile -t files < <(find "$dir" -type f | sort)
n=${#files[@]}

if [ "$n" -eq 0 ]; then
	echo "FAIL $name: no corpus in $dir"
	echo "$name: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
# one process for the whole corpus; only when it fails, one per file to say which
if "$bin" -runs=0 "$dir" >/dev/null 2>&1; then
	echo "PASS $name: $n inputs from $dir"
	echo "$name: $n passed, 0 failed, 0 skipped"
	exit 0
fi
fail=0
for f in "${files[@]}"; do
	if ! out=$("$bin" "$f" 2>&1); then
		fail=$((fail + 1))
		echo "FAIL $name: $f"
		grep -E 'ERROR|runtime error|SUMMARY|: .*(refused|parsed|accepted|message)' <<< "$out" |
			head -n 5 | sed 's/^/    /'
	fi
done
[ "$fail" -gt 0 ] || { echo "FAIL $name: the corpus run failed, yet no single input does"; fail=1; }
echo "$name: $((n - fail)) passed, $fail failed, 0 skipped"
exit 1
