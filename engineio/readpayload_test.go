package engineio

import (
	"io"
	"strings"
	"testing"
)

// TestReadPayloadGrowsAsDataArrives: a frame that claims 1 MB but sends
// 10 bytes before stalling makes the reader hold one chunk, not 1 MB; a
// complete payload is read whole, across chunks.
func TestReadPayloadGrowsAsDataArrives(t *testing.T) {
	r := &widestRead{r: strings.NewReader("0123456789")}
	if _, err := readPayload(r, nil, 1<<20); err == nil || r.widest > payloadChunk {
		t.Fatalf("stalled frame: err %v, read into a buffer of %d bytes", err, r.widest)
	}
	want := strings.Repeat("x", 3*payloadChunk+5)
	got, err := readPayload(strings.NewReader(want), []byte("ab"), len(want))
	if err != nil || string(got) != "ab"+want {
		t.Fatalf("complete payload: %d bytes, %v", len(got), err)
	}
}

// widestRead records the largest buffer it was asked to fill.
type widestRead struct {
	r      io.Reader
	widest int
}

func (w *widestRead) Read(p []byte) (int, error) {
	w.widest = max(w.widest, len(p))
	return w.r.Read(p)
}
