package redis

import "testing"

func TestSlotOwners(t *testing.T) {
	o := slotOwners{{0, 99, "a:1"}, {100, 100, "b:1"}, {200, 16383, "c:1"}} // 101-199 unassigned
	for slot, want := range map[uint16]string{0: "a:1", 99: "a:1", 100: "b:1", 101: "", 199: "", 200: "c:1", 16383: "c:1"} {
		if got := o.owner(slot); got != want {
			t.Errorf("owner(%d) = %q, want %q", slot, got, want)
		}
	}
	if got := slotOwners(nil).owner(5); got != "" {
		t.Errorf("no owners: %q", got)
	}
}
