package pacificasim

import (
	"errors"
	"fmt"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// eventMatchBody is the body of POST or PUT /eventmatch: the keys present, checked against
// notifications' JSON schema.
type eventMatchBody struct {
	strs      map[string]string  // name, jsonpath, target_url
	nullables map[string]*string // disabled, error (present keys only; nil value = null)
	auth      []byte             // JSON object, nil when absent
	ext       []byte             // JSON object, nil when absent
}

// schemaTypes are the types notifications' schema allows per key; other keys are free.
var schemaTypes = map[string]string{
	"uuid": "string", "name": "string", "jsonpath": "string", "user": "string",
	"target_url": "string", "version": "string", "created": "string", "updated": "string",
	"disabled": "string|null", "error": "string|null", "deleted": "string|null",
	"extensions": "object", "auth": "object",
}

// parseEventMatch reads an /eventmatch body. Keys the server sets (uuid, user, created,
// updated, deleted, version) are checked for type and then ignored.
func parseEventMatch(body []byte) (*eventMatchBody, error) {
	v, err := pyjson.Decode(body)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(*pyjson.Object)
	if !ok {
		return nil, errors.New("the body is not of type 'object'")
	}
	serverSet := 0
	b := &eventMatchBody{strs: map[string]string{}, nullables: map[string]*string{}}
	for i, k := range obj.Keys {
		val := obj.Values[i]
		want, checked := schemaTypes[k]
		if !checked {
			continue
		}
		switch want {
		case "string":
			s, ok := val.(string)
			if !ok {
				return nil, fmt.Errorf("'%s' is not of type 'string'", k)
			}
			switch k {
			case "name", "jsonpath", "target_url":
				b.strs[k] = s
			default:
				serverSet++
			}
		case "string|null":
			var p *string
			switch val := val.(type) {
			case nil:
			case string:
				p = &val
			default:
				return nil, fmt.Errorf("'%s' is not of type 'string', 'null'", k)
			}
			if k == "deleted" {
				serverSet++
			} else {
				b.nullables[k] = p
			}
		case "object":
			o, ok := val.(*pyjson.Object)
			if !ok {
				return nil, fmt.Errorf("'%s' is not of type 'object'", k)
			}
			raw, err := pyjson.Marshal(o)
			if err != nil {
				return nil, err
			}
			if k == "auth" {
				b.auth = compact(raw)
			} else {
				b.ext = compact(raw)
			}
		}
	}
	if serverSet == 6 {
		return nil, errors.New("the body must not set all of uuid, user, created, updated, deleted and version")
	}
	return b, nil
}
