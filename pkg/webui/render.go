package webui

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
)

// pageNames are the pages, each a template of its own with the layout.
var pageNames = []string{"dashboard", "jobs", "job", "scriptlog", "bulk", "error"}

// parse reads the templates.
func (u *UI) parse() error {
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		return err
	}
	js, err := files.ReadFile("templates/live.js")
	if err != nil {
		return err
	}
	funcs := template.FuncMap{
		"css":     func() template.CSS { return template.CSS(css) }, //nolint:gosec // our own embedded file
		"livejs":  func() template.JS { return template.JS(js) },    //nolint:gosec // our own embedded file
		"t":       formatTime,
		"tp":      func(t *time.Time) string { return formatTime(deref(t)) },
		"short":   short,
		"jobURL":  func(id uuid.UUID) string { return "/ui/jobs/" + id.String() },
		"listURL": listURL,
		"add":     func(a, b int) int { return a + b },
		"deref":   func(p any) string { return derefText(p) },
		"val":     func(v event.Value) string { return valueText(v) },
		"secs": func(s float64) string {
			return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
		},
	}
	u.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("webui: template %s: %w", name, err)
		}
		u.pages[name] = t
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefText(p any) string {
	switch v := p.(type) {
	case *int64:
		if v != nil {
			return strconv.FormatInt(*v, 10)
		}
	case *int:
		if v != nil {
			return strconv.Itoa(*v)
		}
	}
	return ""
}

// formatTime shows a time in UTC, to the second.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// short is the first line of s, cut to n characters.
func short(s string, n int) string {
	line, _, more := strings.Cut(s, "\n")
	if utf8.RuneCountInString(line) > n {
		line, more = string([]rune(line)[:n]), true
	}
	if more {
		line += "…"
	}
	return line
}

// listURL is the jobs list of a route and a state ("" for any).
func listURL(route string, state any) string {
	q := url.Values{}
	if route != "" {
		q.Set("route", route)
	}
	if s := fmt.Sprint(state); s != "" {
		q.Set("state", s)
	}
	if len(q) == 0 {
		return "/ui/jobs"
	}
	return "/ui/jobs?" + q.Encode()
}

// valueText shows an event's value: a string as itself, anything else as its JSON.
func valueText(v event.Value) string {
	if v.IsZero() {
		return "—"
	}
	return v.String()
}
