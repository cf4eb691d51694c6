package engineio

import "net/url"

// JSONP polling, which Node's engine.io still serves to a polling session
// whose handshake has a j parameter (old browsers' script-tag transport):
// every GET answers `___eio[<j>]("<payload as a JS string>");`, and POST
// bodies are forms whose d field holds the payload, newlines escaped as the
// client escapes them. Binary goes as base64 (JSONP takes no binary).

// jsonpHead returns the start of a JSONP response for the query value j:
// its digits only, as Node keeps them.
func jsonpHead(j string) []byte {
	b := append(make([]byte, 0, 12+len(j)), "___eio["...)
	for i := 0; i < len(j); i++ {
		if j[i] >= '0' && j[i] <= '9' {
			b = append(b, j[i])
		}
	}
	return append(b, "]("...)
}

// wrapJSONP returns body as c's JSONP response: a call with body as a
// JavaScript string literal, JSON.stringify's escapes with U+2028 and
// U+2029 escaped too, as Node writes it (encoding/json's escaping, which
// appendJSONString uses).
func (c *Conn) wrapJSONP(body []byte) []byte {
	out := append(make([]byte, 0, len(c.jsonp)+len(body)+len(body)/8+8), c.jsonp...)
	out = appendJSONString(out, string(body))
	return append(out, ");"...)
}

// jsonpPayload returns the payload of a JSONP POST body: its form field d,
// with the client's newline escaping undone (a `\n` it wrote stands for a
// newline, a `\\n` for the two characters `\n`). ok is false when the form
// has no single d, which Node ignores.
func jsonpPayload(body []byte) (payload []byte, ok bool) {
	form, _ := url.ParseQuery(string(body)) // as lenient as Node's qs: what parsed counts
	d := form["d"]
	if len(d) != 1 {
		return nil, false
	}
	s := d[0]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ { // `\n` → newline; `\\n` kept
		switch {
		case s[i] == '\\' && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'n':
			out = append(out, s[i:i+3]...)
			i += 2
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == 'n':
			out = append(out, '\n')
			i++
		default:
			out = append(out, s[i])
		}
	}
	res := out[:0]
	for i := 0; i < len(out); i++ { // then `\\n` → `\n`
		if out[i] == '\\' && i+2 < len(out) && out[i+1] == '\\' && out[i+2] == 'n' {
			res = append(res, '\\', 'n')
			i += 2
			continue
		}
		res = append(res, out[i])
	}
	return res, true
}
