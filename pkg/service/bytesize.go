package service

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes read from the environment: a whole number with an optional
// binary (KiB, MiB, GiB, TiB) or decimal (kB, MB, GB, TB) unit, e.g. "4GiB", "512MiB".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// Decode implements envconfig.Decoder.
func (b *ByteSize) Decode(value string) error {
	v := strings.TrimSpace(value)
	mult := int64(1)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || (n > 0 && mult > (1<<62)/n) {
		return fmt.Errorf("%q: want a size such as 512MiB or 4GiB", value)
	}
	*b = ByteSize(n * mult)
	return nil
}
