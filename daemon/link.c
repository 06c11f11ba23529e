// SPDX-License-Identifier: GPL-2.0
/*
 * Interface tracking with libnl-route-3: a snapshot of the links that exist
 * now (index and name) from the link cache. Change events come later.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

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

int link_list(struct link_info **out, size_t *n)
{
	struct nl_cache *cache = NULL;
	struct link_info *links;
	struct nl_object *obj;
	struct nl_sock *sk;
	size_t i = 0, cap;
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

	cap = nl_cache_nitems(cache);
	links = calloc(cap ? cap : 1, sizeof(*links));
	if (!links) {
		err = -ENOMEM;
		goto out_cache;
	}
	for (obj = nl_cache_get_first(cache); obj && i < cap; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		const char *name = rtnl_link_get_name(link);

		links[i].ifindex = rtnl_link_get_ifindex(link);
		snprintf(links[i].name, sizeof(links[i].name), "%s", name ? name : "");
		i++;
	}
	*out = links;
	*n = i;
	err = 0;

out_cache:
	nl_cache_free(cache);
out_sock:
	nl_socket_free(sk);
	return err;
}
