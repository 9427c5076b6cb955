package dsn

import (
	"regexp"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://guest:s3cret@rabbit:5672/":          "amqp://guest:xxxxx@rabbit:5672/",
		"postgres://postgres@127.0.0.1:5432/test":   "postgres://postgres@127.0.0.1:5432/test",
		"postgres://u:p%40ss@db/x?sslmode=disable":  "postgres://u:xxxxx@db/x?sslmode=disable",
		"postgres://u:pass@[::1:5432/x (not a URL)": "<unparsable URL>",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithSearchPath(t *testing.T) {
	got := WithSearchPath("postgres://postgres@db:5432/test?sslmode=disable", "demo_1")
	if !strings.Contains(got, "search_path=demo_1") || !strings.Contains(got, "sslmode=disable") {
		t.Errorf("WithSearchPath = %q", got)
	}
	if got := WithSearchPath("postgres://db/x?search_path=old", "new"); strings.Contains(got, "old") {
		t.Errorf("the old search_path kept: %q", got)
	}
}

func TestToken(t *testing.T) {
	a, b := Token(), Token()
	if a == b || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(a) {
		t.Errorf("Token() = %q, %q", a, b)
	}
}
