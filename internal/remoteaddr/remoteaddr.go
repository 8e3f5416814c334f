// Package remoteaddr finds the address a request came from, believing a
// proxy's X-Forwarded-For only when the proxy is trusted.
package remoteaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Client is the address a request came from. When it came from a
// trusted proxy, the client is the last address of X-Forwarded-For that is
// not one (proxies append the address they got the request from, so the
// addresses left of it are the client's word and not believed); without
// trusted proxies the header is ignored and a proxy counts as one client,
// the safe side.
func Client(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := hopAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // not an address: what is left of it cannot be trusted
		}
		if !isTrusted(a, trusted) {
			return a.Unmap().String()
		}
		peer = a
	}
	return peer.Unmap().String()
}

// hopAddr reads an X-Forwarded-For entry: an address, or one with a port
// as some load balancers write it (1.2.3.4:5678, [2001:db8::1]:443).
func hopAddr(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	ap, err := netip.ParseAddrPort(s)
	return ap.Addr(), err
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
