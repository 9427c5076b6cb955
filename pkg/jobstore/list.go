package jobstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MaxLimit is the largest page List returns.
const MaxLimit = 1000

// Filter selects jobs for List. Empty fields select everything.
type Filter struct {
	State, Route, EventID string
	// RoutePrefix selects the jobs whose route starts with it (e.g. "script.").
	RoutePrefix string
	// Since and Until, when not zero, select the jobs whose event was received at or after
	// Since and before Until.
	Since, Until time.Time
	// Limit is the page size (default 50, at most MaxLimit).
	Limit int
	// Cursor continues a listing where the previous page ended.
	Cursor string
	// MaxDetailBytes, when set, bounds what a listing loads of each job: no logs, and
	// details larger than it replaced by {"omitted": true, "bytes": n} (see DetailsOmitted).
	MaxDetailBytes int
}

// DetailsOmitted reports whether a listing left the job's details out for their size.
func (j Job) DetailsOmitted() bool {
	var m struct {
		Omitted bool `json:"omitted"`
	}
	return len(j.Details) > 0 && len(j.Details) < 64 && json.Unmarshal(j.Details, &m) == nil && m.Omitted
}

// CursorAfter is the cursor of a listing that continues after j.
func CursorAfter(j Job) string { return encodeCursor(j.ReceivedAt, j.ID) }

// Page is one page of jobs, newest first; Next continues the listing ("" at the end).
type Page struct {
	Jobs []Job
	Next string
}

// List returns jobs newest first (by received time, then id), a page at a time.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, MaxLimit)
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.State != "" {
		where = append(where, "j.state = "+arg(f.State))
	}
	if f.Route != "" {
		where = append(where, "j.route = "+arg(f.Route))
	}
	switch f.RoutePrefix {
	case "":
	case ScriptRoutes:
		// Written as it is, not as a parameter: PostgreSQL then proves the condition of the
		// partial index of the script jobs for any plan, cached ones included.
		where = append(where, "starts_with(j.route, '"+ScriptRoutes+"')")
	default:
		where = append(where, "starts_with(j.route, "+arg(f.RoutePrefix)+")")
	}
	if f.EventID != "" {
		where = append(where, "e.event_id = "+arg(f.EventID))
	}
	if !f.Since.IsZero() {
		where = append(where, "j.received_at >= "+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "j.received_at < "+arg(f.Until))
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		where = append(where, fmt.Sprintf("(j.received_at, j.id) < (%s, %s)", arg(at), arg(id)))
	}
	cols := jobCols
	if f.MaxDetailBytes > 0 {
		n := arg(f.MaxDetailBytes)
		cols = strings.Replace(cols, "j.logs, j.details", "''::text, CASE WHEN octet_length(j.details::text) <= "+n+
			" THEN j.details ELSE jsonb_build_object('omitted', true, 'bytes', octet_length(j.details::text)) END", 1)
	}
	q := `SELECT ` + cols + jobFrom
	if len(where) > 0 {
		q += "WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY j.received_at DESC, j.id DESC LIMIT " + arg(limit+1)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("jobstore: list jobs: %w", err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return Page{}, fmt.Errorf("jobstore: list jobs: %w", err)
		}
		p.Jobs = append(p.Jobs, j)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("jobstore: list jobs: %w", err)
	}
	if len(p.Jobs) > limit {
		p.Jobs = p.Jobs[:limit]
		last := p.Jobs[limit-1]
		p.Next = encodeCursor(last.ReceivedAt, last.ID)
	}
	return p, nil
}

// ScriptRoutes is the prefix of the script jobs' routes, whose listing by RoutePrefix has an
// index of its own (jobs_script_received).
const ScriptRoutes = "script."

func encodeCursor(at time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
}

func decodeCursor(c string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.Nil, ErrBadCursor
	}
	ts, ids, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, uuid.Nil, ErrBadCursor
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, uuid.Nil, ErrBadCursor
	}
	id, err := uuid.Parse(ids)
	if err != nil {
		return time.Time{}, uuid.Nil, ErrBadCursor
	}
	return at, id, nil
}
