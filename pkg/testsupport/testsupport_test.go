package testsupport

import (
	"context"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A missing test database is created, once, however many packages ask at the same time.
func TestDatabaseURLCreatesTheDatabase(t *testing.T) {
	base := DatabaseURL(t)
	fresh := func() (name, raw string) {
		name = "testsupport_" + Token()
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if conn, err := pgx.Connect(ctx, base); err == nil {
				if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
					t.Logf("drop database %s: %v", name, err)
				}
				_ = conn.Close(ctx)
			}
		})
		return name, u.String()
	}

	// Through the helper the tests call: the database is made, a schema can be made in it.
	name, raw := fresh()
	t.Setenv("TEST_DATABASE_URL", raw)
	if got, err := url.Parse(Schema(t)); err != nil || got.Path != "/"+name {
		t.Errorf("Schema gave %v (%v), not in database %s", got, err, name)
	}

	// Parallel packages creating it at once.
	_, raw = fresh()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := createDatabase(ctx, raw); err != nil {
				t.Errorf("createDatabase: %v", err)
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatalf("the database made by four at once: %v", err)
	}
	_ = conn.Close(ctx)
}

// The program never depends on the test-support package: no non-test file of the module
// imports it (the same rule as .golangci.yml's depguard, for machines without the linter).
func TestOnlyTestsImportTestSupport(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const self = "github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		checked++
		if pkg != self && slices.Contains(strings.Fields(imports), self) {
			t.Errorf("%s imports the test-support package outside its tests", pkg)
		}
	}
	if checked < 20 {
		t.Errorf("only %d packages listed", checked)
	}
}
