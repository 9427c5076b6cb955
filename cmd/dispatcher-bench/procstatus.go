package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// memStatus is what /proc/<pid>/status says of a process's memory.
type memStatus struct {
	RSS  int64 // VmRSS: resident now, bytes
	Peak int64 // VmHWM: the peak resident set size since the process started, bytes
}

// readMemStatus reads /proc/<pid>/status ("self" for this process).
func readMemStatus(pid string) (memStatus, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return memStatus{}, fmt.Errorf("memory of process %s: %w", pid, err)
	}
	return parseMemStatus(b)
}

// parseMemStatus reads VmRSS and VmHWM from the text of /proc/<pid>/status, whose values
// are in kB (kibibytes).
func parseMemStatus(b []byte) (memStatus, error) {
	var m memStatus
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("/proc status: %s: unexpected value %q", key, strings.TrimSpace(val))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc status: %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("/proc status: VmRSS or VmHWM missing")
	}
	return m, nil
}

// clockTick is the unit of the CPU times of /proc/<pid>/stat: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// cpuTimes is the CPU a process used: its own (user and system) and that of its children
// it waited for (for the dispatcher, the Python model processes).
type cpuTimes struct {
	Self, Children time.Duration
}

func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{Self: c.Self - o.Self, Children: c.Children - o.Children}
}

// readCPUTimes reads /proc/<pid>/stat.
func readCPUTimes(pid string) (cpuTimes, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return cpuTimes{}, fmt.Errorf("CPU time of process %s: %w", pid, err)
	}
	return parseCPUTimes(b)
}

// parseCPUTimes reads utime, stime, cutime and cstime (fields 14 to 17) of the text of
// /proc/<pid>/stat. The command name (field 2, in parentheses) may hold spaces and
// parentheses, so the fields are counted from the last ')'.
func parseCPUTimes(b []byte) (cpuTimes, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return cpuTimes{}, fmt.Errorf("/proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 15 {
		return cpuTimes{}, fmt.Errorf("/proc stat: %d fields after the command name, want at least 15", len(f))
	}
	var ticks [4]int64
	for k := range ticks {
		v, err := strconv.ParseInt(f[11+k], 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("/proc stat: field %d: %w", 14+k, err)
		}
		ticks[k] = v
	}
	return cpuTimes{Self: time.Duration(ticks[0]+ticks[1]) * clockTick,
		Children: time.Duration(ticks[2]+ticks[3]) * clockTick}, nil
}
