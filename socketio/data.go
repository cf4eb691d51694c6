package socketio

import (
	"encoding/json"
	"fmt"
)

// DataAs returns the socket's data (Socket.SetData) as a T. A socket
// restored by connection state recovery, possibly on another node, gets
// its data back as JSON (the session store keeps JSON): DataAs decodes it
// into a T once, keeps the T, and from then on Data returns the T too. It
// fails when there is no data, or when the data is neither a T nor JSON
// that decodes into one.
//
//	type User struct{ Name string }
//	s.SetData(User{"ada"})
//	u, err := socketio.DataAs[User](s) // on the recovered socket as well
func DataAs[T any](s *Socket) (T, error) {
	var zero T
	s.mu.Lock()
	defer s.mu.Unlock()
	switch v := s.data.(type) {
	case T:
		return v, nil
	case json.RawMessage:
		var t T
		if err := json.Unmarshal(v, &t); err != nil {
			return zero, fmt.Errorf("socketio: decoding the data of socket %s: %w", s.id, err)
		}
		s.data = t
		return t, nil
	case nil:
		return zero, fmt.Errorf("socketio: socket %s has no data", s.id)
	default:
		return zero, fmt.Errorf("socketio: the data of socket %s is a %T, not a %T", s.id, v, zero)
	}
}

// DecodeData decodes the socket's data (Socket.SetData on its node, sent
// as JSON) into v, as encoding/json does.
func (r *RemoteSocket) DecodeData(v any) error {
	if len(r.Data) == 0 {
		return fmt.Errorf("socketio: socket %s has no data", r.ID)
	}
	return json.Unmarshal(r.Data, v)
}
