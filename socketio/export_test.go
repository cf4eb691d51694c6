package socketio

import "github.com/switchboard-io/switchboard/adapter"

// PendingAcks returns the number of acks s waits for (white-box, for tests).
func PendingAcks(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acks)
}

// SetRestoreWaitHook makes srv call f whenever a restore waits for the
// previous socket of its session to finish leaving (white-box, for tests).
func SetRestoreWaitHook(srv *Server, f func()) { srv.testHookRestoreWaits = f }

// AdapterView returns ns as its adapter sees it (white-box, for tests).
func AdapterView(ns *Namespace) adapter.Namespace { return (*seamNamespace)(ns) }

// HandshakeBuilt reports whether s's handshake has been built (white-box,
// for tests: it is built when first asked for).
func HandshakeBuilt(s *Socket) bool { return s.handshake.Load() != nil }
