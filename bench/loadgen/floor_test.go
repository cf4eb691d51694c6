package main

import (
	"testing"
	"time"
)

// Both floors measure something: every write reached its peer (burstFloor
// waits for that) and the writing thread's CPU was counted.
func TestFloors(t *testing.T) {
	f, err := writeFloor(10, 2000)
	if err != nil || f <= 0 {
		t.Errorf("writeFloor: %v µs, %v", f, err)
	}
	f, err = burstFloor(50, 3, time.Millisecond)
	if err != nil || f <= 0 {
		t.Errorf("burstFloor: %v µs, %v", f, err)
	}
}
