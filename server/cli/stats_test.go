package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// Stats samples as the daemon answers GET /containers/{id}/stats, in the
// two memory shapes: cgroup v2 (inactive_file, online_cpus given) and
// cgroup v1 (total_inactive_file, per-CPU counters instead of online_cpus).
const (
	statsV2 = `{"id":"1111111111111111111111111111111111111111111111111111111111111111","name":"/web",
		"read":"2026-11-26T10:00:01Z","preread":"2026-11-26T10:00:00Z",
		"cpu_stats":{"cpu_usage":{"total_usage":400000000},"system_cpu_usage":20000000000,"online_cpus":4},
		"precpu_stats":{"cpu_usage":{"total_usage":200000000},"system_cpu_usage":18000000000,"online_cpus":4},
		"memory_stats":{"usage":104857600,"limit":2147483648,"stats":{"inactive_file":20971520}},
		"networks":{"eth0":{"rx_bytes":1500,"tx_bytes":648},"eth1":{"rx_bytes":500,"tx_bytes":2000000}},
		"blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"Read","value":4096},{"major":8,"minor":0,"op":"Write","value":1048576},{"major":8,"minor":0,"op":"read","value":4096}]},
		"pids_stats":{"current":3}}`
	statsV1 = `{"id":"2222222222222222222222222222222222222222222222222222222222222222","name":"/db",
		"read":"2026-11-26T10:00:01Z","preread":"2026-11-26T10:00:00Z",
		"cpu_stats":{"cpu_usage":{"total_usage":1000,"percpu_usage":[600,400]},"system_cpu_usage":3000},
		"precpu_stats":{"cpu_usage":{"total_usage":500},"system_cpu_usage":1000},
		"memory_stats":{"usage":52428800,"max_usage":104857600,"limit":8589934592,"stats":{"total_inactive_file":10485760,"inactive_file":1,"cache":999}},
		"networks":{"eth0":{"rx_bytes":2000,"tx_bytes":2000000}},
		"blkio_stats":{"io_service_bytes_recursive":null},
		"pids_stats":{"current":12}}`
)

func TestStatsComputations(t *testing.T) {
	tests := []struct {
		name       string
		sample     string
		wantCPU    float64
		wantMemory float64
		wantMemPct float64
	}{
		// (400M-200M) / (20000M-18000M) × 4 CPUs × 100
		{"cgroup v2", statsV2, 40, 80 << 20, 80.0 / 2048 * 100},
		// (1000-500) / (3000-1000) × 2 per-CPU counters × 100; usage less total_inactive_file
		{"cgroup v1", statsV1, 50, 40 << 20, 40.0 / 8192 * 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sample container.StatsResponse
			if err := json.Unmarshal([]byte(tt.sample), &sample); err != nil {
				t.Fatal(err)
			}
			got := statsFromSample(sample)
			if !near(got.cpuPercentage, tt.wantCPU) || got.memory != tt.wantMemory || !near(got.memoryPercentage, tt.wantMemPct) {
				t.Errorf("cpu %.4f%%, memory %.0f (%.4f%%); want %.4f%%, %.0f (%.4f%%)",
					got.cpuPercentage, got.memory, got.memoryPercentage, tt.wantCPU, tt.wantMemory, tt.wantMemPct)
			}
		})
	}
}

func TestCPUAndMemoryEdgeCases(t *testing.T) {
	// No system delta (a first sample): 0%, as docker.
	if got := cpuPercent(container.CPUStats{SystemUsage: 5}, container.CPUStats{SystemUsage: 5, OnlineCPUs: 2}); got != 0 {
		t.Errorf("cpu = %v, want 0 without a system delta", got)
	}
	// Inactive cache larger than the usage is not subtracted.
	mem := container.MemoryStats{Usage: 100, Stats: map[string]uint64{"inactive_file": 200}}
	if got := memoryUsageNoCache(mem); got != 100 {
		t.Errorf("memory = %v, want the raw usage", got)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// statsDaemon answers the stats of "web" (cgroup v2) and "db" (v1), by
// name and by short ID; the list holds both.
func statsDaemon(t *testing.T) *fakeDaemon {
	d := newFakeDaemon(t)
	for _, name := range []string{"web", "111111111111"} {
		d.handle("GET /containers/"+name+"/stats", rawJSON(strings.ReplaceAll(statsV2, "\n", "")))
	}
	for _, name := range []string{"db", "222222222222"} {
		d.handle("GET /containers/"+name+"/stats", rawJSON(strings.ReplaceAll(statsV1, "\n", "")))
	}
	d.answerError("GET /containers/nope/stats", http.StatusNotFound, "No such container: nope")
	d.answerJSON("GET /containers/json", http.StatusOK, []container.Summary{
		{ID: strings.Repeat("1", 64), Names: []string{"/web"}},
		{ID: strings.Repeat("2", 64), Names: []string{"/db"}},
	})
	return d
}

// The golden tables were printed by the docker 28.2.2 CLI for the same
// samples.
func TestStatsNoStream(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "all running",
			want: `CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O     BLOCK I/O         PIDS
111111111111   web       40.00%    80MiB / 2GiB        3.91%     2kB / 2MB   8.19kB / 1.05MB   3
222222222222   db        50.00%    40MiB / 8GiB        0.49%     2kB / 2MB   0B / 0B           12
`,
		},
		{
			name: "named, not truncated",
			args: []string{"--no-trunc", "web"},
			want: `CONTAINER ID                                                       NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O     BLOCK I/O         PIDS
1111111111111111111111111111111111111111111111111111111111111111   web       40.00%    80MiB / 2GiB        3.91%     2kB / 2MB   8.19kB / 1.05MB   3
`,
		},
		{
			name: "json",
			args: []string{"--format", "json", "web"},
			want: `{"BlockIO":"8.19kB / 1.05MB","CPUPerc":"40.00%","Container":"web","ID":"111111111111","MemPerc":"3.91%","MemUsage":"80MiB / 2GiB","Name":"web","NetIO":"2kB / 2MB","PIDs":"3"}` + "\n",
		},
		{
			name: "template",
			args: []string{"--format", "{{.Container}} {{.Name}} {{.CPUPerc}}"},
			want: "111111111111 web 40.00%\n222222222222 db 50.00%\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := statsDaemon(t)

			res := d.cli().run(t, append([]string{"stats", "--no-stream"}, tt.args...)...)

			res.expectSuccess(t)
			expectOutput(t, res.stdout, tt.want)
			for _, r := range d.received() {
				if strings.HasSuffix(r.Path, "/stats") && r.URL[strings.Index(r.URL, "?"):] != "?stream=false" {
					t.Errorf("%s: want one sample with its precpu_stats (stream=false, no one-shot)", r.URL)
				}
			}
		})
	}
}

func TestStatsNoStreamFailsForMissingContainers(t *testing.T) {
	d := statsDaemon(t)

	res := d.cli().run(t, "stats", "--no-stream", "nope", "web")

	res.expectExit(t, 1, "Error response from daemon: No such container: nope\n")
	expectOutput(t, res.stdout, "")
}

func TestStatsInvalidEntries(t *testing.T) {
	row := &statsRow{e: statsEntry{container: "x", invalid: true}, trunc: true}
	got := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s", row.ID(), row.Name(), row.CPUPerc(), row.MemUsage(), row.MemPerc(), row.NetIO(), row.BlockIO(), row.PIDs())
	if want := "|--|--|-- / --|--|--|--|--"; got != want {
		t.Errorf("invalid row = %q, want %q", got, want)
	}
}

func TestWriteRedrawn(t *testing.T) {
	var b strings.Builder
	if err := writeRedrawn(&b, "A   B\n1   2\n"); err != nil {
		t.Fatal(err)
	}
	if want := "\033[HA   B\033[K\n1   2\033[K\n\033[J"; b.String() != want {
		t.Errorf("redrawn = %q, want %q", b.String(), want)
	}
}
