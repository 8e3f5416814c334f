package safehttp

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrPrivateAddress is wrapped by every error that refuses a destination
// because it is not on the public internet: a [*BlockedAddressError] from the
// dialer, or a [ValidateURL] error for an IP-literal host.
var ErrPrivateAddress = errors.New("address is not on the public internet")

// BlockedAddressError reports an IP address in a range Bahasha never
// connects to. It matches [ErrPrivateAddress] with errors.Is.
type BlockedAddressError struct {
	Addr  netip.Addr // the refused address, as dialled or written
	Range string     // what the range is, e.g. "loopback" or "private (RFC 1918)"
}

// Error says which address was refused and what to do about it.
func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("%s is in a blocked range (%s); Bahasha delivers only to public internet addresses, "+
		"so point the webhook URL at a publicly reachable HTTPS server (for local development, a tunnel such as ngrok)",
		e.Addr, e.Range)
}

// Unwrap makes errors.Is(err, ErrPrivateAddress) true.
func (e *BlockedAddressError) Unwrap() error { return ErrPrivateAddress }

type blockedRange struct {
	prefix netip.Prefix
	name   string
}

// blockedV4 lists the IPv4 ranges that are not public unicast destinations
// (IANA IPv4 Special-Purpose Address Registry, plus multicast and class E).
// It is a constant table, not configuration.
var blockedV4 = []blockedRange{
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network 0.0.0.0/8"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (including cloud metadata)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (TEST-NET-1)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (TEST-NET-2)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (TEST-NET-3)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)"},
}

// blockedV6 names IPv6 ranges for clearer messages. Anything outside
// 2000::/3 (global unicast) is blocked whether listed here or not.
var blockedV6 = []blockedRange{
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (RFC 8215)"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignment (Teredo, benchmarking, ORCHID)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (private IPv6)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	nat64V6         = netip.MustParsePrefix("64:ff9b::/96")
	sixToFourV6     = netip.MustParsePrefix("2002::/16")
)

// CheckAddr returns nil if ip is a public unicast address Bahasha may
// connect to, and a [*BlockedAddressError] otherwise.
//
// IPv4 addresses are refused in loopback, private, link-local (including
// cloud metadata at 169.254.169.254), carrier-grade NAT, "this network",
// IETF, documentation, benchmarking, 6to4-relay, multicast, reserved and
// broadcast ranges. IPv6 addresses are allowed only in global unicast
// 2000::/3, minus documentation, IETF-assignment and similar ranges.
// Addresses that embed an IPv4 address — IPv4-mapped (::ffff:a.b.c.d),
// NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::) — are judged by the
// embedded address. Zones are ignored; the zero Addr is refused.
func CheckAddr(ip netip.Addr) error {
	ip = ip.WithZone("")
	if !ip.IsValid() {
		return &BlockedAddressError{Addr: ip, Range: "invalid"}
	}
	b := ip.As16()
	switch {
	case ip.Is4():
		return checkV4(ip, ip, "")
	case ip.Is4In6():
		return checkV4(ip, ip.Unmap(), "IPv4-mapped ")
	case nat64V6.Contains(ip):
		return checkV4(ip, netip.AddrFrom4([4]byte(b[12:16])), "NAT64-embedded ")
	case sixToFourV6.Contains(ip):
		return checkV4(ip, netip.AddrFrom4([4]byte(b[2:6])), "6to4-embedded ")
	}
	for _, r := range blockedV6 {
		if r.prefix.Contains(ip) {
			return &BlockedAddressError{Addr: ip, Range: r.name}
		}
	}
	if !globalUnicastV6.Contains(ip) {
		return &BlockedAddressError{Addr: ip, Range: "reserved IPv6 (not global unicast)"}
	}
	return nil
}

// checkV4 judges v4, the IPv4 address ip is or carries; kind prefixes the
// range name when ip is an IPv6 address embedding v4.
func checkV4(ip, v4 netip.Addr, kind string) error {
	for _, r := range blockedV4 {
		if r.prefix.Contains(v4) {
			return &BlockedAddressError{Addr: ip, Range: kind + r.name}
		}
	}
	return nil
}
