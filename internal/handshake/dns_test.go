package handshake_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
)

// fakeResolver answers A queries for the names in hosts and NXDOMAIN for
// every other name (AAAA queries get no answer), over in-memory pipes: no
// test sends a DNS packet to the network.
func fakeResolver(hosts map[string]netip.Addr) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveDNS(server, hosts)
			return client, nil // not a PacketConn, so the resolver frames messages as over TCP
		},
	}
}

// serveDNS answers length-prefixed queries on conn until it is closed.
func serveDNS(conn net.Conn, hosts map[string]netip.Addr) {
	defer conn.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(conn, q); err != nil {
			return
		}
		resp := answer(q, hosts)
		if resp == nil {
			return
		}
		if _, err := conn.Write(binary.BigEndian.AppendUint16(nil, uint16(len(resp)))); err != nil {
			return
		}
		if _, err := conn.Write(resp); err != nil {
			return
		}
	}
}

// answer builds the response to a one-question query (RFC 1035 §4.1.1).
func answer(q []byte, hosts map[string]netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		end := i + 1 + int(q[i])
		if end > len(q) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(q[i+1:end])))
		i = end
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1 : i+3])
	addr, known := hosts[strings.Join(labels, ".")]
	rcode, count := byte(0), byte(0)
	switch {
	case !known:
		rcode = 3 // NXDOMAIN
	case qtype == 1 && addr.Is4():
		count = 1
	}
	resp := append([]byte{q[0], q[1], 0x84 | q[2]&1, 0x80 | rcode, 0, 1, 0, count, 0, 0, 0, 0}, q[12:i+5]...)
	if count == 1 {
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4) // name pointer, A, IN, TTL 60, length 4
		resp = append(resp, addr.AsSlice()...)
	}
	return resp
}
