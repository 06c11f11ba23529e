#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm tier: the e2e tier (tcshaped policing real traffic between namespaces)
# and the pace tier (EDT pacing with fq, against HTB) inside Debian 12's
# stock 6.1 kernel under qemu (tests/vm/run.sh), one boot for both; the
# summary line is the inner tests/run.sh's total under the name vm-e2e-pace.
# Under TCG a daemon start (the verifier) is slow: it gets two minutes.
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" test --timeout "${TCS_VM_TIMEOUT:-2300}" --name vm-e2e-pace \
	-e TCS_START_TIMEOUT=120 e2e pace
