package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestConfigCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"config"}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "`DATABASE_URL`") {
		t.Errorf("config: %d %q", code, out.String())
	}
	t.Setenv("ROLE", "boss")
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"config", "check"}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "ROLE") {
		t.Errorf("config check with ROLE=boss: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"serve", "--role=boss"}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "ROLE") {
		t.Errorf("serve --role=boss: %d %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"nonsense"}, nil, &out, &errOut); code != 2 {
		t.Errorf("unknown command exited %d", code)
	}
}
