package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuShare is where the machine's CPU went: PostgreSQL's processes, RabbitMQ's, the
// benchmark's own (its load generators, and the simulator when it runs here), and the whole
// machine's busy time, as cumulative totals at one moment. Two of them subtracted give an
// interval's figures.
type cpuShare struct {
	postgres, rabbitmq, bench, busy time.Duration
	// kernel is the kernel's own threads (children of kthreadd): work done for processes
	// but not counted to them, such as tearing down the namespaces a sandbox made.
	kernel time.Duration
	// interrupts is the machine's time in hardware and software interrupts (network
	// packets, timers, RCU callbacks): counted to no process.
	interrupts time.Duration
}

func (c cpuShare) sub(o cpuShare) cpuShare {
	return cpuShare{postgres: c.postgres - o.postgres, rabbitmq: c.rabbitmq - o.rabbitmq,
		bench: c.bench - o.bench, busy: c.busy - o.busy, kernel: c.kernel - o.kernel,
		interrupts: c.interrupts - o.interrupts}
}

// rabbitProcesses are the command names of a RabbitMQ node's processes.
var rabbitProcesses = map[string]bool{"beam.smp": true, "erl_child_setup": true, "inet_gethost": true, "epmd": true}

// readCPUShare adds up /proc: every process named postgres (its own CPU and its reaped
// children's, so that the backends that ended count, through the postmaster), RabbitMQ's,
// this process's, and /proc/stat's busy time (all but idle and iowait).
func readCPUShare() (cpuShare, error) {
	var s cpuShare
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return s, err
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		name := commandName(b)
		kthread := e.Name() == "2" || parentPID(b) == "2"
		if name != "postgres" && !rabbitProcesses[name] && !kthread {
			continue
		}
		t, err := parseCPUTimes(b)
		if err != nil {
			continue
		}
		if kthread {
			s.kernel += t.Self
		} else if name == "postgres" {
			s.postgres += t.Self + t.Children
		} else {
			s.rabbitmq += t.Self + t.Children
		}
	}
	self, err := readCPUTimes(strconv.Itoa(os.Getpid()))
	if err != nil {
		return s, err
	}
	s.bench = self.Self
	if s.busy, s.interrupts, err = machineBusy(); err != nil {
		return s, err
	}
	return s, nil
}

// commandName is field 2 of /proc/<pid>/stat, without its parentheses.
func commandName(stat []byte) string {
	i, j := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if i < 0 || j < i {
		return ""
	}
	return string(stat[i+1 : j])
}

// parentPID is field 4 of /proc/<pid>/stat.
func parentPID(stat []byte) string {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(stat[i+1:])) // f[0] is field 3 (state)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// machineBusy reads the first line of /proc/stat: the time all CPUs spent other than idle
// and waiting for I/O, and of it the time in interrupts (irq and softirq).
func machineBusy() (busy, interrupts time.Duration, err error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0, 0, err
	}
	return parseMachineBusy(line)
}

func parseMachineBusy(line string) (busy, interrupts time.Duration, err error) {
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var b, irq int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		b += n
		if i == 5 || i == 6 { // irq, softirq
			irq += n
		}
	}
	return time.Duration(b) * clockTick, time.Duration(irq) * clockTick, nil
}

// scrapeCounter reads one unlabelled counter of a dispatcher's /metrics.
func scrapeCounter(client *http.Client, base, name string) (float64, error) {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return metricValue(b, name)
}

// metricValue finds the sample `name value` in a Prometheus text exposition.
func metricValue(text []byte, name string) (float64, error) {
	for _, line := range strings.Split(string(text), "\n") {
		v, ok := strings.CutPrefix(line, name+" ")
		if !ok {
			continue
		}
		return strconv.ParseFloat(strings.TrimSpace(v), 64)
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}
