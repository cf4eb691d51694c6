package socketio

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
)

// RecoveryOptions enable connection state recovery (Socket.IO 4.6): a
// client that reconnects within MaxDisconnectionDuration gets its socket
// back (same id, rooms and data) and every event it missed meanwhile.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a session can be recovered.
	// Zero means 2 minutes.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the connection middlewares for recovered sockets
	// too. By default, as in Node, they are skipped.
	RunMiddlewares bool
}

// persistReasons are the disconnect reasons after which a session is kept.
var persistReasons = map[string]bool{
	ReasonTransportError: true, ReasonTransportClose: true, ReasonForcedClose: true,
	ReasonPingTimeout: true, ReasonServerShuttingDown: true, ReasonForcedServerClose: true,
}

// recovery returns the adapter's session store when recovery is on.
func (ns *Namespace) recovery() adapter.SessionStore {
	if ns.srv.opts.ConnectionStateRecovery == nil {
		return nil
	}
	store, _ := ns.adapter.(adapter.SessionStore)
	return store
}

// restore tries to recover the session named by the CONNECT payload's pid
// and offset; nil when there is nothing to recover.
func (ns *Namespace) restore(auth json.RawMessage) *adapter.Session {
	store := ns.recovery()
	if store == nil {
		return nil
	}
	var a struct {
		PID    *string `json:"pid"`
		Offset *string `json:"offset"`
	}
	if json.Unmarshal(auth, &a) != nil || a.PID == nil || a.Offset == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sess, err := store.RestoreSession(ctx, *a.PID, *a.Offset)
	if err != nil {
		ns.srv.stats.recoveryFailed.Add(1)
		return nil
	}
	ns.srv.stats.recovered.Add(1)
	return sess
}

// newRecoveredSocket builds a socket that takes over a recovered session.
func newRecoveredSocket(ns *Namespace, cl *client, auth json.RawMessage, sess *adapter.Session) *Socket {
	s := newSocket(ns, cl, auth)
	s.id, s.pid, s.recovered = sess.SID, sess.PID, true
	if len(sess.Data) > 0 && string(sess.Data) != "null" {
		s.data = json.RawMessage(sess.Data)
	}
	return s
}

// connectReply is the CONNECT payload: the socket id, and the private id
// when recovery is on.
func (s *Socket) connectReply() json.RawMessage {
	reply, _ := json.Marshal(struct {
		SID string `json:"sid"`
		PID string `json:"pid,omitempty"`
	}{s.id, s.pid})
	return reply
}

// persist keeps the session of a socket that went away for a reason that
// allows recovery. It runs before the socket leaves its rooms.
func (s *Socket) persist(reason string) {
	store := s.nsp.recovery()
	if store == nil || !persistReasons[reason] {
		return
	}
	data, err := json.Marshal(s.Data())
	if err != nil {
		data = json.RawMessage("null")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sess := &adapter.Session{SID: s.id, PID: s.pid, Rooms: s.Rooms(), Data: data, DisconnectedAt: time.Now()}
	if err := store.PersistSession(ctx, sess); err != nil {
		s.nsp.srv.log.Warn("could not persist a session for recovery", "socket", s.id, "err", err)
	}
}

// sendMissed writes the packets a recovered socket missed, before its
// CONNECT reply, as Node does (the client holds them until connected).
func (s *Socket) sendMissed(missed []*parser.Packet) {
	for _, p := range missed {
		q := *p
		q.Namespace = s.nsp.name
		_ = s.client.sendMessage(adapter.Encode(&q, adapter.Flags{}))
	}
}

// newPID returns a private session id.
func newPID() string { return engineio.NewID() }
