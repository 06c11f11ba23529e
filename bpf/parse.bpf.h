/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing for the classifier: Ethernet with up to two VLAN tags, or no
 * link-layer header at all (TCS_IF_L3 devices: tun, WireGuard, PPP, ipip,
 * sit, gre), then IPv4 with options, IPv6 with a bounded extension-header
 * walk, L4 ports. The common packet is read straight from the linear head
 * (parse_fast); the rest with bpf_skb_load_bytes (parse_pkt), so headers in
 * non-linear skbs and every odd frame are seen too.
 *
 * Verdicts for odd frames (docs/policy.md repeats them):
 *  - not IPv4/IPv6 (ARP, LLDP, ...; on an L3 device, skb->protocol neither
 *    IPv4 nor IPv6): PARSE_NOT_IP, never matched, passed.
 *  - IP header cut short or inconsistent (version, IHL < 5), an IPv6 chain
 *    of more than TCS_MAX_EXTHDRS extension headers or cut short, or the L4
 *    header of an unfragmented packet or first fragment cut short:
 *    PARSE_MALFORMED, dropped. The kernel's stack would discard them, and
 *    passing them would let crafted packets around port rules.
 *  - non-first fragments carry no transport header: the walk stops at the
 *    IPv6 Fragment header (what follows is payload, even when its next
 *    header says AH or Destination Options), the ports and, behind such an
 *    extension header, the protocol are unknown (PKT_NO_PORTS, PKT_NO_PROTO)
 *    until the datagram's first fragment tells them (tcs_frags).
 */
#ifndef TCS_PARSE_BPF_H
#define TCS_PARSE_BPF_H

#define TCS_MAX_VLANS		2
#define TCS_MAX_EXTHDRS		8

enum { PARSE_OK, PARSE_NOT_IP, PARSE_MALFORMED };
enum { FRAG_NONE, FRAG_FIRST, FRAG_LATER };

/* struct pkt flags: what a later fragment does not show */
#define PKT_NO_PORTS	1	/* a port protocol's ports, or maybe one (PKT_NO_PROTO) */
#define PKT_NO_PROTO	2	/* IPv6: an extension header follows the Fragment header */

struct pkt {
	__u8 family;		/* TCS_FAMILY_V4 / _V6 */
	__u8 proto;		/* L4 protocol, after IPv6 extension headers */
	__u8 dscp;
	__u8 frag;		/* FRAG_* */
	__u16 sport;		/* network byte order; 0 without ports */
	__u16 dport;
	__u32 frag_id;
	__u32 hdr_len;		/* L2 + L3 + L4 header bytes: the per-segment overhead */
	__u16 l3_off;
	__u8 ecn;		/* the IP header's ECN field */
	__u8 flags;		/* PKT_* */
	__u8 src[16];
	__u8 dst[16];
};

static __always_inline int has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

/* The fixed part of a port protocol's header: fewer bytes is a header cut short. */
static __always_inline __u32 l4_min_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_SCTP:
		return 12;
	default:
		return 8;	/* UDP, UDP-Lite */
	}
}

static __always_inline int is_exthdr(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH || nh == IPPROTO_FRAGMENT;
}

static __always_inline int parse_l4(struct __sk_buff *skb, struct pkt *p, __u32 off)
{
	__u16 ports[2];
	__u8 doff;

	p->hdr_len = off;
	if (p->frag == FRAG_LATER) {
		if (has_ports(p->proto))
			p->flags |= PKT_NO_PORTS;
		return PARSE_OK;
	}
	if (!has_ports(p->proto))
		return PARSE_OK;
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return PARSE_MALFORMED;
	if (bpf_skb_load_bytes(skb, off + l4_min_len(p->proto) - 1, &doff, 1))
		return PARSE_MALFORMED;
	p->sport = ports[0];
	p->dport = ports[1];
	if (p->proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, off + 12, &doff, 1))
			return PARSE_MALFORMED;
		p->hdr_len = off + (doff >> 4) * 4;
	} else if (p->proto == IPPROTO_UDP || p->proto == IPPROTO_UDPLITE) {
		p->hdr_len = off + 8;
	}
	return PARSE_OK;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, struct pkt *p, __u32 off)
{
	struct {
		__u8 vihl;
		__u8 tos;
		__u16 tot_len;
		__u16 id;
		__u16 frag_off;
		__u8 ttl;
		__u8 proto;
		__u16 csum;
		__u8 saddr[4];
		__u8 daddr[4];
	} ip;
	__u16 frag;
	__u32 ihl;
	__u8 last;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
		return PARSE_MALFORMED;
	ihl = (ip.vihl & 0xf) * 4;
	if ((ip.vihl >> 4) != 4 || ihl < sizeof(ip))
		return PARSE_MALFORMED;
	/* options cut short: the header is */
	if (bpf_skb_load_bytes(skb, off + ihl - 1, &last, 1))
		return PARSE_MALFORMED;
	p->family = TCS_FAMILY_V4;
	p->proto = ip.proto;
	p->dscp = ip.tos >> 2;
	p->ecn = ip.tos & 3;
	p->l3_off = (__u16)off;
	__builtin_memcpy(p->src, ip.saddr, 4);
	__builtin_memcpy(p->dst, ip.daddr, 4);
	frag = bpf_ntohs(ip.frag_off);
	if (frag & 0x1fff)
		p->frag = FRAG_LATER;
	else if (frag & 0x2000)
		p->frag = FRAG_FIRST;
	p->frag_id = ip.id;
	return parse_l4(skb, p, off + ihl);
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, struct pkt *p, __u32 off)
{
	struct {
		__u8 vtc;
		__u8 tcfl;
		__u16 fl;
		__u16 plen;
		__u8 nexthdr;
		__u8 hlim;
		__u8 saddr[16];
		__u8 daddr[16];
	} ip6;
	__u8 nh;
	int i;

	if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
		return PARSE_MALFORMED;
	if ((ip6.vtc >> 4) != 6)
		return PARSE_MALFORMED;
	p->family = TCS_FAMILY_V6;
	p->dscp = ((ip6.vtc & 0xf) << 2) | (ip6.tcfl >> 6);
	p->ecn = (ip6.tcfl >> 4) & 3;
	p->l3_off = (__u16)off;
	__builtin_memcpy(p->src, ip6.saddr, 16);
	__builtin_memcpy(p->dst, ip6.daddr, 16);
	off += sizeof(ip6);
	nh = ip6.nexthdr;

	/* one more turn than headers allowed: it finds the L4 header or a chain too long */
#pragma unroll
	for (i = 0; i <= TCS_MAX_EXTHDRS; i++) {
		struct {
			__u8 nexthdr;
			__u8 len;
			__u16 frag_off;
			__u32 id;
		} eh;

		if (!is_exthdr(nh)) {
			p->proto = nh;
			return parse_l4(skb, p, off);
		}
		if (i == TCS_MAX_EXTHDRS)
			break;
		if (bpf_skb_load_bytes(skb, off, &eh, nh == IPPROTO_FRAGMENT ? 8 : 2))
			return PARSE_MALFORMED;
		if (nh == IPPROTO_FRAGMENT) {
			__u16 fo = bpf_ntohs(eh.frag_off);

			p->frag_id = eh.id;
			off += 8;
			if (fo & 0xfff8) {
				/* payload from here on, whatever its next header says */
				p->frag = FRAG_LATER;
				p->proto = eh.nexthdr;
				if (is_exthdr(eh.nexthdr)) {
					p->flags |= PKT_NO_PROTO | PKT_NO_PORTS;
					p->hdr_len = off;
					return PARSE_OK;
				}
				return parse_l4(skb, p, off);
			}
			if (fo & 1)
				p->frag = FRAG_FIRST;
		} else {
			__u32 hl = nh == IPPROTO_AH ? ((__u32)eh.len + 2) * 4 : ((__u32)eh.len + 1) * 8;
			__u8 last;

			/* the whole header, not just its first two bytes */
			if (bpf_skb_load_bytes(skb, off + hl - 1, &last, 1))
				return PARSE_MALFORMED;
			off += hl;
		}
		nh = eh.nexthdr;
	}
	return PARSE_MALFORMED;
}

/*
 * A global function: the verifier checks it once, on its own, instead of
 * once per path of the caller, which keeps the program's verification small
 * (and loading fast, even on an emulated CPU). if_flags: the binding's
 * TCS_IF_*.
 */
__attribute__((noinline)) int parse_pkt(struct __sk_buff *skb, struct pkt *p, __u32 if_flags)
{
	if (!p)
		return PARSE_NOT_IP;
	__u32 off = sizeof(struct ethhdr);
	__u16 proto;
	int i;

	__builtin_memset(p, 0, sizeof(*p));
	if (if_flags & TCS_IF_L3) {
		/* no link-layer header: the device said which IP it carries */
		off = 0;
		proto = (__u16)skb->protocol;
		goto l3;
	}
	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)))
		return PARSE_NOT_IP;
	/* Tags the device did not strip into skb metadata are in the frame. */
#pragma unroll
	for (i = 0; i < TCS_MAX_VLANS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if (bpf_skb_load_bytes(skb, off + 2, &proto, sizeof(proto)))
			return PARSE_NOT_IP;
		off += 4;
	}
l3:
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(skb, p, off);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(skb, p, off);
	return PARSE_NOT_IP;
}

/*
 * The common packet, read straight from the skb's linear head: Ethernet
 * without tags (or an L3 device's bare IP), IPv4 not fragmented with or
 * without options, or IPv6 without extension headers, carrying TCP or UDP
 * whose header is in the head. Fills p exactly as parse_pkt() would, and
 * returns PARSE_OK; anything else (tags, fragments, extension headers, other
 * protocols, headers cut short or beyond the head) returns -1 and is left to
 * parse_pkt(), which gives the odd frames their verdicts. Inline, so the
 * packet pointers stay the caller's: no helper call for a common packet.
 */
static __always_inline int parse_fast(struct __sk_buff *skb, struct pkt *p, __u32 if_flags)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 off = 0, l4;
	__u16 proto;
	void *t;

	if (if_flags & TCS_IF_L3) {
		proto = (__u16)skb->protocol;
	} else {
		struct ethhdr *eth = data;

		if ((void *)(eth + 1) > end)
			return -1;
		proto = eth->h_proto;
		off = sizeof(*eth);
	}
	/* the headers' own types: aligned word loads, not byte by byte */
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;

		if ((void *)(ip + 1) > end)
			return -1;
		/* version 4, with or without options, not a fragment of anything */
		if (ip->version != 4 || ip->ihl < 5 || (ip->frag_off & bpf_htons(0x3fff)))
			return -1;
		l4 = off + ip->ihl * 4;
		p->family = TCS_FAMILY_V4;
		p->proto = ip->protocol;
		p->dscp = ip->tos >> 2;
		p->ecn = ip->tos & 3;
		p->frag_id = ip->id;
		__builtin_memcpy(p->src, &ip->saddr, 4);
		__builtin_memcpy(p->dst, &ip->daddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > end)
			return -1;
		if (ip6->version != 6)
			return -1;
		l4 = off + sizeof(*ip6);
		p->family = TCS_FAMILY_V6;
		p->proto = ip6->nexthdr;
		p->dscp = (ip6->priority << 2) | (ip6->flow_lbl[0] >> 6);
		p->ecn = (ip6->flow_lbl[0] >> 4) & 3;
		__builtin_memcpy(p->src, &ip6->saddr, 16);
		__builtin_memcpy(p->dst, &ip6->daddr, 16);
	} else {
		return -1;
	}
	if (l4 > 0xff)
		return -1;
	t = data + l4;
	p->l3_off = (__u16)off;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = t;

		if ((void *)(tcp + 1) > end)
			return -1;
		p->hdr_len = l4 + tcp->doff * 4;
		p->sport = tcp->source;
		p->dport = tcp->dest;
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *udp = t;

		if ((void *)(udp + 1) > end)
			return -1;
		p->hdr_len = l4 + sizeof(*udp);
		p->sport = udp->source;
		p->dport = udp->dest;
	} else {
		return -1;
	}
	return PARSE_OK;
}

#define TCS_PORT_VXLAN		4789
#define TCS_PORT_GENEVE		6081
#define TCS_ETH_P_TEB		0x6558	/* Ethernet bridged in GRE and Geneve */

/*
 * The headers every segment of a GSO packet repeats, when the packet is a
 * tunnel's (VXLAN, Geneve, GRE, IPv4/IPv6 in IP) built above this device:
 * outer headers, tunnel header, inner Ethernet (VXLAN, Geneve, GRE TEB),
 * inner IP and the inner TCP or UDP header. 0 when p is not such a packet
 * or its inner headers cannot be read: the caller keeps p->hdr_len.
 */
__attribute__((noinline)) int tunnel_hdr_len(struct __sk_buff *skb, const struct pkt *p)
{
	if (!p || p->frag != FRAG_NONE)
		return 0;
	__u32 off = p->hdr_len;	/* after the outer transport header */
	__u8 b[4], proto;
	__u16 et;

	switch (p->proto) {
	case IPPROTO_UDP:
		if (p->dport == bpf_htons(TCS_PORT_VXLAN)) {
			off += 8;
			goto eth;
		}
		if (p->dport != bpf_htons(TCS_PORT_GENEVE))
			return 0;
		if (bpf_skb_load_bytes(skb, off, b, 4))
			return 0;
		et = (__u16)(b[2] << 8 | b[3]);
		off += 8 + (b[0] & 0x3f) * 4;
		if (et == TCS_ETH_P_TEB)
			goto eth;
		break;
	case IPPROTO_GRE:
		if (bpf_skb_load_bytes(skb, off, b, 4))
			return 0;
		et = (__u16)(b[2] << 8 | b[3]);
		/* checksum, key and sequence number: 4 bytes each when present */
		off += 4 + ((b[0] & 0x80) ? 4 : 0) + ((b[0] & 0x20) ? 4 : 0) +
		       ((b[0] & 0x10) ? 4 : 0);
		if (et == TCS_ETH_P_TEB)
			goto eth;
		break;
	case IPPROTO_IPIP:
		et = ETH_P_IP;
		break;
	case IPPROTO_IPV6:
		et = ETH_P_IPV6;
		break;
	default:
		return 0;
	}
	goto ip;
eth:
	if (bpf_skb_load_bytes(skb, off + 12, b, 2))
		return 0;
	et = (__u16)(b[0] << 8 | b[1]);
	off += 14;
ip:
	if (et == ETH_P_IP) {
		if (bpf_skb_load_bytes(skb, off, b, 1) ||
		    bpf_skb_load_bytes(skb, off + 9, &proto, 1))
			return 0;
		off += (b[0] & 0xf) * 4;
	} else if (et == ETH_P_IPV6) {
		if (bpf_skb_load_bytes(skb, off + 6, &proto, 1))
			return 0;
		off += 40;
	} else {
		return 0;
	}
	if (proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, off + 12, b, 1))
			return 0;
		off += (b[0] >> 4) * 4;
	} else if (proto == IPPROTO_UDP) {
		off += 8;
	}
	return (int)off;
}

#endif
