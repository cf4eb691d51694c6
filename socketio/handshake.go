package socketio

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
)

// Handshake holds the details of the request that opened a socket's
// connection, and the auth payload of its namespace CONNECT.
type Handshake struct {
	// Headers are the handshake request's headers, Host included.
	Headers http.Header
	// Time is when the socket was created.
	Time time.Time
	// Address is the client's IP address as the server saw it.
	Address string
	// XDomain reports a cross-origin request (an Origin header was sent).
	XDomain bool
	// Secure reports a TLS connection.
	Secure bool
	// URL is the request URI of the handshake request.
	URL string
	// Query is the handshake request's query, one value per key: the last
	// one of a repeated key, as in Node.
	Query url.Values
	// Auth is the CONNECT payload: a JSON object, "{}" when absent.
	Auth json.RawMessage
}

// newHandshake builds the handshake of a socket created at born on c.
func newHandshake(c *engineio.Conn, born time.Time, auth json.RawMessage) *Handshake {
	r := c.Request()
	addr := c.RemoteAddr()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	return &Handshake{
		// engineio has put Host back in the header map, as Node's headers have it.
		Headers: r.Header, Time: born, Address: addr, XDomain: r.Header.Get("Origin") != "",
		Secure: r.TLS != nil, URL: r.URL.RequestURI(), Query: lastValues(r.URL.Query()), Auth: auth,
	}
}

// lastValues keeps the last value of each query key: Node's handshake
// query is an object of strings (Object.fromEntries of the search params).
func lastValues(q url.Values) url.Values {
	for k, v := range q {
		if len(v) > 1 {
			q[k] = v[len(v)-1:]
		}
	}
	return q
}

// DecodeAuth decodes the auth payload into v.
func (h *Handshake) DecodeAuth(v any) error { return json.Unmarshal(h.Auth, v) }

// wire returns the handshake as Node serialises socket.handshake.
func (h *Handshake) wire() adapter.Handshake {
	headers := make(map[string]any, len(h.Headers))
	for k, v := range h.Headers {
		name := strings.ToLower(k)
		if name == "set-cookie" {
			headers[name] = v
			continue
		}
		headers[name] = strings.Join(v, ", ")
	}
	query := make(map[string]any, len(h.Query))
	for k, v := range h.Query {
		if len(v) == 1 {
			query[k] = v[0]
		} else {
			query[k] = v
		}
	}
	return adapter.Handshake{
		Headers: headers, Time: jsDateString(h.Time), Address: h.Address, XDomain: h.XDomain,
		Secure: h.Secure, Issued: h.Time.UnixMilli(), URL: h.URL, Query: query, Auth: h.Auth,
	}
}

// handshakeFromWire converts a serialised handshake back.
func handshakeFromWire(w adapter.Handshake) *Handshake {
	h := &Handshake{Headers: http.Header{}, Query: url.Values{}, Address: w.Address,
		XDomain: w.XDomain, Secure: w.Secure, URL: w.URL, Auth: w.Auth,
		Time: time.UnixMilli(w.Issued)}
	for k, v := range w.Headers {
		switch v := v.(type) {
		case string:
			h.Headers.Set(k, v)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					h.Headers.Add(k, s)
				}
			}
		}
	}
	for k, v := range w.Query {
		switch v := v.(type) {
		case string:
			h.Query.Set(k, v)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					h.Query.Add(k, s)
				}
			}
		}
	}
	return h
}

// jsDateString formats t as JavaScript's Date.prototype.toString does.
func jsDateString(t time.Time) string {
	name, _ := t.Zone()
	if name == "UTC" {
		name = "Coordinated Universal Time"
	}
	return t.Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (" + name + ")"
}
