package oci_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// DistributionEnv names the CNCF distribution registry binary that
// BenchmarkCranePushVsDistribution compares against, built outside this
// repository (go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2).
const DistributionEnv = "SMARTREGISTRY_BENCH_DISTRIBUTION"

// BenchmarkCranePushVsDistribution pushes a 256 MiB image (four 64 MiB
// layers) with crane to the example server and to the distribution
// registry in interleaved rounds, each server on fresh, empty filesystem
// storage, the page cache flushed before each push (sync(2)), and reports
// the median push throughput of each, their ratio,
// the same counting the time until the pushed bytes are on disk (a
// sync(2) after the push: the distribution registry never syncs, while
// the example server syncs each blob before acknowledging it),
// and the bytes each server process wrote to disk per byte pushed
// (write_bytes of /proc/<pid>/io) and the CPU time each server process
// used per MB pushed (which the load of other processes changes less than
// the throughput). One iteration is one round of each;
// run it with -benchtime=5x. Skipped unless DistributionEnv names the
// distribution binary.
func BenchmarkCranePushVsDistribution(b *testing.B) {
	dist := os.Getenv(DistributionEnv)
	if dist == "" {
		b.Skip("set " + DistributionEnv + " to the distribution registry binary to compare")
	}
	crane := e2etest.RequireTool(b, "crane")
	c := newClient(b)
	const layers, layerSize = 4, 64 << 20
	layout := filepath.Join(c.dir, "layout")
	writeLayout(b, layout, layers, layerSize)
	total := float64(layers * layerSize)
	var ours, theirs, oursWritten, theirsWritten, oursCPU, theirsCPU, oursDurable, theirsDurable []float64
	push := func(host string, pid int) (mbps, durable, written, cpu float64) {
		// Flush what the previous push left dirty in the page cache (the
		// distribution registry never syncs), so that each push meets an
		// idle disk instead of paying for the other's deferred writes.
		syscall.Sync()
		before, cpuBefore := writeBytes(b, pid), cpuSeconds(b, pid)
		start := time.Now()
		c.run(crane, "push", layout, host+"/bench/app:v1")
		elapsed := time.Since(start)
		// Until the pushed bytes are on disk: the example server syncs
		// each blob before it acknowledges it, the distribution registry
		// leaves that to the kernel.
		syscall.Sync()
		synced := time.Since(start)
		return total / 1e6 / elapsed.Seconds(), total / 1e6 / synced.Seconds(),
			float64(writeBytes(b, pid)-before) / total, (cpuSeconds(b, pid) - cpuBefore) * 1e3 / (total / 1e6)
	}
	for i := 0; b.Loop(); i++ {
		srv := e2etest.StartServer(b, e2etest.Options{})
		c.run(crane, "auth", "login", srv.Host, "-u", srv.AdminUser, "-p", srv.AdminPassword)
		// A running registry has checked its users' passwords before; a
		// fresh process would charge the first push one PBKDF2 check
		// (about 0.1 s), which the distribution registry, run without
		// auth, never pays.
		c.run(crane, "catalog", srv.Host)
		host, pid := startDistribution(b, dist)
		// Alternate which goes first, so neither always meets a warmer cache.
		pushOurs := func() {
			m, d, w, cpu := push(srv.Host, srv.PID)
			ours, oursWritten, oursCPU = append(ours, m), append(oursWritten, w), append(oursCPU, cpu)
			oursDurable = append(oursDurable, d)
		}
		pushTheirs := func() {
			m, d, w, cpu := push(host, pid)
			theirs, theirsWritten, theirsCPU = append(theirs, m), append(theirsWritten, w), append(theirsCPU, cpu)
			theirsDurable = append(theirsDurable, d)
		}
		if i%2 == 0 {
			pushOurs()
			pushTheirs()
		} else {
			pushTheirs()
			pushOurs()
		}
	}
	b.ReportMetric(median(ours), "ours-MB/s")
	b.ReportMetric(median(theirs), "distribution-MB/s")
	b.ReportMetric(median(ours)/median(theirs), "ratio")
	b.ReportMetric(median(oursDurable), "ours-durable-MB/s")
	b.ReportMetric(median(theirsDurable), "distribution-durable-MB/s")
	b.ReportMetric(median(oursDurable)/median(theirsDurable), "durable-ratio")
	b.ReportMetric(median(oursWritten), "ours-written/pushed")
	b.ReportMetric(median(theirsWritten), "distribution-written/pushed")
	b.ReportMetric(median(oursCPU), "ours-cpu-ms/MB")
	b.ReportMetric(median(theirsCPU), "distribution-cpu-ms/MB")
	b.Logf("push MB/s, ours %v, distribution %v", ours, theirs)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// cpuSeconds reads the CPU time (user and system) a process has used so
// far from /proc/<pid>/stat.
func cpuSeconds(b *testing.B, pid int) float64 {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th of them.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	var ticks float64
	for _, v := range f[11:13] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.Fatal(err)
		}
		ticks += n
	}
	return ticks / 100 // USER_HZ is 100 on Linux
}

// writeBytes reads write_bytes of /proc/<pid>/io.
func writeBytes(b *testing.B, pid int) int64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no write_bytes in /proc/<pid>/io")
	return 0
}

// startDistribution runs the distribution registry on a free loopback
// port with fresh filesystem storage, and returns its host:port and pid.
func startDistribution(b *testing.B, bin string) (string, int) {
	b.Helper()
	dir := b.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for range 200 {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return addr, cmd.Process.Pid
		}
		time.Sleep(25 * time.Millisecond)
	}
	b.Fatal("the distribution registry did not start")
	return "", 0
}
