package jsonpath2

// Object is a JSON object that keeps its keys in document order. Build one with NewObject
// (the zero value is an empty object too) or get one from Decode. An Object is safe for
// concurrent reads; Set must not run concurrently with anything else on the same Object.
type Object struct {
	keys  []string
	vals  []any
	index map[string]int // key → position, built once the object is large
}

// indexAbove is the size from which an object keeps a map from key to position; smaller
// objects (nearly all in Pacifica events) are searched linearly, which is faster.
const indexAbove = 16

// NewObject returns an empty object.
func NewObject() *Object { return &Object{} }

// Len returns the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Keys returns a copy of the keys in document order.
func (o *Object) Keys() []string { return append([]string(nil), o.keys...) }

// Values returns a copy of the values in key order.
func (o *Object) Values() []any { return append([]any(nil), o.vals...) }

// Get returns the value of key and whether the key is present (a present key may hold nil,
// JSON null).
func (o *Object) Get(key string) (any, bool) {
	if i := o.find(key); i >= 0 {
		return o.vals[i], true
	}
	return nil, false
}

// Set sets key to v. A new key goes last; an existing key keeps its position and takes the
// new value, which is how Python's json.loads resolves a duplicate key (the last value, at
// the first position).
func (o *Object) Set(key string, v any) {
	if i := o.find(key); i >= 0 {
		o.vals[i] = v
		return
	}
	o.keys = append(o.keys, key)
	o.vals = append(o.vals, v)
	switch {
	case o.index != nil:
		o.index[key] = len(o.keys) - 1
	case len(o.keys) > indexAbove:
		o.index = make(map[string]int, 2*len(o.keys))
		for i, k := range o.keys {
			o.index[k] = i
		}
	}
}

func (o *Object) find(key string) int {
	if o.index != nil {
		if i, ok := o.index[key]; ok {
			return i
		}
		return -1
	}
	for i, k := range o.keys {
		if k == key {
			return i
		}
	}
	return -1
}
