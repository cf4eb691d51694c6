package socketio

// PendingAcks returns the number of acks s waits for (white-box, for tests).
func PendingAcks(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acks)
}
