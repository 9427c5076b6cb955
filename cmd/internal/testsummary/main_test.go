package main

import (
	"bytes"
	"strings"
	"testing"
)

// The summary prints the packages' lines and the failures' output, leaves out what passed,
// and ends with the skipped tests and their reasons.
func TestSummary(t *testing.T) {
	stream := `{"Action":"start","Package":"example.com/a"}
{"Action":"run","Package":"example.com/a","Test":"TestPass"}
{"Action":"output","Package":"example.com/a","Test":"TestPass","Output":"=== RUN   TestPass\n"}
{"Action":"output","Package":"example.com/a","Test":"TestPass","Output":"    a_test.go:5: chatter of a passing test\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestPass"}
{"Action":"output","Package":"example.com/a","Test":"TestFail","Output":"=== RUN   TestFail\n"}
{"Action":"output","Package":"example.com/a","Test":"TestFail","Output":"    a_test.go:9: got 1, want 2\n"}
{"Action":"output","Package":"example.com/a","Test":"TestFail","Output":"--- FAIL: TestFail (0.00s)\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestFail"}
{"Action":"output","Package":"example.com/a","Test":"TestDB","Output":"=== RUN   TestDB\n"}
{"Action":"output","Package":"example.com/a","Test":"TestDB","Output":"    testenv.go:140: PostgreSQL is unreachable (start it)\n"}
{"Action":"output","Package":"example.com/a","Test":"TestDB","Output":"--- SKIP: TestDB (0.00s)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestDB"}
{"Action":"output","Package":"example.com/a","Test":"TestDB2","Output":"    testenv.go:140: PostgreSQL is unreachable (start it)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestDB2"}
{"Action":"output","Package":"example.com/a","Output":"FAIL\n"}
{"Action":"output","Package":"example.com/a","Output":"FAIL\texample.com/a\t0.01s\n"}
{"Action":"fail","Package":"example.com/a"}
{"Action":"output","Package":"example.com/b","Output":"ok  \texample.com/b\t0.02s\n"}
{"Action":"pass","Package":"example.com/b"}
not json: printed as it is
`
	var out bytes.Buffer
	s := newSummary(&out)
	s.read(strings.NewReader(stream))
	s.report()
	got := out.String()
	want := "    a_test.go:9: got 1, want 2\n--- FAIL: TestFail (0.00s)\nFAIL\nFAIL\texample.com/a\t0.01s\nok  \texample.com/b\t0.02s\n" +
		"not json: printed as it is\n\n======== 2 TESTS SKIPPED ========\n2 skipped: PostgreSQL is unreachable (start it)\n" +
		"    example.com/a TestDB\n    example.com/a TestDB2\n"
	if got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}
