package socketio

// PendingAcks returns the number of acks s waits for (white-box, for tests).
func PendingAcks(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acks)
}

// SetRestoreWaitHook makes srv call f whenever a restore waits for the
// previous socket of its session to finish leaving (white-box, for tests).
func SetRestoreWaitHook(srv *Server, f func()) { srv.testHookRestoreWaits = f }
