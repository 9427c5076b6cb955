package service

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/worker"
)

// The README's configuration table must be exactly what `dispatcher config` prints, so
// that every variable, default and meaning documented is the one the code reads.
func TestREADMEConfigurationTableIsCurrent(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const start, end = "<!-- env-table:start", "<!-- env-table:end -->"
	s := string(readme)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md has no env-table markers")
	}
	block := s[i:j]
	block = block[strings.Index(block, "\n")+1:]
	var want bytes.Buffer
	if err := WriteEnvTable(&want); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(block) != strings.TrimSpace(want.String()) {
		t.Errorf("README.md's configuration table is out of date; replace it with the output of `go run ./cmd/dispatcher config`:\n%s", want.String())
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	// Not parallel: it sets environment variables.
	cases := map[string]string{
		"LISTEN_ADDR":         "nonsense",
		"ROLE":                "boss",
		"MAX_EVENT_BYTES":     "lots",
		"RELAY_INTERVAL":      "soon",
		"BROKER_QUEUE_TYPE":   "stream",
		"DATABASE_URL":        "mysql://x",
		"UPLOAD_URL":          "ftp://x",
		"AUTHENTICATION_TYPE": "kerberos",
		"RECEIVER_AUTH_TYPE":  "magic",
		"SANDBOX":             "docker",
		"SANDBOX_USER":        "nobody",
		"SANDBOX_MEMORY":      "a lot",
		"SANDBOX_DISK":        "0",
		"SANDBOX_CPU_TIME":    "10ms",
		"SANDBOX_BIND":        "relative/path",
		"DATABASE_URL_FILE":   "/no/such/file",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			_, err := Load()
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: Load() = %v, want an error naming %s", name, value, err, name)
			}
		})
	}
	if _, err := Load(); err != nil {
		t.Errorf("defaults do not load: %v", err)
	}
}

// Every credential may come from a file named by NAME_FILE (Docker and Kubernetes
// secrets); the file's final line break is not part of the value, and giving both is an
// error.
func TestSecretsFromFiles(t *testing.T) {
	// Not parallel: it sets environment variables.
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := Config{}
	for name := range c.secrets() {
		t.Run(name, func(t *testing.T) {
			value := "value-of-" + name
			if name == "DATABASE_URL" {
				value = "postgres://u:p@db.example:5432/x"
			}
			if name == "BROKER_URL" {
				value = "amqp://u:p@mq.example:5672/"
			}
			// A set of credentials is complete or refused: give the other half.
			if prefix, ok := strings.CutSuffix(name, "_AUTH_USERNAME"); ok {
				t.Setenv(prefix+"_AUTH_PASSWORD", "pw")
			}
			if prefix, ok := strings.CutSuffix(name, "_AUTH_PASSWORD"); ok {
				t.Setenv(prefix+"_AUTH_USERNAME", "user")
			}
			if strings.HasSuffix(name, "_AUTH_HEADER") {
				value = "Bearer value-of-" + name
			}
			t.Setenv(name+"_FILE", write(name, value+"\n"))
			got, err := Load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if v := *got.secrets()[name]; v != value {
				t.Errorf("%s = %q, want %q from the file", name, v, value)
			}
			if len(got.SecretFiles) != 1 {
				t.Errorf("secret files %v, want the one file (hidden from sandboxes)", got.SecretFiles)
			}
			t.Setenv(name, "also-set")
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), name+" and "+name+"_FILE are both set") {
				t.Errorf("both set: %v", err)
			}
		})
	}
}

// With the default retry settings a job waits out more than an hour of transient failures
// (a Pacifica outage) before it fails, even with the shortest jitter every time.
func TestDefaultRetriesOutlastAnHour(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var least time.Duration
	for attempt := 1; attempt < c.MaxAttempts; attempt++ {
		lo, _ := worker.Backoff(c.JobBackoffBase, c.JobBackoffMax, attempt)
		least += lo
	}
	if least < time.Hour {
		t.Errorf("%d attempts from %s to %s wait at least %s in all: less than an hour", c.MaxAttempts, c.JobBackoffBase, c.JobBackoffMax, least)
	}
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1024": 1024, "4GiB": 4 << 30, "512 MiB": 512 << 20, "2kB": 2000, "3MB": 3e6, "7B": 7} {
		var b ByteSize
		if err := b.Decode(in); err != nil || int64(b) != want {
			t.Errorf("%q: %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1", "1.5GiB", "9999999999TiB", "12 apples"} {
		var b ByteSize
		if err := b.Decode(in); err == nil {
			t.Errorf("%q decoded to %d", in, b)
		}
	}
}

// Operators moving from the Python dispatchers keep the Pacifica CLI's variable names.
func TestPacificaVariablesAreTheCLIs(t *testing.T) {
	t.Setenv("UPLOAD_URL", "http://ingest.example:8066/upload")
	t.Setenv("DOWNLOAD_URL", "http://cartd.example:8081")
	t.Setenv("AUTHENTICATION_TYPE", "basic")
	t.Setenv("AUTHENTICATION_USERNAME", "svc")
	t.Setenv("AUTHENTICATION_PASSWORD", "pw")
	t.Setenv("PROXYMOD_ENV", "PYTHONPATH=/opt/a:/opt/b,PROXYMOD_X=1")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.UploadURL != "http://ingest.example:8066/upload" || c.DownloadURL != "http://cartd.example:8081" ||
		c.AuthType != "basic" || c.Username != "svc" || c.Password != "pw" {
		t.Errorf("Pacifica configuration %+v", c.PacificaConfig)
	}
	if len(c.ProxymodEnv) != 2 || c.ProxymodEnv[0] != "PYTHONPATH=/opt/a:/opt/b" {
		t.Errorf("PROXYMOD_ENV %q", c.ProxymodEnv)
	}
}
