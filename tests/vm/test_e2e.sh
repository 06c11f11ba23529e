#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm tier: the e2e tier (tcshaped policing real traffic between namespaces) inside
# Debian 12's stock 6.1 kernel under qemu (tests/vm/run.sh); the summary line
# is the inner tests/run.sh's total under the name vm-e2e.
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" test --timeout "${TCS_VM_TIMEOUT:-2300}" --name vm-e2e e2e
