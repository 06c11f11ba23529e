/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy schema (policy_schema.c): the key tables of a policy and what
 * a rule means once all its keys are read. Used by policy.c only.
 */
#ifndef TCS_POLICY_SCHEMA_H
#define TCS_POLICY_SCHEMA_H

#include "policy.h"
#include "yaml_walk.h"

/* Walks a document's root into obj, a struct policy holding the defaults. */
int policy_schema_walk(struct pctx *pc, struct ynode *root, void *obj);
/* Frees what an interface entry holds, not the entry. */
void pol_iface_free(struct pol_iface *ifc);

#endif
