package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// column is one column of a table: its title and whether its cells align right.
type column struct {
	title string
	right bool
}

// table is a plain-text table: columns padded to their widest cell, two spaces apart, a
// rule under the titles, an empty cell printed as "-".
type table struct {
	cols []column
	rows [][]string
}

// benchColumns are the columns of the benchmark table.
var benchColumns = []column{
	{title: "measurement"}, {title: "conditions"}, {title: "result", right: true},
	{title: "p50", right: true}, {title: "p95", right: true}, {title: "p99", right: true}, {title: "notes"},
}

// add appends a row; missing cells are empty, extra cells are an error of the caller.
func (t *table) add(cells ...string) {
	if len(cells) > len(t.cols) {
		panic(fmt.Sprintf("table: %d cells for %d columns", len(cells), len(t.cols)))
	}
	row := make([]string, len(t.cols))
	copy(row, cells)
	t.rows = append(t.rows, row)
}

func (t *table) write(w io.Writer) error {
	width := make([]int, len(t.cols))
	cell := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for i, c := range t.cols {
		width[i] = utf8.RuneCountInString(c.title)
	}
	for _, r := range t.rows {
		for i, s := range r {
			width[i] = max(width[i], utf8.RuneCountInString(cell(s)))
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i, s := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.cols[i].right {
				b.WriteString(pad + s)
			} else {
				b.WriteString(s + pad)
			}
		}
		return strings.TrimRight(b.String(), " ") + "\n"
	}
	titles := make([]string, len(t.cols))
	rule := make([]string, len(t.cols))
	for i, c := range t.cols {
		titles[i], rule[i] = c.title, strings.Repeat("-", width[i])
	}
	out := line(titles) + line(rule)
	for _, r := range t.rows {
		cells := make([]string, len(r))
		for i, s := range r {
			cells[i] = cell(s)
		}
		out += line(cells)
	}
	_, err := io.WriteString(w, out)
	return err
}
