// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the pure tc message builders (no root, no socket): the
 * bytes of the clsact and cls_bpf messages, read back at fixed offsets with
 * our own attribute walker rather than the library that wrote them.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "check.h"
#include "tc.h"
#include "tcshape_abi.h"

#define ALIGN4(x)	(((x) + 3u) & ~3u)

/* Offsets in a tc message: nlmsghdr (16), tcmsg (20), then attributes. */
#define OFF_TCM		16
#define OFF_ATTRS	36

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

struct attr {
	size_t off;	/* of the nlattr header in the message */
	uint16_t len;
	uint16_t type;	/* with the flag bits */
	const uint8_t *data;
};

/* Find attribute `type` (flags ignored) in [start, end); 0 if absent or malformed. */
static int find_attr(const uint8_t *msg, size_t start, size_t end, uint16_t type, struct attr *a)
{
	size_t off = start;

	while (off + 4 <= end) {
		uint16_t len = rd16(msg, off), t = rd16(msg, off + 2);

		if (len < 4 || off + len > end)
			return 0;
		if ((t & NLA_TYPE_MASK) == type) {
			a->off = off;
			a->len = len;
			a->type = t;
			a->data = msg + off + 4;
			return 1;
		}
		off += ALIGN4(len);
	}
	return 0;
}

/* Attributes in [start, end) are well formed and end exactly at end. */
static int count_attrs(const uint8_t *msg, size_t start, size_t end)
{
	size_t off = start;
	int n = 0;

	while (off < end) {
		uint16_t len = rd16(msg, off);

		if (len < 4 || off + len > end)
			return -1;
		off += ALIGN4(len);
		n++;
	}
	return off == end ? n : -1;
}

static int test_clsact_new(void)
{
	uint8_t buf[256];
	struct attr a;
	size_t len;

	memset(buf, 0xa5, sizeof(buf));
	len = tc_build_clsact(buf, sizeof(buf), RTM_NEWQDISC,
			      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 77, 5);
	/* 16 + 20 + ("clsact\0" in a 4-byte header, padded to 12) */
	CHECK_INT(len, 48);
	CHECK_INT(rd32(buf, 0), 48);
	CHECK_INT(rd16(buf, 4), RTM_NEWQDISC);
	CHECK_INT(rd16(buf, 6), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	CHECK_INT(rd32(buf, 8), 77);
	CHECK_INT(rd32(buf, 12), 0);			/* pid: the kernel fills it */

	CHECK_INT(buf[OFF_TCM], AF_UNSPEC);
	CHECK_INT(buf[OFF_TCM + 1], 0);
	CHECK_INT(rd16(buf, OFF_TCM + 2), 0);
	CHECK_INT(rd32(buf, OFF_TCM + 4), 5);		/* ifindex */
	CHECK_INT(rd32(buf, OFF_TCM + 8), 0xffff0000u);	/* handle ffff: */
	CHECK_INT(rd32(buf, OFF_TCM + 12), 0xfffffff1u);	/* parent ffff:fff1 */
	CHECK_INT(rd32(buf, OFF_TCM + 16), 0);		/* info */

	CHECK_INT(count_attrs(buf, OFF_ATTRS, len), 1);
	CHECK(find_attr(buf, OFF_ATTRS, len, TCA_KIND, &a));
	CHECK_INT(a.off, OFF_ATTRS);
	CHECK_INT(a.len, 4 + 7);
	CHECK_INT(a.type, TCA_KIND);
	CHECK(!memcmp(a.data, "clsact", 7));
	/* Padding after the string is zeroed, not left over from the buffer. */
	CHECK_INT(buf[OFF_ATTRS + 11], 0);
	return 0;
}

static int test_clsact_del(void)
{
	uint8_t buf[256];
	struct attr a;
	size_t len;

	len = tc_build_clsact(buf, sizeof(buf), RTM_DELQDISC, NLM_F_REQUEST | NLM_F_ACK, 1, 9);
	CHECK_INT(len, 48);
	CHECK_INT(rd16(buf, 4), RTM_DELQDISC);
	CHECK_INT(rd16(buf, 6), NLM_F_REQUEST | NLM_F_ACK);
	CHECK_INT(rd32(buf, OFF_TCM + 4), 9);
	CHECK_INT(rd32(buf, OFF_TCM + 8), TC_H_MAKE(TC_H_CLSACT, 0));
	CHECK_INT(rd32(buf, OFF_TCM + 12), TC_H_CLSACT);
	/* The kind makes the kernel refuse to delete an "ingress" qdisc for us. */
	CHECK(find_attr(buf, OFF_ATTRS, len, TCA_KIND, &a));
	CHECK_STR((const char *)a.data, "clsact");
	return 0;
}

static int test_filter_attach_egress(void)
{
	const struct tc_filter f = { .ifindex = 3, .dir = TCS_DIR_EGRESS, .prio = 1, .handle = 1 };
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	struct attr kind, opts, a;
	uint8_t buf[512];
	size_t len, oend;
	uint32_t info;

	memset(buf, 0xa5, sizeof(buf));
	len = tc_build_filter(buf, sizeof(buf), RTM_NEWTFILTER, flags, 0x01020304, &f, 42,
			      "tcs_egress");
	/* 36 + kind 8 + options (4 + fd 8 + name 16 + flags 8) */
	CHECK_INT(len, 80);
	CHECK_INT(rd32(buf, 0), len);
	CHECK_INT(rd16(buf, 4), RTM_NEWTFILTER);
	CHECK_INT(rd16(buf, 6), flags);
	CHECK(!(rd16(buf, 6) & NLM_F_EXCL));
	CHECK_INT(rd32(buf, 8), 0x01020304);
	CHECK_INT(rd32(buf, 12), 0);

	CHECK_INT(buf[OFF_TCM], AF_UNSPEC);
	CHECK_INT(rd32(buf, OFF_TCM + 4), 3);
	CHECK_INT(rd32(buf, OFF_TCM + 8), 1);		/* handle */
	CHECK_INT(rd32(buf, OFF_TCM + 12), 0xfffffff3u);	/* ffff:fff3, egress */
	info = rd32(buf, OFF_TCM + 16);
	CHECK_INT(info >> 16, 1);			/* prio */
	/* protocol is __be16 in the low half: ETH_P_ALL 0x0003 as bytes 00 03 */
	CHECK_INT(info & 0xffff, htons(ETH_P_ALL));
	CHECK_INT(ntohs(info & 0xffff), 0x0003);

	CHECK_INT(count_attrs(buf, OFF_ATTRS, len), 2);
	CHECK(find_attr(buf, OFF_ATTRS, len, TCA_KIND, &kind));
	CHECK_INT(kind.off, OFF_ATTRS);
	CHECK_INT(kind.len, 8);
	CHECK(!memcmp(kind.data, "bpf", 4));

	if (!find_attr(buf, OFF_ATTRS, len, TCA_OPTIONS, &opts)) {
		T_FAILED("no TCA_OPTIONS");
		return 0;
	}
	CHECK_INT(opts.off, 44);
	CHECK_INT(opts.len, 36);
	CHECK_INT(opts.type & NLA_TYPE_MASK, TCA_OPTIONS);
	CHECK(opts.type & NLA_F_NESTED);
	oend = opts.off + opts.len;
	CHECK_INT(oend, len);
	CHECK_INT(count_attrs(buf, opts.off + 4, oend), 3);

	CHECK(find_attr(buf, opts.off + 4, oend, TCA_BPF_FD, &a));
	CHECK_INT(a.off, 48);
	CHECK_INT(a.len, 8);
	CHECK_INT(rd32(a.data, 0), 42);

	CHECK(find_attr(buf, opts.off + 4, oend, TCA_BPF_NAME, &a));
	CHECK_INT(a.off, 56);
	CHECK_INT(a.len, 4 + 11);
	CHECK_STR((const char *)a.data, "tcs_egress");

	CHECK(find_attr(buf, opts.off + 4, oend, TCA_BPF_FLAGS, &a));
	CHECK_INT(a.off, 72);
	CHECK_INT(a.len, 8);
	CHECK_INT(rd32(a.data, 0), TCA_BPF_FLAG_ACT_DIRECT);

	CHECK(!find_attr(buf, opts.off + 4, oend, TCA_BPF_CLASSID, &a));
	return 0;
}

static int test_filter_attach_ingress(void)
{
	const struct tc_filter f = {
		.ifindex = 0x1234, .dir = TCS_DIR_INGRESS, .prio = 0xfffe, .handle = 0xabcd,
	};
	uint8_t buf[512];
	struct attr opts, a;
	size_t len;
	uint32_t info;

	len = tc_build_filter(buf, sizeof(buf), RTM_NEWTFILTER, NLM_F_REQUEST, 9, &f, 7, "x");
	CHECK(len > 0);
	CHECK_INT(rd32(buf, OFF_TCM + 4), 0x1234);
	CHECK_INT(rd32(buf, OFF_TCM + 8), 0xabcd);
	CHECK_INT(rd32(buf, OFF_TCM + 12), 0xfffffff2u);	/* ffff:fff2, ingress */
	info = rd32(buf, OFF_TCM + 16);
	CHECK_INT(info >> 16, 0xfffe);
	CHECK_INT(ntohs(info & 0xffff), ETH_P_ALL);
	CHECK(find_attr(buf, OFF_ATTRS, len, TCA_OPTIONS, &opts));
	CHECK(find_attr(buf, opts.off + 4, opts.off + opts.len, TCA_BPF_FD, &a));
	CHECK_INT(rd32(a.data, 0), 7);
	CHECK(find_attr(buf, opts.off + 4, opts.off + opts.len, TCA_BPF_NAME, &a));
	CHECK_INT(a.len, 4 + 2);
	CHECK_STR((const char *)a.data, "x");
	return 0;
}

static int test_filter_no_name(void)
{
	const struct tc_filter f = { .ifindex = 2, .dir = TCS_DIR_EGRESS, .prio = 3, .handle = 4 };
	uint8_t buf[512];
	struct attr opts, a;
	size_t len;

	len = tc_build_filter(buf, sizeof(buf), RTM_NEWTFILTER, NLM_F_REQUEST, 1, &f, 0, NULL);
	CHECK_INT(len, 36 + 8 + 4 + 8 + 8);
	CHECK(find_attr(buf, OFF_ATTRS, len, TCA_OPTIONS, &opts));
	CHECK_INT(count_attrs(buf, opts.off + 4, opts.off + opts.len), 2);
	CHECK(!find_attr(buf, opts.off + 4, opts.off + opts.len, TCA_BPF_NAME, &a));
	/* fd 0 is a valid descriptor and must be sent as such */
	CHECK(find_attr(buf, opts.off + 4, opts.off + opts.len, TCA_BPF_FD, &a));
	CHECK_INT(rd32(a.data, 0), 0);
	return 0;
}

static int test_filter_delete(void)
{
	const struct tc_filter f = { .ifindex = 6, .dir = TCS_DIR_EGRESS, .prio = 2, .handle = 5 };
	uint8_t buf[512];
	struct attr a;
	size_t len;

	len = tc_build_filter(buf, sizeof(buf), RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, 11, &f,
			      -1, NULL);
	CHECK_INT(len, 44);
	CHECK_INT(rd16(buf, 4), RTM_DELTFILTER);
	CHECK_INT(rd16(buf, 6), NLM_F_REQUEST | NLM_F_ACK);
	CHECK_INT(rd32(buf, 8), 11);
	CHECK_INT(rd32(buf, OFF_TCM + 4), 6);
	CHECK_INT(rd32(buf, OFF_TCM + 8), 5);
	CHECK_INT(rd32(buf, OFF_TCM + 12), TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
	CHECK_INT(rd32(buf, OFF_TCM + 16) >> 16, 2);
	CHECK_INT(count_attrs(buf, OFF_ATTRS, len), 1);
	CHECK(find_attr(buf, OFF_ATTRS, len, TCA_KIND, &a));
	CHECK_STR((const char *)a.data, "bpf");
	CHECK(!find_attr(buf, OFF_ATTRS, len, TCA_OPTIONS, &a));
	return 0;
}

static int test_too_small(void)
{
	const struct tc_filter f = { .ifindex = 3, .dir = TCS_DIR_EGRESS, .prio = 1, .handle = 1 };
	uint8_t buf[512];
	size_t full, n;

	CHECK_INT(tc_build_clsact(buf, 0, RTM_NEWQDISC, NLM_F_REQUEST, 1, 1), 0);
	CHECK_INT(tc_build_clsact(NULL, 512, RTM_NEWQDISC, NLM_F_REQUEST, 1, 1), 0);
	CHECK_INT(tc_build_clsact(buf, 35, RTM_NEWQDISC, NLM_F_REQUEST, 1, 1), 0);
	CHECK_INT(tc_build_clsact(buf, 47, RTM_NEWQDISC, NLM_F_REQUEST, 1, 1), 0);
	CHECK_INT(tc_build_clsact(buf, 48, RTM_NEWQDISC, NLM_F_REQUEST, 1, 1), 48);

	full = tc_build_filter(buf, sizeof(buf), RTM_NEWTFILTER, NLM_F_REQUEST, 1, &f, 42,
			       "tcs_egress");
	CHECK_INT(full, 80);
	/* Every size short of the whole message fails, wherever it cuts. */
	for (n = 0; n < full; n++) {
		size_t got = tc_build_filter(buf, n, RTM_NEWTFILTER, NLM_F_REQUEST, 1, &f, 42,
					     "tcs_egress");

		if (got)
			T_FAILED("buffer of %zu bytes: got %zu, want 0", n, got);
	}
	CHECK_INT(tc_build_filter(buf, full, RTM_NEWTFILTER, NLM_F_REQUEST, 1, &f, 42,
				  "tcs_egress"), full);
	return 0;
}

static int test_filter_bad_identity(void)
{
	struct tc_filter f = { .ifindex = 3, .dir = 7, .prio = 1, .handle = 1 };
	uint8_t buf[512];

	CHECK_INT(tc_build_filter(buf, sizeof(buf), RTM_NEWTFILTER, 0, 1, &f, 3, "n"), 0);
	f.dir = TCS_DIR_EGRESS;
	f.prio = 0x10000;	/* does not fit the 16 bits of tcm_info */
	CHECK_INT(tc_build_filter(buf, sizeof(buf), RTM_NEWTFILTER, 0, 1, &f, 3, "n"), 0);
	CHECK_INT(tc_build_filter(buf, sizeof(buf), RTM_NEWTFILTER, 0, 1, NULL, 3, "n"), 0);
	return 0;
}

/* fq's horizon holds any max_delay: saturated at 32 bits of us, never wrapped */
static int test_fq_horizon(void)
{
	CHECK_U64(tc_fq_horizon_us(0), 10000000);
	CHECK_U64(tc_fq_horizon_us(5000000), 10000000);		/* 5 ms: fq's 10 s */
	CHECK_U64(tc_fq_horizon_us(60ull * 1000000000), 120000000);	/* 1 min: 2 min */
	/* 40 min: 4.8e9 us wrapped to about 505 s before, shorter than max_delay */
	CHECK_U64(tc_fq_horizon_us(2400ull * 1000000000), UINT32_MAX);
	CHECK_U64(tc_fq_horizon_us(UINT64_MAX), UINT32_MAX);
	CHECK_U64(tc_fq_horizon_us(2147483647000ull), 4294967294u);
	CHECK_U64(tc_fq_horizon_us(2147483648000ull), UINT32_MAX);
	return 0;
}

int main(void)
{
	TEST(test_fq_horizon);
	TEST(test_clsact_new);
	TEST(test_clsact_del);
	TEST(test_filter_attach_egress);
	TEST(test_filter_attach_ingress);
	TEST(test_filter_no_name);
	TEST(test_filter_delete);
	TEST(test_too_small);
	TEST(test_filter_bad_identity);
	return tests_done("unit-tc");
}
