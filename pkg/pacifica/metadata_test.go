package pacifica

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Odd answers of a metadata service, each with how the client classifies it.
func TestTransactionInfoOddAnswers(t *testing.T) {
	t.Parallel()
	const good = `{"_id": 79, "submitter": 10, "project": "1234a", "instrument": 54, "file_ids": [117],
		"files": {"117": {"_id": 117, "name": "a.csv", "subdir": "", "size": 4, "hashtype": "sha1",
		"hashsum": "2244b00d5743f6d9f01d3ea2e2da0cfcab84d3bd", "mimetype": "text/csv", "transaction": 79}},
		"key_values": {"Transactions._id": "78"}}`
	for _, tc := range []struct {
		name      string
		status    string // the whole status line's code and text
		body      string
		retryable bool
		has       string // in the error; "" for success
	}{
		{name: "good", status: "200 OK", body: good},
		{name: "400 invalid id", status: "400 Invalid Transaction ID", body: `{"status": "400 Invalid Transaction ID", "message": "Invalid Transaction ID"}`,
			has: "400 Bad Request: Invalid Transaction ID"},
		{name: "429", status: "429 Too Many Requests", body: `{}`, retryable: true, has: "429"},
		{name: "502 html", status: "502 Bad Gateway", body: "<html>bad gateway</html>", retryable: true, has: "<html>bad gateway</html>"},
		{name: "not JSON", status: "200 OK", body: "<html>", has: "unexpected answer"},
		{name: "a list", status: "200 OK", body: `[]`, has: "unexpected answer"},
		{name: "no _id", status: "200 OK", body: `{"submitter": 10}`, has: "no _id"},
		{name: "another transaction", status: "200 OK", body: strings.Replace(good, `"_id": 79`, `"_id": 80`, 1),
			has: "the transaction of the answer is 80"},
		{name: "submitter a string", status: "200 OK", body: strings.Replace(good, `"submitter": 10`, `"submitter": "10"`, 1),
			has: "unexpected answer"},
		{name: "project a number", status: "200 OK", body: strings.Replace(good, `"project": "1234a"`, `"project": 1234`, 1),
			has: "unexpected answer"},
		{name: "key/value a number", status: "200 OK", body: strings.Replace(good, `"78"`, `78`, 1), has: "unexpected answer"},
		{name: "file under another id", status: "200 OK", body: strings.Replace(good, `{"117": {`, `{"118": {`, 1),
			has: `file "118" has the _id 117`},
		{name: "file size a string", status: "200 OK", body: strings.Replace(good, `"size": 4`, `"size": "4"`, 1), has: "unexpected answer"},
		{name: "too large", status: "200 OK", body: good + strings.Repeat(" ", 2000), has: "the answer is larger than 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				_, _ = buf.WriteString("HTTP/1.1 " + tc.status + "\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + tc.body)
				_ = buf.Flush()
			}))
			defer srv.Close()
			m := &MetadataClient{c: caller{hc: srv.Client(), timeout: 5 * time.Second}, base: srv.URL, maxBytes: 1024}
			info, err := m.TransactionInfo(context.Background(), 79)
			if path != "/transactioninfo/by_id/79" {
				t.Errorf("asked %s", path)
			}
			if tc.has == "" {
				if err != nil {
					t.Fatal(err)
				}
				f, ok := info.Files[117]
				if info.ID != 79 || *info.Submitter != 10 || *info.Project != "1234a" || *info.Instrument != 54 || !ok ||
					f.Name != "a.csv" || f.Size != 4 || info.KeyValues["Transactions._id"] != "78" || len(info.FileIDs) != 1 {
					t.Errorf("info %+v", info)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || IsRetryable(err) != tc.retryable || !strings.Contains(err.Error(), tc.has) {
				t.Errorf("error %v (retryable %v), want a *Error containing %q, retryable %v", err, IsRetryable(err), tc.has, tc.retryable)
			}
		})
	}
}

// Metadata not listening is retryable; the configuration's basic credentials are sent.
func TestTransactionInfoUnreachableAndCredentials(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New(Config{UploadURL: "http://a/upload", UploadStatusURL: "http://a/get_state", DownloadURL: "http://a",
		NotificationsURL: "http://a", MetadataURL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Metadata.TransactionInfo(context.Background(), 1); !IsRetryable(err) {
		t.Errorf("metadata down: %v, want a retryable error", err)
	}

	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"status": "404 Not Found", "message": "No Transaction with an ID of 5 was found"}`))
	}))
	defer srv.Close()
	c, err = New(Config{UploadURL: "http://a/upload", UploadStatusURL: "http://a/get_state", DownloadURL: "http://a",
		NotificationsURL: "http://a", MetadataURL: srv.URL, AuthType: "basic", Username: "svc", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Metadata.TransactionInfo(context.Background(), 5)
	var unknown *UnknownTransactionError
	if !errors.As(err, &unknown) || unknown.Message != "No Transaction with an ID of 5 was found" || IsRetryable(err) {
		t.Errorf("404: %v", err)
	}
	if user != "svc" || pass != "pw" {
		t.Errorf("credentials %q/%q, want the configuration's", user, pass)
	}
}

func TestMetadataURLDefaultAndValidation(t *testing.T) {
	t.Parallel()
	cfg := Config{UploadURL: "http://a/upload", UploadStatusURL: "http://a/get_state", DownloadURL: "http://a", NotificationsURL: "http://a"}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Metadata.base != DefaultMetadataURL {
		t.Errorf("metadata base %q, want %q when METADATA_URL is empty", c.Metadata.base, DefaultMetadataURL)
	}
	cfg.MetadataURL = "metadata:8121"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "METADATA_URL") {
		t.Errorf("Validate() = %v, want an error naming METADATA_URL", err)
	}
}
