// Package torcircuit reads the PROXY-protocol header that tor writes at the start of every stream to an
// onion service configured with "HiddenServiceExportCircuitID haproxy", and tells the application which
// Tor circuit each connection came from.
//
// Tor (src/core/or/connection_edge.c, export_hs_client_circuit_id) writes one PROXY protocol v1 line
// before any of the client's bytes:
//
//	PROXY TCP6 fc00:dead:beef:4dad::HHHH:LLLL ::1 SRCPORT VIRTPORT\r\n
//
// where HHHH:LLLL are the high and low 16 bits of the circuit's global identifier in lowercase hex
// without leading zeros, SRCPORT is the low 16 bits again in decimal,
// and VIRTPORT is the onion service's virtual port. The identifier is unique among the circuits of one
// tor process; a client's Tor Browser "New Identity" (or any other isolation) gives a new circuit.
//
//	ln := torcircuit.NewListener(svc.Public(), 0) // only ever on tor's unix socket
//	conn, _ := ln.Accept()
//	id, ok := torcircuit.FromConn(conn)          // or FromAddr(conn.RemoteAddr())
//
// Trust comes from the socket, not from the header: the public service's unix socket lives in a 0700
// directory that only tor (running as the same user) can connect to, and tor writes the header itself
// before relaying a byte from the client, so a client cannot spoof one — whatever a client sends arrives
// after tor's header and is never read as a header. A listener that is not tor's socket (--dev-listen)
// must not be wrapped: there the bytes "PROXY …" are just the start of an (invalid) HTTP request and no
// connection has a circuit.
//
// Parsing and the slow-header defence come from github.com/pires/go-proxyproto: the v1 line is at most
// 107 bytes and must arrive in one read within the header timeout. On top of that this package accepts
// only what tor writes: version 1, TCP6, a source inside fc00:dead:beef:4dad::/64 with bits 64–95 zero,
// destination ::1 and a source port that matches the identifier. Anything else closes the connection.
package torcircuit

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/pires/go-proxyproto"
)

// MaxHeaderLen is the longest PROXY v1 line (the protocol's own bound); tor's lines are at most 58 bytes.
const MaxHeaderLen = 107

// prefix is the /64 in which tor encodes circuit identifiers (an RFC 4193 unique local prefix).
var prefix = [8]byte{0xfc, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x4d, 0xad}

// Errors returned by this package. Callers branch on them with errors.Is.
var (
	// ErrNoHeader means the connection did not open with a PROXY header within the header timeout.
	ErrNoHeader = errors.New("torcircuit: connection did not start with tor's PROXY header")
	// ErrBadHeader means the connection opened with a PROXY header that tor would not write.
	ErrBadHeader = errors.New("torcircuit: malformed PROXY header")
)

// Header is what tor's PROXY line says.
type Header struct {
	Circuit     uint32 // the circuit's global identifier in tor
	VirtualPort uint16 // the onion service port the client asked for
}

// Format returns the line tor writes for h, byte for byte as tor's tor_asprintf does.
func Format(h Header) []byte {
	b := make([]byte, 0, 64)
	b = append(b, "PROXY TCP6 fc00:dead:beef:4dad::"...)
	b = strconv.AppendUint(b, uint64(h.Circuit>>16), 16)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(h.Circuit&0xffff), 16)
	b = append(b, " ::1 "...)
	b = strconv.AppendUint(b, uint64(h.Circuit&0xffff), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(h.VirtualPort), 10)
	return append(b, "\r\n"...)
}

// Parse parses b, which must be exactly one PROXY header as tor writes it (nothing before or after).
func Parse(b []byte) (Header, error) {
	if len(b) > MaxHeaderLen {
		return Header{}, fmt.Errorf("%w: longer than %d bytes", ErrBadHeader, MaxHeaderLen)
	}
	r := bufio.NewReaderSize(bytes.NewReader(b), 256)
	ph, err := proxyproto.Read(r)
	if err != nil {
		return Header{}, headerError(err)
	}
	if r.Buffered() != 0 {
		return Header{}, fmt.Errorf("%w: bytes after the header", ErrBadHeader)
	}
	return fromProxy(ph)
}

// headerError maps the library's errors to ErrNoHeader / ErrBadHeader, keeping its reason.
func headerError(err error) error {
	if errors.Is(err, proxyproto.ErrNoProxyProtocol) {
		return ErrNoHeader
	}
	return fmt.Errorf("%w: %w", ErrBadHeader, err)
}

// fromProxy checks that ph is a header tor writes and extracts the circuit.
func fromProxy(ph *proxyproto.Header) (Header, error) {
	if ph.Version != 1 {
		return Header{}, fmt.Errorf("%w: PROXY version %d (tor writes version 1)", ErrBadHeader, ph.Version)
	}
	if ph.Command != proxyproto.PROXY || ph.TransportProtocol != proxyproto.TCPv6 {
		return Header{}, fmt.Errorf("%w: not a TCP6 line", ErrBadHeader)
	}
	src, dst, ok := ph.TCPAddrs()
	if !ok {
		return Header{}, fmt.Errorf("%w: no addresses", ErrBadHeader)
	}
	ip := src.IP.To16()
	if ip == nil || !bytes.Equal(ip[:8], prefix[:]) || binary.BigEndian.Uint32(ip[8:12]) != 0 {
		return Header{}, fmt.Errorf("%w: source is not a tor circuit address", ErrBadHeader)
	}
	if !dst.IP.Equal(net.IPv6loopback) {
		return Header{}, fmt.Errorf("%w: destination is not ::1", ErrBadHeader)
	}
	h := Header{Circuit: binary.BigEndian.Uint32(ip[12:16]), VirtualPort: uint16(dst.Port)}
	if src.Port != int(h.Circuit&0xffff) {
		// Also refuses tor's "no circuit" form (identifier 0, port 1), which it never writes for an
		// onion service stream: such a stream would have no circuit to budget.
		return Header{}, fmt.Errorf("%w: source port does not match the circuit", ErrBadHeader)
	}
	return h, nil
}
