package clientdist

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// acceptSpec is one entry of Accept-Encoding: its coding, quality and
// position.
type acceptSpec struct {
	coding string
	q      float64
	order  int
}

// priority is how well an offered encoding is accepted: the quality and
// position of the entry that matched it, whether the match was exact
// (specific) rather than "*", and the encoding's own position in the offer.
type priority struct {
	q        float64
	specific int
	order    int
	index    int
}

// negotiate picks the encoding Node's socket.io would send for an
// Accept-Encoding header: the first of accepts(req).encodings(["br",
// "gzip", "deflate"]) as the negotiator package (0.6) ranks them, by
// quality, then an exact match over "*", then the order of the header's
// entries, then the order of the offer. It returns "" for no encoding.
// (So "gzip, deflate, br", as browsers send it, picks gzip.)
func negotiate(header []string) string {
	var specs []acceptSpec
	for i, part := range strings.Split(strings.Join(header, ","), ",") {
		if s, ok := parseSpec(part, i); ok {
			specs = append(specs, s)
		}
	}
	var ranked []priority
	for i, e := range encodings {
		p := priority{order: -1, index: i}
		for _, s := range specs {
			c := priority{q: s.q, order: s.order, index: i}
			switch {
			case strings.EqualFold(s.coding, e.name):
				c.specific = 1
			case s.coding != "*":
				continue
			}
			if better(c, p) {
				p = c
			}
		}
		if p.q > 0 {
			ranked = append(ranked, p)
		}
	}
	if len(ranked) == 0 {
		return ""
	}
	best := slices.MinFunc(ranked, func(a, b priority) int {
		if c := cmp.Compare(b.q, a.q); c != 0 {
			return c
		}
		if c := cmp.Compare(b.specific, a.specific); c != 0 {
			return c
		}
		if c := cmp.Compare(a.order, b.order); c != 0 {
			return c
		}
		return cmp.Compare(a.index, b.index)
	})
	return encodings[best.index].name
}

// better reports whether c replaces p as an encoding's match, as the
// negotiator's getEncodingPriority decides: more specific, then higher
// quality, then a later entry.
func better(c, p priority) bool {
	if c.specific != p.specific {
		return c.specific > p.specific
	}
	if c.q != p.q {
		return c.q > p.q
	}
	return c.order > p.order
}

// parseSpec parses one Accept-Encoding entry, "coding[;q=x]". A quality
// that does not parse counts as 0 (the negotiator's NaN is never
// accepted).
func parseSpec(s string, order int) (acceptSpec, bool) {
	coding, params, _ := strings.Cut(strings.TrimSpace(s), ";")
	coding = strings.TrimSpace(coding)
	if coding == "" || strings.ContainsAny(coding, " \t") {
		return acceptSpec{}, false
	}
	spec := acceptSpec{coding: coding, q: 1, order: order}
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if k == "q" {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				q = 0
			}
			spec.q = q
			break
		}
	}
	return spec, true
}
