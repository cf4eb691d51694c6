package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-io/switchboard/socketio"
)

// errInvalidCredentials is the refusal the UI recognises.
var errInvalidCredentials = errors.New("invalid credentials")

// sessionEvent is the server-side event by which a node asks the others
// whether they issued a session id.
const sessionEvent = "admin:session"

// knownSession reports whether the Store has sid or, when the UI reconnects
// to another node than the one that issued it, another node's Store has
// it: then it is saved here too.
func (in *Instrumentation) knownSession(ctx context.Context, sid string) bool {
	if ok, err := in.opts.Store.SessionExists(ctx, sid); err == nil && ok {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	replies, _ := in.ns.ServerSideEmitWithAck(ctx, sessionEvent, sid) // what came in time
	for _, r := range replies {
		var ok bool
		if r.Decode(&ok) == nil && ok {
			_ = in.opts.Store.SaveSession(ctx, sid)
			return true
		}
	}
	return false
}

// answerSession replies to another node's sessionEvent.
func (in *Instrumentation) answerSession(args []socketio.Arg, reply func(any)) {
	var sid string
	if reply == nil || len(args) == 0 || args[0].Decode(&sid) != nil || sid == "" {
		return
	}
	ok, err := in.opts.Store.SessionExists(in.ctx, sid)
	reply(err == nil && ok)
}

// authenticate is the admin namespace's middleware with basic auth: a
// known session id, or the username and password, which earn a new
// session id (sent as "session" once connected).
func (in *Instrumentation) authenticate(ctx context.Context, s *socketio.Socket) error {
	var auth struct {
		Username  string `json:"username"`
		Password  string `json:"password"`
		SessionID string `json:"sessionId"`
	}
	_ = s.Handshake().DecodeAuth(&auth) // a payload of another shape has no credentials
	if auth.SessionID != "" && in.knownSession(ctx, auth.SessionID) {
		return nil
	}
	a := in.opts.Auth
	userOK := subtle.ConstantTimeCompare([]byte(auth.Username), []byte(a.Username)) == 1
	// The hash is checked whatever the username, so that a wrong username
	// takes as long as a wrong password.
	passOK := bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(auth.Password)) == nil
	if !userOK || !passOK {
		return errInvalidCredentials
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	sid := hex.EncodeToString(b[:])
	if err := in.opts.Store.SaveSession(ctx, sid); err != nil {
		in.io.Engine().Options().Logger.Warn("admin: session not saved", "err", err)
	} else {
		in.mu.Lock()
		in.sessions[s] = sid
		in.mu.Unlock()
		// ctx ends with the connection: forget the entry then, should the
		// socket never connect.
		context.AfterFunc(ctx, func() {
			in.mu.Lock()
			delete(in.sessions, s)
			in.mu.Unlock()
		})
	}
	return nil
}
