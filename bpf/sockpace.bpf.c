// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Socket pacing: local TCP connections that a rule limits are told their
 * share of the limit, so they send (and let the peer send) at it by
 * themselves instead of being shaped by drops or a queue. The classifier
 * stays the enforcer; this is cooperation.
 *
 *  - egress (our sending): SO_MAX_PACING_RATE, TCP's own pacing (no fq needed).
 *  - ingress (our receiving): TCP_WINDOW_CLAMP of about rate x RTT, so the
 *    sender cannot send faster than the limit; the policer is the backstop.
 *
 * The classifier notes in tcs_socks which limiter key a TCP connection's
 * packets are charged to, per direction, on the interface they really take.
 * A key's rate is divided among its active local sockets (counted per
 * TCS_SHARE_PERIOD_NS in tcs_shares). The sock_ops program keeps senders
 * current on every RTT sample (every ACK of new data); the tcp iterator,
 * which the daemon runs periodically, keeps receivers current (a pure
 * receiver gets no RTT callbacks) and lets every socket go on a clean stop.
 *
 * A cap the application set itself is never raised: we take the minimum,
 * and give its value back when we let go.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "tcshape_abi.h"
#include "total.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET		2
#define AF_INET6	10
#define SOL_SOCKET	1
#define SOL_TCP		6
#define SO_MAX_PACING_RATE	47
#define TCP_WINDOW_CLAMP	10
#define TCP_BPF_IW		1001
#define TCP_BPF_SNDCWND_CLAMP	1002
#define ETH_HLEN	14
#define READ_ONCE(x)	(*(volatile typeof(x) *)&(x))
/*
 * The least congestion window we clamp to: with fewer segments in flight,
 * a receiver that acknowledges every second segment leaves the sender
 * waiting for its delayed-ACK timer now and then.
 */
#define MIN_CWND	8
/* the kernel's floor for TCP_WINDOW_CLAMP: SOCK_MIN_RCVBUF / 2 */
#define MIN_CLAMP	1152

/*
 * Payload rates are set this much below the frame rate the limit allows, so
 * that timer slack and header estimates never put a paced socket over its
 * limit and the classifier has nothing to do: 1/256. The header sizes are
 * exact, and the bucket absorbs the pacing timer's jitter.
 */
#define MARGIN_SHIFT	8

/* Set by the daemon before it runs the iterator (skeleton .bss). */
bool releasing;		/* a clean stop: let every socket go */
/* Results of the last iterator pass, read by the daemon. */
__u32 receivers;	/* sockets whose window we clamp */
__u32 released;		/* sockets we let go (a clean stop) */

/* Shared with the classifier: the daemon passes its fds (bpf_map__reuse_fd). */
#define TCS_MAPS_BORROWED
#include "shared_maps.bpf.h"

/* Our own, pinned beside the classifier's maps (they outlive a restart). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tcs_key);
	__type(value, struct tcs_share);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_shares SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tcs_tcp_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_tcp_stats SEC(".maps");

/* What we did to a socket, so we can undo exactly that (abi: struct tcs_sock). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tcs_sock);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_sk SEC(".maps");

static __always_inline struct tcs_tcp_stats *stats_of(__u32 uid)
{
	struct tcs_tcp_stats *s, zero = {};

	if (uid == TCS_UID_NONE)
		return NULL;
	s = bpf_map_lookup_elem(&tcs_tcp_stats, &uid);
	if (s)
		return s;
	bpf_map_update_elem(&tcs_tcp_stats, &uid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tcs_tcp_stats, &uid);
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;

	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r < TCS_RTT_SLOTS ? r : TCS_RTT_SLOTS - 1;
}

static __always_inline void rtt_sample(const struct tcs_sock *ss, int dir, __u32 rtt_us)
{
	struct tcs_tcp_stats *s;
	__u32 i = log2_slot(rtt_us);

	if (!ss->assoc[dir & 1] || !rtt_us || i >= TCS_RTT_SLOTS)
		return;
	s = stats_of(ss->uid[dir & 1]);
	if (s)
		s->srtt_log2[i] += 1;
}

/* The connection as tcs_socks knows it; false for what the classifier never sees. */
static __always_inline bool sock_key_of(struct tcp_sock *tp, __u8 dir, struct tcs_sock_key *k)
{
	struct sock_common *c = &tp->inet_conn.icsk_inet.sk.__sk_common;
	__u16 family = c->skc_family;

	__builtin_memset(k, 0, sizeof(*k));
	k->dir = dir;
	k->lport = bpf_htons(c->skc_num);
	k->rport = c->skc_dport;
	if (family == AF_INET) {
		k->family = TCS_FAMILY_V4;
		__builtin_memcpy(k->laddr, &c->skc_rcv_saddr, 4);
		__builtin_memcpy(k->raddr, &c->skc_daddr, 4);
		return true;
	}
	if (family != AF_INET6)
		return false;
	BPF_CORE_READ_INTO(&k->laddr, c, skc_v6_rcv_saddr.in6_u.u6_addr8);
	BPF_CORE_READ_INTO(&k->raddr, c, skc_v6_daddr.in6_u.u6_addr8);
	/* a v4-mapped socket's packets are IPv4 on the wire */
	if (((__u32 *)k->raddr)[0] == 0 && ((__u32 *)k->raddr)[1] == 0 &&
	    ((__u32 *)k->raddr)[2] == bpf_htonl(0xffff)) {
		k->family = TCS_FAMILY_V4;
		__builtin_memcpy(k->laddr, k->laddr + 12, 4);
		__builtin_memcpy(k->raddr, k->raddr + 12, 4);
		__builtin_memset(k->laddr + 4, 0, 12);
		__builtin_memset(k->raddr + 4, 0, 12);
	} else {
		k->family = TCS_FAMILY_V6;
	}
	return true;
}

/*
 * Count this socket as active on key lk in the current share period, once,
 * and return how many sockets share the key: the larger count of this
 * period and the last, so a period that has just begun does not make the
 * few sockets that counted so far believe they are alone. A slot packs
 * period << 24 | count, updated with one compare-and-swap.
 */
/*
 * A sender that is application-limited (it has less to send than its share)
 * is not counted: it leaves its share to the others, which is what max-min
 * fairness asks, and its own cap stays at the key's rate over the others.
 */
static __always_inline __u32 share_count(const struct tcs_key *lk, struct tcs_sock *ss, int dir,
					 __u64 now, bool active)
{
	struct tcs_share *sh, zero = {};
	__u64 e = now / TCS_SHARE_PERIOD_NS, v, cur, prev;
	int i;

	sh = bpf_map_lookup_elem(&tcs_shares, lk);
	if (!sh) {
		bpf_map_update_elem(&tcs_shares, lk, &zero, BPF_NOEXIST);
		sh = bpf_map_lookup_elem(&tcs_shares, lk);
		if (!sh)
			return 1;
	}
	if (active && ss->epoch[dir & 1] != e) {
		ss->epoch[dir & 1] = e;
		for (i = 0; i < 4; i++) {
			__u64 *slot = &sh->slot[e & 1];

			v = READ_ONCE(*slot);
			cur = (v >> 24) == (e & 0xffffffffffULL) ? v + 1 : (e << 24) | 1;
			if (__sync_val_compare_and_swap(slot, v, cur) == v)
				break;
		}
	}
	v = READ_ONCE(sh->slot[e & 1]);
	cur = (v >> 24) == (e & 0xffffffffffULL) ? v & 0xffffff : 0;
	v = READ_ONCE(sh->slot[(e - 1) & 1]);
	prev = (v >> 24) == ((e - 1) & 0xffffffffffULL) ? v & 0xffffff : 0;
	if (prev > cur)
		cur = prev;
	return cur ? cur : 1;
}

/*
 * The payload rate in bytes/s under which this socket's frames stay within
 * share_bps: TCP paces payload, the limit counts whole frames (the MAC header
 * too; the classifier charges skb->len).
 */
static __always_inline __u64 payload_rate(struct tcp_sock *tp, __u64 share_bps, bool v4)
{
	__u64 mss = tp->mss_cache, ovh = tp->tcp_header_len + (v4 ? 20 : 40) + ETH_HLEN;
	__u64 r;

	if (!mss)
		mss = 536;
	r = share_bps / 8 * mss / (mss + ovh);
	return r - (r >> MARGIN_SHIFT);
}

/*
 * Follow the classifier: the rule the socket counts for in direction dir
 * (uid), or none. Connections and capped sockets are counted per rule.
 */
static __always_inline void associate(struct tcs_sock *ss, int dir, __u32 uid)
{
	struct tcs_tcp_stats *s;
	bool assoc = uid != TCS_UID_NONE;

	dir &= 1;
	if (ss->assoc[dir] == assoc && (!assoc || ss->uid[dir] == uid))
		return;
	if (ss->assoc[dir]) {
		s = stats_of(ss->uid[dir]);
		if (s) {
			s->conns_closed += 1;
			s->paced_ended += ss->capped[dir];
		}
	}
	ss->capped[dir] = 0;
	ss->assoc[dir] = assoc;
	ss->uid[dir] = uid;
	s = stats_of(uid);
	if (s)
		s->conns_opened += 1;
}

/* We hold the socket's cap in direction dir (counted once). */
static __always_inline void capped(struct tcs_sock *ss, int dir, __u64 changed)
{
	struct tcs_tcp_stats *s = stats_of(ss->uid[dir & 1]);

	if (s) {
		s->paced_started += !ss->capped[dir & 1];
		s->rate_updates += changed != 0;
	}
	ss->capped[dir & 1] = 1;
}

/*
 * The payload rate (bytes/s) this socket may use in direction dir, from its
 * rule's limit and the number of local sockets sharing the limiter key; 0
 * when no rule covers it (any more) or we are letting go.
 */
static __always_inline __u64 target_rate(struct tcp_sock *tp, struct tcs_sock *ss, int dir,
					 bool active, __u64 *burst)
{
	const struct tcs_rule_info *ri = NULL;
	const struct tcs_sock_note *note = NULL;
	const struct tcs_iface *bound = NULL;
	const struct tcs_total_state *ts;
	struct tcs_total_key tk;
	struct tcs_sock_key k;
	__u64 share, now = bpf_ktime_get_ns(), key_bps;
	__u32 n;

	if (!releasing && sock_key_of(tp, dir, &k)) {
		note = bpf_map_lookup_elem(&tcs_socks, &k);
		if (note) {
			bound = tcs_binding(note->key.ifindex, dir);
			ri = bpf_map_lookup_elem(&tcs_rule_info, &note->key.uid);
		}
	}
	/*
	 * No rule, or a note from before a reload: we hold no cap we cannot
	 * vouch for. The connection's next packet is classified afresh, and
	 * its next ACK brings the cap back if a rule still covers it.
	 */
	if (!note || !bound || bound->ruleset != note->ruleset || !ri || !ri->rate_bps ||
	    ri->dir != dir) {
		associate(ss, dir, TCS_UID_NONE);
		return 0;
	}
	associate(ss, dir, note->key.uid);
	n = share_count(&note->key, ss, dir, now, active);
	/* under a total, the key's rate is its fair share of it (total.bpf.h) */
	key_bps = ri->rate_bps;
	if (ri->total_bps) {
		tk.uid = note->key.uid;
		tk.ifindex = note->key.ifindex;
		ts = bpf_map_lookup_elem(&tcs_totals, &tk);
		if (ts)
			key_bps = total_key_bps(ts, now, key_bps);
	}
	share = key_bps / n;
	*burst = ri->burst_bytes / n;
	share = payload_rate(tp, share, k.family == TCS_FAMILY_V4);
	return share ? share : 1;
}

/*
 * Keep the socket's bursts within what the limiter's bucket absorbs. On a
 * path of under a few ms, TCP sizes its TSO packets by the RTT, not the
 * pacing rate (up to 64 KiB, tcp_tso_autosize), and after a late timer it
 * sends the next one up to half its time early: a bucket smaller than 1.5
 * such packets drops them, and the flow collapses. A congestion window
 * clamp bounds the packets (TCP never has more in flight) and costs no
 * throughput while it stays above twice the share's bandwidth-delay
 * product. Changed only when it moves by more than 1/8: setting it also
 * resets ssthresh.
 */
static __always_inline void cwnd_clamp(void *ctx, struct tcp_sock *tp, struct tcs_sock *ss,
				       __u64 rate, __u64 burst)
{
	__u64 mss = tp->mss_cache ? tp->mss_cache : 536;
	__u64 bytes = 2 * rate * (tp->srtt_us >> 3) / 1000000, segs;
	int v;

	if (bytes < burst / 2)
		bytes = burst / 2;
	segs = bytes / mss;
	if (segs < MIN_CWND)
		segs = MIN_CWND;
	if (segs > 0x7fffffff)
		segs = 0x7fffffff;
	if (ss->our_cwnd && segs <= ss->our_cwnd + (ss->our_cwnd >> 3) &&
	    segs + (ss->our_cwnd >> 3) >= ss->our_cwnd)
		return;
	v = (int)segs;
	if (bpf_setsockopt(ctx, SOL_TCP, TCP_BPF_SNDCWND_CLAMP, &v, sizeof(v)))
		return;
	/*
	 * A new connection: TCP sends its first ten segments unpaced, and the
	 * clamp does not lower the window it already has. Before any data is
	 * sent the initial window can still be set (it fails after: harmless).
	 */
	if (!ss->our_cwnd && segs < tp->snd_cwnd)
		bpf_setsockopt(ctx, SOL_TCP, TCP_BPF_IW, &v, sizeof(v));
	ss->our_cwnd = (__u32)segs;
}

/*
 * bpf_setsockopt takes SO_MAX_PACING_RATE as an int: ~0U is "none" (the
 * kernel's ~0UL), anything else at most 2^32 - 2 bytes/s (34 Gbit/s).
 */
static __always_inline __u32 rate_opt(__u64 rate)
{
	if (rate == ~0ULL)
		return ~0U;
	return rate < 0xfffffffeULL ? (__u32)rate : 0xfffffffeU;
}

/*
 * Egress: SO_MAX_PACING_RATE, never above the application's own cap. A cap
 * that is not the one we set last is the application's: it is remembered
 * and given back when we let go. ctx is what bpf_setsockopt takes here
 * (sock_ops: the context; the iterator: the socket).
 */
static __always_inline void pace(void *ctx, struct tcp_sock *tp, struct tcs_sock *ss, bool active)
{
	__u64 now = tp->inet_conn.icsk_inet.sk.sk_max_pacing_rate, want, burst = 0;
	bool was = ss->capped[TCS_DIR_EGRESS];
	__u32 v;

	if (!was || now != ss->our_rate)
		ss->app_rate = now;
	want = target_rate(tp, ss, TCS_DIR_EGRESS, active, &burst);
	if (!want) {
		/* let go: give the application's cap back, if ours is still there */
		if (was && now == ss->our_rate && now != ss->app_rate) {
			v = rate_opt(ss->app_rate);
			bpf_setsockopt(ctx, SOL_SOCKET, SO_MAX_PACING_RATE, &v, sizeof(v));
		}
		if (ss->our_cwnd) {
			int big = 0x7fffffff;

			bpf_setsockopt(ctx, SOL_TCP, TCP_BPF_SNDCWND_CLAMP, &big, sizeof(big));
		}
		ss->our_rate = 0;
		ss->our_cwnd = 0;
		return;
	}
	if (want > ss->app_rate)
		want = ss->app_rate;
	v = rate_opt(want);
	want = v;
	if (want != now && bpf_setsockopt(ctx, SOL_SOCKET, SO_MAX_PACING_RATE, &v, sizeof(v)))
		return;
	ss->our_rate = want;
	capped(ss, TCS_DIR_EGRESS, want != now);
	cwnd_clamp(ctx, tp, ss, want, burst);
}

/*
 * Ingress: a window clamp of about share x RTT, so the peer sends no faster.
 * The receiver's own RTT estimate comes from timestamps while data flows
 * (scaled by 8); the connection's srtt before that.
 */
/*
 * rate x RTT is the window in theory; in practice the RTT estimate is noisy
 * and the sender's behaviour is its own. Each pass compares what the socket
 * received with its share and moves a gain on the window: down by 1/8 when
 * over by more than 1/32, up by 1/32 when under by more than 1/16 (but only
 * while the window held it back: a sender with less to send must not wind
 * the gain up). Between 1/2 and 2.
 */
#define GAIN_ONE	1024
static __always_inline void feedback(struct tcp_sock *tp, struct tcs_sock *ss, __u64 share,
				     __u32 clamp_now)
{
	__u64 now = bpf_ktime_get_ns(), got, dt = now - ss->rcv_at;

	if (!ss->gain)
		ss->gain = GAIN_ONE;
	if (ss->rcv_at && dt >= TCS_SHARE_PERIOD_NS / 2 && dt < 4 * TCS_SHARE_PERIOD_NS) {
		got = (tp->bytes_received - ss->rcv_bytes) * 1000000000ULL / dt;
		if (got > share + (share >> 5) && ss->gain > GAIN_ONE / 2)
			ss->gain -= ss->gain >> 3;
		else if (got + (share >> 4) < share && tp->rcv_wnd + 2 * tp->advmss >= clamp_now &&
			 ss->gain < 2 * GAIN_ONE)
			ss->gain += ss->gain >> 5;
	}
	ss->rcv_at = now;
	ss->rcv_bytes = tp->bytes_received;
}

static __always_inline void clamp(void *ctx, struct tcp_sock *tp, struct tcs_sock *ss, bool pass)
{
	__u32 now = tp->window_clamp, want;
	bool was = ss->capped[TCS_DIR_INGRESS];
	__u64 rate, rtt_us, floor, burst = 0;
	/* receivers count as active when something came in since the last pass */
	bool active = pass && tp->bytes_received != ss->rcv_bytes;

	if (!was || now != ss->our_clamp)
		ss->app_clamp = now;
	rate = target_rate(tp, ss, TCS_DIR_INGRESS, active, &burst);
	if (!rate) {
		if (was && now == ss->our_clamp && now != ss->app_clamp && ss->app_clamp)
			bpf_setsockopt(ctx, SOL_TCP, TCP_WINDOW_CLAMP, &ss->app_clamp,
				       sizeof(ss->app_clamp));
		ss->our_clamp = 0;
		ss->gain = 0;
		return;
	}
	if (pass)
		feedback(tp, ss, rate, now);
	rtt_us = tp->rcv_rtt_est.rtt_us >> 3;
	if (!rtt_us)
		rtt_us = tp->srtt_us >> 3;
	if (!rtt_us)
		rtt_us = 1000;
	rate = rate * rtt_us / 1000000 * (ss->gain ? ss->gain : GAIN_ONE) / GAIN_ONE;
	/*
	 * Below a few segments the window stops pacing and starts stalling the
	 * sender (silly-window avoidance, delayed ACKs): on a path that short
	 * the policer does the limiting, the window only its share.
	 */
	floor = 4 * (__u64)tp->inet_conn.icsk_ack.rcv_mss;
	if (floor < MIN_CLAMP)
		floor = MIN_CLAMP;
	want = rate < floor ? floor : rate > 0x3fffffff ? 0x3fffffff : (__u32)rate;
	if (ss->app_clamp && want > ss->app_clamp)
		want = ss->app_clamp;
	if (want != now && bpf_setsockopt(ctx, SOL_TCP, TCP_WINDOW_CLAMP, &want, sizeof(want)))
		return;
	ss->our_clamp = want;
	capped(ss, TCS_DIR_INGRESS, want != now);
}

/* Did the classifier limit this connection in either direction? */
static __always_inline bool noted(struct tcp_sock *tp)
{
	struct tcs_sock_key k;

	if (!sock_key_of(tp, TCS_DIR_EGRESS, &k))
		return false;
	if (bpf_map_lookup_elem(&tcs_socks, &k))
		return true;
	k.dir = TCS_DIR_INGRESS;
	return bpf_map_lookup_elem(&tcs_socks, &k) != NULL;
}

SEC("sockops")
int tcs_sockops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct tcp_sock *tp;
	struct tcs_sock *ss;

	if (!sk)
		return 1;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 1;

	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (releasing)
			return 1;
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						       BPF_SOCK_OPS_RTT_CB_FLAG |
						       BPF_SOCK_OPS_STATE_CB_FLAG |
						       BPF_SOCK_OPS_RETRANS_CB_FLAG);
		if (!noted(tp))
			return 1;	/* the iterator picks it up if a rule comes later */
		ss = bpf_sk_storage_get(&tcs_sk, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
		if (!ss)
			return 1;
		pace(skops, tp, ss, false);
		clamp(skops, tp, ss, false);
		return 1;
	case BPF_SOCK_OPS_RTT_CB:
		ss = bpf_sk_storage_get(&tcs_sk, sk, NULL, 0);
		if (!ss)
			return 1;
		/* an ACK of new data: a sender, unless it has less to send than its share */
		pace(skops, tp, ss, !tp->app_limited);
		rtt_sample(ss, TCS_DIR_EGRESS, tp->srtt_us >> 3);
		return 1;
	case BPF_SOCK_OPS_RETRANS_CB: {
		struct tcs_tcp_stats *s;

		ss = bpf_sk_storage_get(&tcs_sk, sk, NULL, 0);
		s = ss && ss->assoc[TCS_DIR_EGRESS] ? stats_of(ss->uid[TCS_DIR_EGRESS]) : NULL;
		if (s)
			s->retrans += 1;
		return 1;
	}
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != BPF_TCP_CLOSE)
			return 1;
		ss = bpf_sk_storage_get(&tcs_sk, sk, NULL, 0);
		if (ss) {
			associate(ss, TCS_DIR_EGRESS, TCS_UID_NONE);
			associate(ss, TCS_DIR_INGRESS, TCS_UID_NONE);
		}
		return 1;
	}
	return 1;
}

/*
 * One pass over the TCP sockets of the daemon's network namespace: receivers
 * get their window clamp recomputed (the RTT and the share move), senders a
 * check that their rule still holds, and on a clean stop everyone is let go.
 */
SEC("iter/tcp")
int tcs_sockiter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct tcs_sock *ss;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	if (tp->inet_conn.icsk_inet.sk.__sk_common.skc_state != BPF_TCP_ESTABLISHED &&
	    tp->inet_conn.icsk_inet.sk.__sk_common.skc_state != BPF_TCP_CLOSE_WAIT)
		return 0;
	ss = bpf_sk_storage_get(&tcs_sk, tp, NULL, 0);
	if (!ss && !releasing && noted(tp))
		ss = bpf_sk_storage_get(&tcs_sk, tp, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!ss)
		return 0;
	if (releasing && (ss->capped[0] || ss->capped[1]))
		released++;
	/* senders are counted by their ACKs (sock_ops), receivers here */
	pace(tp, tp, ss, false);
	clamp(tp, tp, ss, true);
	if (ss->capped[TCS_DIR_INGRESS]) {
		receivers++;
		rtt_sample(ss, TCS_DIR_INGRESS, tp->rcv_rtt_est.rtt_us >> 3);
	}
	return 0;
}

