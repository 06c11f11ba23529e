// SPDX-License-Identifier: GPL-2.0
/*
 * tc over rtnetlink with libmnl: create and find the clsact qdisc, attach,
 * replace, detach and dump our cls_bpf filters. One socket per struct tc;
 * every request is acked, its sequence number checked, and the kernel's
 * extended ack text ends up in the log next to what failed on which link.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "fault.h"
#include "log.h"
#include "tc.h"
#include "tcshape_abi.h"

/*
 * The kernel sizes dump skbs after the largest buffer we ever passed to
 * recvmsg(), capped at 32 KiB; a buffer that large never truncates a reply.
 */
#define TC_RECV_SIZE	32768
/* Our requests are a header, a tcmsg and a few short attributes. */
#define TC_SEND_SIZE	1024

struct tc {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char ext_ack[256];	/* NLMSGERR_ATTR_MSG of the last reply, "" if none */
	char *buf;		/* TC_RECV_SIZE */
};

/* Called for every data message of a reply; 0 to go on, > 0 to stop, -errno to fail. */
typedef int (*tc_msg_cb)(const struct nlmsghdr *nlh, void *data);

static const char *dir_name(int dir)
{
	return dir == TCS_DIR_INGRESS ? "ingress" : "egress";
}

static bool dir_valid(int dir)
{
	return dir == TCS_DIR_INGRESS || dir == TCS_DIR_EGRESS;
}

static uint32_t hook_parent(int dir)
{
	return TC_H_MAKE(TC_H_CLSACT, dir == TCS_DIR_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

static const char *if_name(uint32_t ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "ifindex %u", ifindex);
	return buf;
}

/*
 * "<what> on <ifname>: <strerror>[: <kernel's ext-ack>]", at prio. Returns
 * err so callers can `return tc_log(...)`.
 */
static int __attribute__((format(printf, 5, 6)))
tc_log(struct tc *tc, int prio, int err, uint32_t ifindex, const char *fmt, ...)
{
	char what[128], name[IF_NAMESIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_msg(prio, "%s on %s: %s%s%s", what, if_name(ifindex, name), strerror(-err),
		tc->ext_ack[0] ? ": " : "", tc->ext_ack);
	return err;
}

/* ---- pure message builders -------------------------------------------- */

static struct nlmsghdr *put_tc_header(void *buf, size_t len, uint16_t type, uint16_t flags,
				      uint32_t seq, struct tcmsg **tcm)
{
	struct nlmsghdr *nlh;

	if (!buf || len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(**tcm)))
		return NULL;
	/* libmnl leaves attribute padding as it finds it; send zeros, not stack. */
	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	*tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(**tcm));
	(*tcm)->tcm_family = AF_UNSPEC;
	return nlh;
}

size_t tc_build_clsact(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
		       uint32_t ifindex)
{
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	nlh = put_tc_header(buf, len, type, flags, seq, &tcm);
	if (!nlh)
		return 0;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_CLSACT;
	tcm->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	/* Also on delete: the kernel then refuses to remove an "ingress" qdisc. */
	if (!mnl_attr_put_strz_check(nlh, len, TCA_KIND, "clsact"))
		return 0;
	return nlh->nlmsg_len;
}

/*
 * With prog_fd < 0 the message carries only the identity and TCA_KIND: what
 * a delete needs, and the kind makes the kernel refuse to delete a filter of
 * another kind that happens to sit at our prio/handle. name may be NULL.
 */
size_t tc_build_filter(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
		       const struct tc_filter *f, int prog_fd, const char *name)
{
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	struct tcmsg *tcm;

	if (!f || !dir_valid(f->dir) || f->prio > 0xffff)
		return 0;
	nlh = put_tc_header(buf, len, type, flags, seq, &tcm);
	if (!nlh)
		return 0;
	tcm->tcm_ifindex = f->ifindex;
	tcm->tcm_handle = f->handle;
	tcm->tcm_parent = hook_parent(f->dir);
	tcm->tcm_info = TC_H_MAKE(f->prio << 16, htons(ETH_P_ALL));
	if (!mnl_attr_put_strz_check(nlh, len, TCA_KIND, "bpf"))
		return 0;
	if (prog_fd < 0)
		return nlh->nlmsg_len;

	opts = mnl_attr_nest_start_check(nlh, len, TCA_OPTIONS);
	if (!opts)
		return 0;
	if (!mnl_attr_put_u32_check(nlh, len, TCA_BPF_FD, prog_fd))
		return 0;
	if (name && !mnl_attr_put_strz_check(nlh, len, TCA_BPF_NAME, name))
		return 0;
	if (!mnl_attr_put_u32_check(nlh, len, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT))
		return 0;
	mnl_attr_nest_end(nlh, opts);
	return nlh->nlmsg_len;
}

/* ---- socket and request/reply ------------------------------------------ */

int tc_open(struct tc **out)
{
	struct tc *tc;
	int one = 1;
	int err;

	*out = NULL;
	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -ENOMEM;
	tc->buf = malloc(TC_RECV_SIZE);
	if (!tc->buf) {
		err = -ENOMEM;
		goto out_free;
	}
	tc->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!tc->nl) {
		err = -errno;
		log_err("open rtnetlink socket for tc: %s", strerror(-err));
		goto out_free;
	}
	/* Both are conveniences (error text, short acks): old kernels lack them. */
	if (mnl_socket_setsockopt(tc->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0)
		log_debug("set NETLINK_EXT_ACK on the tc socket: %s", strerror(errno));
	if (mnl_socket_setsockopt(tc->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		log_debug("set NETLINK_CAP_ACK on the tc socket: %s", strerror(errno));
	if (mnl_socket_bind(tc->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		log_err("bind rtnetlink socket for tc: %s", strerror(-err));
		goto out_close;
	}
	tc->portid = mnl_socket_get_portid(tc->nl);
	tc->seq = time(NULL);
	*out = tc;
	return 0;

out_close:
	mnl_socket_close(tc->nl);
out_free:
	free(tc->buf);
	free(tc);
	return err;
}

void tc_close(struct tc *tc)
{
	if (!tc)
		return;
	mnl_socket_close(tc->nl);
	free(tc->buf);
	free(tc);
}

static uint32_t tc_next_seq(struct tc *tc)
{
	if (++tc->seq == 0)
		tc->seq = 1;
	return tc->seq;
}

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
	struct tc *tc = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(tc->ext_ack, sizeof(tc->ext_ack), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* NLMSG_ERROR: the ack (error 0) or the error of our request. */
static int parse_ack(struct tc *tc, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EPROTO;
	err = e->error > 0 ? -e->error : e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return err;
	/* Without NETLINK_CAP_ACK our request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return err;
		off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
	}
	if (off <= mnl_nlmsg_get_payload_len(nlh))
		mnl_attr_parse(nlh, off, ext_ack_attr, tc);
	return err;
}

/* NLMSG_DONE ends a dump; it carries the dump's error and may carry TLVs. */
static int parse_done(struct tc *tc, const struct nlmsghdr *nlh)
{
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return 0;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_parse(nlh, sizeof(int), ext_ack_attr, tc);
	return err > 0 ? -err : err;
}

/*
 * Send one request and read until its end: the ack (NLMSG_ERROR) or, for a
 * dump, NLMSG_DONE. Replies to other sequence numbers are stale and skipped.
 * cb returns 0 to go on, > 0 to stop quietly, -errno to fail; after it stops
 * it is not called again, but the rest of the reply is still read so the
 * next request starts on a clean socket. Failures are not logged here but by
 * the callers, who know what failed on what; a warning the kernel attached to
 * a successful ack is logged here with `what`.
 */
static int tc_request(struct tc *tc, struct nlmsghdr *req, tc_msg_cb cb, void *data,
		      uint32_t ifindex, const char *what)
{
	uint32_t seq = req->nlmsg_seq;
	int err = 0, cb_err = 0, intr = 0;
	bool done = false;

	tc->ext_ack[0] = '\0';
	if (fault_netlink() || mnl_socket_sendto(tc->nl, req, req->nlmsg_len) < 0)
		return -errno;

	while (!done) {
		const struct nlmsghdr *nlh;
		ssize_t n;
		int left;

		n = mnl_socket_recvfrom(tc->nl, tc->buf, TC_RECV_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left = n;
		for (nlh = (void *)tc->buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != tc->portid) {
				log_debug("tc: skip stale netlink reply type %u seq %u (want %u)",
					  nlh->nlmsg_type, nlh->nlmsg_seq, seq);
				continue;
			}
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = 1;
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
				break;
			case NLMSG_OVERRUN:
				err = -ENOBUFS;
				done = true;
				break;
			case NLMSG_ERROR:
				err = parse_ack(tc, nlh);
				done = true;
				break;
			case NLMSG_DONE:
				err = parse_done(tc, nlh);
				done = true;
				break;
			default:
				if (cb && !cb_err)
					cb_err = cb(nlh, data);
				break;
			}
			if (done)
				break;
		}
	}

	if (!err && tc->ext_ack[0]) {
		char name[IF_NAMESIZE];

		log_warn("%s on %s: kernel warns: %s", what, if_name(ifindex, name), tc->ext_ack);
	}
	if (err)
		return err;
	if (cb_err < 0)
		return cb_err;
	return intr ? -EINTR : 0;
}

/* ---- attributes -------------------------------------------------------- */

struct attr_tb {
	const struct nlattr **tb;
	unsigned int max;
};

static int attr_tb_cb(const struct nlattr *attr, void *data)
{
	struct attr_tb *t = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type <= t->max)
		t->tb[type] = attr;
	return MNL_CB_OK;
}

static int parse_attrs(const struct nlmsghdr *nlh, size_t off, const struct nlattr **tb,
		       unsigned int max)
{
	struct attr_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	return mnl_attr_parse(nlh, off, attr_tb_cb, &t) < 0 ? -EPROTO : 0;
}

static int parse_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned int max)
{
	struct attr_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, attr_tb_cb, &t) < 0 ? -EPROTO : 0;
}

static const char *attr_str(const struct nlattr *attr)
{
	if (!attr || mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return NULL;
	return mnl_attr_get_str(attr);
}

static bool attr_u32(const struct nlattr *attr, uint32_t *v)
{
	if (!attr || mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return false;
	*v = mnl_attr_get_u32(attr);
	return true;
}

/* ---- clsact ------------------------------------------------------------ */

struct qdisc_find {
	uint32_t ifindex;
	bool found;
	char kind[16];
};

static int qdisc_find_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct qdisc_find *q = data;
	const struct nlattr *tb[TCA_MAX + 1];
	const char *kind;

	if (nlh->nlmsg_type != RTM_NEWQDISC || mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm))
		return 0;
	/* Qdisc dumps cover every link; the ifindex in the request is ignored. */
	if ((uint32_t)tcm->tcm_ifindex != q->ifindex || tcm->tcm_parent != TC_H_CLSACT)
		return 0;
	if (parse_attrs(nlh, sizeof(*tcm), tb, TCA_MAX) < 0)
		return -EPROTO;
	kind = attr_str(tb[TCA_KIND]);
	q->found = true;
	snprintf(q->kind, sizeof(q->kind), "%s", kind ? kind : "");
	return 0;
}

/* Which qdisc sits at ffff:fff1 (clsact or ingress): 1 and its kind, or 0. */
static int clsact_slot(struct tc *tc, uint32_t ifindex, char *kind, size_t kind_len)
{
	char buf[TC_SEND_SIZE];
	struct qdisc_find q = { .ifindex = ifindex };
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	int err;

	nlh = put_tc_header(buf, sizeof(buf), RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP,
			    tc_next_seq(tc), &tcm);
	tcm->tcm_ifindex = ifindex;
	err = tc_request(tc, nlh, qdisc_find_cb, &q, ifindex, "dump qdiscs");
	if (err)
		return tc_log(tc, LOG_ERR, err, ifindex, "dump qdiscs");
	if (!q.found)
		return 0;
	snprintf(kind, kind_len, "%s", q.kind);
	return 1;
}

int tc_clsact_exists(struct tc *tc, uint32_t ifindex)
{
	char kind[16];
	int ret;

	ret = clsact_slot(tc, ifindex, kind, sizeof(kind));
	if (ret <= 0)
		return ret;
	return strcmp(kind, "clsact") == 0;
}

int tc_clsact_ensure(struct tc *tc, uint32_t ifindex, bool *created)
{
	char buf[TC_SEND_SIZE], kind[16], name[IF_NAMESIZE];
	size_t len;
	int err;

	*created = false;
	len = tc_build_clsact(buf, sizeof(buf), RTM_NEWQDISC,
			      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
			      tc_next_seq(tc), ifindex);
	if (!len)
		return -EMSGSIZE;
	err = tc_request(tc, (struct nlmsghdr *)buf, NULL, NULL, ifindex, "create clsact");
	if (!err) {
		*created = true;
		log_debug("created clsact on %s", if_name(ifindex, name));
		return 0;
	}
	if (err != -EEXIST)
		return tc_log(tc, LOG_ERR, err, ifindex, "create clsact");

	/* EEXIST only says the slot is taken; "ingress" lives there too. */
	err = clsact_slot(tc, ifindex, kind, sizeof(kind));
	if (err < 0)
		return err;
	if (err == 0) {
		log_err("create clsact on %s: kernel says it exists, but no qdisc is at ffff:fff1",
			if_name(ifindex, name));
		return -EEXIST;
	}
	if (strcmp(kind, "clsact")) {
		log_err("create clsact on %s: an \"%s\" qdisc holds ffff:fff1, so there is no "
			"egress hook; it is not ours to remove (tc qdisc del dev %s %s)",
			if_name(ifindex, name), kind, name, kind);
		return -EEXIST;
	}
	return 0;
}

int tc_clsact_delete(struct tc *tc, uint32_t ifindex)
{
	char buf[TC_SEND_SIZE];
	size_t len;
	int err;

	len = tc_build_clsact(buf, sizeof(buf), RTM_DELQDISC, NLM_F_REQUEST | NLM_F_ACK,
			      tc_next_seq(tc), ifindex);
	if (!len)
		return -EMSGSIZE;
	err = tc_request(tc, (struct nlmsghdr *)buf, NULL, NULL, ifindex, "delete clsact");
	if (!err)
		return 0;
	/*
	 * With no clsact the kernel answers EINVAL ("Invalid handle", or
	 * "Invalid qdisc name" when an ingress qdisc is there); tell that apart
	 * from a real failure so callers can treat "already gone" as done.
	 */
	if (err == -EINVAL || err == -ENOENT) {
		char ext_ack[sizeof(tc->ext_ack)];
		int ret;

		memcpy(ext_ack, tc->ext_ack, sizeof(ext_ack));
		ret = tc_clsact_exists(tc, ifindex);
		memcpy(tc->ext_ack, ext_ack, sizeof(ext_ack));
		if (ret == 0)
			return tc_log(tc, LOG_DEBUG, -ENOENT, ifindex, "delete clsact");
	}
	return tc_log(tc, LOG_ERR, err, ifindex, "delete clsact");
}

/* ---- filters ----------------------------------------------------------- */

static int filter_check(const struct tc_filter *f, const char *op)
{
	if (!f || !dir_valid(f->dir) || !f->prio || f->prio > 0xffff || !f->handle) {
		/* prio 0 or handle 0 would let the kernel pick one: no stable identity. */
		log_err("%s filter: invalid identity (dir %d, pref %u, handle 0x%x)", op,
			f ? f->dir : -1, f ? f->prio : 0, f ? f->handle : 0);
		return -EINVAL;
	}
	return 0;
}

int tc_filter_attach(struct tc *tc, const struct tc_filter *f, int prog_fd, const char *name)
{
	char buf[TC_SEND_SIZE], what[96];
	size_t len;
	int err;

	err = filter_check(f, "attach");
	if (err)
		return err;
	if (prog_fd < 0) {
		log_err("attach filter: invalid program fd %d", prog_fd);
		return -EBADF;
	}
	/* CREATE|REPLACE, no EXCL: an existing filter with our identity gets the new program. */
	len = tc_build_filter(buf, sizeof(buf), RTM_NEWTFILTER,
			      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
			      tc_next_seq(tc), f, prog_fd, name);
	if (!len) {
		log_err("attach filter: program name too long (%zu bytes)",
			name ? strlen(name) : 0);
		return -ENAMETOOLONG;
	}
	snprintf(what, sizeof(what), "attach %s filter pref %u handle 0x%x", dir_name(f->dir),
		 f->prio, f->handle);
	err = tc_request(tc, (struct nlmsghdr *)buf, NULL, NULL, f->ifindex, what);
	if (err)
		return tc_log(tc, LOG_ERR, err, f->ifindex, "%s", what);
	return 0;
}

int tc_filter_detach(struct tc *tc, const struct tc_filter *f)
{
	char buf[TC_SEND_SIZE], what[96];
	size_t len;
	int err;

	err = filter_check(f, "detach");
	if (err)
		return err;
	len = tc_build_filter(buf, sizeof(buf), RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK,
			      tc_next_seq(tc), f, -1, NULL);
	if (!len)
		return -EMSGSIZE;
	snprintf(what, sizeof(what), "detach %s filter pref %u handle 0x%x", dir_name(f->dir),
		 f->prio, f->handle);
	err = tc_request(tc, (struct nlmsghdr *)buf, NULL, NULL, f->ifindex, what);
	if (!err)
		return 0;
	/* Without clsact the kernel says EINVAL ("Parent Qdisc doesn't exists"). */
	if (err == -EINVAL) {
		char ext_ack[sizeof(tc->ext_ack)];

		memcpy(ext_ack, tc->ext_ack, sizeof(ext_ack));
		if (tc_clsact_exists(tc, f->ifindex) == 0)
			err = -ENOENT;
		memcpy(tc->ext_ack, ext_ack, sizeof(ext_ack));
	}
	if (err == -ENOENT)
		return tc_log(tc, LOG_DEBUG, err, f->ifindex, "%s", what);
	return tc_log(tc, LOG_ERR, err, f->ifindex, "%s", what);
}

struct filter_list {
	uint32_t ifindex;
	tc_filter_cb cb;
	void *ctx;
	int ret;	/* the first non-zero cb return */
};

static void parse_bpf_opts(const struct nlattr *opts, struct tc_filter_info *fi)
{
	const struct nlattr *tb[TCA_BPF_MAX + 1];
	const char *name;
	uint32_t flags;

	if (parse_nested(opts, tb, TCA_BPF_MAX) < 0)
		return;
	name = attr_str(tb[TCA_BPF_NAME]);
	if (name)
		snprintf(fi->name, sizeof(fi->name), "%s", name);
	attr_u32(tb[TCA_BPF_ID], &fi->prog_id);
	if (attr_u32(tb[TCA_BPF_FLAGS], &flags))
		fi->direct_action = flags & TCA_BPF_FLAG_ACT_DIRECT;
}

static int filter_list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct filter_list *l = data;
	const struct nlattr *tb[TCA_MAX + 1];
	struct tc_filter_info fi = { 0 };
	const char *kind;

	if (nlh->nlmsg_type != RTM_NEWTFILTER || mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm))
		return 0;
	/* Handle 0 is the per-pref header a dump sends before that pref's filters. */
	if ((uint32_t)tcm->tcm_ifindex != l->ifindex || !tcm->tcm_handle)
		return 0;
	if (parse_attrs(nlh, sizeof(*tcm), tb, TCA_MAX) < 0)
		return -EPROTO;

	fi.prio = TC_H_MAJ(tcm->tcm_info) >> 16;
	fi.protocol = ntohs(TC_H_MIN(tcm->tcm_info));
	fi.handle = tcm->tcm_handle;
	kind = attr_str(tb[TCA_KIND]);
	snprintf(fi.kind, sizeof(fi.kind), "%s", kind ? kind : "");
	if (!strcmp(fi.kind, "bpf") && tb[TCA_OPTIONS])
		parse_bpf_opts(tb[TCA_OPTIONS], &fi);
	l->ret = l->cb(&fi, l->ctx);
	return l->ret ? 1 : 0;
}

/* cb returning non-zero stops the walk; tc_filter_list then returns that value. */
int tc_filter_list(struct tc *tc, uint32_t ifindex, int dir, tc_filter_cb cb, void *ctx)
{
	struct filter_list l = { .ifindex = ifindex, .cb = cb, .ctx = ctx };
	char buf[TC_SEND_SIZE], name[IF_NAMESIZE], what[64];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	int err;

	if (!dir_valid(dir) || !cb) {
		log_err("list filters: invalid direction %d or no callback", dir);
		return -EINVAL;
	}
	/* The kernel answers an empty dump for a missing link; say ENODEV instead. */
	if (!if_indextoname(ifindex, name)) {
		err = errno == ENXIO ? -ENODEV : -errno;
		log_err("list %s filters on ifindex %u: %s", dir_name(dir), ifindex,
			strerror(-err));
		return err;
	}
	nlh = put_tc_header(buf, sizeof(buf), RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP,
			    tc_next_seq(tc), &tcm);
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = hook_parent(dir);
	snprintf(what, sizeof(what), "list %s filters", dir_name(dir));
	err = tc_request(tc, nlh, filter_list_cb, &l, ifindex, what);
	if (err)
		return tc_log(tc, LOG_ERR, err, ifindex, "%s", what);
	return l.ret;
}

/* ---- monitoring ----------------------------------------------------------- */

int tc_monitor_open(struct tc **out)
{
	unsigned int group = RTNLGRP_TC;
	int err = tc_open(out);

	if (err)
		return err;
	if (mnl_socket_setsockopt((*out)->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		err = -errno;
		log_err("subscribe to tc events: %s", strerror(-err));
		tc_close(*out);
		*out = NULL;
	}
	return err;
}

int tc_fd(const struct tc *tc)
{
	return mnl_socket_get_fd(tc->nl);
}

/*
 * Drain pending tc events without blocking; cb(type, ifindex) for each
 * qdisc or filter message. A lost batch (ENOBUFS) is reported as type 0,
 * ifindex 0: anything may have changed.
 */
int tc_monitor_read(struct tc *tc, tc_event_cb cb, void *ctx)
{
	for (;;) {
		const struct nlmsghdr *nlh;
		ssize_t n = recv(mnl_socket_get_fd(tc->nl), tc->buf, TC_RECV_SIZE, MSG_DONTWAIT);
		int left;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				cb(0, 0, ctx);
				continue;
			}
			return -errno;
		}
		left = (int)n;
		for (nlh = (void *)tc->buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type < RTM_NEWQDISC || nlh->nlmsg_type > RTM_GETTFILTER ||
			    mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm))
				continue;
			cb(nlh->nlmsg_type, (uint32_t)tcm->tcm_ifindex, ctx);
		}
	}
}

/* ---- the root qdisc, for pacing ---------------------------------------------- */

struct root_find {
	uint32_t ifindex;
	struct tc_root *root;
	uint32_t mq_handle;	/* when the root is mq: its children are parent mq_handle */
	unsigned int children, fq_children;
};

static int root_find_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1];
	struct root_find *r = data;
	const char *kind;

	if (nlh->nlmsg_type != RTM_NEWQDISC || mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm) ||
	    (uint32_t)tcm->tcm_ifindex != r->ifindex)
		return 0;
	if (parse_attrs(nlh, sizeof(*tcm), tb, TCA_MAX) < 0)
		return -EPROTO;
	kind = attr_str(tb[TCA_KIND]);
	if (!kind)
		return 0;
	if (tcm->tcm_parent == TC_H_ROOT) {
		snprintf(r->root->kind, sizeof(r->root->kind), "%s", kind);
		r->root->handle = tcm->tcm_handle;
		r->root->opts_len = 0;
		if (tb[TCA_OPTIONS] && mnl_attr_get_payload_len(tb[TCA_OPTIONS]) <=
					       sizeof(r->root->opts)) {
			r->root->opts_len = mnl_attr_get_payload_len(tb[TCA_OPTIONS]);
			memcpy(r->root->opts, mnl_attr_get_payload(tb[TCA_OPTIONS]),
			       r->root->opts_len);
		}
		return 0;
	}
	/* children of the root (mq's per-queue qdiscs): counted after the walk */
	if (TC_H_MAJ(tcm->tcm_parent) && TC_H_MAJ(tcm->tcm_parent) != TC_H_MAJ(TC_H_CLSACT)) {
		r->children++;
		if (!strcmp(kind, "fq"))
			r->fq_children++;
	}
	return 0;
}

int tc_root_get(struct tc *tc, uint32_t ifindex, struct tc_root *root)
{
	char buf[TC_SEND_SIZE];
	struct root_find r = { .ifindex = ifindex, .root = root };
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	int err;

	memset(root, 0, sizeof(*root));
	nlh = put_tc_header(buf, sizeof(buf), RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP,
			    tc_next_seq(tc), &tcm);
	tcm->tcm_ifindex = ifindex;
	err = tc_request(tc, nlh, root_find_cb, &r, ifindex, "dump qdiscs");
	if (err)
		return tc_log(tc, LOG_ERR, err, ifindex, "dump qdiscs");
	root->paces = !strcmp(root->kind, "fq") ||
		      (!strcmp(root->kind, "mq") && r.children && r.children == r.fq_children);
	return 0;
}

/* One qdisc request: kind at parent/handle, with raw options (or fq's). */
static int qdisc_send(struct tc *tc, uint16_t type, uint16_t flags, uint32_t ifindex,
		      uint32_t parent, uint32_t handle, const char *kind, const void *opts,
		      size_t opts_len, const struct tc_fq *fq, const char *what)
{
	char buf[TC_SEND_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	struct tcmsg *tcm;

	nlh = put_tc_header(buf, sizeof(buf), type, NLM_F_REQUEST | NLM_F_ACK | flags,
			    tc_next_seq(tc), &tcm);
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	if (kind && !mnl_attr_put_strz_check(nlh, sizeof(buf), TCA_KIND, kind))
		return -EMSGSIZE;
	if (opts_len && !mnl_attr_put_check(nlh, sizeof(buf), TCA_OPTIONS, opts_len, opts))
		return -EMSGSIZE;
	if (fq) {
		nest = mnl_attr_nest_start_check(nlh, sizeof(buf), TCA_OPTIONS);
		if (!nest || !mnl_attr_put_u32_check(nlh, sizeof(buf), TCA_FQ_PLIMIT, fq->limit) ||
		    !mnl_attr_put_u32_check(nlh, sizeof(buf), TCA_FQ_FLOW_PLIMIT, fq->flow_limit) ||
		    !mnl_attr_put_u32_check(nlh, sizeof(buf), TCA_FQ_HORIZON, fq->horizon_us) ||
		    !mnl_attr_put_u8_check(nlh, sizeof(buf), TCA_FQ_HORIZON_DROP, 1))
			return -EMSGSIZE;
		mnl_attr_nest_end(nlh, nest);
	}
	return tc_request(tc, nlh, NULL, NULL, ifindex, what);
}

uint32_t tc_fq_horizon_us(uint64_t max_delay_ns)
{
	uint64_t us = max_delay_ns / 1000 * 2;

	if (max_delay_ns / 1000 > UINT32_MAX / 2)
		return UINT32_MAX;
	return us > 10000000 ? (uint32_t)us : 10000000;
}

int tc_root_set_fq(struct tc *tc, uint32_t ifindex, unsigned int txqs, const struct tc_fq *fq)
{
	const uint32_t mq = TC_H_MAKE(0x7c50u << 16, 0);	/* "tcs" mq handle 7c50: */
	unsigned int q;
	int err;

	if (txqs <= 1) {
		err = qdisc_send(tc, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, TC_H_ROOT,
				 0, "fq", NULL, 0, fq, "put fq at the root");
		return err ? tc_log(tc, LOG_ERR, err, ifindex, "put fq at the root") : 0;
	}
	/* multi-queue: mq at the root, one fq per TX queue, so no queue shares a lock */
	err = qdisc_send(tc, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, TC_H_ROOT, mq,
			 "mq", NULL, 0, NULL, "put mq at the root");
	if (err)
		return tc_log(tc, LOG_ERR, err, ifindex, "put mq at the root");
	for (q = 1; q <= txqs; q++) {
		err = qdisc_send(tc, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex,
				 TC_H_MAKE(mq, q), 0, "fq", NULL, 0, fq, "put fq under mq");
		if (err)
			return tc_log(tc, LOG_ERR, err, ifindex, "put fq on TX queue %u", q);
	}
	return 0;
}

int tc_root_restore(struct tc *tc, uint32_t ifindex, const struct tc_root *old)
{
	int err;

	/*
	 * A root the kernel made itself (handle 0: noqueue, pfifo_fast, the
	 * default_qdisc, mq) comes back by deleting ours; one an operator
	 * configured is put back with its kind, handle and options.
	 */
	if (!old->handle || !old->kind[0]) {
		err = qdisc_send(tc, RTM_DELQDISC, 0, ifindex, TC_H_ROOT, 0, NULL, NULL, 0, NULL,
				 "delete our root qdisc");
		if (err == -ENOENT || err == -EINVAL)
			return 0;
	} else {
		err = qdisc_send(tc, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, TC_H_ROOT,
				 old->handle, old->kind, old->opts, old->opts_len, NULL,
				 "restore the root qdisc");
	}
	return err ? tc_log(tc, LOG_ERR, err, ifindex, "restore root qdisc %s", old->kind) : 0;
}
