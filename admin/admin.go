package admin

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
)

// The features announced in "config", as the npm package names them.
const (
	featureEmit             = "EMIT"
	featureJoin             = "JOIN"
	featureLeave            = "LEAVE"
	featureDisconnect       = "DISCONNECT"
	featureMJoin            = "MJOIN"
	featureMLeave           = "MLEAVE"
	featureMDisconnect      = "MDISCONNECT"
	featureAggregatedEvents = "AGGREGATED_EVENTS"
	featureAllEvents        = "ALL_EVENTS"
)

// Instrumentation is a server instrumented by Instrument.
type Instrumentation struct {
	io       *socketio.Server
	opts     Options
	ns       *socketio.Namespace
	features []string
	started  time.Time

	out     chan outEvent // events waiting to be broadcast to the admin namespace
	dropped atomic.Int64
	ctx     context.Context // ends with Close
	stop    context.CancelFunc
	done    sync.WaitGroup

	mu         sync.Mutex
	sessions   map[*socketio.Socket]string // admin sockets given a session id by the middleware
	transports map[*socketio.Socket]string // local sockets → the transport last reported
}

// outEvent is one broadcast to the admin namespace.
type outEvent struct {
	name string
	args []any
}

// Instrument serves the Admin UI's namespace on io and starts reporting to
// it; it returns an error for invalid options (see Options). Call it once
// per server, on every node of a cluster, before clients connect (sockets
// connected before are listed, but their events are not reported). Close
// stops the reports.
func Instrument(io *socketio.Server, opts Options) (*Instrumentation, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	in := &Instrumentation{io: io, opts: o, started: time.Now(), out: make(chan outEvent, o.QueueSize),
		ctx: ctx, stop: stop, sessions: map[*socketio.Socket]string{}, transports: map[*socketio.Socket]string{}}
	if !o.ReadOnly {
		in.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect,
			featureMJoin, featureMLeave, featureMDisconnect}
	}
	in.features = append(in.features, featureAggregatedEvents)
	if o.Mode == Development {
		in.features = append(in.features, featureAllEvents)
	}
	in.ns = io.Of(o.NamespaceName)
	if o.Auth != nil {
		in.ns.Use(in.authenticate)
	}
	in.ns.OnConnection(in.onAdminConnection)
	in.ns.OnServerSideEmit(clientsEvent, in.answerClients)
	in.ns.OnServerSideEmit(sessionEvent, in.answerSession)
	if o.Mode == Development {
		io.OnNamespace(in.watchNamespace)
	}
	in.done.Add(2)
	go in.sendLoop()
	go in.statsLoop()
	return in, nil
}

// Namespace returns the admin namespace.
func (in *Instrumentation) Namespace() *socketio.Namespace { return in.ns }

// Dropped returns the number of admin events dropped because the queue was
// full (see Options.QueueSize).
func (in *Instrumentation) Dropped() int64 { return in.dropped.Load() }

// Close stops the statistics and the event reports and waits for them to
// end. The admin namespace stays, and keeps refusing or accepting the UI.
func (in *Instrumentation) Close() {
	in.stop()
	in.done.Wait()
}

// onAdminConnection greets an admin socket: its session id (when the
// middleware issued one), the features, then every socket.
func (in *Instrumentation) onAdminConnection(s *socketio.Socket) {
	in.mu.Lock()
	sid, ok := in.sessions[s]
	delete(in.sessions, s)
	in.mu.Unlock()
	if ok {
		_ = s.Emit("session", sid)
	}
	if !in.opts.ReadOnly {
		in.registerActions(s)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": in.features})
	if in.opts.Mode == Development {
		ctx, cancel := context.WithTimeout(in.ctx, 10*time.Second)
		defer cancel()
		_ = s.Emit("all_sockets", in.allSockets(ctx))
	}
}

// emit queues a broadcast to the admin namespace; it never blocks.
func (in *Instrumentation) emit(name string, args ...any) {
	select {
	case in.out <- outEvent{name, args}:
	default:
		in.dropped.Add(1)
	}
}

// sendLoop broadcasts the queued events in order, until Close.
func (in *Instrumentation) sendLoop() {
	defer in.done.Done()
	for {
		select {
		case <-in.ctx.Done():
			return
		case e := <-in.out:
			_ = in.ns.Emit(in.ctx, e.name, e.args...)
		}
	}
}

// jsDate formats t as JSON.stringify formats a JavaScript Date.
func jsDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
