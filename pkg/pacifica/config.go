package pacifica

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultMetadataURL is the metadata service of a Config that names none.
const DefaultMetadataURL = "http://127.0.0.1:8121"

// Config holds the endpoints and credentials of a Pacifica site (under the variable names of the Pacifica CLI). The
// credentials apply to every service, metadata included (a site may put it behind the
// same proxy). An empty MetadataURL means DefaultMetadataURL.
type Config struct {
	UploadURL        string        `envconfig:"UPLOAD_URL" default:"http://127.0.0.1:8066/upload" desc:"Pacifica ingest upload endpoint"`
	UploadStatusURL  string        `envconfig:"UPLOAD_STATUS_URL" default:"http://127.0.0.1:8066/get_state" desc:"Pacifica ingest state endpoint"`
	DownloadURL      string        `envconfig:"DOWNLOAD_URL" default:"http://127.0.0.1:8081" desc:"Pacifica cartd base URL"`
	NotificationsURL string        `envconfig:"NOTIFICATIONS_URL" default:"http://127.0.0.1:8070" desc:"Pacifica notifications base URL (for dispatcher subscribe)"`
	MetadataURL      string        `envconfig:"METADATA_URL" default:"http://127.0.0.1:8121" desc:"Pacifica metadata base URL: workers check every ingest event against the transaction it names before acting on it"`
	CABundle         string        `envconfig:"CA_BUNDLE" default:"True" desc:"TLS verification: True (system roots), False (no verification), or a PEM bundle path"`
	AuthType         string        `envconfig:"AUTHENTICATION_TYPE" desc:"authentication to Pacifica: empty (none), basic or clientssl"`
	Username         string        `envconfig:"AUTHENTICATION_USERNAME" desc:"basic: user name (or AUTHENTICATION_USERNAME_FILE: a file holding it)"`
	Password         string        `envconfig:"AUTHENTICATION_PASSWORD" desc:"basic: password (or AUTHENTICATION_PASSWORD_FILE: a file holding it)"`
	Cert             string        `envconfig:"AUTHENTICATION_CERT" desc:"clientssl: client certificate (PEM file)"`
	Key              string        `envconfig:"AUTHENTICATION_KEY" desc:"clientssl: client key (PEM file)"`
	RequestTimeout   time.Duration `envconfig:"PACIFICA_REQUEST_TIMEOUT" default:"30s" desc:"time limit of one call to a Pacifica service (streams excepted)"`
	CartTimeout      time.Duration `envconfig:"CART_TIMEOUT" default:"180s" desc:"how long a cart may take to become ready"`
	IngestTimeout    time.Duration `envconfig:"INGEST_TIMEOUT" default:"10m" desc:"how long an upload may take to be ingested; a retry waits as long after an earlier attempt started an upload it did not record, for it to appear in metadata"`
}

// Validate checks the configuration, naming the variable at fault.
func (c Config) Validate() error {
	var errs []error
	for name, u := range map[string]string{"UPLOAD_URL": c.UploadURL, "UPLOAD_STATUS_URL": c.UploadStatusURL,
		"DOWNLOAD_URL": c.DownloadURL, "NOTIFICATIONS_URL": c.NotificationsURL, "METADATA_URL": c.MetadataURL} {
		if name == "METADATA_URL" && u == "" {
			continue // DefaultMetadataURL
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", name, u))
		}
	}
	switch strings.ToLower(c.AuthType) {
	case "", "none":
	case "basic":
		if c.Username == "" {
			errs = append(errs, errors.New("AUTHENTICATION_USERNAME: required with AUTHENTICATION_TYPE=basic"))
		}
	case "clientssl":
		if c.Cert == "" || c.Key == "" {
			errs = append(errs, errors.New("AUTHENTICATION_CERT and AUTHENTICATION_KEY: required with AUTHENTICATION_TYPE=clientssl"))
		}
	default:
		errs = append(errs, fmt.Errorf("AUTHENTICATION_TYPE: %q: want basic, clientssl or nothing", c.AuthType))
	}
	switch strings.ToLower(c.CABundle) {
	case "", "true", "false":
	default:
		if _, err := os.Stat(c.CABundle); err != nil {
			errs = append(errs, fmt.Errorf("CA_BUNDLE: %v", err))
		}
	}
	for name, d := range map[string]time.Duration{"PACIFICA_REQUEST_TIMEOUT": c.RequestTimeout,
		"CART_TIMEOUT": c.CartTimeout, "INGEST_TIMEOUT": c.IngestTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s: negative duration", name))
		}
	}
	return errors.Join(errs...)
}

// MaxIdleConnsPerHost is how many idle connections the HTTP client keeps to each Pacifica
// host for the next request (WORKER_CONCURRENCY's default is 4 per CPU).
const MaxIdleConnsPerHost = 64

// HTTPClient builds the HTTP client of the configuration: TLS verification as CA_BUNDLE
// says, the client certificate of clientssl authentication, and basic credentials added to
// every request.
func (c Config) HTTPClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Every job of a worker talks to the same few hosts (cartd, ingest, metadata) at once:
	// with net/http's default of 2 idle connections per host, the others were closed after
	// each request and opened again for the next (a TCP handshake, and a TLS one in
	// production, per request).
	tr.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch strings.ToLower(c.CABundle) {
	case "", "true":
	case "false":
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // the operator asked for it with CA_BUNDLE=False
	default:
		pem, err := os.ReadFile(c.CABundle)
		if err != nil {
			return nil, fmt.Errorf("CA_BUNDLE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA_BUNDLE: %s holds no PEM certificate", c.CABundle)
		}
		tlsCfg.RootCAs = pool
	}
	if strings.ToLower(c.AuthType) == "clientssl" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("AUTHENTICATION_CERT/AUTHENTICATION_KEY: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tlsCfg
	var rt http.RoundTripper = tr
	if strings.ToLower(c.AuthType) == "basic" {
		rt = basicAuth{next: tr, user: c.Username, pass: c.Password}
	}
	return &http.Client{Transport: rt}, nil
}

// basicAuth adds basic credentials to every request (for a fronting proxy).
type basicAuth struct {
	next       http.RoundTripper
	user, pass string
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.pass)
	return b.next.RoundTrip(r)
}
