package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// A jobs queue purged (or a message dead-lettered, or a broker that lost its disk): the
// jobs stay queued in PostgreSQL with their message gone. The sweeper finds them once the
// queue is empty and they have waited STRANDED_AFTER, and the relay publishes them again.
func TestPurgedQueueIsRepublished(t *testing.T) {
	t.Parallel()
	h := startHarness(t, func(c *Config) {
		c.SweepInterval = 200 * time.Millisecond
		c.StrandedAfter = time.Second
	})
	const n = 5
	var want []string
	for i := range n {
		code, ans := h.post("/receive", "application/json", withEventID(t, sampleEvent(t), fmt.Sprintf("stranded-%d", i)))
		if code != http.StatusAccepted {
			t.Fatal(code, ans)
		}
		want = append(want, jobIDs(t, ans)...)
	}
	sort.Strings(want)
	// Wait until every job is marked published (no relay will publish it again), then purge
	// the queue.
	eventually(t, 10*time.Second, "every job marked published", func() bool {
		n, err := h.svc.store.Backlog(context.Background())
		return err == nil && n == 0
	})
	conn, err := amqp.Dial(testsupport.BrokerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	eventually(t, 10*time.Second, "the jobs' messages on the queue", func() bool {
		q, err := ch.QueueDeclarePassive(h.cfg.jobsQueue(), true, false, false, false, nil)
		return err == nil && q.Messages >= n
	})
	if _, err := ch.QueuePurge(h.cfg.jobsQueue(), false); err != nil {
		t.Fatal(err)
	}
	got := consumeJobs(t, h.cfg, n, 30*time.Second)
	var ids []string
	for _, id := range got {
		ids = append(ids, id.String())
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("republished %v, want every purged job %v", ids, want)
	}
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "dispatcher_jobs_unstranded_total") || strings.Contains(string(body), "dispatcher_jobs_unstranded_total 0\n") {
		t.Errorf("the sweeper's counter:\n%s", grepLines(string(body), "unstranded"))
	}
}
