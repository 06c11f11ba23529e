/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A ruleset's gate (struct tcs_gate in bpf/tcshape_abi.h): what its rules
 * can match at all, from its compiled class table. Pure.
 */
#ifndef TCS_GATE_H
#define TCS_GATE_H

#include "compile.h"

/*
 * rs's gate, under ruleset id; fields 0 (no gate) when some rule constrains
 * no gate field, or on -ENOMEM.
 */
int gate_of(const struct cmp_ruleset *rs, __u32 id, struct tcs_gate *g);

#endif
