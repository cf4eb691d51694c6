package whiteboard

import (
	"encoding/json"

	"github.com/switchboard-io/switchboard/socketio"
)

// HistoryPage is the most entries one "history" answer carries.
const HistoryPage = 1000

// onDrawing validates a stroke, stores it and relays it, with its ID, to
// the board's other pages; the sender's ack (when it asks) is the ID.
// Anything but one valid stroke is dropped and counted. A stroke the store
// refuses is still relayed, without an ID, and counted as dropped by the
// store: open pages must not stop receiving because Redis is away.
func (a *App) onDrawing(e *socketio.Event, board string) {
	if len(e.Args) != 1 || e.Args[0].HasBinary() {
		a.drop(dropShape)
		return
	}
	st, err := ParseStroke(e.Args[0].JSON())
	if err != nil {
		a.drop(reasonOf(err))
		return
	}
	ctx, cancel := a.storeContext()
	defer cancel()
	id, err := a.store.Append(ctx, board, st)
	if err != nil {
		// The live stream goes first: the pages that are open get the
		// stroke (without an ID: the board does not have it), the ones
		// that open later will not. Counted, as a stroke the board lost.
		a.drop(dropStore)
		id = ID{}
	} else {
		a.strokes.Add(1)
	}
	msg := json.RawMessage(Entry{ID: id, Stroke: st}.appendJSON(make([]byte, 0, 96)))
	_ = to(e.Socket.Broadcast(), board).Emit(ctx, "drawing", msg)
	if !id.IsZero() {
		_ = e.Ack(id.String())
	}
}

// onClear clears the board and tells every page of it, the sender
// included: "clear" {id}, after which entries before id are gone.
func (a *App) onClear(e *socketio.Event, board string) {
	ctx, cancel := a.storeContext()
	defer cancel()
	id, err := a.store.Clear(ctx, board)
	if err != nil {
		a.drop(dropStore)
		_ = e.Ack(map[string]string{"error": "unavailable"})
		return
	}
	a.clears.Add(1)
	_ = to(a.ns.Except(), board).Emit(ctx, "clear", map[string]string{"id": id.String()})
	_ = e.Ack(map[string]string{"id": id.String()})
}

// historyRequest is the argument of "history": the ID of the last entry
// the page has, "" for none.
type historyRequest struct {
	After string `json:"after"`
}

// onHistory answers one page of the board's entries after the given ID:
// {entries: [...], more: bool}, or {error} when the store failed (the page
// asks again). Requests without an ack or with a bad argument are dropped.
func (a *App) onHistory(e *socketio.Event, board string) {
	var req historyRequest
	if !e.WantsAck() || len(e.Args) != 1 || e.Args[0].Decode(&req) != nil {
		a.drop(dropRequest)
		return
	}
	var after ID
	if req.After != "" {
		var err error
		if after, err = ParseID(req.After); err != nil {
			a.drop(dropRequest)
			return
		}
	}
	ctx, cancel := a.storeContext()
	defer cancel()
	entries, err := a.store.Range(ctx, board, after, HistoryPage)
	if err != nil {
		a.drop(dropStore)
		_ = e.Ack(map[string]string{"error": "unavailable"})
		return
	}
	a.historyPages.Add(1)
	b := make([]byte, 0, 32+len(entries)*80)
	b = append(b, `{"entries":[`...)
	for i, en := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = en.appendJSON(b)
	}
	b = append(b, `],"more":`...)
	if len(entries) == HistoryPage {
		b = append(b, "true}"...)
	} else {
		b = append(b, "false}"...)
	}
	_ = e.Ack(json.RawMessage(b))
}
