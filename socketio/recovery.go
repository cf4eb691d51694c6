package socketio

import (
	"context"
	"encoding/json"
	"errors"
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
	// StoreTimeout bounds each call to the adapter's session store: a
	// restore (which may also wait for the session's previous socket on
	// this node to finish leaving), and each write of a session; during
	// Shutdown, the writes of the closing sockets' sessions also end with
	// Shutdown's context. Zero means 5 seconds.
	StoreTimeout time.Duration
}

// timeout returns StoreTimeout or its default.
func (r *RecoveryOptions) timeout() time.Duration {
	if r == nil || r.StoreTimeout <= 0 {
		return 5 * time.Second
	}
	return r.StoreTimeout
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

// recoverable reports whether a CONNECT payload asks for recovery (string
// pid and offset) and the namespace can recover.
func (ns *Namespace) recoverable(auth json.RawMessage) bool {
	if ns.recovery() == nil {
		return false
	}
	pid, offset := recoveryIDs(auth)
	return pid != "" && offset != ""
}

func recoveryIDs(auth json.RawMessage) (pid, offset string) {
	var a struct {
		PID    *string `json:"pid"`
		Offset *string `json:"offset"`
	}
	if json.Unmarshal(auth, &a) != nil || a.PID == nil || a.Offset == nil {
		return "", ""
	}
	return *a.PID, *a.Offset
}

// restore recovers the session named by the CONNECT payload: the adapter
// hands it over with the packets it missed, atomically with its live
// deliveries; the recovered socket is registered, the client gets the
// CONNECT reply, then the missed packets, then live ones. It returns nil
// when nothing could be recovered.
//
// Node writes the missed packets before the CONNECT reply. The official
// client buffers events that arrive before it is connected and keeps that
// buffer across reconnections: when the connection drops between the
// missed packets and the reply, the next recovery replays them again (the
// client's offset has not moved) and the client emits both copies. After
// the reply, the client handles each missed event at once and its offset
// follows.
//
// The session's previous socket may still be on this node: closing (its
// cleanup, which leaves its rooms and persists the session, has not run
// yet) or even connected (the client gave its connection up before this
// node noticed). The restore waits for the cleanup of a closing one and
// closes a connected one first: registering the recovered socket while the
// old one is still leaving would let the old one's leaving take the new
// one out of every room, and the client would be connected but deaf.
func (ns *Namespace) restore(cl *client, auth json.RawMessage) *Socket {
	pid, offset := recoveryIDs(auth)
	ctx, cancel := context.WithTimeout(context.Background(), ns.srv.opts.ConnectionStateRecovery.timeout())
	defer cancel()
	for attempt := 0; attempt < 4; attempt++ { // a stale socket closes at the first
		if old := ns.sessionSocket(pid); old != nil {
			// Its client left it for the connection restoring it now.
			old.client.closeWith(ReasonTransportClose)
		}
		if left := ns.leavingSocket(pid); left != nil {
			if h := ns.srv.testHookRestoreWaits; h != nil {
				h()
			}
			select {
			case <-left:
			case <-ctx.Done():
				ns.logRestoreFailure(pid, context.Cause(ctx))
				return ns.restoreFailed()
			case <-cl.conn.Done():
				return ns.restoreFailed()
			}
		}
		s, err := ns.tryRestore(ctx, cl, pid, offset, auth)
		switch {
		case errors.Is(err, errStillThere):
		case err != nil || s == nil:
			ns.logRestoreFailure(pid, err)
			return ns.restoreFailed()
		default:
			return s
		}
	}
	return ns.restoreFailed()
}

// logRestoreFailure logs why a session could not be restored: at warn
// level when the store failed or timed out (the client loses what it
// missed), at info level when the session cannot be recovered (expired,
// unknown, or its offset gone from the log).
func (ns *Namespace) logRestoreFailure(pid string, err error) {
	if err == nil || errors.Is(err, adapter.ErrNotRecoverable) {
		ns.srv.log.Info("session not recoverable", "namespace", ns.name, "pid", pid, "err", err)
		return
	}
	ns.srv.log.Warn("could not restore a session", "namespace", ns.name, "pid", pid, "err", err)
}

func (ns *Namespace) restoreFailed() *Socket {
	ns.srv.stats.recoveryFailed.Add(1)
	return nil
}

// tryRestore makes one attempt at restoring session pid: it fails with
// errStillThere when a previous socket of the session is still on this
// node.
func (ns *Namespace) tryRestore(ctx context.Context, cl *client, pid, offset string, auth json.RawMessage) (*Socket, error) {
	var s *Socket
	err := ns.recovery().RestoreSession(ctx, pid, offset, func(sess *adapter.Session) error {
		if ns.LocalSocket(sess.SID) != nil || ns.leavingSocket(pid) != nil {
			return errStillThere // connected or closed since the checks in restore
		}
		r := newRecoveredSocket(ns, cl, auth, sess)
		announce := func() {
			ns.srv.stats.recovered.Add(1) // before the client can know
			_ = cl.send(r.connectPacket())
			r.sendMissed(sess.Missed)
		}
		if !ns.register(r, sess.Rooms, announce) {
			return errClientGone
		}
		s = r
		return nil
	})
	return s, err
}

var (
	errClientGone = errors.New("socketio: client gone")
	errStillThere = errors.New("socketio: the session's previous socket is still on this node")
)

// newRecoveredSocket builds a socket that takes over a recovered session.
func newRecoveredSocket(ns *Namespace, cl *client, auth json.RawMessage, sess *adapter.Session) *Socket {
	s := newSocket(ns, cl, auth)
	s.id, s.pid, s.recovered = sess.SID, sess.PID, true
	if len(sess.Data) > 0 && string(sess.Data) != "null" {
		s.data = json.RawMessage(sess.Data)
	}
	return s
}

// connectPacket is the CONNECT reply to the client.
func (s *Socket) connectPacket() *parser.Packet {
	if s.client.v3() { // a v2 client's CONNECT reply has no payload
		return &parser.Packet{Type: parser.Connect, Namespace: s.nsp.name}
	}
	return &parser.Packet{Type: parser.Connect, Namespace: s.nsp.name, Data: s.connectReply()}
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
// allows recovery, and drops it otherwise. It runs after the socket left
// its rooms (given as rooms), so that a restore never races the leaving.
func (s *Socket) persist(reason string, rooms []string) {
	store := s.nsp.recovery()
	if store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.nsp.srv.stopContext(), s.nsp.srv.opts.ConnectionStateRecovery.timeout())
	defer cancel()
	if !persistReasons[reason] {
		_ = store.DropSession(ctx, s.pid)
		return
	}
	sess := s.session(time.Now())
	sess.Rooms = rooms
	if err := store.PersistSession(ctx, sess); err != nil {
		s.nsp.srv.log.Warn("could not persist a session for recovery", "socket", s.id, "err", err)
	}
}

// session describes the socket for the session store.
func (s *Socket) session(disconnectedAt time.Time) *adapter.Session {
	data, err := json.Marshal(s.Data())
	if err != nil {
		data = json.RawMessage("null")
	}
	return &adapter.Session{SID: s.id, PID: s.pid, Rooms: s.Rooms(), Data: data, DisconnectedAt: disconnectedAt}
}

// persistLive saves the session of a connected socket (at connection and
// when its rooms or data change), in the background, so that a store that
// survives the node's death can recover it even after a crash.
func (s *Socket) persistLive() {
	store := s.nsp.recovery()
	if store == nil || !s.Connected() {
		return
	}
	sess := s.session(time.Time{})
	timeout := s.nsp.srv.opts.ConnectionStateRecovery.timeout()
	s.nsp.srv.goTracked(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := store.PersistSession(ctx, sess); err != nil {
			s.nsp.srv.log.Debug("could not persist a live session", "socket", s.id, "err", err)
		}
	})
}

// sendMissed writes the packets a recovered socket missed, right after
// its CONNECT reply (see restore).
func (s *Socket) sendMissed(missed []*parser.Packet) {
	for _, p := range missed {
		q := *p
		q.Namespace = s.nsp.name
		_ = s.client.sendMessage(adapter.Encode(&q, adapter.Flags{}))
	}
}

// newPID returns a private session id.
func newPID() string { return engineio.NewID() }
