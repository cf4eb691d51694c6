package realip

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// ProxyHeader is what a PROXY protocol header (HAProxy's proxy-protocol.txt,
// versions 1 and 2) says about a connection.
type ProxyHeader struct {
	// Version is 1 (the text form) or 2 (the binary form).
	Version int
	// Local is set when the header carries no client address: a v2 LOCAL
	// command (HAProxy's health checks with check-send-proxy), v1
	// "UNKNOWN", or a v2 address family other than TCP over IPv4 or IPv6.
	// The connection's own peer address stands then.
	Local bool
	// Source is the client's address and Destination the address it
	// connected to (both zero when Local).
	Source, Destination netip.AddrPort
}

// ErrNoProxyHeader is returned by ReadProxyHeader for a stream that does
// not start with a PROXY protocol signature.
var ErrNoProxyHeader = errors.New("realip: no PROXY protocol header")

// ErrMalformedProxyHeader is wrapped by the errors of ReadProxyHeader for
// a header that breaks the protocol (rather than a failed read).
var ErrMalformedProxyHeader = errors.New("realip: malformed PROXY protocol header")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedProxyHeader}, args...)...)
}

var (
	v1Signature = []byte("PROXY ")
	v2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

const (
	v1MaxLen     = 107 // the longest v1 line, CRLF included
	v2HeaderLen  = 16  // signature, version and command, family, length
	v2IPv4Len    = 12  // two addresses and two ports
	v2IPv6Len    = 36
	v2CmdProxy   = 0x1
	v2FamilyInet = 0x1
	v2FamilyIPv6 = 0x2
	v2FamilyUnix = 0x3
	v2Stream     = 0x1
	v2Dgram      = 0x2
)

// ReadProxyHeader reads a PROXY protocol header, v1 or v2, from the start
// of r. When r does not start with a signature it returns ErrNoProxyHeader
// and has consumed nothing; any other error is a malformed header or a
// failed read. It blocks until enough bytes arrive to tell: set a read
// deadline on the connection under r. r must buffer at least 107 bytes (a
// v1 line; bufio's default size is 4096).
func ReadProxyHeader(r *bufio.Reader) (*ProxyHeader, error) {
	v, err := peekSignature(r)
	if err != nil {
		return nil, err
	}
	switch v {
	case 1:
		return readV1(r)
	case 2:
		return readV2(r)
	}
	return nil, ErrNoProxyHeader
}

// peekSignature returns 1 or 2 when r starts with that version's
// signature, 0 when it does not, consuming nothing. It reads only as many
// bytes as it takes to tell: an HTTP request differs from both signatures
// within its first three bytes.
func peekSignature(r *bufio.Reader) (int, error) {
	for n := 1; ; n++ {
		b, err := r.Peek(n)
		if err != nil {
			if n == 1 && errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, fmt.Errorf("realip: reading a PROXY header: %w", noEOF(err))
		}
		v1, v2 := bytes.HasPrefix(v1Signature, b), bytes.HasPrefix(v2Signature, b)
		switch {
		case v1 && n == len(v1Signature):
			return 1, nil
		case v2 && n == len(v2Signature):
			return 2, nil
		case !v1 && !v2:
			return 0, nil
		}
	}
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readV1 reads a text header: "PROXY TCP4 192.0.2.7 198.51.100.1 4711 80\r\n",
// TCP6 likewise, or "PROXY UNKNOWN ...\r\n".
func readV1(r *bufio.Reader) (*ProxyHeader, error) {
	var line string
	for n := len(v1Signature) + 1; line == ""; n++ {
		if n > v1MaxLen {
			return nil, malformed("v1 line longer than 107 bytes")
		}
		b, err := r.Peek(n)
		if err != nil {
			return nil, fmt.Errorf("realip: reading a PROXY v1 line: %w", noEOF(err))
		}
		if b[n-1] == '\n' {
			line = string(b)
		}
	}
	_, _ = r.Discard(len(line))
	line, ok := strings.CutSuffix(line, "\r\n")
	if !ok {
		return nil, malformed("v1 line does not end with CRLF")
	}
	f := strings.Split(line, " ")
	if f[1] == "UNKNOWN" {
		return &ProxyHeader{Version: 1, Local: true}, nil
	}
	if len(f) != 6 || (f[1] != "TCP4" && f[1] != "TCP6") {
		return nil, malformed("v1 line %q", line)
	}
	src, err1 := v1Addr(f[2], f[4], f[1] == "TCP4")
	dst, err2 := v1Addr(f[3], f[5], f[1] == "TCP4")
	if err := errors.Join(err1, err2); err != nil {
		return nil, malformed("v1 line %q: %v", line, err)
	}
	return &ProxyHeader{Version: 1, Source: src, Destination: dst}, nil
}

func v1Addr(ip, port string, four bool) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" || a.Is4() != four {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", ip)
	}
	if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}

// readV2 reads a binary header: the signature, the version and command,
// the address family and transport, the length of the rest, the addresses
// and ports, then TLVs (skipped).
func readV2(r *bufio.Reader) (*ProxyHeader, error) {
	b, err := r.Peek(v2HeaderLen)
	if err != nil {
		return nil, fmt.Errorf("realip: reading a PROXY v2 header: %w", noEOF(err))
	}
	verCmd, famProto, length := b[12], b[13], int(binary.BigEndian.Uint16(b[14:16]))
	_, _ = r.Discard(v2HeaderLen)
	if verCmd>>4 != 2 || verCmd&0xf > v2CmdProxy {
		return nil, malformed("v2 version and command 0x%02x", verCmd)
	}
	family, proto := famProto>>4, famProto&0xf
	if family > v2FamilyUnix || proto > v2Dgram {
		return nil, malformed("v2 family and transport 0x%02x", famProto)
	}
	h := &ProxyHeader{Version: 2, Local: true}
	var addrs [v2IPv6Len]byte
	used := 0
	if verCmd&0xf == v2CmdProxy && proto == v2Stream {
		switch family {
		case v2FamilyInet:
			used = v2IPv4Len
		case v2FamilyIPv6:
			used = v2IPv6Len
		}
	}
	if used > length {
		return nil, malformed("v2 length %d too short for its addresses", length)
	}
	if _, err := io.ReadFull(r, addrs[:used]); err != nil {
		return nil, fmt.Errorf("realip: reading a PROXY v2 header: %w", noEOF(err))
	}
	if _, err := r.Discard(length - used); err != nil {
		return nil, fmt.Errorf("realip: reading a PROXY v2 header: %w", noEOF(err))
	}
	switch used {
	case v2IPv4Len:
		h.Local = false
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(addrs[0:4])), binary.BigEndian.Uint16(addrs[8:10]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte(addrs[4:8])), binary.BigEndian.Uint16(addrs[10:12]))
	case v2IPv6Len:
		h.Local = false
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(addrs[0:16])).Unmap(), binary.BigEndian.Uint16(addrs[32:34]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom16([16]byte(addrs[16:32])).Unmap(), binary.BigEndian.Uint16(addrs[34:36]))
	}
	return h, nil
}
