package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Each intake request must be a distinct, valid event, else the receiver would answer it
// as a duplicate and the benchmark would measure less than durable intake.
func TestEventBodiesAreDistinctSampleEvents(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(sample, &want); err != nil {
		t.Fatal(err)
	}
	next, err := eventBodies(sample)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 3 {
		var got map[string]any
		if err := json.Unmarshal(next(), &got); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		id, _ := got["eventID"].(string)
		if id == "" || seen[id] || id == want["eventID"] {
			t.Fatalf("eventID %q: want a new one each time", id)
		}
		seen[id] = true
		delete(got, "eventID")
		for k, v := range want {
			if k == "eventID" {
				continue
			}
			a, _ := json.Marshal(v)
			b, _ := json.Marshal(got[k])
			if string(a) != string(b) {
				t.Errorf("%s changed: %s, want %s", k, b, a)
			}
		}
	}
}
