/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps the classifier shares with the socket pacer, defined once. The
 * classifier's are the real ones: sized here, pinned by name. sockpace.bpf.c
 * defines TCS_MAPS_BORROWED before it includes this file: the daemon hands
 * it the classifier's maps (bpf_map__reuse_fd), so its own definitions are
 * one-entry, unpinned placeholders that are never created.
 */
#ifndef TCS_SHARED_MAPS_BPF_H
#define TCS_SHARED_MAPS_BPF_H

#ifdef TCS_MAPS_BORROWED
#define TCS_SHARED_SIZE(n) 1
#define TCS_SHARED_PIN
#else
#define TCS_SHARED_SIZE(n) (n)
#define TCS_SHARED_PIN	   __uint(pinning, LIBBPF_PIN_BY_NAME);
#endif

/* A hash map that holds only what is in use (no preallocation). */
#define TCS_SHARED_HASH(name, max, key_type, value_type)   \
	struct {                                           \
		__uint(type, BPF_MAP_TYPE_HASH);           \
		__uint(max_entries, TCS_SHARED_SIZE(max)); \
		__uint(map_flags, BPF_F_NO_PREALLOC);      \
		__type(key, key_type);                     \
		__type(value, value_type);                 \
		TCS_SHARED_PIN                             \
	} name SEC(".maps")

/* The interfaces and directions we are bound to, and how (TCS_IF_*): see tcs_binding(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCS_SHARED_SIZE(TCS_IFACES_DIRECT * TCS_DIR_NR));
	__type(key, __u32);
	__type(value, struct tcs_iface);
	TCS_SHARED_PIN
} tcs_ifaces SEC(".maps");

TCS_SHARED_HASH(tcs_ifaces_hi, 65536, struct tcs_iface_key, struct tcs_iface);

/* The binding of (ifindex, dir), or NULL: an array slot for most, a hash for the rest. */
static __always_inline struct tcs_iface *tcs_binding(__u32 ifindex, __u32 dir)
{
	struct tcs_iface_key k = { .ifindex = ifindex, .dir = dir };
	__u32 i = ifindex << 1 | dir;
	struct tcs_iface *b;

	if (ifindex >= TCS_IFACES_DIRECT)
		return bpf_map_lookup_elem(&tcs_ifaces_hi, &k);
	b = bpf_map_lookup_elem(&tcs_ifaces, &i);
	return b && b->ruleset ? b : NULL;
}

/*
 * Written by the daemon, read by tcshapectl; the classifier reads only a
 * total's rate from it, once a share period per rule and interface.
 */
TCS_SHARED_HASH(tcs_rule_info, 65536, __u32, struct tcs_rule_info);

/*
 * Rules with a total: one entry per (rule, interface) that carried traffic.
 * The daemon deletes a removed rule's entries.
 */
TCS_SHARED_HASH(tcs_totals, 16384, struct tcs_total_key, struct tcs_total_state);

/*
 * TCP connections as classified, for their local sockets (sockpace.bpf.c):
 * which limiter key their packets are charged to, by direction. Written on
 * a flow cache miss only. Sized for the local connections of a busy host,
 * not for every key (about 10 MiB); when it overflows, the oldest notes go
 * and their sockets are let go: tc still enforces.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TCS_SHARED_SIZE(65536));
	__type(key, struct tcs_sock_key);
	__type(value, struct tcs_sock_note);
	TCS_SHARED_PIN
} tcs_socks SEC(".maps");

#endif
