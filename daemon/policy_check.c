// SPDX-License-Identifier: GPL-2.0
/*
 * A policy file checked as the daemon would load it (policy_check.h): parse,
 * resolve it for this host, compile; then what it would do here.
 */
#include <stdio.h>

#include "compile.h"
#include "host.h"
#include "policy.h"
#include "policy_check.h"

int policy_check_file(const char *path)
{
	struct compiled *c = NULL;
	struct policy *p = NULL;
	int fq = host_fq();
	struct pol_host host = { .can_pace = fq != FQ_MISSING };
	size_t i;
	int err;

	err = policy_load(path, &p, NULL, NULL);
	if (!err)
		err = policy_host_check(p, &host, NULL, NULL);
	if (!err)
		err = compile_policy_for(p, &host, NULL, &c, NULL, NULL);
	if (err)
		goto out;
	printf("%s: valid: %zu interface entries, %zu rules\n", path, p->n_ifaces,
	       policy_n_rules(p));
	for (i = 0; i < p->n_ifaces; i++) {
		if (policy_iface_paces(p, &p->ifaces[i], &host) && fq == FQ_PRESENT)
			printf("%s: egress paces (this kernel has fq)\n", p->ifaces[i].name);
		else if (policy_iface_paces(p, &p->ifaces[i], &host))
			printf("%s: egress paces if the kernel has fq (sch_fq); /lib/modules cannot "
			       "be read here to tell, the daemon will find out\n",
			       p->ifaces[i].name);
		else if (policy_iface_falls_back(p, &p->ifaces[i], &host))
			printf("%s: egress polices instead of pacing: this kernel has no fq "
			       "qdisc (sch_fq)\n",
			       p->ifaces[i].name);
	}
	if (!p->settings.socket_pacing)
		printf("socket pacing: off (settings.socket_pacing)\n");
	else if (host_cgroup2_root())
		printf("socket pacing: local TCP connections the rules cover are told their share "
		       "(sock_ops at the cgroup v2 root %s)\n",
		       host_cgroup2_root());
	else
		printf("socket pacing: not here: no cgroup v2 hierarchy is mounted; local TCP is "
		       "limited by tc alone\n");
out:
	compile_free(c);
	policy_free(p);
	return err;
}
