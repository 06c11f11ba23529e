/* SPDX-License-Identifier: GPL-2.0 */
/* SHA-256 (FIPS 180-4), for the policy file's fingerprint in status and logs. */
#ifndef TCS_SHA256_H
#define TCS_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);
/* accel false: the portable code even where the CPU has SHA instructions (tests) */
void sha256_with(const void *data, size_t len, uint8_t out[32], bool accel);
/* 64 hex digits and a NUL */
char *sha256_hex(const uint8_t sum[32], char buf[65]);

#endif
