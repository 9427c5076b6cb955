package pacifica

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

const cartd = "cartd"

// The polling of a cart being staged and of an upload being ingested: the first interval,
// doubled after each poll up to the last. A small first interval costs a few requests to
// a site whose carts and uploads take seconds (5, 10, 20, 40 ms: four more than from 50 ms
// over the first second) and lets a job whose cart or upload is ready at once go on at
// once rather than 50 ms later.
const (
	FirstPollInterval = 5 * time.Millisecond
	MaxPollInterval   = time.Second
)

// CartClient talks to cartd (pacifica-cartd).
type CartClient struct {
	c       caller
	base    string
	timeout time.Duration
}

// CartFile is a file to download: its archive id, where it goes (subdir/name), and what it
// must hash to.
type CartFile struct {
	ID       int64
	Path     string
	HashType string
	HashSum  string
	Size     int64
}

// CartStatus is a cart's state as HEAD reports it.
type CartStatus struct {
	State   string // staging, ready, error
	Message string
}

func (c *CartClient) url(uid string) string { return c.base + "/" + url.PathEscape(uid) }

// Create asks cartd to prepare a cart of the files under uid.
func (c *CartClient) Create(ctx context.Context, uid string, files []CartFile) error {
	type fileID struct {
		ID       int64  `json:"id"`
		Path     string `json:"path"`
		HashType string `json:"hashtype"`
		HashSum  string `json:"hashsum"`
	}
	body := struct {
		FileIDs []fileID `json:"fileids"`
	}{FileIDs: make([]fileID, 0, len(files))}
	for _, f := range files {
		body.FileIDs = append(body.FileIDs, fileID{ID: f.ID, Path: f.Path, HashType: f.HashType, HashSum: f.HashSum})
	}
	b, _ := json.Marshal(body)
	op := fmtOp("create cart %s", uid)
	code, _, resp, err := c.c.call(ctx, cartd, op, http.MethodPost, c.url(uid),
		http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(b))
	if err != nil {
		return err
	}
	if code != http.StatusCreated {
		return statusError(cartd, op, code, resp)
	}
	return nil
}

// Status reads a cart's state (HEAD).
func (c *CartClient) Status(ctx context.Context, uid string) (CartStatus, error) {
	op := fmtOp("status of cart %s", uid)
	code, h, body, err := c.c.call(ctx, cartd, op, http.MethodHead, c.url(uid), nil, nil)
	if err != nil {
		return CartStatus{}, err
	}
	st := CartStatus{State: h.Get("X-Pacifica-Status"), Message: h.Get("X-Pacifica-Message")}
	switch {
	case code == http.StatusNoContent || code == http.StatusOK:
		return st, nil
	case code == http.StatusInternalServerError && st.State == "error":
		// A cart in error (a hash mismatch, a file the archive lacks) will not get better.
		return st, &Error{Service: cartd, Op: op, StatusCode: code, Message: st.Message}
	case code == http.StatusNotFound:
		return st, &Error{Service: cartd, Op: op, StatusCode: code, Message: st.Message}
	}
	return st, statusError(cartd, op, code, body)
}

// Wait polls the cart until it is ready, with a first interval of FirstPollInterval doubling
// to MaxPollInterval, up to the configured cart time limit (a time-out is retryable).
func (c *CartClient) Wait(ctx context.Context, uid string) error {
	deadline := time.Now().Add(c.timeout)
	interval := FirstPollInterval
	for {
		st, err := c.Status(ctx, uid)
		if err != nil {
			return err
		}
		if st.State == "ready" {
			return nil
		}
		if time.Now().Add(interval).After(deadline) {
			return &Error{Service: cartd, Op: fmtOp("wait for cart %s", uid), Temporary: true,
				Message: fmt.Sprintf("not ready after %s (state %q)", c.timeout, st.State)}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("cartd: wait for cart %s: %w", uid, ctx.Err())
		case <-t.C:
		}
		interval = min(interval*2, MaxPollInterval)
	}
}

// Delete removes a cart.
func (c *CartClient) Delete(ctx context.Context, uid string) error {
	op := fmtOp("delete cart %s", uid)
	code, _, body, err := c.c.call(ctx, cartd, op, http.MethodDelete, c.url(uid), nil, nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return statusError(cartd, op, code, body)
	}
	return nil
}

// Download fetches files into dir through a new cart: create, wait, extract (checked), then
// delete the cart (best effort).
func (c *CartClient) Download(ctx context.Context, files []CartFile, dir string) error {
	uid := uuid.NewString()
	if err := c.Create(ctx, uid, files); err != nil {
		return err
	}
	if err := c.Wait(ctx, uid); err != nil {
		return err
	}
	if err := c.Extract(ctx, uid, files, dir); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = c.Delete(dctx, uid)
	return nil
}
