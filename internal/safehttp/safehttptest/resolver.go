// Package safehttptest helps test code that uses the SSRF-safe client: a DNS
// resolver that answers from a table over in-memory pipes, so that tests can
// make host names resolve to loopback (or to blocked addresses) without one
// packet reaching the network.
package safehttptest

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
)

// Resolver returns a resolver that answers A and AAAA queries from hosts
// and NXDOMAIN for every other name, over in-memory pipes: no test ever sends
// a DNS packet to the network. Pass it as safehttp.Config.Resolver.
func Resolver(hosts map[string][]netip.Addr) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveDNS(server, hosts)
			return client, nil // not a PacketConn, so the resolver uses TCP framing
		},
	}
}

// serveDNS answers length-prefixed DNS queries on conn until it is closed.
func serveDNS(conn net.Conn, hosts map[string][]netip.Addr) {
	defer conn.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(conn, query); err != nil {
			return
		}
		resp := dnsAnswer(query, hosts)
		if resp == nil {
			return
		}
		if _, err := conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
			return
		}
	}
}

// dnsAnswer builds the response to a one-question query (RFC 1035 §4.1).
func dnsAnswer(q []byte, hosts map[string][]netip.Addr) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(q[i+1:i+1+l])))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	question := q[12 : i+5]
	qtype := binary.BigEndian.Uint16(q[i+1 : i+3])

	addrs, known := hosts[strings.Join(labels, ".")]
	var answers [][]byte
	for _, a := range addrs {
		switch {
		case qtype == 1 && a.Is4():
			answers = append(answers, a.AsSlice())
		case qtype == 28 && a.Is6():
			answers = append(answers, a.AsSlice())
		}
	}
	rcode := byte(0)
	if !known {
		rcode = 3 // NXDOMAIN
	}
	resp := []byte{
		q[0], q[1], // ID
		0x84 | q[2]&0x01, // QR, AA, RD copied
		0x80 | rcode,     // RA
		0, 1, 0, byte(len(answers)), 0, 0, 0, 0,
	}
	resp = append(resp, question...)
	for _, rdata := range answers {
		resp = append(resp, 0xc0, 12) // pointer to the question's name
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = append(resp, 0, 1, 0, 0, 0, 60) // class IN, TTL 60s
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}
