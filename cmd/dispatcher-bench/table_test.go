package main

import (
	"strings"
	"testing"
)

// Right-aligned columns align their title right too, over the numbers.
func TestTableAlignsColumns(t *testing.T) {
	tb := &table{cols: []column{{title: "measurement"}, {title: "result", right: true}, {title: "notes"}}}
	tb.add("raw INSERT", "4272 rows/s", "n=4274")
	tb.add("durable intake → 202", "818 events/s") // a rune wider than a byte, a missing cell
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"measurement                 result  notes\n" +
		"--------------------  ------------  ------\n" +
		"raw INSERT             4272 rows/s  n=4274\n" +
		"durable intake → 202  818 events/s  -\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestTableRejectsExtraCells(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a row with more cells than columns was accepted")
		}
	}()
	(&table{cols: []column{{title: "a"}}}).add("1", "2")
}
