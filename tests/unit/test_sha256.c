// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for daemon/sha256.c: the FIPS 180-4 example vectors (one
 * block, the empty message, the 448-bit message whose padding needs a
 * second block, the two-block 896-bit one, a million 'a' fed in one call),
 * and the lengths around a block where the padding changes shape.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sha256.h"

static const char *hex_of(const void *data, size_t len, char buf[65])
{
	uint8_t sum[32];

	sha256(data, len, sum);
	return sha256_hex(sum, buf);
}

#define VECTOR(s, want)                                      \
	do {                                                 \
		char _hex[65];                               \
		CHECK_STR(hex_of(s, strlen(s), _hex), want); \
	} while (0)

static int test_fips_one_block(void)
{
	VECTOR("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	VECTOR("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	return 0;
}

/* 56 bytes: the length no longer fits after the 0x80 byte, padding takes a second block */
static int test_fips_two_block_padding(void)
{
	VECTOR("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	return 0;
}

static int test_fips_896_bits(void)
{
	VECTOR("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	return 0;
}

static int test_fips_million_a(void)
{
	char hex[65], *m = malloc(1000000);

	if (!m) {
		T_FAILED("out of memory");
		return 0;
	}
	memset(m, 'a', 1000000);
	CHECK_STR(hex_of(m, 1000000, hex),
		  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
	return 0;
}

/* 55 bytes pad in one block, 56 and 63 in two, 64 is a whole block and a padding block */
static int test_block_edges(void)
{
	static const struct {
		size_t len;
		const char *want;
	} v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
	};
	char buf[64], hex[65];
	size_t i;

	memset(buf, 'a', sizeof(buf));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK_STR(hex_of(buf, v[i].len, hex), v[i].want);
	return 0;
}

/* The SHA instructions, where this CPU has them, and the portable code agree */
static int test_accel_same(void)
{
	static uint8_t buf[4096 + 64];
	uint8_t a[32], b[32];
	char ha[65], hb[65];
	size_t len;
	uint32_t x = 1;

	for (len = 0; len < sizeof(buf); len++) {
		x = x * 1103515245 + 12345;
		buf[len] = (uint8_t)(x >> 16);
	}
	for (len = 0; len <= sizeof(buf); len += len < 300 ? 1 : 61) {
		sha256_with(buf, len, a, true);
		sha256_with(buf, len, b, false);
		CHECK_STR(sha256_hex(a, ha), sha256_hex(b, hb));
	}
	return 0;
}

int main(void)
{
	TEST(test_fips_one_block);
	TEST(test_fips_two_block_padding);
	TEST(test_fips_896_bits);
	TEST(test_fips_million_a);
	TEST(test_block_edges);
	TEST(test_accel_same);
	return tests_done("unit-sha256");
}
