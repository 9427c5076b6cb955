package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseFlags parses args with fs, allowing positional arguments between flags, and returns
// the positional ones. The exit status is meaningful when done is true: 0 after -h, 2 after
// a bad flag (fs has printed the message and the usage).
func parseFlags(fs *flag.FlagSet, args []string) (positional []string, code int, done bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, true
			}
			return nil, 2, true
		}
		if fs.NArg() == 0 {
			return positional, 0, false
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageError reports a usage mistake found after parsing, and returns exit status 2.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "pacifica-sim %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return 2
}

// jsonValue reads a value given on the command line: text that is a JSON number (10, -1,
// 2.5, 1e3) is sent as that number, anything else as a string ("1234a", "01", "true").
func jsonValue(s string) json.RawMessage {
	if s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// kvFlags collects repeated --kv key=value flags.
type kvFlags []kvFlag

type kvFlag struct{ key, value string }

func (k *kvFlags) String() string { return "" }

func (k *kvFlags) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	*k = append(*k, kvFlag{key, value})
	return nil
}

// optString is a string flag that knows whether it was given.
type optString struct {
	value string
	set   bool
}

func (o *optString) String() string { return o.value }

func (o *optString) Set(s string) error {
	o.value, o.set = s, true
	return nil
}
