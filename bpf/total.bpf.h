/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A rule's total: all its keys on one interface together under one more
 * GCRA clock, and inside it a fair share per key, recomputed every share
 * period (TCS_SHARE_PERIOD_NS) by water-filling over the keys active in the
 * last one. See docs/design.md, "Totals: fair shares inside a rule's limit".
 * The share arithmetic stands alone (sockpace.bpf.c reads a key's share);
 * total_charge() needs gcra.bpf.h (charge) included before this file.
 */
#ifndef TCS_TOTAL_BPF_H
#define TCS_TOTAL_BPF_H

#ifndef READ_ONCE
#define READ_ONCE(x)		(*(volatile typeof(x) *)&(x))
#endif
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, v)	(*(volatile typeof(x) *)&(x) = (v))
#endif

#define TCS_TAG_MASK	0xffffffULL
#define TCS_LOW40	((1ULL << TCS_TAG_SHIFT) - 1)
#define TCS_KEYS_MASK	((1ULL << TCS_TOTAL_KEYS_BITS) - 1)
#define TCS_SHARE_KNOWN	(1ULL << 39)	/* share[]: counted from the period before */
#define TCS_PERIOD_BUSY	(1ULL << 39)	/* tcs_key_state.period: the key was busy */
#define TCS_LOW39	(TCS_PERIOD_BUSY - 1)
#define TCS_SHIFT_MASK	0x3fULL

static __always_inline __u64 tag_word(__u64 period)
{
	return (period & TCS_TAG_MASK) << TCS_TAG_SHIFT;
}

static __always_inline bool tagged(__u64 w, __u64 period)
{
	return (w >> TCS_TAG_SHIFT) == (period & TCS_TAG_MASK);
}

/*
 * Bytes a rate of ns = len * mult >> shift lets through in one share period:
 * (PERIOD << shift) / mult, in 64 bits (shift 30 at most before dividing;
 * the rest after, which only drops bits below the quotient's 25th).
 */
static __always_inline __u64 period_bytes(__u32 mult, __u8 shift)
{
	__u8 pre = shift < 30 ? shift : 30;

	if (!mult)
		return ~0ULL;
	return ((TCS_SHARE_PERIOD_NS << pre) / mult) << (shift - pre);
}

/* The kernel's psched_ratecfg_precompute, for bytes per share period. */
static __always_inline __u64 share_word(__u64 period, __u64 bytes)
{
	__u64 factor = TCS_SHARE_PERIOD_NS, m = 0;
	__u32 s;

	if (!bytes)
		bytes = 1;
	for (s = 0; s < 63; s++) {
		m = factor / bytes;
		if (m >= (1ULL << 31) || (factor >> 62))
			break;
		factor <<= 1;
	}
	if (m > 0xffffffffULL)
		m = 0xffffffffULL;
	if (!m)
		m = 1;
	return tag_word(period) | TCS_SHARE_KNOWN | (__u64)s << 32 | m;
}

/*
 * A key's rate now (bits/s) under its rule's total: the lower of the rule's
 * rate and the key's share of this period (or of the last, early in one).
 */
static __always_inline __u64 total_key_bps(const struct tcs_total_state *ts, __u64 now,
					   __u64 rate_bps)
{
	__u64 e = now / TCS_SHARE_PERIOD_NS, sw = READ_ONCE(ts->share[e & 1]), bytes;

	if (!tagged(sw, e)) {
		sw = READ_ONCE(ts->share[(e - 1) & 1]);
		if (!tagged(sw, e - 1))
			return rate_bps;
	}
	if (!(sw & 0xffffffffULL))
		return rate_bps;
	bytes = period_bytes((__u32)sw, (__u8)((sw >> 32) & TCS_SHIFT_MASK));
	/* bits per second: 8 bits, 10 periods */
	bytes *= 8 * (1000000000ULL / TCS_SHARE_PERIOD_NS);
	return bytes < rate_bps ? bytes : rate_bps;
}

#ifdef TCS_GCRA_BPF_H
/* Add v to a tagged slot of period e, starting it afresh if it is older. */
static __always_inline void slot_add(__u64 *slot, __u64 e, __u64 v)
{
	__u64 old, new;
	int i;

	for (i = 0; i < TCS_CAS_TRIES; i++) {
		old = READ_ONCE(*slot);
		new = tagged(old, e) ? old + v : tag_word(e) | v;
		if (TCS_CAS(slot, old, new) == old)
			return;
	}
}

/*
 * The share of period e, from the keys of period e - 1 (water-filling):
 * what the keys that did not use their share (light) used, and a quarter
 * more, is theirs, the rest of the total is split evenly among the busy ones; never below
 * total / active keys, never above the rule's rate (mult 0: the rule's own).
 * No count of e - 1 (the rule was idle): the rule's rate, and the total
 * alone holds the sum until the first period is counted.
 */
static __always_inline __u64 share_of(const struct tcs_total_state *ts, const struct tcs_rule *r,
				      __u64 e)
{
	__u64 kw = READ_ONCE(ts->keys[(e - 1) & 1]), lw = READ_ONCE(ts->light[(e - 1) & 1]);
	__u64 total, rate, light = 0, busy, all, share;

	if (!tagged(kw, e - 1) || !(kw & TCS_KEYS_MASK))
		return tag_word(e);
	all = kw & TCS_KEYS_MASK;
	busy = (kw >> TCS_TOTAL_KEYS_BITS) & TCS_KEYS_MASK;
	if (tagged(lw, e - 1))
		light = (lw & TCS_LOW40) * TCS_LIGHT_UNIT;
	total = period_bytes(ts->total_mult, ts->total_shift);
	rate = period_bytes(r->mult, r->shift);
	share = busy ? (total > light ? total - light : 0) / busy : total;
	if (share < total / all)
		share = total / all;
	if (share >= rate)
		return tag_word(e) | TCS_SHARE_KNOWN;
	return share_word(e, share);
}

/*
 * The key's first packet of period e counts it in e: busy if it used at
 * least 7/8 of its share of the period before (it wants more: a share of
 * its own), light otherwise: what it used, and a quarter more, is set
 * aside for it. The quarter lets a light key that wants more grow while
 * the busy keys fill the total: it becomes busy in a few periods instead
 * of staying held at what it got. A busy key stays
 * busy while it uses half its share: a sender that stalls for a moment
 * (descheduled, bursty) must not hand its share to the others and take it
 * back a period later, overbooking the total. A key that was idle counts
 * as busy: a newcomer gets a full share at once. st->period remembers the
 * period, whether the key was busy, and its byte count then (one word, one
 * compare-and-swap).
 */
static __always_inline void key_count(struct tcs_total_state *ts, struct tcs_key_state *st,
				      const struct tcs_rule *r, __u64 e)
{
	__u64 old = READ_ONCE(st->period), bytes, used, sw, need, mult;
	bool busy = true;
	__u8 shift;

	if (tagged(old, e))
		return;
	bytes = READ_ONCE(st->bytes);
	used = (bytes - (old & TCS_LOW39)) & TCS_LOW39;
	if (tagged(old, e - 1) && old) {
		sw = READ_ONCE(ts->share[(e - 1) & 1]);
		mult = sw & 0xffffffffULL;
		shift = (__u8)((sw >> 32) & TCS_SHIFT_MASK);
		if (!tagged(sw, e - 1) || !mult) {
			mult = r->mult;
			shift = r->shift;
		}
		need = period_bytes((__u32)mult, shift);
		busy = used >= need - need / 8 || ((old & TCS_PERIOD_BUSY) && used >= need / 2);
	}
	if (TCS_CAS(&st->period, old, tag_word(e) | (busy ? TCS_PERIOD_BUSY : 0) |
				       (bytes & TCS_LOW39)) != old)
		return;	/* another CPU counted it */
	slot_add(&ts->keys[e & 1], e, busy ? (1ULL << TCS_TOTAL_KEYS_BITS) | 1 : 1);
	if (!busy)
		slot_add(&ts->light[e & 1], e, (used + used / 4) / TCS_LIGHT_UNIT);
}

/*
 * Once the shares are known they add up to the total, and the clock would
 * sit at an empty bucket (what leaves equals what refills), handing out any
 * excess in arrival order: the share is what is fair, so a packet within
 * its share passes and the total's clock goes into debt for it, up to one
 * share period. Beyond that (shares overbooked while a light key grows or a
 * new one arrives, until the next period counts them) the total refuses.
 */
static __always_inline bool total_owes(struct tcs_total_state *ts, const struct tcs_rule *tr,
				       __u64 now, __u64 len)
{
	__u64 cost = ns_clamp(((len < TCS_LEN_MAX ? len : TCS_LEN_MAX) * tr->mult) >> tr->shift);
	__u64 tat = __sync_fetch_and_add(&ts->clock.tat, cost);

	if (tat < now + TCS_SHARE_PERIOD_NS)
		return true;
	__sync_fetch_and_add(&ts->clock.tat, -cost);
	return false;
}

struct total_io {
	__u64 now;
	__u64 len;
	__u64 dep;	/* out: the departure time */
};

__attribute__((noinline)) int total_charge(struct tcs_total_state *ts, struct tcs_key_state *st,
					   const struct tcs_rule *r, struct total_io *io)
{
	__u64 e, sw, cost, kdep = 0, tdep = 0, now, len;
	struct tcs_rule lr;
	int kret, tret;

	if (!ts || !st || !r || !io)
		return CHARGE_DROP;
	now = io->now;
	len = io->len;
	e = now / TCS_SHARE_PERIOD_NS;
	lr = *r;
	key_count(ts, st, r, e);
	sw = READ_ONCE(ts->share[e & 1]);
	if (!tagged(sw, e)) {
		sw = share_of(ts, r, e);
		WRITE_ONCE(ts->share[e & 1], sw);	/* the same for every writer */
	}
	if (sw & 0xffffffffULL) {
		lr.mult = (__u32)sw;
		lr.shift = (__u8)((sw >> 32) & TCS_SHIFT_MASK);
	}
	kret = charge(st, &lr, now, len, &kdep);
	if (kret == CHARGE_DROP)
		return CHARGE_DROP;
	cost = ns_clamp(((len < TCS_LEN_MAX ? len : TCS_LEN_MAX) * lr.mult) >> lr.shift);
	lr.mult = ts->total_mult;
	lr.shift = ts->total_shift;
	tret = charge(&ts->clock, &lr, now, len, &tdep);
	if (tret == CHARGE_DROP && (sw & TCS_SHARE_KNOWN) && total_owes(ts, &lr, now, len)) {
		tret = CHARGE_PASS;
		tdep = kdep;
	}
	if (tret == CHARGE_DROP) {
		__sync_fetch_and_add(&st->tat, -cost);
		__sync_fetch_and_add(&ts->clock.dropped, 1);
		return CHARGE_DROP;
	}
	io->dep = kdep > tdep ? kdep : tdep;
	return kret == CHARGE_CONTENDED || tret == CHARGE_CONTENDED ? CHARGE_CONTENDED
								  : CHARGE_PASS;
}
#endif /* TCS_GCRA_BPF_H */

#endif
