/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy file as data: YAML in, struct policy out, nothing else. Pure:
 * no BPF, no netlink, so the whole contract is unit-tested without root.
 */
#ifndef TCS_POLICY_H
#define TCS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where in the file a thing was written; 1-based, for error messages. */
struct pol_pos {
	unsigned int line;
	unsigned int col;
};

/* An inclusive range of values: proto, port or dscp. */
struct pol_range {
	uint16_t lo;
	uint16_t hi;
};

/* A CIDR prefix, host bits zero; addr is network byte order. */
struct pol_prefix {
	uint8_t family;		/* 4 or 6 */
	uint8_t len;
	uint8_t addr[16];
};

enum pol_per {
	POL_PER_FLOW,
	POL_PER_SRC,
	POL_PER_DST,
	POL_PER_RULE,
};

enum pol_action {
	POL_ACT_DROP,
	POL_ACT_PACE,
	POL_ACT_AUTO,	/* egress, none given: pace where the host has fq, else drop */
};

/* One list per match field; n == 0 means the field is not constrained. */
struct pol_match {
	struct pol_range *proto;
	size_t n_proto;
	struct pol_range *sport;
	size_t n_sport;
	struct pol_range *dport;
	size_t n_dport;
	struct pol_range *dscp;
	size_t n_dscp;
	struct pol_prefix *src;
	size_t n_src;
	struct pol_prefix *dst;
	size_t n_dst;
};

struct pol_rule {
	char *name;
	struct pol_pos pos;
	struct pol_match match;
	uint64_t rate_bps;	/* bits per second, > 0 */
	uint64_t burst_bytes;	/* resolved: a time burst is converted at the rate */
	uint64_t total_bps;	/* all keys together, bits per second; 0: no total */
	uint8_t prefix4;	/* per: src/dst: address bits one key covers */
	uint8_t prefix6;
	enum pol_per per;
	enum pol_action action;
	/* pace */
	uint64_t max_delay_ns;	/* resolved: default or given */
	bool ecn;
	uint64_t ecn_ns;	/* resolved: default or given */
	struct pol_pos action_pos;	/* where action was given, else the rule */
};

struct pol_rules {
	struct pol_rule *v;
	size_t n;
};

enum pol_dir {
	POL_INGRESS,	/* == TCS_DIR_INGRESS */
	POL_EGRESS,	/* == TCS_DIR_EGRESS */
	POL_DIR_NR,
};

struct pol_iface {
	char *name;	/* exact name or fnmatch(3) glob */
	struct pol_pos pos;
	struct pol_rules dir[POL_DIR_NR];
};

enum pol_on_stop {
	POL_ON_STOP_REMOVE,	/* detach and unpin: nothing of ours stays */
	POL_ON_STOP_KEEP,	/* leave the datapath enforcing, for upgrades */
};

enum pol_pace_fallback {
	POL_PACE_FALLBACK_DROP,		/* police instead, with a warning */
	POL_PACE_FALLBACK_REFUSE,	/* refuse the policy */
};

/* settings.manage_root_qdisc: may the daemon replace a root qdisc with fq for pacing? */
enum pol_root_qdisc {
	POL_ROOT_NEVER,			/* false */
	POL_ROOT_ANY,			/* true: whatever root is there */
	POL_ROOT_KERNEL_DEFAULT,	/* unset, or kernel-default: only the kernel's own */
};

struct pol_settings {
	uint32_t max_keys;
	uint32_t tc_priority;
	enum pol_on_stop on_stop;
	uint64_t resync_ns;		/* full reconcile period */
	char *metrics_textfile;		/* NULL: none */
	uint64_t metrics_interval_ns;
	char *metrics_listen;		/* "IP:PORT" for GET /metrics; NULL: none */
	enum pol_pace_fallback pace_fallback;
	enum pol_root_qdisc manage_root_qdisc;
	bool socket_pacing;		/* auto: local TCP sockets are told their share */
};

#define POL_DEFAULT_MAX_KEYS		131072u
#define POL_DEFAULT_TC_PRIORITY		1000u
#define POL_DEFAULT_RESYNC_NS		30000000000ull
#define POL_DEFAULT_METRICS_INTERVAL_NS	15000000000ull
/* pace: max_delay when none is given, never below one 64 KiB skb at the rate */
#define POL_DEFAULT_MAX_DELAY_NS	5000000ull
#define POL_MAX_SKB_BYTES		65536ull
/* the longest max_delay: fq's horizon (TCA_FQ_HORIZON) is a u32 of microseconds */
#define POL_MAX_MAX_DELAY_NS		(4294967295ull * 1000)
/*
 * burst when none is given: this long at the rate, and at least the floor.
 * The floor holds one maximal GSO packet (what TCP hands tc on a low-RTT
 * path) and the bursts of paced local TCP. Ingress rules stand behind TCP
 * senders a WAN round trip away: their bucket covers one.
 */
#define POL_DEFAULT_BURST_NS		10000000ull
#define POL_DEFAULT_INGRESS_BURST_NS	100000000ull
#define POL_DEFAULT_BURST_MIN		65536ull
/* key_prefix when none is given: one key per IPv4 host, per IPv6 network */
#define POL_DEFAULT_PREFIX4		32u
#define POL_DEFAULT_PREFIX6		64u

struct policy {
	char *path;
	uint8_t sha256[32];	/* of the file as read */
	struct pol_settings settings;
	struct pol_iface *ifaces;
	size_t n_ifaces;
};

/*
 * Parse and validate a policy file. On failure returns -errno (-EINVAL for
 * bad content) after printing every problem found as "FILE:LINE:COLUMN:
 * message" to the error callback (or stderr when NULL).
 */
typedef void (*pol_err_fn)(void *ctx, const char *msg);
int policy_load(const char *path, struct policy **out, pol_err_fn err, void *ctx);
/* The same from a buffer; name is used in messages. */
int policy_parse(const char *name, const char *buf, size_t len, struct policy **out,
		 pol_err_fn err, void *ctx);
void policy_free(struct policy *p);

/* Report "FILE:LINE:COLUMN: message" to errfn, or to stderr when NULL. */
void policy_report(pol_err_fn errfn, void *ctx, const char *file, struct pol_pos pos,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * What a policy is resolved against: facts about the host, found outside
 * (host.c, or the kernel's answer), passed in, never written into the policy.
 */
struct pol_host {
	bool can_pace;		/* the kernel has the fq qdisc (sch_fq) */
};

/*
 * What the rule does on this host: "auto" and "pace" pace where the host can;
 * without fq they police under pace_fallback drop. host NULL: as written
 * ("auto" polices), for pure tests.
 */
enum pol_action policy_rule_action(const struct policy *p, const struct pol_rule *r,
				   const struct pol_host *host);
/*
 * Can p be put in force on this host? Without fq and with pace_fallback
 * refuse, each rule that needs pace is reported and -EINVAL returned.
 */
int policy_host_check(const struct policy *p, const struct pol_host *host, pol_err_fn err,
		      void *ctx);
/* How many rules, all interface entries and directions. */
size_t policy_n_rules(const struct policy *p);
/* Does any egress rule of the entry pace on this host? */
bool policy_iface_paces(const struct policy *p, const struct pol_iface *pi,
			const struct pol_host *host);
/* Does any egress rule of the entry police because this host cannot pace? */
bool policy_iface_falls_back(const struct policy *p, const struct pol_iface *pi,
			     const struct pol_host *host);

/* First interface entry whose name or glob matches ifname, or NULL. */
const struct pol_iface *policy_iface_for(const struct policy *p, const char *ifname);

const char *pol_dir_name(enum pol_dir dir);
const char *pol_per_name(enum pol_per per);
/* The protocols that carry ports: tcp, udp, sctp, udplite. */
#define POL_N_PORT_PROTOS 4
extern const uint8_t pol_port_protos[POL_N_PORT_PROTOS];
/* Is num one of them? */
bool pol_proto_has_ports(unsigned int num);
/* The protocol's name as a policy writes it, else its number in buf. */
const char *pol_proto_name(unsigned int num, char *buf, size_t len);

#endif
