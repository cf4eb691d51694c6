package socketiotest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-io/switchboard/parser"
)

// ConnectError is a namespace connection refused by the server: its
// CONNECT_ERROR payload.
type ConnectError struct {
	Namespace string
	// Message is the payload's "message".
	Message string
	// Data is the payload's "data" as raw JSON, nil when absent.
	Data json.RawMessage
	// Raw is the whole payload.
	Raw json.RawMessage
}

// Error returns the server's message.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("socketiotest: connection to %s refused: %s", e.Namespace, e.Message)
}

// Connect joins namespace nsp ("" or "/" for the main namespace) and
// returns the socket id from the server's CONNECT reply. auth is sent as
// the CONNECT payload: nil sends none; a json.RawMessage or []byte is sent
// as is; anything else is encoded as JSON. A refusal returns a
// *ConnectError.
func (c *Client) Connect(ctx context.Context, nsp string, auth any) (string, error) {
	nsp = normNsp(nsp)
	p, err := c.ConnectRaw(ctx, nsp, auth)
	if err != nil {
		return "", err
	}
	if p.Type == parser.ConnectError {
		ce := &ConnectError{Namespace: nsp, Raw: p.Data}
		var body struct {
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(p.Data, &body); err != nil {
			return "", fmt.Errorf("socketiotest: bad CONNECT_ERROR payload %s: %w", p.Data, err)
		}
		ce.Message, ce.Data = body.Message, body.Data
		return "", ce
	}
	var reply struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(p.Data, &reply); err != nil || reply.SID == "" {
		return "", fmt.Errorf("socketiotest: bad CONNECT reply %s", p.Data)
	}
	return reply.SID, nil
}

// ConnectRaw sends a CONNECT for nsp and returns the server's reply packet,
// CONNECT or CONNECT_ERROR, unparsed.
func (c *Client) ConnectRaw(ctx context.Context, nsp string, auth any) (*parser.Packet, error) {
	nsp = normNsp(nsp)
	p := &parser.Packet{Type: parser.Connect, Namespace: nsp}
	switch a := auth.(type) {
	case nil:
	case json.RawMessage:
		p.Data = a
	case []byte:
		p.Data = a
	default:
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("socketiotest: encoding auth: %w", err)
		}
		p.Data = b
	}
	if err := c.Send(p); err != nil {
		return nil, err
	}
	return c.Next(ctx, func(p *parser.Packet) bool {
		return p.Namespace == nsp && (p.Type == parser.Connect || p.Type == parser.ConnectError)
	})
}

// Disconnect leaves namespace nsp (the server sees "client namespace
// disconnect").
func (c *Client) Disconnect(nsp string) error {
	return c.Send(&parser.Packet{Type: parser.Disconnect, Namespace: normNsp(nsp)})
}

// Emit sends an event to namespace nsp. Arguments are encoded as package
// parser does: []byte values travel as binary attachments, parser.Arg
// values are relayed unchanged.
func (c *Client) Emit(nsp, event string, args ...any) error {
	p, err := eventPacket(nsp, event, args)
	if err != nil {
		return err
	}
	return c.Send(p)
}

func eventPacket(nsp, event string, args []any) (*parser.Packet, error) {
	data, atts, err := parser.EncodeData(append([]any{event}, args...)...)
	if err != nil {
		return nil, err
	}
	return &parser.Packet{Type: parser.Event, Namespace: normNsp(nsp), Data: data, Attachments: atts}, nil
}

// EmitWithAck sends an event with an ack id and waits until ctx ends for
// the server's ack, returning its arguments. Ack ids count from 0 per
// client.
func (c *Client) EmitWithAck(ctx context.Context, nsp, event string, args ...any) ([]parser.Arg, error) {
	p, err := eventPacket(nsp, event, args)
	if err != nil {
		return nil, err
	}
	p.ID, p.HasID = c.acks.Add(1)-1, true
	if err := c.Send(p); err != nil {
		return nil, err
	}
	nsp = p.Namespace
	ack, err := c.Next(ctx, func(q *parser.Packet) bool {
		return q.Namespace == nsp && (q.Type == parser.Ack || q.Type == parser.BinaryAck) &&
			q.HasID && q.ID == p.ID
	})
	if err != nil {
		return nil, err
	}
	return ack.Args()
}

// Event is an event received by a Client.
type Event struct {
	// Namespace is the namespace the event was sent on.
	Namespace string
	// Name is the event name.
	Name string
	// Args are the event's arguments.
	Args []parser.Arg
	// Packet is the packet as received.
	Packet *parser.Packet

	c *Client
}

// WantsAck reports whether the server asked for an ack.
func (e *Event) WantsAck() bool { return e.Packet.HasID }

// AckID returns the ack id the server asked for.
func (e *Event) AckID() uint64 { return e.Packet.ID }

// Decode decodes the arguments in order into ptrs; a nil pointer skips its
// argument. It fails if there are fewer arguments than ptrs.
func (e *Event) Decode(ptrs ...any) error {
	for i, p := range ptrs {
		if p == nil {
			continue
		}
		if i >= len(e.Args) {
			return fmt.Errorf("socketiotest: event %q has %d arguments, want %d", e.Name, len(e.Args), len(ptrs))
		}
		if err := e.Args[i].Decode(p); err != nil {
			return fmt.Errorf("socketiotest: event %q argument %d: %w", e.Name, i, err)
		}
	}
	return nil
}

// Ack answers the event's ack request with args.
func (e *Event) Ack(args ...any) error {
	if !e.Packet.HasID {
		return fmt.Errorf("socketiotest: event %q has no ack id", e.Name)
	}
	data, atts, err := parser.EncodeData(args...)
	if err != nil {
		return err
	}
	return e.c.Send(&parser.Packet{Type: parser.Ack, Namespace: e.Namespace, ID: e.Packet.ID, HasID: true,
		Data: data, Attachments: atts})
}

// ReadEvent waits until ctx ends for the next event named event on
// namespace nsp ("" for any event name). Other packets stay in the inbox.
func (c *Client) ReadEvent(ctx context.Context, nsp, event string) (*Event, error) {
	nsp = normNsp(nsp)
	var name string
	var args []parser.Arg
	p, err := c.Next(ctx, func(p *parser.Packet) bool {
		if p.Namespace != nsp || (p.Type != parser.Event && p.Type != parser.BinaryEvent) {
			return false
		}
		n, a, err := p.Event()
		if err != nil || (event != "" && n != event) {
			return false
		}
		name, args = n, a
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("socketiotest: reading event %q on %s: %w", event, nsp, err)
	}
	return &Event{Namespace: nsp, Name: name, Args: args, Packet: p, c: c}, nil
}

// NoPacket waits up to d for a packet matching match (any packet when
// nil) and returns it, or nil if none came. It is for checks that
// something does not happen; prefer a round trip (an ack, an event sent
// after) that proves it could have happened by then, when there is one.
func (c *Client) NoPacket(d time.Duration, match func(*parser.Packet) bool) *parser.Packet {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p, err := c.Next(ctx, match)
	if err != nil {
		return nil
	}
	return p
}
