package worker

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxErrorBytes bounds a job's error as it is stored: longer errors lose their middle.
const MaxErrorBytes = 4 << 10

// pythonTraceback starts a Python traceback.
const pythonTraceback = "Traceback (most recent call last):"

// ErrorText is msg as a job's error and attempt history keep it: every Python traceback
// cut to its last line (the exception; the job log keeps the whole of it), valid UTF-8
// (an invalid byte becomes \xNN), no NUL or other control character but line breaks and
// tabs (each escaped as \xNN, \r or \uNNNN, as are the Unicode controls that reorder text),
// and at most MaxErrorBytes long. Errors carry text from peers (Pacifica's answers, a
// model's or script's stderr); PostgreSQL refuses some of it, and an operator's terminal
// should not interpret the rest.
func ErrorText(msg string) string {
	return bound(cleanText(cutTracebacks(msg)), MaxErrorBytes)
}

// LogText is s as the job log keeps it: cleaned as ErrorText does, tracebacks and length
// kept (the store keeps the log's tail).
func LogText(s string) string { return cleanText(s) }

// cleanText makes s valid UTF-8 with no control character but '\n' and '\t'.
func cleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, escaped) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r':
			b.WriteString(`\r`)
		case escaped(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case escaped(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escaped reports whether r is shown escaped: C0 and C1 controls but line feed and tab,
// DEL, and the bidirectional controls that make a terminal show text in another order.
func escaped(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x2028 || r == 0x2029:
		return true
	}
	return false
}

// bound cuts the middle of s past max bytes, at rune boundaries, saying how much it cut.
func bound(s string, max int) string {
	if len(s) <= max {
		return s
	}
	keep := max/2 - 32
	head, tail := s[:keep], s[len(s)-keep:]
	for len(head) > 0 && !utf8.ValidString(head) {
		head = head[:len(head)-1]
	}
	for len(tail) > 0 && !utf8.ValidString(tail) {
		tail = tail[1:]
	}
	return fmt.Sprintf("%s\n[… %d bytes cut …]\n%s", head, len(s)-len(head)-len(tail), tail)
}

// cutTracebacks replaces every Python traceback in s (its header line, the indented frame
// lines, and the exception line) with its exception line, keeping what came before the
// header on its line. A chain of tracebacks ("During handling of the above exception,
// another exception occurred:") keeps only the last exception.
func cutTracebacks(s string) string {
	if !strings.Contains(s, pythonTraceback) {
		return s
	}
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	lastCut := -1 // the index in out of the line that replaced the previous traceback
	prefix := ""  // what came before a chain's first traceback
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if isChainNote(l) && lastCut >= 0 && blank(out[lastCut+1:]) {
			// Drop the chained exception before it (and the blank lines between).
			out = out[:lastCut]
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "" {
				i++
			}
			continue
		}
		k := strings.Index(l, pythonTraceback)
		if k < 0 {
			out = append(out, l)
			continue
		}
		j := i + 1
		for j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")) {
			j++
		}
		if j >= len(lines) {
			// No exception line: nothing to cut to.
			out = append(out, lines[i:]...)
			break
		}
		p := l[:k]
		if lastCut >= 0 && len(out) == lastCut && p == "" {
			p = prefix // the chain's first traceback had the prefix
		}
		prefix = p
		lastCut = len(out)
		out = append(out, p+lines[j])
		i = j
	}
	return strings.Join(out, "\n")
}

func isChainNote(l string) bool {
	l = strings.TrimSpace(l)
	return l == "During handling of the above exception, another exception occurred:" ||
		l == "The above exception was the direct cause of the following exception:"
}

func blank(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return true
}
