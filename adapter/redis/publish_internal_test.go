package redis

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// TestRetryable sorts the errors a failover may cure from the others.
func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{syscall.ECONNREFUSED, true},
		{fmt.Errorf("dial: %w", syscall.ECONNRESET), true},
		{context.Canceled, false},
		{fmt.Errorf("publish: %w", context.DeadlineExceeded), false},
		{errors.New("io: read/write on closed pipe"), true},
	} {
		if got := retryable(tc.err); got != tc.want {
			t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestOutageWindow checks that retries stop once an outage is older than
// the window, and start again after a success.
func TestOutageWindow(t *testing.T) {
	var o outage
	now := time.Now()
	if !o.retry(now.Add(10 * time.Millisecond)) {
		t.Fatal("no retry at the start of an outage")
	}
	if o.retry(now.Add(publishRetryWindow + time.Second)) {
		t.Fatal("retry past the window")
	}
	o.end()
	if !o.retry(time.Now().Add(10 * time.Millisecond)) {
		t.Fatal("no retry at the start of a new outage")
	}
}
