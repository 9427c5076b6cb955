package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// The scripts part's configuration, read as the service reads it, routes the event of a
// source uploaded without models to the benchmark's script alone: one job per event.
func TestScriptConfigRoutesSourcesToTheScriptAlone(t *testing.T) {
	dir := t.TempDir()
	if err := writeScriptConfig(dir); err != nil {
		t.Fatal(err)
	}
	cfg, err := service.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ScriptDir, cfg.ScriptConfig = filepath.Join(dir, "scripts.d"), filepath.Join(dir, "config.ini")
	table, scr, err := service.LoadRoutes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(scr) != 1 || scr[0].Name != scriptName || scr[0].FilterText != scriptFilter {
		t.Fatalf("scripts %+v, want %s with the benchmark's filter", scr, scriptName)
	}
	sample, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The source's event: the sample's key/values and its input files, no Python models.
	var ev map[string]any
	if err := json.Unmarshal(sample, &ev); err != nil {
		t.Fatal(err)
	}
	var data []any
	for _, d := range ev["data"].([]any) {
		if m, ok := d.(map[string]any); ok && m["mimetype"] == "text/x-python" {
			continue
		}
		data = append(data, d)
	}
	ev["data"] = data
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonpath2.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got := table.Match(doc)
	if len(got) != 1 || got[0].Name != "script."+scriptName {
		t.Errorf("the source's event routes to %+v, want script.%s alone", got, scriptName)
	}
}
