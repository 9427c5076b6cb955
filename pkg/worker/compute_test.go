package worker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Compute slots bound the jobs computing at once, apart from the jobs taken: a job waiting
// on Pacifica holds none, so it cannot keep a job whose data is ready from computing.
func TestComputeSlots(t *testing.T) {
	t.Parallel()
	w := &Worker{compute: make(chan struct{}, 1)}
	a, b := &Job{compute: w.compute}, &Job{compute: w.compute}
	releaseA, err := a.Compute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The single slot is taken: b waits until a gives it back, or its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Compute(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second job computing beside the first: %v", err)
	}
	got := make(chan func(), 1)
	go func() {
		r, err := b.Compute(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	releaseA()
	releaseA() // giving it back twice frees one slot only
	releaseB := <-got
	if len(w.compute) != 1 {
		t.Errorf("%d slots taken, want 1 (b's)", len(w.compute))
	}
	releaseB()
	if len(w.compute) != 0 {
		t.Errorf("%d slots taken after both released", len(w.compute))
	}
	unlimited := &Job{}
	if r, err := unlimited.Compute(context.Background()); err != nil || r == nil {
		t.Errorf("a job without a worker's slots: %v", err)
	}
}
