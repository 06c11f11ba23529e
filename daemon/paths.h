/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where tcshaped keeps things unless told otherwise: the policy file and the
 * pin dir. Shared by tcshaped and tcshapectl.
 */
#ifndef TCS_PATHS_H
#define TCS_PATHS_H

#define TCS_DEFAULT_POLICY  "/etc/tcshaped/policy.yaml"
#define TCS_DEFAULT_PIN_DIR "/sys/fs/bpf/tcshaped"

#endif
