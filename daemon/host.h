/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Facts about the host the policy is compiled for, found without changing
 * anything: does this kernel have the fq qdisc pacing needs, where is the
 * cgroup v2 hierarchy socket pacing attaches to?
 */
#ifndef TCS_HOST_H
#define TCS_HOST_H

enum host_fq { FQ_MISSING, FQ_PRESENT, FQ_MAYBE };

/*
 * Can this kernel pace, i.e. does it have sch_fq: loaded, built in, or a
 * module the kernel loads itself when the qdisc is first asked for? When
 * /lib/modules cannot be read (the unit's ProtectKernelModules hides it) the
 * answer is "maybe", taken as yes: the first fq we ask for settles it.
 */
enum host_fq host_fq(void);

/*
 * The cgroup v2 root systemd mounts (/sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on a hybrid host), where socket pacing attaches; NULL when there is none.
 */
const char *host_cgroup2_root(void);

#endif
