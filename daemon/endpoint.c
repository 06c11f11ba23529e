// SPDX-License-Identifier: GPL-2.0
/*
 * Listen addresses: "127.0.0.1:9977", "[::1]:9977", "0.0.0.0:9977". Only
 * numeric addresses: a name would make the bind depend on the resolver at
 * start, and an operator should see exactly what is exposed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

int endpoint_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, const char **why)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	int bracketed = s[0] == '[';
	unsigned long p;
	size_t hl;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (bracketed) {
		colon = strstr(s, "]:");
		if (!colon) {
			*why = "an IPv6 address is written [ADDRESS]:PORT";
			return -EINVAL;
		}
		hl = colon - s - 1;
		port = colon + 2;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon) {
			*why = "expected IP:PORT, or [IPv6]:PORT";
			return -EINVAL;
		}
		hl = colon - s;
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host)) {
		*why = "no address before the port";
		return -EINVAL;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p == 0 || p > 65535) {
		*why = "the port must be a number from 1 to 65535";
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1 && !bracketed) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		*len = sizeof(*s6);
		return 0;
	}
	*why = "the address must be a numeric IPv4 or [IPv6] address";
	return -EINVAL;
}
