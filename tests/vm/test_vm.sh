#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm tier: the bpf, e2e and pace tiers inside Debian 12's stock kernel (6.1,
# with sch_fq) under qemu, through tests/vm/run.sh. The classifier must load
# and behave on the kernel most users run, and pacing can only be measured
# where fq exists. Under TCG a daemon start (the verifier) is slow: give it
# two minutes.
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" test --timeout "${TCS_VM_TIMEOUT:-2200}" \
	-e TCS_START_TIMEOUT=120 bpf e2e pace
