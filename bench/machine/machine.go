// Package machine describes the computer a benchmark runs on, so every
// figure is printed with the hardware that produced it.
package machine

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Describe returns one line: CPU model, logical cores, GOMAXPROCS, Go
// version, OS/arch and the load average when the benchmark started (other
// work on a shared machine skews figures).
func Describe() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = ", load " + strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s %s/%s%s", model, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
}

// PeakRSS returns the peak resident memory (VmHWM) of process pid ("self"
// for this one) in bytes, or 0 where /proc is missing.
func PeakRSS(pid string) int64 { return procStatus(pid, "VmHWM:") }

// RSS returns the current resident memory (VmRSS) of process pid in bytes.
func RSS(pid string) int64 { return procStatus(pid, "VmRSS:") }

func procStatus(pid, key string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb << 10
		}
	}
	return 0
}
