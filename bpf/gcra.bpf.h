/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The limiter: GCRA, the token bucket as one clock per key, for policing and
 * EDT pacing alike. Plain C over tcshape_abi.h's structs, so the unit tier
 * runs the same function (tests/unit/test_gcra.c) with a compare-and-swap
 * that can be made to lose (TCS_CAS).
 */
#ifndef TCS_GCRA_BPF_H
#define TCS_GCRA_BPF_H

#ifndef READ_ONCE
#define READ_ONCE(x)		(*(volatile typeof(x) *)&(x))
#endif
#ifndef TCS_CAS
#define TCS_CAS(p, old, new)	__sync_val_compare_and_swap(p, old, new)
#endif

#define TCS_CAS_TRIES		8
/*
 * Every term of the clock is held below 2^62 ns (146 years): the time since
 * boot, the credit, the allowed delay and a packet's cost each fit, and so
 * does their sum. A burst or max_delay given as "forever" means forever,
 * without wrapping the clock into the past.
 */
#define TCS_NS_MAX		(1ull << 62)
#define TCS_LEN_MAX		0xffffffffull	/* bytes: len * mult stays in 64 bits */

enum { CHARGE_PASS, CHARGE_DROP, CHARGE_CONTENDED };

static __always_inline __u64 ns_clamp(__u64 v)
{
	return v < TCS_NS_MAX ? v : TCS_NS_MAX;
}

/*
 * GCRA, the token bucket as one clock: tat is when the bucket would be full
 * again, and a packet may leave once the bucket holds its cost:
 *
 *	dep = max(now, tat - (burst - cost))	then	tat = max(tat, now) + cost
 *
 * Policing passes a packet only if dep is now; pacing (EDT) sends it at dep
 * unless that lies more than max_delay ahead. A packet that finds the bucket
 * full always leaves at once, however large: a GSO super-packet bigger than
 * the burst is not starved, it puts the key in debt. A refused packet costs
 * nothing. Lock-free: one compare-and-swap per packet. A packet that
 * conformed but lost the race TCS_CAS_TRIES times in a row is accounted with
 * an atomic add and passes (CHARGE_CONTENDED): it was under its rate, and
 * the add charges it in full while the key is busy (tat ahead of now), which
 * is the only way to lose that many races. Inline: a key's own charge is on
 * every matched packet's path, where a call and its return cost more than
 * the clock (return thunks); charge() below is the global function for the
 * two clocks of a total, verified once.
 */
static __always_inline int gcra_charge(struct tcs_key_state *st, const struct tcs_rule *r,
				       __u64 now, __u64 len, __u64 *dep)
{
	__u64 cost, burst, credit, limit, tat;
	int i;

	cost = ns_clamp(((len < TCS_LEN_MAX ? len : TCS_LEN_MAX) * r->mult) >> r->shift);
	burst = ns_clamp(r->burst_ns);
	credit = burst > cost ? burst - cost : 0;
	limit = r->action == TCS_ACT_PACE ? ns_clamp(r->max_delay_ns) : 0;
	now = ns_clamp(now);
	/* all terms below 2^62: now + credit and tat + cost cannot wrap */
	for (i = 0; i < TCS_CAS_TRIES; i++) {
		tat = READ_ONCE(st->tat);
		*dep = tat > now + credit ? tat - credit : now;
		if (*dep - now > limit)
			return CHARGE_DROP;
		if (TCS_CAS(&st->tat, tat, (tat > now ? tat : now) + cost) == tat)
			return CHARGE_PASS;
	}
	tat = __sync_fetch_and_add(&st->tat, cost);
	/* it conformed when last read: the others' packets moved the clock since */
	*dep = tat > now + credit ? tat - credit : now;
	if (*dep - now > limit)
		*dep = now + limit;
	return CHARGE_CONTENDED;
}

/* gcra_charge() for callers that charge more than one clock per packet. */
__attribute__((noinline)) int charge(struct tcs_key_state *st, const struct tcs_rule *r,
				     __u64 now, __u64 len, __u64 *dep)
{
	if (!st || !r || !dep)
		return CHARGE_DROP;
	return gcra_charge(st, r, now, len, dep);
}

#endif
