// SPDX-License-Identifier: GPL-2.0
/*
 * tc.c against the real kernel (root): clsact create/find/delete and our
 * cls_bpf filter attach, in-place replace, dump and detach, on a veth pair
 * in a network namespace this process unshares, so the host is never touched.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "check.h"
#include "link.h"
#include "log.h"
#include "tc.h"
#include "tcshape_abi.h"

#define DEV	"tcs-t0"
#define PEER	"tcs-t1"
/* classic BPF "return -1": a cls_bpf filter that is not ours, added by tc(8) */
#define CBPF	"bpf bytecode '1,6 0 0 4294967295,'"

static char skip_why[200];
static struct tc *tc;
static uint32_t ifidx;
static int prog_a = -1, prog_b = -1;
static uint32_t id_a, id_b;
static int veth_made;

#define NEED_SETUP()                                                               \
	do {                                                                       \
		if (skip_why[0])                                                   \
			SKIP("%s", skip_why);                                      \
	} while (0)

static int __attribute__((format(printf, 1, 2))) sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* r0 = -1 (TC_ACT_UNSPEC: continue with the next filter); exit */
static int load_prog(const char *name, uint32_t *id)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, name, "GPL", insns, 2, NULL);
	if (fd < 0)
		return fd;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		close(fd);
		return err;
	}
	*id = info.id;
	return fd;
}

static void setup(void)
{
	if (t_private_netns(skip_why, sizeof(skip_why)))
		return;
	if (sh("ip link add " DEV " type veth peer name " PEER)) {
		snprintf(skip_why, sizeof(skip_why), "cannot create veth " DEV "/" PEER);
		return;
	}
	veth_made = 1;
	sh("ip link set " DEV " up && ip link set " PEER " up");
	ifidx = if_nametoindex(DEV);
	if (!ifidx) {
		snprintf(skip_why, sizeof(skip_why), "no ifindex for " DEV ": %s", strerror(errno));
		return;
	}
	prog_a = load_prog("tcs_t_a", &id_a);
	prog_b = load_prog("tcs_t_b", &id_b);
	if (prog_a < 0 || prog_b < 0) {
		snprintf(skip_why, sizeof(skip_why), "cannot load a SCHED_CLS program: %s",
			 strerror(-(prog_a < 0 ? prog_a : prog_b)));
		return;
	}
	if (tc_open(&tc))
		snprintf(skip_why, sizeof(skip_why), "tc_open failed");
}

static void teardown(void)
{
	tc_close(tc);
	if (prog_a >= 0)
		close(prog_a);
	if (prog_b >= 0)
		close(prog_b);
	/* Deleting one end of a veth removes both; the netns goes with us anyway. */
	if (veth_made)
		sh("ip link del " DEV " 2>/dev/null");
}

struct seen {
	int n;
	struct tc_filter_info fi[8];
};

static int collect(const struct tc_filter_info *fi, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->fi[s->n] = *fi;
	s->n++;
	return 0;
}

static int list(int dir, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return tc_filter_list(tc, ifidx, dir, collect, s);
}

static const struct tc_filter_info *find(const struct seen *s, uint32_t prio, uint32_t handle)
{
	for (int i = 0; i < s->n && i < 8; i++)
		if (s->fi[i].prio == prio && s->fi[i].handle == handle)
			return &s->fi[i];
	return NULL;
}

/* Run with stderr going to a buffer, so a test can read what was logged. */
static FILE *cap_file;
static int cap_saved = -1;

static void capture_begin(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	if (!cap_file)
		return;
	cap_saved = dup(STDERR_FILENO);
	dup2(fileno(cap_file), STDERR_FILENO);
}

static void capture_end(char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	if (!cap_file)
		return;
	fflush(stderr);
	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	rewind(cap_file);
	n = fread(out, 1, len - 1, cap_file);
	out[n] = '\0';
	fclose(cap_file);
	cap_file = NULL;
	fputs(out, stderr);	/* still show it */
}

static const struct tc_filter eg = { .dir = TCS_DIR_EGRESS, .prio = 1, .handle = 1 };
static const struct tc_filter in = { .dir = TCS_DIR_INGRESS, .prio = 1, .handle = 1 };

static struct tc_filter on_dev(struct tc_filter f)
{
	f.ifindex = ifidx;
	return f;
}

static int test_link_list(void)
{
	struct link_info *links;
	int have_lo = 0, have_dev = 0;
	size_t n;

	NEED_SETUP();
	CHECK_INT(link_list(&links, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(links[i].name, "lo") && links[i].ifindex == 1)
			have_lo = 1;
		if (!strcmp(links[i].name, DEV) && links[i].ifindex == (int)ifidx)
			have_dev = 1;
	}
	/* The fresh namespace holds lo and our veth pair, nothing else. */
	CHECK_INT(n, 3);
	CHECK(have_lo);
	CHECK(have_dev);
	free(links);
	return 0;
}

static int test_no_clsact(void)
{
	struct tc_filter f = on_dev(eg);
	struct seen s;
	char log[2048];
	int err;

	NEED_SETUP();
	CHECK_INT(tc_clsact_exists(tc, ifidx), 0);
	CHECK_INT(list(TCS_DIR_EGRESS, &s), 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(tc_filter_detach(tc, &f), -ENOENT);
	CHECK_INT(tc_clsact_delete(tc, ifidx), -ENOENT);

	/* No hook to attach to: the failure and the kernel's reason are logged. */
	capture_begin();
	err = tc_filter_attach(tc, &f, prog_a, "tcs_egress");
	capture_end(log, sizeof(log));
	CHECK(err < 0);
	CHECK(strstr(log, "attach egress filter pref 1 handle 0x1 on " DEV ": ") != NULL);
	CHECK(strstr(log, "Parent Qdisc doesn't exist") != NULL);
	return 0;
}

static int test_clsact_ensure(void)
{
	bool created = false;

	NEED_SETUP();
	CHECK_INT(tc_clsact_ensure(tc, ifidx, &created), 0);
	CHECK(created);
	CHECK_INT(tc_clsact_exists(tc, ifidx), 1);
	created = true;
	CHECK_INT(tc_clsact_ensure(tc, ifidx, &created), 0);
	CHECK(!created);
	CHECK_INT(tc_clsact_exists(tc, ifidx), 1);
	return 0;
}

static void check_ours(const struct seen *s, const char *name, uint32_t id)
{
	const struct tc_filter_info *fi = find(s, 1, 1);

	if (!fi) {
		T_FAILED("our filter pref 1 handle 1 not listed");
		return;
	}
	CHECK_STR(fi->kind, "bpf");
	CHECK_INT(fi->protocol, ETH_P_ALL);
	CHECK_STR(fi->name, name);
	CHECK_INT(fi->prog_id, id);
	CHECK(fi->direct_action);
}

/* The hook holds our filter alone, with this name and program. */
static void check_only_ours(int dir, const char *name, uint32_t id)
{
	struct seen s;

	CHECK_INT(list(dir, &s), 0);
	CHECK_INT(s.n, 1);
	check_ours(&s, name, id);
}

static int test_attach(void)
{
	struct tc_filter e = on_dev(eg), i = on_dev(in);

	NEED_SETUP();
	CHECK_INT(tc_filter_attach(tc, &e, prog_a, "tcs_egress"), 0);
	CHECK_INT(tc_filter_attach(tc, &i, prog_a, "tcs_ingress"), 0);

	check_only_ours(TCS_DIR_EGRESS, "tcs_egress", id_a);
	check_only_ours(TCS_DIR_INGRESS, "tcs_ingress", id_a);
	return 0;
}

static int test_replace_in_place(void)
{
	struct tc_filter e = on_dev(eg);

	NEED_SETUP();
	CHECK_INT(tc_filter_attach(tc, &e, prog_b, "tcs_egress_b"), 0);
	check_only_ours(TCS_DIR_EGRESS, "tcs_egress_b", id_b);

	/* Same program again: still one filter. */
	CHECK_INT(tc_filter_attach(tc, &e, prog_b, "tcs_egress_b"), 0);
	check_only_ours(TCS_DIR_EGRESS, "tcs_egress_b", id_b);

	/* The other hook is untouched. */
	check_only_ours(TCS_DIR_INGRESS, "tcs_ingress", id_a);
	return 0;
}

static int stop_at_first(const struct tc_filter_info *fi, void *ctx)
{
	(*(int *)ctx)++;
	return 42;
}

static int test_foreign_survives(void)
{
	struct tc_filter e = on_dev(eg), other = e;
	const struct tc_filter_info *fi;
	struct seen s;
	int calls = 0;

	NEED_SETUP();
	/*
	 * No matchall, u32 actions or act_gact on this kernel; classic BPF through
	 * cls_bpf needs nothing else. One at its own pref, one sharing our pref.
	 */
	if (sh("tc filter add dev " DEV " egress pref 7 handle 7 " CBPF))
		SKIP("tc cannot add a classic-BPF cls_bpf filter");
	if (sh("tc filter add dev " DEV " egress pref 1 handle 2 " CBPF)) {
		sh("tc filter del dev " DEV " egress pref 7 handle 7 bpf");
		SKIP("tc cannot add a second classic-BPF cls_bpf filter at pref 1");
	}

	CHECK_INT(list(TCS_DIR_EGRESS, &s), 0);
	CHECK_INT(s.n, 3);
	check_ours(&s, "tcs_egress_b", id_b);
	fi = find(&s, 7, 7);
	CHECK(fi != NULL);
	if (fi) {
		CHECK_STR(fi->kind, "bpf");
		CHECK_INT(fi->protocol, ETH_P_ALL);
		CHECK_STR(fi->name, "");
		CHECK_INT(fi->prog_id, 0);
		CHECK(!fi->direct_action);
	}
	CHECK(find(&s, 1, 2) != NULL);

	/* A callback's non-zero return ends the walk and is passed back. */
	CHECK_INT(tc_filter_list(tc, ifidx, TCS_DIR_EGRESS, stop_at_first, &calls), 42);
	CHECK_INT(calls, 1);
	/* ... and the socket is left clean for the next request. */
	CHECK_INT(list(TCS_DIR_EGRESS, &s), 0);
	CHECK_INT(s.n, 3);

	CHECK_INT(tc_filter_detach(tc, &e), 0);
	CHECK_INT(list(TCS_DIR_EGRESS, &s), 0);
	CHECK_INT(s.n, 2);
	CHECK(find(&s, 1, 1) == NULL);
	CHECK(find(&s, 7, 7) != NULL);
	CHECK(find(&s, 1, 2) != NULL);

	CHECK_INT(tc_filter_detach(tc, &e), -ENOENT);	/* pref there, handle not */
	other.prio = 3;
	CHECK_INT(tc_filter_detach(tc, &other), -ENOENT);	/* no such pref */

	CHECK_INT(sh("tc filter del dev " DEV " egress pref 7 handle 7 bpf"), 0);
	CHECK_INT(sh("tc filter del dev " DEV " egress pref 1 handle 2 bpf"), 0);
	CHECK_INT(list(TCS_DIR_EGRESS, &s), 0);
	CHECK_INT(s.n, 0);
	return 0;
}

static int test_detach_ingress(void)
{
	struct tc_filter i = on_dev(in);
	struct seen s;

	NEED_SETUP();
	CHECK_INT(tc_filter_detach(tc, &i), 0);
	CHECK_INT(list(TCS_DIR_INGRESS, &s), 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(tc_filter_detach(tc, &i), -ENOENT);
	return 0;
}

static int test_clsact_delete(void)
{
	NEED_SETUP();
	CHECK_INT(tc_clsact_exists(tc, ifidx), 1);
	CHECK_INT(tc_clsact_delete(tc, ifidx), 0);
	CHECK_INT(tc_clsact_exists(tc, ifidx), 0);
	CHECK_INT(tc_clsact_delete(tc, ifidx), -ENOENT);
	return 0;
}

static int test_ingress_qdisc_in_the_way(void)
{
	bool created = true;
	char log[2048];
	int err;

	NEED_SETUP();
	if (sh("tc qdisc add dev " DEV " ingress"))
		SKIP("tc cannot add an ingress qdisc");
	capture_begin();
	err = tc_clsact_ensure(tc, ifidx, &created);
	capture_end(log, sizeof(log));
	CHECK_INT(err, -EEXIST);
	CHECK(!created);
	CHECK(strstr(log, "\"ingress\" qdisc holds ffff:fff1") != NULL);
	CHECK_INT(tc_clsact_exists(tc, ifidx), 0);
	/* Not ours, not clsact: delete must leave it alone. */
	CHECK_INT(tc_clsact_delete(tc, ifidx), -ENOENT);
	CHECK_INT(sh("tc qdisc show dev " DEV " | grep -q 'qdisc ingress ffff:'"), 0);
	CHECK_INT(sh("tc qdisc del dev " DEV " ingress"), 0);
	return 0;
}

static int test_bad_args(void)
{
	struct tc_filter f = on_dev(eg);
	struct seen s;

	NEED_SETUP();
	f.handle = 0;
	CHECK_INT(tc_filter_attach(tc, &f, prog_a, "x"), -EINVAL);
	f.handle = 1;
	f.prio = 0;
	CHECK_INT(tc_filter_attach(tc, &f, prog_a, "x"), -EINVAL);
	f.prio = 1;
	f.dir = 5;
	CHECK_INT(tc_filter_attach(tc, &f, prog_a, "x"), -EINVAL);
	CHECK_INT(tc_filter_list(tc, ifidx, 5, collect, &s), -EINVAL);
	CHECK_INT(tc_filter_list(tc, 0x7ffffff0, TCS_DIR_EGRESS, collect, &s), -ENODEV);
	return 0;
}

int main(void)
{
	setup();
	TEST(test_link_list);
	TEST(test_no_clsact);
	TEST(test_clsact_ensure);
	TEST(test_attach);
	TEST(test_replace_in_place);
	TEST(test_foreign_survives);
	TEST(test_detach_ingress);
	TEST(test_clsact_delete);
	TEST(test_ingress_qdisc_in_the_way);
	TEST(test_bad_args);
	teardown();
	return tests_done("bpf-tc");
}
