package torcircuit

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/pires/go-proxyproto"
)

func TestFormatMatchesTor(t *testing.T) {
	// The expected lines are those of tor's own unit test (test_hs_service.c, test_export_client_circuit_id).
	for _, c := range []struct {
		h    Header
		want string
	}{
		{Header{Circuit: 666, VirtualPort: 42}, "PROXY TCP6 fc00:dead:beef:4dad::0:29a ::1 666 42\r\n"},
		{Header{Circuit: 0xffffffff, VirtualPort: 42}, "PROXY TCP6 fc00:dead:beef:4dad::ffff:ffff ::1 65535 42\r\n"},
		{Header{Circuit: 0x10000, VirtualPort: 80}, "PROXY TCP6 fc00:dead:beef:4dad::1:0 ::1 0 80\r\n"},
	} {
		got := string(Format(c.h))
		if got != c.want {
			t.Errorf("Format(%+v) = %q, want %q", c.h, got, c.want)
		}
		back, err := Parse([]byte(got))
		if err != nil {
			t.Errorf("Parse(%q): %v", got, err)
		} else if back != c.h {
			t.Errorf("Parse(%q) = %+v, want %+v", got, back, c.h)
		}
	}
}

// badHeaders are inputs Parse and the Listener must refuse, with the error each must wrap.
func badHeaders(t testing.TB) map[string]struct {
	in   []byte
	want error
} {
	v2, err := proxyproto.HeaderProxyFromAddrs(2,
		&net.TCPAddr{IP: net.ParseIP("fc00:dead:beef:4dad::0:29a"), Port: 666},
		&net.TCPAddr{IP: net.IPv6loopback, Port: 80}).Format()
	if err != nil {
		t.Fatal(err)
	}
	type c = struct {
		in   []byte
		want error
	}
	valid := "PROXY TCP6 fc00:dead:beef:4dad::0:29a ::1 666 80\r\n"
	return map[string]c{
		"missing (plain HTTP)": {[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrNoHeader},
		"empty":                {nil, ErrNoHeader},
		"truncated":            {[]byte(valid[:30]), ErrBadHeader},
		"truncated before CR":  {[]byte(valid[:len(valid)-2]), ErrBadHeader},
		"LF without CR":        {[]byte(strings.Replace(valid, "\r\n", "\n", 1)), ErrBadHeader},
		"oversize":             {[]byte("PROXY TCP6 " + strings.Repeat("f", 200) + "\r\n"), ErrBadHeader},
		"v2 binary":            {v2, ErrBadHeader},
		"TCP4":                 {[]byte("PROXY TCP4 10.0.0.1 127.0.0.1 666 80\r\n"), ErrBadHeader},
		"UNKNOWN":              {[]byte("PROXY UNKNOWN\r\n"), ErrBadHeader},
		"other /64":            {[]byte("PROXY TCP6 fc00:dead:beef:4dae::0:29a ::1 666 80\r\n"), ErrBadHeader},
		"middle bits set":      {[]byte("PROXY TCP6 fc00:dead:beef:4dad:0:1:0:29a ::1 666 80\r\n"), ErrBadHeader},
		"v4-mapped source":     {[]byte("PROXY TCP6 ::ffff:10.0.0.1 ::1 666 80\r\n"), ErrBadHeader},
		"destination not ::1":  {[]byte("PROXY TCP6 fc00:dead:beef:4dad::0:29a ::2 666 80\r\n"), ErrBadHeader},
		"port mismatch":        {[]byte("PROXY TCP6 fc00:dead:beef:4dad::0:29a ::1 667 80\r\n"), ErrBadHeader},
		"tor's no-circuit":     {[]byte("PROXY TCP6 fc00:dead:beef:4dad::0:0 ::1 1 80\r\n"), ErrBadHeader},
		"extra token":          {[]byte("PROXY TCP6 fc00:dead:beef:4dad::0:29a ::1 666 80 x\r\n"), ErrBadHeader},
		"zone":                 {[]byte("PROXY TCP6 fe80::1%lo ::1 666 80\r\n"), ErrBadHeader},
		"lowercase keyword":    {[]byte("proxy TCP6 fc00:dead:beef:4dad::0:29a ::1 666 80\r\n"), ErrNoHeader},
	}
}

func TestParseRefuses(t *testing.T) {
	for name, c := range badHeaders(t) {
		h, err := Parse(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Parse = %+v, %v; want an error wrapping %v", name, h, err, c.want)
		}
	}
	if _, err := Parse(append(Format(Header{Circuit: 5, VirtualPort: 80}), 'G')); !errors.Is(err, ErrBadHeader) {
		t.Errorf("bytes after the header: got %v, want ErrBadHeader", err)
	}
}

// FuzzParse: whatever Parse accepts, Format writes back as a line Parse reads as the same header, and
// Parse never accepts more than MaxHeaderLen bytes.
func FuzzParse(f *testing.F) {
	f.Add(Format(Header{Circuit: 666, VirtualPort: 80}))
	f.Add(Format(Header{Circuit: 0xffffffff, VirtualPort: 65535}))
	f.Add([]byte("PROXY TCP6 fc00:dead:beef:4dad:0:0:0:29a ::1 666 80\r\n"))
	f.Add([]byte("PROXY TCP6 fc00:dead:beef:4dad::0:29a 0:0:0:0:0:0:0:1 666 80\r\n"))
	for _, c := range badHeaders(f) {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrNoHeader) {
				t.Fatalf("Parse(%q): unexpected error kind %v", b, err)
			}
			return
		}
		if len(b) > MaxHeaderLen {
			t.Fatalf("Parse accepted %d bytes", len(b))
		}
		line := Format(h)
		back, err := Parse(line)
		if err != nil || back != h {
			t.Fatalf("round trip of %q: Format = %q, Parse = %+v, %v", b, line, back, err)
		}
		if !bytes.HasPrefix(b, []byte("PROXY TCP6 ")) || !bytes.HasSuffix(b, []byte("\r\n")) {
			t.Fatalf("accepted %q, which is not a TCP6 v1 line", b)
		}
	})
}

// FuzzFormat: every circuit and port formats to a line of at most MaxHeaderLen bytes that parses back.
func FuzzFormat(f *testing.F) {
	f.Add(uint32(0), uint16(0))
	f.Add(uint32(666), uint16(80))
	f.Fuzz(func(t *testing.T, id uint32, port uint16) {
		h := Header{Circuit: id, VirtualPort: port}
		line := Format(h)
		if len(line) > MaxHeaderLen {
			t.Fatalf("Format(%+v) is %d bytes", h, len(line))
		}
		back, err := Parse(line)
		if err != nil || back != h {
			t.Fatalf("Parse(Format(%+v)) = %+v, %v", h, back, err)
		}
	})
}
