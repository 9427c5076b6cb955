package pyjson

// Object is a JSON object whose keys keep their order. Build one with a composite literal or
// get one from Decode.
type Object struct {
	Keys   []string
	Values []any
}

// Get returns the value of key and whether it is present.
func (o *Object) Get(key string) (any, bool) {
	for i, k := range o.Keys {
		if k == key {
			return o.Values[i], true
		}
	}
	return nil, false
}

// Set gives key the value v: in place when the key is present (as a Python dict update
// does), last otherwise.
func (o *Object) Set(key string, v any) {
	for i, k := range o.Keys {
		if k == key {
			o.Values[i] = v
			return
		}
	}
	o.Keys = append(o.Keys, key)
	o.Values = append(o.Values, v)
}

// Clone returns a copy of o whose nested objects and arrays are copies too.
func (o *Object) Clone() *Object {
	c := &Object{Keys: append([]string(nil), o.Keys...), Values: make([]any, len(o.Values))}
	for i, v := range o.Values {
		c.Values[i] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case *Object:
		return v.Clone()
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneValue(e)
		}
		return c
	default:
		return v
	}
}
