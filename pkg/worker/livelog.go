package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// The job log is written while the attempt runs: the handler's lines (Job.Logf) and its
// children's output (Job.Output) wait in memory until the next flush, which appends them
// to the job store in one statement (the store keeps the log's tail). A flush comes every
// LogFlushInterval while something waits, or sooner once LogFlushBytes wait, at most
// every minFlushGap: a child that floods its output costs a few statements a second, not
// one per line.
const (
	LogFlushInterval = time.Second
	LogFlushBytes    = 16 << 10
	minFlushGap      = 200 * time.Millisecond
	// logBufferMax bounds what waits between two flushes (the store keeps 64 KiB of the
	// log's end by default: more would be dropped there anyway). Older text is dropped
	// first, and the flush says how much.
	logBufferMax = 64 << 10
	// MaxLogLine bounds a line of a child's output in the job log; the rest of a longer
	// line is dropped, and the line says so.
	MaxLogLine = 8 << 10
)

// logBuffer is the job log waiting for its flush. Job.mu guards it.
type logBuffer struct {
	b       []byte
	dropped int
	// full is signalled when LogFlushBytes wait.
	full chan struct{}
}

// appendLog adds text (whole lines) to the log waiting for its flush.
func (j *Job) appendLog(text []byte) {
	j.mu.Lock()
	defer j.mu.Unlock()
	l := &j.log
	if len(text) > logBufferMax {
		l.dropped += len(l.b) + len(text) - logBufferMax
		l.b = append(l.b[:0], text[len(text)-logBufferMax:]...)
	} else {
		l.b = append(l.b, text...)
		// Trimmed once twice the bound is reached, so that a flood of small writes moves
		// each byte once; takeLog trims to the bound.
		if len(l.b) > 2*logBufferMax {
			l.trim()
		}
	}
	if len(l.b) >= LogFlushBytes && l.full != nil {
		select {
		case l.full <- struct{}{}:
		default:
		}
	}
}

// trim drops the oldest text past logBufferMax.
func (l *logBuffer) trim() {
	if over := len(l.b) - logBufferMax; over > 0 {
		l.dropped += over
		l.b = append(l.b[:0], l.b[over:]...)
	}
}

// takeLog returns the log written since the last call, with a note of what was dropped
// for want of room.
func (j *Job) takeLog() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	l := &j.log
	l.trim()
	s := string(l.b)
	if l.dropped > 0 {
		// The dropped text started somewhere in a line: the kept text starts at the next one.
		if i := bytes.IndexByte(l.b, '\n'); i >= 0 && i < len(l.b)-1 {
			l.dropped += i + 1
			s = s[i+1:]
		}
		s = fmt.Sprintf("%s [the dispatcher dropped %d bytes of this log here: more than %d KiB came within %s]\n%s",
			time.Now().UTC().Format(time.RFC3339), l.dropped, logBufferMax>>10, LogFlushInterval, s)
	}
	l.b, l.dropped = l.b[:0], 0
	return s
}

// putBackLog returns text that could not be stored to the front of the waiting log, for
// the next flush (bounded as appendLog bounds it).
func (j *Job) putBackLog(text string) {
	j.mu.Lock()
	rest := string(j.log.b)
	j.log.b = j.log.b[:0]
	j.mu.Unlock()
	j.appendLog([]byte(text + rest))
}

// Output returns a writer of a child's output stream (a model's or a script's stdout or
// stderr) into the job's log, line by line as it is written: each line is stamped with the
// time and tagged with stream ("2025-01-02T03:04:05Z [stdout] text"). A line longer than
// MaxLogLine is cut. Close writes an unfinished last line. It is safe for concurrent use;
// writing never fails.
func (j *Job) Output(stream string) io.WriteCloser {
	return &outputWriter{job: j, tag: " [" + stream + "] "}
}

type outputWriter struct {
	job *Job
	tag string

	mu   sync.Mutex
	line []byte
	// cut is set when the current line passed MaxLogLine: its rest is dropped.
	cut bool
}

func (o *outputWriter) Write(p []byte) (int, error) {
	n := len(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []byte
	stamp := ""
	for len(p) > 0 {
		end := bytes.IndexByte(p, '\n')
		seg := p
		if end >= 0 {
			seg = p[:end]
		}
		if !o.cut {
			if room := MaxLogLine - len(o.line); len(seg) > room {
				o.line, o.cut = append(o.line, seg[:room]...), true
			} else {
				o.line = append(o.line, seg...)
			}
		}
		if end < 0 {
			break
		}
		if stamp == "" {
			stamp = time.Now().UTC().Format(time.RFC3339)
		}
		out = o.end(out, stamp)
		p = p[end+1:]
	}
	if len(out) > 0 {
		o.job.appendLog(out)
	}
	return n, nil
}

// end appends the current line to out and starts the next.
func (o *outputWriter) end(out []byte, stamp string) []byte {
	out = append(out, stamp...)
	out = append(out, o.tag...)
	out = append(out, bytes.TrimSuffix(o.line, []byte("\r"))...)
	if o.cut {
		out = append(out, fmt.Sprintf(" [line cut at %d KiB]", MaxLogLine>>10)...)
	}
	o.line, o.cut = o.line[:0], false
	return append(out, '\n')
}

// Close writes the unfinished last line, if any.
func (o *outputWriter) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.line) > 0 || o.cut {
		o.job.appendLog(o.end(nil, time.Now().UTC().Format(time.RFC3339)))
	}
	return nil
}

// streamLog flushes the job's log while the attempt runs, until ctx ends (the attempt's
// end flushes the rest).
func (w *Worker) streamLog(ctx context.Context, job *Job) {
	t := time.NewTicker(LogFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-job.log.full:
		}
		fctx, cancel := context.WithTimeout(ctx, max(w.cfg.Lease/3, time.Second))
		w.flushLog(fctx, job)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-time.After(minFlushGap):
		}
	}
}

// flushLog appends what waits of the job's log to the job store. What the store did not
// take waits for the next flush. One flush at a time, so that the log keeps its order.
func (w *Worker) flushLog(ctx context.Context, job *Job) {
	job.flushMu.Lock()
	defer job.flushMu.Unlock()
	s := job.takeLog()
	if s == "" {
		return
	}
	if err := w.cfg.Store.AppendLog(ctx, job.ID, LogText(s)); err != nil {
		job.Logger.Debug("appending to the job log", "error", err)
		job.putBackLog(s)
	}
}
