// Package deploy_test checks docker-compose.yml and the Dockerfile without Docker (CI has no
// Docker engine): the compose file decodes strictly into the fields it may use, runs the
// whole loop (a one-shot subscribe once the simulator and the dispatcher are healthy), builds
// one image, and pins supported versions.
package deploy_test

import (
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// compose is the part of the Compose specification docker-compose.yml uses; a field not
// listed here is refused (a misspelt key would otherwise be ignored by this test).
type compose struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]*struct{}      `json:"volumes"`
}

type composeService struct {
	Image       string                      `json:"image"`
	Build       any                         `json:"build"`
	Entrypoint  []string                    `json:"entrypoint"`
	Command     []string                    `json:"command"`
	Environment map[string]string           `json:"environment"`
	DependsOn   map[string]composeDependsOn `json:"depends_on"`
	Healthcheck *struct {
		Test     []string `json:"test"`
		Interval string   `json:"interval"`
		Retries  int      `json:"retries"`
	} `json:"healthcheck"`
	Restart     string   `json:"restart"`
	SecurityOpt []string `json:"security_opt"`
	Volumes     []string `json:"volumes"`
	Ports       []string `json:"ports"`
}

type composeDependsOn struct {
	Condition string `json:"condition"`
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// flagValue returns the value after flag in args.
func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestComposeRunsTheLoop(t *testing.T) {
	c := loadCompose(t)
	d, ok := c.Services["dispatcher"]
	if !ok {
		t.Fatal("no dispatcher service")
	}
	// One build, its image reused by name: the image is built once.
	var builders []string
	for name, s := range c.Services {
		if s.Build != nil {
			builders = append(builders, name)
		}
	}
	if len(builders) != 1 || builders[0] != "dispatcher" || d.Image == "" {
		t.Fatalf("services that build: %v (want the dispatcher alone, with an image name)", builders)
	}
	for _, name := range []string{"pacifica-sim", "subscribe"} {
		if s := c.Services[name]; s.Image != d.Image {
			t.Errorf("%s uses image %q, not the dispatcher's %q", name, s.Image, d.Image)
		}
	}

	// The subscription: once the simulator and the dispatcher are healthy, with the
	// receiver's credentials, the same routes (scripts) as the dispatcher, and a URL the
	// simulator's notifications reaches.
	sub, ok := c.Services["subscribe"]
	if !ok {
		t.Fatal("no subscribe service: notifications would send the dispatcher nothing")
	}
	for _, dep := range []string{"pacifica-sim", "dispatcher"} {
		if sub.DependsOn[dep].Condition != "service_healthy" {
			t.Errorf("subscribe does not wait for %s to be healthy", dep)
		}
		if c.Services[dep].Healthcheck == nil {
			t.Errorf("%s has no healthcheck", dep)
		}
	}
	if sub.Restart != "no" || len(sub.Command) == 0 || sub.Command[0] != "subscribe" {
		t.Errorf("subscribe is not a one-shot dispatcher subscribe: restart %q, command %v", sub.Restart, sub.Command)
	}
	target, err := url.Parse(flagValue(sub.Command, "--url"))
	if err != nil || target.Scheme != "http" || target.Path != "/receive" {
		t.Fatalf("subscribe --url %q", flagValue(sub.Command, "--url"))
	}
	if _, ok := c.Services[target.Hostname()]; !ok || target.Hostname() != "dispatcher" {
		t.Errorf("subscribe --url names host %s, not the dispatcher service", target.Hostname())
	}
	env := withDefaults(t, d.Environment)
	if !strings.HasSuffix(env["LISTEN_ADDR"], ":"+target.Port()) {
		t.Errorf("subscribe --url port %s, the dispatcher listens on %s", target.Port(), env["LISTEN_ADDR"])
	}
	if got, want := flagValue(sub.Command, "--auth-basic"), env["RECEIVER_AUTH_USERNAME"]+":"+env["RECEIVER_AUTH_PASSWORD"]; got != want {
		t.Errorf("subscribe gives notifications %q, the receiver wants %q: every delivery would be refused", got, want)
	}
	if !slices.Equal(sub.Volumes, d.Volumes) {
		t.Errorf("subscribe mounts %v, the dispatcher %v: it would subscribe other routes", sub.Volumes, d.Volumes)
	}
	if sub.Environment["NOTIFICATIONS_URL"] != env["NOTIFICATIONS_URL"] {
		t.Errorf("subscribe's NOTIFICATIONS_URL %q differs from the dispatcher's %q", sub.Environment["NOTIFICATIONS_URL"], env["NOTIFICATIONS_URL"])
	}

	// Every variable is a setting, and each Pacifica URL reaches a port the simulator serves.
	_, known := settings()
	for _, s := range []string{"dispatcher", "subscribe"} {
		for k := range c.Services[s].Environment {
			if !known[k] {
				t.Errorf("%s: %s is not a setting of the service", s, k)
			}
		}
	}
	sim := c.Services["pacifica-sim"]
	served := map[string]bool{}
	for _, f := range []string{"--cartd", "--ingest", "--notifications", "--metadata"} {
		_, port, _ := strings.Cut(flagValue(sim.Command, f), ":")
		served[port] = true
	}
	for _, k := range []string{"UPLOAD_URL", "UPLOAD_STATUS_URL", "DOWNLOAD_URL", "NOTIFICATIONS_URL", "METADATA_URL"} {
		u, err := url.Parse(env[k])
		if err != nil || u.Hostname() != "pacifica-sim" || !served[u.Port()] {
			t.Errorf("%s=%s is not a port pacifica-sim serves (%v)", k, env[k], served)
		}
	}
	for name, s := range c.Services {
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on an unknown service %s", name, dep)
			}
		}
	}
}

// Supported versions, pinned: PostgreSQL 16 or 17, RabbitMQ 4.
func TestComposeVersions(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		repo, tag, ok := strings.Cut(s.Image, ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("%s: image %q is not pinned", name, s.Image)
			continue
		}
		switch repo {
		case "postgres":
			if major, _ := strconv.Atoi(strings.SplitN(tag, ".", 2)[0]); major != 16 && major != 17 {
				t.Errorf("%s: PostgreSQL %s; want 16 or 17", name, tag)
			}
		case "rabbitmq":
			if !strings.HasPrefix(tag, "4") {
				t.Errorf("%s: RabbitMQ %s is out of support; want 4.x", name, tag)
			}
		}
	}
}

// The full image: proxymod pinned to a commit or tag, on a Python that is supported.
func TestDockerfilePinsProxymod(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	m := regexp.MustCompile(`(?m)^FROM python:3\.(\d+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("Dockerfile: no python base image")
	}
	if minor, _ := strconv.Atoi(m[1]); minor < 11 {
		t.Errorf("Dockerfile: Python 3.%d has reached its end of life", minor)
	}
	ref := regexp.MustCompile(`(?m)^ARG PROXYMOD_REF=(\S+)$`).FindStringSubmatch(text)
	if ref == nil || !regexp.MustCompile(`^([0-9a-f]{40}|v\d+\.\d+\.\d+)$`).MatchString(ref[1]) {
		t.Errorf("Dockerfile: PROXYMOD_REF %v is not a commit or a release tag", ref)
	}
	if !strings.Contains(text, `s/'rU'/'r'/g`) {
		t.Error("Dockerfile: proxymod opens files in mode 'rU', which Python 3.11 removed; the image must rewrite it")
	}
}

// settings are the service's environment variables (service.Config's envconfig fields and
// the NAME_FILE variants of credentials) with their defaults.
func settings() (defaults map[string]string, known map[string]bool) {
	defaults, known = map[string]string{}, map[string]bool{}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if name := f.Tag.Get("envconfig"); name != "" {
				known[name], defaults[name] = true, f.Tag.Get("default")
				if strings.Contains(f.Tag.Get("desc"), name+"_FILE") {
					known[name+"_FILE"] = true
				}
			}
		}
	}
	walk(reflect.TypeFor[service.Config]())
	return defaults, known
}

func withDefaults(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	out, _ := settings()
	if len(out) < 40 {
		t.Fatalf("only %d settings found in service.Config", len(out))
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}
