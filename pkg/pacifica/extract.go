package pacifica

import (
	"archive/tar"
	"context"
	"crypto/md5"  //nolint:gosec // Pacifica's hash types
	"crypto/sha1" //nolint:gosec // Pacifica's default hash type
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// newHash returns the hash of a Pacifica hash type.
func newHash(typ string) (hash.Hash, error) {
	switch strings.ToLower(typ) {
	case "md5":
		return md5.New(), nil //nolint:gosec
	case "sha1":
		return sha1.New(), nil //nolint:gosec
	case "sha224":
		return sha256.New224(), nil
	case "sha256":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("unsupported hash type %q", typ)
}

// Extract downloads the ready cart (GET ?filename=data) and writes the requested files
// under dir, safely: only regular files and directories; no absolute names, no "..", no
// links, nothing outside dir and nothing through a link already in dir; only the files
// asked for, each exactly its announced size and hash, all of them present. A file that
// fails a check is removed. The stream is never held whole in memory.
func (c *CartClient) Extract(ctx context.Context, uid string, files []CartFile, dir string) error {
	op := fmtOp("download cart %s", uid)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(uid)+"?filename=data", nil)
	if err != nil {
		return &Error{Service: cartd, Op: op, Err: err}
	}
	resp, err := c.c.hc.Do(req)
	if err != nil {
		return transportError(cartd, op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		e := statusError(cartd, op, resp.StatusCode, body)
		if resp.StatusCode == http.StatusAccepted {
			e.(*Error).Temporary = true // not ready yet
		}
		return e
	}
	if err := extractTar(resp.Body, files, dir); err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return err
		}
		// A broken stream may be the network's fault; a hostile or wrong one is not.
		temporary := errors.Is(err, io.ErrUnexpectedEOF) && ctx.Err() == nil
		return &Error{Service: cartd, Op: op, Err: err, Temporary: temporary}
	}
	return nil
}

// extractTar writes the wanted files of a cartd tar stream under dir.
func extractTar(r io.Reader, files []CartFile, dir string) error {
	want := make(map[string]CartFile, len(files))
	for _, f := range files {
		p, err := cleanRel(f.Path)
		if err != nil {
			return fmt.Errorf("requested file %q: %w", f.Path, err)
		}
		want[p] = f
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	done := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the tar stream: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		// The first component is the cart's top directory (data/, or the cart uid).
		_, rel, _ := strings.Cut(strings.TrimSuffix(name, "/"), "/")
		switch h.Typeflag {
		case tar.TypeDir:
			if rel == "" {
				continue
			}
			p, err := cleanRel(rel)
			if err != nil {
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
			if err := root.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
		case tar.TypeReg:
			p, err := cleanRel(rel)
			if err != nil {
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
			f, ok := want[p]
			if !ok {
				return fmt.Errorf("tar entry %q: a file that was not asked for", h.Name)
			}
			if done[p] {
				return fmt.Errorf("tar entry %q: the same file twice", h.Name)
			}
			if h.Size != f.Size {
				return fmt.Errorf("tar entry %q: %d bytes, want %d", h.Name, h.Size, f.Size)
			}
			if err := writeChecked(root, p, tr, f); err != nil {
				return fmt.Errorf("tar entry %q: %w", h.Name, err)
			}
			done[p] = true
		default:
			return fmt.Errorf("tar entry %q: type %q is not a regular file or directory (links and devices are refused)", h.Name, h.Typeflag)
		}
	}
	for p := range want {
		if !done[p] {
			return fmt.Errorf("file %q missing from the cart", p)
		}
	}
	return nil
}

// writeChecked writes exactly f.Size bytes to p under root and checks the hash; on any
// failure the file is removed.
func writeChecked(root *os.Root, p string, r io.Reader, f CartFile) (err error) {
	h, err := newHash(f.HashType)
	if err != nil {
		return err
	}
	if d := path.Dir(p); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	out, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = root.Remove(p)
		}
	}()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, f.Size))
	if err != nil {
		return err
	}
	if n != f.Size {
		return fmt.Errorf("truncated: %d of %d bytes", n, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, f.HashSum) {
		return fmt.Errorf("%s %s does not match the expected %s", strings.ToLower(f.HashType), got, f.HashSum)
	}
	return nil
}

// cleanRel checks that p is a relative path that stays inside its directory and returns
// it cleaned, with forward slashes.
func cleanRel(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || strings.ContainsRune(p, 0) {
		return "", errors.New("not a relative path")
	}
	c := path.Clean(p)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") || !filepath.IsLocal(c) {
		return "", errors.New("escapes the target directory")
	}
	return c, nil
}
