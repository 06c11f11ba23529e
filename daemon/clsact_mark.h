/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which clsact qdiscs tcshaped created, remembered in the pin dir so that an
 * instance that adopts an earlier one's hooks (restart, upgrade) can still
 * remove them at a clean stop, and never one it did not create.
 */
#ifndef TCS_CLSACT_MARK_H
#define TCS_CLSACT_MARK_H

#include <stdbool.h>
#include <stdint.h>

void clsact_mark_set(const char *pin_dir, uint32_t ifindex);
bool clsact_mark_test(const char *pin_dir, uint32_t ifindex);
void clsact_mark_clear(const char *pin_dir, uint32_t ifindex);
/* Forget them all (the pin dir is about to go). */
void clsact_mark_clear_all(const char *pin_dir);

#endif
