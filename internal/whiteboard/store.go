package whiteboard

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard-io/switchboard/socketio"
)

// ID identifies one entry of a board, in the order of the board's log. It
// has the form of a Redis stream entry ID, "ms-seq": the Redis store uses
// the stream's own IDs, the memory store a counter.
type ID struct {
	Ms, Seq uint64
}

// IsZero reports whether id is the zero ID, before every entry.
func (id ID) IsZero() bool { return id == ID{} }

// Less reports whether id comes before other.
func (id ID) Less(other ID) bool {
	return id.Ms < other.Ms || id.Ms == other.Ms && id.Seq < other.Seq
}

// String returns "ms-seq".
func (id ID) String() string { return string(id.append(nil)) }

func (id ID) append(b []byte) []byte {
	b = strconv.AppendUint(b, id.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10)
}

// ParseID reads "ms-seq" (or "ms", sequence 0).
func ParseID(s string) (ID, error) {
	ms, seq, found := strings.Cut(s, "-")
	var id ID
	var err error
	if id.Ms, err = strconv.ParseUint(ms, 10, 64); err != nil {
		return ID{}, errors.New("whiteboard: bad entry id")
	}
	if found {
		if id.Seq, err = strconv.ParseUint(seq, 10, 64); err != nil {
			return ID{}, errors.New("whiteboard: bad entry id")
		}
	}
	return id, nil
}

// Entry is one entry of a board's log: a stroke, or a clear that removed
// every entry before it.
type Entry struct {
	ID     ID
	Clear  bool
	Stroke Stroke // when !Clear
}

// appendJSON appends the entry as the page receives it.
func (e Entry) appendJSON(b []byte) []byte {
	if e.Clear {
		b = append(b, `{"id":"`...)
		b = e.ID.append(b)
		return append(b, `","clear":true}`...)
	}
	return e.Stroke.appendJSON(b, e.ID)
}

// Store keeps the boards: each a log of entries in ID order, bounded (the
// oldest entries are dropped beyond a cap). Its methods are safe for
// concurrent use.
//
// The replay seam relies on one property: an entry's ID is assigned when
// Append or Clear stores it, in the order they are stored, so an entry
// that a Range did not return (and that is newer than what it returned)
// was stored after that Range began.
type Store interface {
	// Append adds a stroke to board and returns its ID.
	Append(ctx context.Context, board string, s Stroke) (ID, error)
	// Clear adds a clear entry to board and drops every entry before it.
	Clear(ctx context.Context, board string) (ID, error)
	// Range returns up to limit entries of board whose ID comes after
	// after, in order.
	Range(ctx context.Context, board string, after ID, limit int) ([]Entry, error)
}

// DefaultBoard is the name of the board at "/", without ?board=.
const DefaultBoard = "default"

var boardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidBoard reports whether name can name a board: 1 to 64 letters,
// digits, '-' or '_'.
func ValidBoard(name string) bool { return boardName.MatchString(name) }

// otherBoards is the room of every page on a board other than the default
// one; each is in its board's room too. The default board's pages are in
// no room of the whiteboard's: its strokes go to every page outside
// otherBoards, so that a node that relays "drawing" to everyone (as a
// plain socket.io node of a mixed cluster does) serves the default board.
const otherBoards = "whiteboard:boards"

// rooms returns the rooms a page of board joins.
func rooms(board string) []string {
	if board == DefaultBoard {
		return nil
	}
	return []string{"whiteboard:board:" + board, otherBoards}
}

// to returns the broadcast to board's pages through op: its room, or for
// the default board every page outside otherBoards.
func to(op socketio.BroadcastOperator, board string) socketio.BroadcastOperator {
	if board == DefaultBoard {
		return op.Except(otherBoards)
	}
	return op.In(rooms(board)[0])
}
