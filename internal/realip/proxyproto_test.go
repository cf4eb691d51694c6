package realip

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
)

// encodeV1 is h.AppendText.
func encodeV1(t testing.TB, h *ProxyHeader) []byte {
	t.Helper()
	b, err := h.AppendText(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeV2 is h.AppendBinary with tlvs appended.
func encodeV2(t testing.TB, h *ProxyHeader, tlvs []byte) []byte {
	t.Helper()
	b, err := h.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, tlvs...)
	binary.BigEndian.PutUint16(b[14:16], uint16(len(b)-v2HeaderLen))
	return b
}

// v2Raw builds a v2 header from its fields, for malformed ones.
func v2Raw(verCmd, famProto byte, length uint16, body []byte) []byte {
	b := append(append([]byte{}, v2Signature...), verCmd, famProto)
	return append(binary.BigEndian.AppendUint16(b, length), body...)
}

const request = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"

func header(src, dst string) *ProxyHeader {
	return &ProxyHeader{Source: netip.MustParseAddrPort(src), Destination: netip.MustParseAddrPort(dst)}
}

// read parses in and returns the header and what follows it.
func read(t *testing.T, in []byte) (*ProxyHeader, string, error) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(in))
	h, err := ReadProxyHeader(r)
	rest, _ := io.ReadAll(r)
	return h, string(rest), err
}

func TestReadProxyHeaderValid(t *testing.T) {
	t.Parallel()
	tlvs := []byte{0x04, 0x00, 0x03, 'a', 'b', 'c', 0x01, 0x00, 0x02, 'h', '2'} // NOOP, ALPN
	v4, v6 := header("203.0.113.7:4711", "10.0.0.1:3000"), header("[2001:db8::7]:4711", "[2001:db8::1]:443")
	local := &ProxyHeader{Local: true}
	cases := []struct {
		name string
		in   []byte
		want ProxyHeader
	}{
		{"v1 TCP4", encodeV1(t, v4), ProxyHeader{Version: 1, Source: v4.Source, Destination: v4.Destination}},
		{"v1 TCP6", encodeV1(t, v6), ProxyHeader{Version: 1, Source: v6.Source, Destination: v6.Destination}},
		{"v1 UNKNOWN", encodeV1(t, local), ProxyHeader{Version: 1, Local: true}},
		{"v1 UNKNOWN with addresses", []byte("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"), ProxyHeader{Version: 1, Local: true}},
		{"v1 the longest line", []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
			ProxyHeader{Version: 1, Source: netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
				Destination: netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")}},
		{"v1 TCP6 IPv4-mapped", []byte("PROXY TCP6 ::ffff:203.0.113.7 ::1 1 2\r\n"),
			ProxyHeader{Version: 1, Source: netip.MustParseAddrPort("203.0.113.7:1"), Destination: netip.MustParseAddrPort("[::1]:2")}},
		{"v2 TCP over IPv4", encodeV2(t, v4, nil), ProxyHeader{Version: 2, Source: v4.Source, Destination: v4.Destination}},
		{"v2 TCP over IPv6", encodeV2(t, v6, nil), ProxyHeader{Version: 2, Source: v6.Source, Destination: v6.Destination}},
		{"v2 with TLVs", encodeV2(t, v4, tlvs), ProxyHeader{Version: 2, Source: v4.Source, Destination: v4.Destination}},
		{"v2 LOCAL (a health check)", encodeV2(t, local, nil), ProxyHeader{Version: 2, Local: true}},
		{"v2 LOCAL with addresses", v2Raw(0x20, 0x11, 12, make([]byte, 12)), ProxyHeader{Version: 2, Local: true}},
		{"v2 UNSPEC", v2Raw(0x21, 0x00, 3, []byte{1, 2, 3}), ProxyHeader{Version: 2, Local: true}},
		{"v2 UDP", v2Raw(0x21, 0x12, 12, make([]byte, 12)), ProxyHeader{Version: 2, Local: true}},
		{"v2 UNIX", v2Raw(0x21, 0x31, 216, make([]byte, 216)), ProxyHeader{Version: 2, Local: true}},
	}
	for _, tc := range cases {
		h, rest, err := read(t, append(tc.in, request...))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if *h != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, *h, tc.want)
		}
		if rest != request {
			t.Errorf("%s: the stream after the header is %q", tc.name, rest)
		}
	}
}

func TestReadProxyHeaderNone(t *testing.T) {
	t.Parallel()
	for _, in := range []string{request, "POST / HTTP/1.1\r\n", "PUT / HTTP/1.1\r\n", "PATCH / HTTP/1.1\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\r\nGET / HTTP/1.1\r\n", "\r\n\r\n\x00\r\nQUIX\n", "PROXYTCP4"} {
		h, rest, err := read(t, []byte(in))
		if !errors.Is(err, ErrNoProxyHeader) || h != nil || rest != in {
			t.Errorf("%q: %v %v, rest %q", in, h, err, rest)
		}
	}
	if _, _, err := read(t, nil); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
}

func TestReadProxyHeaderMalformed(t *testing.T) {
	t.Parallel()
	v4 := header("203.0.113.7:4711", "10.0.0.1:3000")
	long := "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n"
	cases := map[string][]byte{
		"v1 without CRLF":          []byte("PROXY TCP4 203.0.113.7 10.0.0.1 4711 3000\n"),
		"v1 longer than 107":       []byte(long),
		"v1 no end":                []byte(strings.Repeat("PROXY ", 30)),
		"v1 truncated":             []byte("PROXY TCP4 203.0.113.7"),
		"v1 cut in the signature":  []byte("PROX"),
		"v1 unknown family":        []byte("PROXY UDP4 203.0.113.7 10.0.0.1 4711 3000\r\n"),
		"v1 lower case":            []byte("PROXY tcp4 203.0.113.7 10.0.0.1 4711 3000\r\n"),
		"v1 IPv6 for TCP4":         []byte("PROXY TCP4 2001:db8::7 10.0.0.1 4711 3000\r\n"),
		"v1 IPv4 for TCP6":         []byte("PROXY TCP6 203.0.113.7 2001:db8::1 4711 3000\r\n"),
		"v1 a zone":                []byte("PROXY TCP6 fe80::1%eth0 2001:db8::1 4711 3000\r\n"),
		"v1 a port too large":      []byte("PROXY TCP4 203.0.113.7 10.0.0.1 65536 3000\r\n"),
		"v1 a signed port":         []byte("PROXY TCP4 203.0.113.7 10.0.0.1 +4711 3000\r\n"),
		"v1 a missing field":       []byte("PROXY TCP4 203.0.113.7 10.0.0.1 4711\r\n"),
		"v1 an extra field":        []byte("PROXY TCP4 203.0.113.7 10.0.0.1 4711 3000 1\r\n"),
		"v1 two spaces":            []byte("PROXY TCP4  203.0.113.7 10.0.0.1 4711 3000\r\n"),
		"v1 a host name":           []byte("PROXY TCP4 client.example 10.0.0.1 4711 3000\r\n"),
		"v2 version 1":             v2Raw(0x11, 0x11, 12, make([]byte, 12)),
		"v2 command 2":             v2Raw(0x22, 0x11, 12, make([]byte, 12)),
		"v2 family 4":              v2Raw(0x21, 0x41, 12, make([]byte, 12)),
		"v2 transport 3":           v2Raw(0x21, 0x13, 12, make([]byte, 12)),
		"v2 too short for IPv4":    v2Raw(0x21, 0x11, 11, make([]byte, 11)),
		"v2 too short for IPv6":    v2Raw(0x21, 0x21, 12, make([]byte, 12)),
		"v2 truncated addresses":   encodeV2(t, v4, nil)[:20],
		"v2 truncated TLVs":        encodeV2(t, v4, []byte{4, 0, 10, 1})[:30],
		"v2 truncated fixed part":  v2Raw(0x21, 0x11, 12, nil)[:14],
		"v2 cut in the signature":  v2Signature[:7],
		"v2 LOCAL cut before body": v2Raw(0x20, 0x00, 5, []byte{1}),
	}
	for name, in := range cases {
		h, _, err := read(t, in)
		if err == nil || errors.Is(err, ErrNoProxyHeader) || errors.Is(err, io.EOF) {
			t.Errorf("%s: %+v, %v: want a malformed header error", name, h, err)
		}
	}
}

func TestAppendRefuses(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]*ProxyHeader{
		"no addresses": {},
		"a zone":       {Source: netip.MustParseAddrPort("[fe80::1%eth0]:1"), Destination: netip.MustParseAddrPort("[fe80::2]:2")},
	} {
		if _, err := h.AppendText(nil); err == nil {
			t.Errorf("%s: AppendText succeeded", name)
		}
		if _, err := h.AppendBinary(nil); err == nil {
			t.Errorf("%s: AppendBinary succeeded", name)
		}
	}
	// Mixed families go as IPv6, and read back as they were.
	mixed := header("203.0.113.7:1", "[2001:db8::1]:2")
	for _, enc := range []func([]byte) ([]byte, error){mixed.AppendText, mixed.AppendBinary} {
		b, err := enc(nil)
		if err != nil {
			t.Fatal(err)
		}
		if h, _, err := read(t, b); err != nil || h.Source != mixed.Source || h.Destination != mixed.Destination {
			t.Fatalf("%q reads back as %+v, %v", b, h, err)
		}
	}
	// The v2 form of the spec's section 2.2: signature, 0x21, 0x11, length 12.
	b, err := header("192.0.2.1:56324", "192.0.2.2:443").AppendBinary([]byte("x"))
	want := "x\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x01\xc0\x00\x02\x02\xdc\x04\x01\xbb"
	if err != nil || string(b) != want {
		t.Fatalf("AppendBinary = %q, %v; want %q", b, err, want)
	}
}

// FuzzReadProxyHeader: no input panics; an input without a signature is
// left unread; a header read is a valid one, and reads back the same once
// encoded again in its version.
func FuzzReadProxyHeader(f *testing.F) {
	v4, v6 := header("203.0.113.7:4711", "10.0.0.1:3000"), header("[2001:db8::7]:4711", "[2001:db8::1]:443")
	for _, seed := range [][]byte{
		encodeV1(f, v4), encodeV1(f, v6), encodeV1(f, &ProxyHeader{Local: true}),
		encodeV2(f, v4, nil), encodeV2(f, v6, []byte{1, 0, 2, 'h', '2'}), encodeV2(f, &ProxyHeader{Local: true}, nil),
		v2Raw(0x21, 0x31, 216, make([]byte, 216)), []byte(request), []byte("PROX"),
	} {
		f.Add(append(seed, request...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		h, err := ReadProxyHeader(r)
		rest, _ := io.ReadAll(r)
		switch {
		case errors.Is(err, ErrNoProxyHeader):
			if !bytes.Equal(rest, in) {
				t.Fatalf("no header, but %d bytes consumed", len(in)-len(rest))
			}
			return
		case err != nil:
			return
		}
		if h.Version != 1 && h.Version != 2 {
			t.Fatalf("version %d", h.Version)
		}
		if h.Local != !h.Source.IsValid() || h.Local != !h.Destination.IsValid() {
			t.Fatalf("Local %v with addresses %v %v", h.Local, h.Source, h.Destination)
		}
		if h.Source.Addr().Is4In6() || h.Source.Addr().Zone() != "" {
			t.Fatalf("source %v not normalised", h.Source)
		}
		enc, err := h.AppendText(nil)
		if h.Version == 2 {
			enc, err = h.AppendBinary(nil)
		}
		if err != nil {
			t.Fatalf("%+v does not encode: %v", *h, err)
		}
		again, err := ReadProxyHeader(bufio.NewReader(bytes.NewReader(enc)))
		if err != nil || *again != *h {
			t.Fatalf("%+v encoded as %q reads back as %+v, %v", *h, enc, again, err)
		}
	})
}
