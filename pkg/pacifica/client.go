package pacifica

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client holds the clients of the Pacifica services of one configuration.
type Client struct {
	Cart          *CartClient
	Ingest        *IngestClient
	Notifications *NotificationsClient
	Metadata      *MetadataClient
}

// New builds the clients of cfg, sharing one HTTP client (TLS and credentials as cfg says).
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.CartTimeout <= 0 {
		cfg.CartTimeout = 180 * time.Second
	}
	if cfg.IngestTimeout <= 0 {
		cfg.IngestTimeout = 10 * time.Minute
	}
	if cfg.MetadataURL == "" {
		cfg.MetadataURL = DefaultMetadataURL
	}
	hc, err := cfg.HTTPClient()
	if err != nil {
		return nil, err
	}
	c := caller{hc: hc, timeout: cfg.RequestTimeout}
	md := &MetadataClient{c: c, base: strings.TrimRight(cfg.MetadataURL, "/"), maxBytes: MetadataMaxBytes}
	return &Client{
		Cart: &CartClient{c: c, base: strings.TrimRight(cfg.DownloadURL, "/"), timeout: cfg.CartTimeout},
		Ingest: &IngestClient{c: c, uploadURL: cfg.UploadURL, statusURL: cfg.UploadStatusURL, timeout: cfg.IngestTimeout,
			metadata: md},
		Notifications: &NotificationsClient{c: c, base: strings.TrimRight(cfg.NotificationsURL, "/")},
		Metadata:      md,
	}, nil
}

// caller makes bounded HTTP calls.
type caller struct {
	hc      *http.Client
	timeout time.Duration
}

// call does one request with the per-call time limit and returns the status, headers and
// body, cut at 4 MiB. The body of a streaming answer is not read: use stream.
func (c caller) call(ctx context.Context, service, op, method, url string, header http.Header, body io.Reader) (int, http.Header, []byte, error) {
	const limit = 4 << 20
	code, h, b, err := c.callLimit(ctx, service, op, method, url, header, body, limit)
	if len(b) > limit {
		b = b[:limit]
	}
	return code, h, b, err
}

// callLimit is call reading at most limit+1 bytes of the body: a body longer than limit
// bytes is one the caller refuses.
func (c caller) callLimit(ctx context.Context, service, op, method, url string, header http.Header, body io.Reader, limit int64) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, nil, nil, &Error{Service: service, Op: op, Err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, transportError(service, op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, nil, transportError(service, op, err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

func fmtOp(format string, args ...any) string { return fmt.Sprintf(format, args...) }
