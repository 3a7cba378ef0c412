package container

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	containertypes "github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine/content"
	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/store"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// The benchmarks of the container lifecycle, the service's part of
// `docker run --rm`, `docker start`, `docker stop -t 0` and `docker ps -a`
// (the CLI's and the API's parts are in scripts/bench-run.sh and
// server/containers_bench_test.go):
//
//	go test -run XXX -bench . -benchtime 50x ./engine/container/
//
// Each reports its median and 99th percentile besides the mean (ns/op).

// newBenchService opens a data root of the benchmark's own with the busybox
// image imported as busybox:latest.
func newBenchService(b *testing.B) *Service {
	b.Helper()
	root := b.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite", filepath.Join(root, "skiff.db"), os.DirFS("../../migrations"))
	if err != nil {
		b.Fatal(err)
	}
	cs, err := content.Open(filepath.Join(root, "content"))
	if err != nil {
		b.Fatal(err)
	}
	ls, err := layer.Open(filepath.Join(root, "layers"))
	if err != nil {
		b.Fatal(err)
	}
	images, err := image.New(image.Config{DB: db, Content: cs, Layers: ls, TmpDir: filepath.Join(root, "tmp")})
	if err != nil {
		b.Fatal(err)
	}
	tag, _ := image.ParseTag("busybox:latest")
	if _, err := images.Import(ctx, bytes.NewReader(testimage.Rootfs(b)), image.ImportOptions{Source: "-", Tag: tag}); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{DB: db, Images: images, Root: filepath.Join(root, "containers"), VolumesRoot: filepath.Join(root, "volumes")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		list, _ := s.List(context.Background(), ListOptions{All: true})
		for _, c := range list {
			s.Remove(context.Background(), c.ID, RemoveOptions{Force: true, Volumes: true})
		}
		db.Close()
	})
	return s
}

func benchCreate(b *testing.B, s *Service, cmd ...string) *Container {
	b.Helper()
	c, _, err := s.Create(context.Background(), CreateOptions{
		Config:     &containertypes.Config{Image: "busybox", Cmd: cmd},
		HostConfig: &containertypes.HostConfig{},
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkRunTrue is the service's part of `docker run --rm busybox true`:
// Create, Start, Wait for the exit, Remove, one container after the other.
func BenchmarkRunTrue(b *testing.B) {
	s := newBenchService(b)
	ctx := context.Background()
	var latencies []time.Duration
	for b.Loop() {
		start := time.Now()
		c := benchCreate(b, s, "true")
		if err := s.Start(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		res, err := s.Wait(ctx, c.ID, WaitNotRunning, func() {})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("Wait: %+v, %v", res, err)
		}
		if err := s.Remove(ctx, c.ID, RemoveOptions{Volumes: true}); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
	}
	reportPercentiles(b, "", latencies)
}

// BenchmarkStartStop starts a stopped container (docker start) and stops it
// again with SIGKILL at once (docker stop -t 0), reporting each separately.
// The container keeps its directories from one start to the next.
func BenchmarkStartStop(b *testing.B) {
	s := newBenchService(b)
	ctx := context.Background()
	c := benchCreate(b, s, "sleep", "1000")
	zero := 0
	var starts, stops []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := s.Start(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := s.Stop(ctx, c.ID, StopOptions{Timeout: &zero}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		starts, stops = append(starts, t1.Sub(t0)), append(stops, t2.Sub(t1))
	}
	reportPercentiles(b, "start-", starts)
	reportPercentiles(b, "stop-", stops)
}

// BenchmarkList1000 lists 1,000 stopped containers (docker ps -a), the
// service's part: the query and the decoding of every row.
func BenchmarkList1000(b *testing.B) {
	s := newBenchService(b)
	for range 1000 {
		benchCreate(b, s, "true")
	}
	ctx := context.Background()
	var latencies []time.Duration
	for b.Loop() {
		start := time.Now()
		list, err := s.List(ctx, ListOptions{All: true})
		if err != nil || len(list) != 1000 {
			b.Fatalf("List: %d containers, %v", len(list), err)
		}
		latencies = append(latencies, time.Since(start))
	}
	reportPercentiles(b, "", latencies)
}

// reportPercentiles reports the median and the 99th percentile of
// latencies, in milliseconds, as <prefix>p50-ms and <prefix>p99-ms.
func reportPercentiles(b *testing.B, prefix string, latencies []time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	at := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), fmt.Sprintf("%sp50-ms", prefix))
	b.ReportMetric(at(0.99), fmt.Sprintf("%sp99-ms", prefix))
}
