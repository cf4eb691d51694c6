package realip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// AppendText appends h in the v1 (text) form to b, as HAProxy's send-proxy
// sends it; a Local header is "PROXY UNKNOWN". It implements
// encoding.TextAppender.
func (h *ProxyHeader) AppendText(b []byte) ([]byte, error) {
	if h.Local {
		return append(b, "PROXY UNKNOWN\r\n"...), nil
	}
	four, err := h.family()
	if err != nil {
		return b, err
	}
	if four {
		return fmt.Appendf(b, "PROXY TCP4 %s %s %d %d\r\n", h.Source.Addr(), h.Destination.Addr(),
			h.Source.Port(), h.Destination.Port()), nil
	}
	return fmt.Appendf(b, "PROXY TCP6 %s %s %d %d\r\n", as6(h.Source.Addr()), as6(h.Destination.Addr()),
		h.Source.Port(), h.Destination.Port()), nil
}

// AppendBinary appends h in the v2 (binary) form to b, as HAProxy's
// send-proxy-v2 sends it (without TLVs); a Local header has the LOCAL
// command of HAProxy's health checks. It implements
// encoding.BinaryAppender.
func (h *ProxyHeader) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, v2Signature...)
	if h.Local {
		return append(b, 0x20, 0x00, 0, 0), nil
	}
	four, err := h.family()
	if err != nil {
		return b, err
	}
	if four {
		s, d := h.Source.Addr().As4(), h.Destination.Addr().As4()
		b = append(append(append(b, 0x21, v2FamilyInet<<4|v2Stream, 0, v2IPv4Len), s[:]...), d[:]...)
	} else {
		s, d := h.Source.Addr().As16(), h.Destination.Addr().As16()
		b = append(append(append(b, 0x21, v2FamilyIPv6<<4|v2Stream, 0, v2IPv6Len), s[:]...), d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, h.Source.Port())
	return binary.BigEndian.AppendUint16(b, h.Destination.Port()), nil
}

// family reports whether h's addresses are both IPv4; otherwise they are
// sent as IPv6, an IPv4 one mapped (::ffff:192.0.2.7).
func (h *ProxyHeader) family() (four bool, err error) {
	if !h.Source.IsValid() || !h.Destination.IsValid() || h.Source.Addr().Zone() != "" || h.Destination.Addr().Zone() != "" {
		return false, errors.New("realip: PROXY header without addresses, or with a zone")
	}
	return h.Source.Addr().Is4() && h.Destination.Addr().Is4(), nil
}

// as6 returns a in its IPv6 form.
func as6(a netip.Addr) netip.Addr { return netip.AddrFrom16(a.As16()) }
