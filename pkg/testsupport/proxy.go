package testsupport

import (
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/netsim"
)

// Proxy is a TCP proxy on loopback in front of a real service (PostgreSQL, RabbitMQ), so
// that a test can make the service "go away" for its own connections only: Cut closes every
// connection and refuses new ones until Restore; Partition keeps the connections open but
// forwards no byte either way, so that clients hang until their own timeouts, until Restore
// delivers what was held (netsim.Proxy).
type Proxy = netsim.Proxy

// NewProxy starts a proxy to target (host:port) on 127.0.0.1, closed when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := netsim.NewProxy(target)
	if err != nil {
		t.Fatalf("testsupport: proxy: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}
