package safehttp_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/safehttp"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr string
		want string // substring of the reported range; "" means allowed
	}{
		// Public IPv4, including the addresses just outside blocked ranges.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"1.0.0.0", ""},
		{"9.255.255.255", ""},
		{"11.0.0.0", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"126.255.255.255", ""},
		{"128.0.0.0", ""},
		{"169.253.255.255", ""},
		{"169.255.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.0.1.0", ""},
		{"192.0.3.0", ""},
		{"192.167.255.255", ""},
		{"192.169.0.0", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"198.51.99.255", ""},
		{"203.0.112.255", ""},
		{"223.255.255.255", ""},

		// Blocked IPv4, at both ends of each range.
		{"0.0.0.0", "this-network"},
		{"0.255.255.255", "this-network"},
		{"10.0.0.0", "private"},
		{"10.255.255.255", "private"},
		{"100.64.0.0", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"169.254.0.0", "link-local"},
		{"169.254.169.254", "cloud metadata"},
		{"172.16.0.0", "private"},
		{"172.31.255.255", "private"},
		{"192.0.0.0", "IETF"},
		{"192.0.0.170", "IETF"},
		{"192.0.2.1", "documentation"},
		{"192.88.99.1", "6to4 relay"},
		{"192.168.0.1", "private"},
		{"192.168.255.255", "private"},
		{"198.18.0.0", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.255", "multicast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.254", "reserved"},
		{"255.255.255.255", "broadcast"},

		// IPv4-mapped IPv6 is judged as IPv4.
		{"::ffff:8.8.8.8", ""},
		{"::ffff:127.0.0.1", "IPv4-mapped loopback"},
		{"::ffff:10.1.2.3", "IPv4-mapped private"},
		{"::ffff:169.254.169.254", "IPv4-mapped link-local"},
		{"::ffff:0.0.0.0", "IPv4-mapped this-network"},

		// Public IPv6.
		{"2001:4860:4860::8888", ""},
		{"2606:4700:4700::1111", ""},
		{"2001:200::1", ""},
		{"2a00:1450:4001:80b::200e", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},  // 6to4 of 8.8.8.8
		{"2001:db9::1", ""},      // just past documentation
		{"3fff:1000::1", ""},     // just past 3fff::/20

		// Blocked IPv6.
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"::127.0.0.1", "not global unicast"},     // deprecated IPv4-compatible
		{"::ffff:0:7f00:1", "not global unicast"}, // IPv4-translated (SIIT)
		{"64:ff9b::7f00:1", "NAT64-embedded loopback"},
		{"64:ff9b::a9fe:a9fe", "NAT64-embedded link-local"},
		{"64:ff9b::c0a8:101", "NAT64-embedded private"},
		{"64:ff9b:1::808:808", "local-use NAT64"},
		{"2002:7f00:1::1", "6to4-embedded loopback"},
		{"2002:a00:1::", "6to4-embedded private"},
		{"100::1", "discard-only"},
		{"2001::1", "IETF"},   // Teredo
		{"2001:2::1", "IETF"}, // benchmarking
		{"2001:db8::1", "documentation"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
		{"3fff::1", "documentation"},
		{"fc00::1", "unique local"},
		{"fd12:3456:789a::1", "unique local"},
		{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"fec0::1", "site-local"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},
		{"4000::1", "not global unicast"},
		{"1::1", "not global unicast"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := safehttp.CheckAddr(netip.MustParseAddr(tt.addr))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckAddr(%s) = %v, want allowed", tt.addr, err)
				}
				return
			}
			var be *safehttp.BlockedAddressError
			if !errors.As(err, &be) || !errors.Is(err, safehttp.ErrPrivateAddress) {
				t.Fatalf("CheckAddr(%s) = %v, want a BlockedAddressError", tt.addr, err)
			}
			if !strings.Contains(be.Range, tt.want) {
				t.Errorf("CheckAddr(%s) range = %q, want it to mention %q", tt.addr, be.Range, tt.want)
			}
			if !strings.Contains(err.Error(), "public") {
				t.Errorf("message %q does not say how to fix the problem", err)
			}
		})
	}
}

func TestCheckAddrInvalid(t *testing.T) {
	if err := safehttp.CheckAddr(netip.Addr{}); !errors.Is(err, safehttp.ErrPrivateAddress) {
		t.Fatalf("CheckAddr(zero Addr) = %v, want ErrPrivateAddress", err)
	}
}
