// SPDX-License-Identifier: GPL-2.0
/*
 * Interface tracking with libnl-route-3: the links that exist (index and
 * name) from a link cache, once or kept current by libnl's cache manager,
 * which also tells us when something changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <net/if_arp.h>
#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE	823	/* linux/if_arp.h; glibc's net/if_arp.h lacks it */
#endif

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "link.h"
#include "log.h"

/* libnl speaks NLE_* codes; the rest of the daemon speaks -errno. */
static int nl_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS:	return 0;
	case NLE_INTR:		return -EINTR;
	case NLE_BAD_SOCK:	return -EBADF;
	case NLE_AGAIN:		return -EAGAIN;
	case NLE_NOMEM:		return -ENOMEM;
	case NLE_INVAL:		return -EINVAL;
	case NLE_RANGE:		return -ERANGE;
	case NLE_MSGSIZE:	return -EMSGSIZE;
	case NLE_OPNOTSUPP:	return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:	return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:	return -ENOENT;
	case NLE_NOACCESS:	return -EACCES;
	case NLE_PERM:		return -EPERM;
	case NLE_NODEV:		return -ENODEV;
	case NLE_BUSY:		return -EBUSY;
	default:		return -EIO;
	}
}

bool link_is_l3(unsigned int arptype)
{
	switch (arptype) {
	case ARPHRD_NONE:	/* tun, WireGuard, xfrm */
	case ARPHRD_RAWIP:
	case ARPHRD_PPP:
	case ARPHRD_TUNNEL:	/* ipip, vti */
	case ARPHRD_TUNNEL6:	/* ip6tnl, vti6 */
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
		return true;
	default:		/* Ethernet, loopback, ... */
		return false;
	}
}

/* Copy index, name and link type of every link in cache. */
static int snapshot(struct nl_cache *cache, struct link_info **out, size_t *n)
{
	size_t i = 0, cap = nl_cache_nitems(cache);
	struct link_info *links = calloc(cap ? cap : 1, sizeof(*links));
	struct nl_object *obj;

	if (!links)
		return -ENOMEM;
	for (obj = nl_cache_get_first(cache); obj && i < cap; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		const char *name = rtnl_link_get_name(link);

		links[i].ifindex = rtnl_link_get_ifindex(link);
		links[i].txqs = rtnl_link_get_num_tx_queues(link);
		links[i].arptype = rtnl_link_get_arptype(link);
		snprintf(links[i].name, sizeof(links[i].name), "%s", name ? name : "");
		i++;
	}
	*out = links;
	*n = i;
	return 0;
}

int link_list(struct link_info **out, size_t *n)
{
	struct nl_cache *cache = NULL;
	struct nl_sock *sk;
	int nlerr, err;

	*out = NULL;
	*n = 0;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	nlerr = nl_connect(sk, NETLINK_ROUTE);
	if (nlerr < 0) {
		err = nl_to_errno(nlerr);
		log_err("list links: connect rtnetlink: %s", nl_geterror(nlerr));
		goto out_sock;
	}
	nlerr = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (nlerr < 0) {
		err = nl_to_errno(nlerr);
		log_err("list links: dump links: %s", nl_geterror(nlerr));
		goto out_sock;
	}
	err = snapshot(cache, out, n);
	nl_cache_free(cache);
out_sock:
	nl_socket_free(sk);
	return err;
}

struct link_watch {
	struct nl_cache_mngr *mngr;
	struct nl_cache *cache;
	link_changed_fn changed;
	void *ctx;
};

static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *data)
{
	struct link_watch *w = data;
	struct rtnl_link *link = (struct rtnl_link *)obj;
	const char *name = rtnl_link_get_name(link);

	log_debug("link %s: %s (ifindex %d)", name ? name : "?",
		  action == NL_ACT_NEW ? "new" : action == NL_ACT_DEL ? "gone" : "changed",
		  rtnl_link_get_ifindex(link));
	w->changed(w->ctx);
}

int link_watch_open(struct link_watch **out, link_changed_fn changed, void *ctx)
{
	struct link_watch *w = calloc(1, sizeof(*w));
	int nlerr, err;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->changed = changed;
	w->ctx = ctx;
	nlerr = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &w->mngr);
	if (nlerr < 0)
		goto fail;
	nlerr = nl_cache_mngr_add(w->mngr, "route/link", on_change, w, &w->cache);
	if (nlerr < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	err = nl_to_errno(nlerr);
	log_err("watch links: %s", nl_geterror(nlerr));
	link_watch_close(w);
	return err;
}

void link_watch_close(struct link_watch *w)
{
	if (!w)
		return;
	if (w->mngr)
		nl_cache_mngr_free(w->mngr);
	free(w);
}

int link_watch_fd(const struct link_watch *w)
{
	return nl_cache_mngr_get_fd(w->mngr);
}

int link_watch_process(struct link_watch *w)
{
	int nlerr = nl_cache_mngr_data_ready(w->mngr);
	struct nl_sock *sk;

	if (nlerr >= 0)
		return 0;
	/* Lost events (the socket overran): the cache may be stale; dump it anew. */
	log_warn("link events: %s; re-reading all links", nl_geterror(nlerr));
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	nlerr = nl_connect(sk, NETLINK_ROUTE);
	if (nlerr >= 0)
		nlerr = nl_cache_refill(sk, w->cache);
	nl_socket_free(sk);
	w->changed(w->ctx);
	return nlerr < 0 ? nl_to_errno(nlerr) : 0;
}

int link_watch_snapshot(struct link_watch *w, struct link_info **out, size_t *n)
{
	return snapshot(w->cache, out, n);
}
