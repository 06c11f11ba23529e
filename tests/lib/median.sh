# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The bench's summary of repeated runs.

# median, min and max of the numbers on stdin: "med min max"
mmm()
{
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "nan nan nan"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.4g %.4g %.4g\n", m, v[1], v[NR] }'
}
