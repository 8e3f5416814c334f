package safehttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// Reason classifies why a request failed. The values are part of Bahasha's
// public API (details.reason) and must not change.
type Reason string

// The reasons [Classify] returns.
const (
	// ReasonPrivateAddress: the destination is not on the public internet
	// (loopback, private network, cloud metadata, ...).
	ReasonPrivateAddress Reason = "private_address"
	// ReasonTimeout: the server did not answer within the time limit.
	ReasonTimeout Reason = "timeout"
	// ReasonTLS: the TLS handshake failed, e.g. an untrusted, expired or
	// mismatched certificate, or a server that does not speak TLS.
	ReasonTLS Reason = "tls"
	// ReasonDNS: the host name could not be resolved.
	ReasonDNS Reason = "dns"
	// ReasonConnect: no connection could be made (refused, unreachable), or
	// the server closed or reset it before answering.
	ReasonConnect Reason = "connect"
	// ReasonOther: anything else, including invalid URLs and cancellation.
	ReasonOther Reason = "other"
)

// Classify returns the [Reason] for an error from [Client.Do] or from
// reading a response body, or "" for a nil error. The checks run in the
// order the constants are listed, so a refused address is private_address
// even though the dial failed, and a DNS lookup that timed out is dns.
func Classify(err error) Reason {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrPrivateAddress) {
		return ReasonPrivateAddress
	}
	if _, ok := errorsAs[*net.DNSError](err); ok {
		return ReasonDNS
	}
	if isTLS(err) {
		return ReasonTLS
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	if ne, ok := errorsAs[net.Error](err); ok && ne.Timeout() {
		return ReasonTimeout
	}
	if op, ok := errorsAs[*net.OpError](err); ok && op.Op == "dial" {
		return ReasonConnect
	}
	for _, target := range []error{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EHOSTUNREACH,
		syscall.ENETUNREACH, syscall.EPIPE, io.EOF, io.ErrUnexpectedEOF,
	} {
		if errors.Is(err, target) {
			return ReasonConnect
		}
	}
	// net/http's unexported errServerClosedIdle: the server closed the
	// connection before answering, and it wraps nothing.
	if strings.Contains(err.Error(), "server closed idle connection") {
		return ReasonConnect
	}
	return ReasonOther
}

// isTLS reports whether err comes from a TLS handshake or certificate check.
func isTLS(err error) bool {
	if _, ok := errorsAs[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errorsAs[tls.RecordHeaderError](err); ok {
		return true
	}
	if _, ok := errorsAs[tls.AlertError](err); ok {
		return true
	}
	if _, ok := errorsAs[*tls.ECHRejectionError](err); ok {
		return true
	}
	if _, ok := errorsAs[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errorsAs[x509.HostnameError](err); ok {
		return true
	}
	if _, ok := errorsAs[x509.CertificateInvalidError](err); ok {
		return true
	}
	if op, ok := errorsAs[*net.OpError](err); ok && op.Op == "remote error" {
		return true // an alert from the peer, e.g. "tls: handshake failure"
	}
	if errors.Is(err, http.ErrSchemeMismatch) {
		return true // a plain-HTTP server on an https URL
	}
	// Many handshake failures are plain errors.New("tls: ...") values.
	return strings.Contains(err.Error(), "tls: ")
}

// errorsAs is errors.As for a target type, returning the match.
func errorsAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}
