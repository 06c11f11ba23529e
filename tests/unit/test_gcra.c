// SPDX-License-Identifier: GPL-2.0
/*
 * The classifier's limiter (bpf/gcra.bpf.h) in plain C: the arithmetic at its
 * edges (a burst or max_delay of "forever", packets whose cost overflows) and
 * a compare-and-swap that loses races, which BPF_PROG_TEST_RUN cannot
 * provoke on demand.
 */
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "check.h"
#include "compile.h"
#include "tcshape_abi.h"

/* the test's compare-and-swap: loses the next cas_lose races to "another CPU" */
static int cas_lose;
static __u64 other_cost = 1000;

static __u64 test_cas(__u64 *p, __u64 old, __u64 new)
{
	if (cas_lose > 0) {
		cas_lose--;
		*p += other_cost;	/* another CPU's packet got in first */
		return *p;
	}
	return __sync_val_compare_and_swap(p, old, new);
}

#undef __always_inline
#define __always_inline		inline __attribute__((always_inline))
#define TCS_CAS(p, old, new)	test_cas(p, old, new)
#include "gcra.bpf.h"

#define NOW	1000000000000ull	/* about 17 minutes after boot */

static struct tcs_rule rule(uint64_t bps, uint64_t burst_bytes, int pace, uint64_t max_delay_ns)
{
	struct tcs_rule r = { .action = pace ? TCS_ACT_PACE : TCS_ACT_DROP,
			      .max_delay_ns = max_delay_ns };

	compile_ratecfg(bps, &r.mult, &r.shift);
	r.burst_ns = compile_bytes_ns(burst_bytes, r.mult, r.shift);
	return r;
}

/* the ordinary case, as the design describes it */
static int test_police_burst(void)
{
	struct tcs_rule r = rule(8000000, 3000, 0, 0);	/* 1 MB/s: 1 us a byte */
	struct tcs_key_state st = { .tat = 0 };
	__u64 dep = 0;

	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_PASS);
	CHECK_U64(dep, NOW);
	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_PASS);
	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_PASS);
	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_DROP);
	CHECK_U64(st.tat, NOW + 3000000);
	/* a millisecond refills one packet */
	CHECK_INT(charge(&st, &r, NOW + 1000000, 1000, &dep), CHARGE_PASS);
	return 0;
}

static int test_pace_departure(void)
{
	struct tcs_rule r = rule(8000000, 1000, 1, 5000000);
	struct tcs_key_state st = { .tat = 0 };
	__u64 dep = 0;

	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_PASS);
	CHECK_U64(dep, NOW);
	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_PASS);
	CHECK_U64(dep, NOW + 1000000);
	return 0;
}

/*
 * burst: a size so large that its time at the rate saturates (compile_bytes_ns
 * gives UINT64_MAX): the bucket never empties. Before, now + credit wrapped
 * and the very first packet was dropped.
 */
static int test_huge_burst(void)
{
	struct tcs_rule r = rule(1000000, UINT64_MAX, 0, 0);
	struct tcs_key_state st = { .tat = 0 };
	__u64 dep = 0;
	int i;

	CHECK_U64(r.burst_ns, UINT64_MAX);
	for (i = 0; i < 1000; i++) {
		if (charge(&st, &r, NOW, 1500, &dep) != CHARGE_PASS) {
			T_FAILED("packet %d of a bottomless burst refused", i);
			break;
		}
		if (dep != NOW) {
			T_FAILED("packet %d departs %llu ns late", i,
				 (unsigned long long)(dep - NOW));
			break;
		}
	}
	CHECK(st.tat > NOW && st.tat < TCS_NS_MAX * 2);
	/* the same for a pace rule whose max_delay is "forever" */
	r = rule(1000000, 1500, 1, UINT64_MAX);
	st.tat = 0;
	for (i = 0; i < 1000; i++)
		CHECK_INT(charge(&st, &r, NOW, 1500, &dep), CHARGE_PASS);
	CHECK_U64(dep, NOW + 999ull * 12000000);
	return 0;
}

/* a packet whose cost does not fit 64 bits moves the clock, never wraps it */
static int test_cost_overflow(void)
{
	struct tcs_rule r = { .mult = 0xffffffffu, .shift = 0, .burst_ns = 1,
			      .action = TCS_ACT_DROP };
	struct tcs_key_state st = { .tat = 0 };
	__u64 dep = 0;

	CHECK_INT(charge(&st, &r, NOW, 1ull << 40, &dep), CHARGE_PASS);
	CHECK(st.tat > NOW);
	CHECK_INT(charge(&st, &r, NOW + 1000, 64, &dep), CHARGE_DROP);
	return 0;
}

/*
 * Losing the compare-and-swap TCS_CAS_TRIES times in a row: the packet was
 * under its rate, so it passes and is charged in full. Before, it was
 * dropped and charged nothing.
 */
static int test_contended(void)
{
	struct tcs_rule r = rule(8000000, 100000, 0, 0);	/* 100 ms of burst */
	struct tcs_key_state st = { .tat = NOW + 10000 };	/* busy: a backlog */
	__u64 dep = 0, before = st.tat;

	cas_lose = TCS_CAS_TRIES;
	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_CONTENDED);
	CHECK_INT(cas_lose, 0);
	/* the others' eight packets, then ours */
	CHECK_U64(st.tat, before + TCS_CAS_TRIES * other_cost + 1000000);
	CHECK_U64(dep, NOW);
	/* one race fewer: the loop itself gets it */
	cas_lose = TCS_CAS_TRIES - 1;
	before = st.tat;
	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_PASS);
	CHECK_U64(st.tat, before + (TCS_CAS_TRIES - 1) * other_cost + 1000000);
	/* over its rate on the last read: refused whatever the races */
	st.tat = NOW + 500000000;
	cas_lose = 3;
	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_DROP);
	cas_lose = 0;
	return 0;
}

/*
 * A pace rule's contended packet departs within max_delay, even when the
 * others' packets pushed the clock past it after its last read.
 */
static int test_contended_pace(void)
{
	/* 1 ms of burst, 1 ms a packet: no credit; max_delay 2 ms */
	struct tcs_rule r = rule(8000000, 1000, 1, 2000000);
	struct tcs_key_state st = { .tat = NOW + 2000000 - TCS_CAS_TRIES * 1000 + 500 };
	__u64 dep = 0;

	cas_lose = TCS_CAS_TRIES;
	CHECK_INT(charge(&st, &r, NOW, 1000, &dep), CHARGE_CONTENDED);
	CHECK_U64(dep, NOW + 2000000);
	CHECK_U64(st.tat, NOW + 2000000 + 500 + 1000000);
	return 0;
}

int main(void)
{
	TEST(test_police_burst);
	TEST(test_pace_departure);
	TEST(test_huge_burst);
	TEST(test_cost_overflow);
	TEST(test_contended);
	TEST(test_contended_pace);
	return tests_done("unit-gcra");
}
