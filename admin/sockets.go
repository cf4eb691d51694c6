package admin

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/socketio"
)

// clientsEvent is the server-side event by which a node asks the others
// for the client id and transport of their sockets.
const clientsEvent = "admin:clients"

// socketJSON is a socket as the UI lists it (the npm package's
// SerializedSocket).
type socketJSON struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId,omitempty"`
	Transport string          `json:"transport,omitempty"`
	Nsp       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"`
	Handshake handshakeJSON   `json:"handshake"`
	Rooms     []string        `json:"rooms"`
}

// handshakeJSON is socket.handshake without its auth, as the UI gets it.
type handshakeJSON struct {
	Address string         `json:"address"`
	Headers map[string]any `json:"headers"`
	Query   map[string]any `json:"query"`
	Issued  int64          `json:"issued"`
	Secure  bool           `json:"secure"`
	Time    string         `json:"time"`
	URL     string         `json:"url"`
	XDomain bool           `json:"xdomain"`
}

// clientInfo is what only a socket's own node knows of it.
type clientInfo struct {
	ClientID  string `json:"clientId"`
	Transport string `json:"transport"`
}

// newSocketJSON serialises a socket from its handshake (in the form
// socketio.Handshake marshals to), rooms and data JSON.
func newSocketJSON(id, nsp string, h *socketio.Handshake, rooms []string, data []byte) socketJSON {
	out := socketJSON{ID: id, Nsp: nsp, Rooms: rooms}
	if out.Rooms == nil {
		out.Rooms = []string{}
	}
	var w adapter.Handshake
	if b, err := json.Marshal(h); err == nil && json.Unmarshal(b, &w) == nil {
		out.Handshake = handshakeJSON{Address: w.Address, Headers: w.Headers, Query: w.Query, Issued: w.Issued,
			Secure: w.Secure, Time: w.Time, URL: w.URL, XDomain: w.XDomain}
	}
	// As Node, the address is the one a proxy in front named, if any.
	for _, name := range []string{"cf-connecting-ip", "x-forwarded-for"} {
		if v, ok := out.Handshake.Headers[name].(string); ok && v != "" {
			out.Handshake.Address = v
			break
		}
	}
	var admin *clientInfo
	out.Data, admin = splitData(data)
	if admin != nil {
		out.ClientID, out.Transport = admin.ClientID, admin.Transport
	}
	return out
}

// splitData returns a socket's data without the "_admin" member a Node
// node's instrument() adds (returned apart); empty data becomes {}, like
// Node's default socket.data.
func splitData(data []byte) (json.RawMessage, *clientInfo) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return json.RawMessage("{}"), nil
	}
	if data[0] != '{' || !bytes.Contains(data, []byte(`"_admin"`)) {
		return data, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return data, nil
	}
	var info clientInfo
	_ = json.Unmarshal(obj["_admin"], &info)
	delete(obj, "_admin")
	rest, _ := json.Marshal(obj)
	return rest, &info
}

// serializeLocal serialises a socket of this node.
func (in *Instrumentation) serializeLocal(s *socketio.Socket, transport string) socketJSON {
	data, err := json.Marshal(s.Data())
	if err != nil {
		data = nil
	}
	out := newSocketJSON(s.ID(), s.Namespace().Name(), s.Handshake(), s.Rooms(), data)
	out.ClientID, out.Transport = clientID(s), transport
	return out
}

// clientID is Node's socket.client.id shortened as the npm package does.
func clientID(s *socketio.Socket) string {
	id := s.Conn().ID()
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// allSockets lists the sockets of every namespace on every node, with
// FetchSockets, and their client ids and transports from their nodes.
func (in *Instrumentation) allSockets(ctx context.Context) []socketJSON {
	infos := in.localClients()
	if replies, _ := in.ns.ServerSideEmitWithAck(ctx, clientsEvent); len(replies) > 0 {
		for _, r := range replies {
			var m map[string]clientInfo
			if r.Decode(&m) == nil {
				for k, v := range m {
					infos[k] = v
				}
			}
		}
	}
	out := []socketJSON{}
	for _, ns := range in.io.Namespaces() {
		sockets, _ := ns.FetchSockets(ctx) // a partial answer lists what came
		for _, rs := range sockets {
			sj := newSocketJSON(rs.ID, ns.Name(), rs.Handshake, rs.Rooms, rs.Data)
			if info, ok := infos[ns.Name()+"\x00"+rs.ID]; ok {
				sj.ClientID, sj.Transport = info.ClientID, info.Transport
			}
			out = append(out, sj)
		}
	}
	return out
}

// localClients returns the client id and transport of this node's sockets,
// by namespace and socket id.
func (in *Instrumentation) localClients() map[string]clientInfo {
	out := map[string]clientInfo{}
	for _, ns := range in.io.Namespaces() {
		local, _ := ns.Local().FetchSockets(in.ctx)
		for _, rs := range local {
			if s := ns.LocalSocket(rs.ID); s != nil {
				out[ns.Name()+"\x00"+s.ID()] = clientInfo{ClientID: clientID(s), Transport: s.Conn().Transport()}
			}
		}
	}
	return out
}

// answerClients replies to another node's clientsEvent.
func (in *Instrumentation) answerClients(_ []socketio.Arg, reply func(any)) {
	if reply != nil {
		reply(in.localClients())
	}
}
