package main

import (
	"os"
	"testing"
	"time"
)

const statusFixture = `Name:	dispatcher
Umask:	0022
State:	S (sleeping)
Pid:	4242
VmPeak:	 1269300 kB
VmSize:	 1268276 kB
VmHWM:	   31744 kB
VmRSS:	   30312 kB
RssAnon:	   12000 kB
Threads:	9
`

func TestParseMemStatus(t *testing.T) {
	m, err := parseMemStatus([]byte(statusFixture))
	if err != nil {
		t.Fatal(err)
	}
	if m.Peak != 31744<<10 || m.RSS != 30312<<10 {
		t.Errorf("got %+v, want VmHWM 31744 kB and VmRSS 30312 kB in bytes", m)
	}
	for name, text := range map[string]string{
		"no VmHWM (a kernel thread)": "Name:\tkthreadd\nVmRSS:\t0 kB\n",
		"not in kB":                  "VmHWM:\t12 MB\nVmRSS:\t10 MB\n",
		"not a number":               "VmHWM:\tlots kB\nVmRSS:\t1 kB\n",
	} {
		if _, err := parseMemStatus([]byte(text)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestReadMemStatusOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	m, err := readMemStatus("self")
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS {
		t.Errorf("got %+v: want a positive RSS and a peak at least as large", m)
	}
}

func TestParseCPUTimes(t *testing.T) {
	// The command name holds a space and a parenthesis; utime 250, stime 50, cutime 1000,
	// cstime 7 clock ticks.
	stat := "4242 (disp (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 1000 7 20 0 9 0 123 1268276 7578 18446744073709551615\n"
	c, err := parseCPUTimes([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if c.Self != 3*time.Second || c.Children != 10070*time.Millisecond {
		t.Errorf("got %+v, want self 3s and children 10.07s", c)
	}
	if _, err := parseCPUTimes([]byte("4242 (short) S 1 2 3")); err == nil {
		t.Error("a truncated stat line: want an error")
	}
	if _, err := readCPUTimes("self"); err != nil && !os.IsNotExist(err) {
		t.Error(err)
	}
}
