package socketio

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Socket.IO protocol v4, spoken by Socket.IO v2 clients over Engine.IO v3
// (engineio.Options.AllowEIO3), differs from v5 as Node's socket.io 4.8
// makes it differ for a connection whose conn.protocol is 3:
//
//   - the client is connected to "/" as soon as its Engine.IO connection
//     opens, without sending CONNECT (a CONNECT to "/" afterwards is an
//     invalid state, which closes the connection);
//   - a CONNECT's namespace may carry a query ("/admin?token=1"): the path
//     is the namespace, the query (not the packet's data) the auth payload;
//   - the CONNECT reply carries no payload ("40", "40/admin,");
//   - a socket's id is the Engine.IO session id on "/", and
//     "<namespace>#<session id>" elsewhere;
//   - a middleware's refusal is a CONNECT_ERROR whose payload is the
//     error's data if it has some (JavaScript truthiness), else its message
//     as a JSON string: `44"not authorized"`.
//
// Events, acks and binary attachments are encoded alike in both protocols,
// so one encoding of a broadcast serves v2 and v4 clients.

// v3 reports whether the client speaks Engine.IO v3 (a Socket.IO v2
// client).
func (cl *client) v3() bool { return cl.conn.Protocol() == 3 }

// v3Namespace splits the namespace of a v3 packet as Node's url.parse(nsp,
// true) does: the path is the namespace, the query the auth payload (a
// JSON object of strings, arrays for repeated keys; "{}" without a query).
func v3Namespace(nsp string) (name string, auth json.RawMessage) {
	nsp, _, _ = strings.Cut(nsp, "#")
	name, query, _ := strings.Cut(nsp, "?")
	if name == "" {
		name = "/"
	}
	return name, queryObject(query)
}

// queryObject encodes a query string as Node's querystring.parse decodes
// it, keys in order of first appearance.
func queryObject(query string) json.RawMessage {
	var keys []string
	values := map[string][]string{}
	for pair := range strings.SplitSeq(query, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescapeQuery(k), unescapeQuery(v)
		if _, seen := values[k]; !seen {
			keys = append(keys, k)
		}
		values[k] = append(values[k], v)
	}
	out := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		kb, _ := json.Marshal(k)
		out = append(out, kb...)
		out = append(out, ':')
		var vb []byte
		if vs := values[k]; len(vs) == 1 {
			vb, _ = marshalNoEscape(vs[0])
		} else {
			vb, _ = marshalNoEscape(vs)
		}
		out = append(out, vb...)
	}
	return append(out, '}')
}

// unescapeQuery decodes one query component; like Node's querystring, a
// malformed escape is kept as it is.
func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return strings.ReplaceAll(s, "+", " ")
}

// marshalNoEscape is json.Marshal without HTML escaping, as
// JSON.stringify writes.
func marshalNoEscape(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// v3SocketID is the id Node gives a v2 client's socket on namespace nsp.
func v3SocketID(nsp, sid string) string {
	if nsp == "/" {
		return sid
	}
	return nsp + "#" + sid
}

// connectErrorPayloadV3 encodes err as Node's CONNECT_ERROR payload for a
// v2 client: err.data || err.message.
func connectErrorPayloadV3(err error) json.RawMessage {
	var ce *ConnectError
	if errors.As(err, &ce) {
		if data := connectErrorData(ce.Data); data != nil && truthy(data) {
			return data
		}
	}
	msg := err.Error()
	if ce != nil {
		msg = ce.Message
	}
	b, _ := marshalNoEscape(msg)
	return b
}

// truthy reports whether the JSON value v is truthy in JavaScript.
func truthy(v json.RawMessage) bool {
	switch s := string(v); s {
	case "null", "false", `""`:
		return false
	default:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f != 0
		}
		return true
	}
}
