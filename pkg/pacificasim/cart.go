package pacificasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// Cart states, as cartd's X-Pacifica-Status header spells them.
const (
	cartStaging = "staging"
	cartReady   = "ready"
	cartError   = "error"
)

// cart is one cart of cartd: the files asked for and how far their staging went.
type cart struct {
	uid     string
	files   []cartFile
	status  string
	message string
	created time.Time
}

// cartFile is one entry of a cart request's "fileids".
type cartFile struct {
	id       string // the archive file id, as text (cartd accepts an integer or a string)
	path     string // where the file goes in the cart, as the client gave it
	hashType string
	hashSum  string
}

// parseCartRequest reads the body of POST /<uid>: {"fileids": [{"id", "path", "hashtype",
// "hashsum"}, ...]}, every key required, id an integer or a string, the others strings, as
// cartd's JSON schema says. Other keys are ignored.
func parseCartRequest(body []byte) ([]cartFile, error) {
	v, err := pyjson.Decode(body)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(*pyjson.Object)
	if !ok {
		return nil, errors.New("the request is not a JSON object")
	}
	raw, ok := obj.Get("fileids")
	if !ok {
		return nil, errors.New("'fileids' is a required property")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, errors.New("'fileids' is not of type 'array'")
	}
	files := make([]cartFile, 0, len(list))
	for i, e := range list {
		eo, ok := e.(*pyjson.Object)
		if !ok {
			return nil, fmt.Errorf("fileids[%d] is not of type 'object'", i)
		}
		var f cartFile
		switch id, _ := eo.Get("id"); id := id.(type) {
		case json.Number:
			if _, err := strconv.ParseInt(id.String(), 10, 64); err != nil {
				return nil, fmt.Errorf("fileids[%d].id %s is not of type 'integer', 'string'", i, id)
			}
			f.id = id.String()
		case string:
			f.id = id
		case nil:
			return nil, fmt.Errorf("fileids[%d]: 'id' is a required property", i)
		default:
			return nil, fmt.Errorf("fileids[%d].id is not of type 'integer', 'string'", i)
		}
		for _, field := range []struct {
			key string
			dst *string
		}{{"path", &f.path}, {"hashtype", &f.hashType}, {"hashsum", &f.hashSum}} {
			fv, present := eo.Get(field.key)
			if !present {
				return nil, fmt.Errorf("fileids[%d]: '%s' is a required property", i, field.key)
			}
			str, ok := fv.(string)
			if !ok {
				return nil, fmt.Errorf("fileids[%d].%s is not of type 'string'", i, field.key)
			}
			*field.dst = str
		}
		files = append(files, f)
	}
	return files, nil
}

// cartPath cleans the path of a cart entry; it must stay inside the cart.
func cartPath(p string) (string, error) {
	c := path.Clean(strings.ReplaceAll(p, "\\", "/"))
	if p == "" || path.IsAbs(c) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("invalid path %q", p)
	}
	return c, nil
}

// pullError is the message of a cart whose file could not be staged, in cartd's words.
func pullError(reason string) string {
	return "Failed to pull file(Failed to pull with error: " + reason + ")"
}

// stageCart checks the files of c against the archive, as cartd does while it pulls them,
// and returns the cart's final state and message.
func (s *Sim) stageCart(c *cart) (status, message string) {
	kinds := map[string]bool{} // cleaned path → is a directory
	for _, f := range c.files {
		p, err := cartPath(f.path)
		if err != nil {
			return cartError, pullError(err.Error())
		}
		if isDir, seen := kinds[p]; seen && isDir {
			return cartError, pullError(fmt.Sprintf("%s is a directory", p))
		}
		kinds[p] = false
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if isDir, seen := kinds[d]; seen && !isDir {
				return cartError, pullError(fmt.Sprintf("%s is not a directory", d))
			}
			kinds[d] = true
		}
		id, err := strconv.ParseInt(f.id, 10, 64)
		var af *archivedFile
		ok := false
		if err == nil {
			af, ok = s.archived(id)
		}
		if !ok {
			return cartError, pullError(fmt.Sprintf("404 Client Error: Not Found for url: http://127.0.0.1:8080/%s", f.id))
		}
		sum, err := hashFile(af.path, f.hashType)
		if err != nil {
			return cartError, pullError(err.Error())
		}
		if sum != f.hashSum {
			return cartError, pullError("File hash does not match provided hash")
		}
	}
	return cartReady, ""
}
