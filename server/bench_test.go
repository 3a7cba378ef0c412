package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// seedDataRoot opens a new data root, imports the busybox test image into
// it (tagged when tag is not ""), lets fill add to it, and closes it.
func seedDataRoot(b *testing.B, tag string, fill func(ctx context.Context, eng *engine.Engine, base digest.Digest)) string {
	b.Helper()
	root := b.TempDir()
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Config{DataRoot: root, Migrations: os.DirFS("../migrations"), SQLDriver: "sqlite"})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	opts := engine.ImageImportOptions{Source: "-"}
	if tag != "" {
		if opts.Tag, err = engine.ParseImageTag(tag); err != nil {
			b.Fatal(err)
		}
	}
	base, err := eng.ImageImport(ctx, bytes.NewReader(testimage.Rootfs(b)), opts)
	if err != nil {
		b.Fatal(err)
	}
	fill(ctx, eng, base)
	return root
}

// seedImages fills a new data root with n tagged images: one imported base
// and n-1 children of it, as a build leaves them.
func seedImages(b *testing.B, n int) string {
	return seedDataRoot(b, "", func(ctx context.Context, eng *engine.Engine, base digest.Digest) {
		for i := 1; i < n; i++ {
			tag, _ := engine.ParseImageTag(fmt.Sprintf("app%d:v1", i))
			opts := engine.ImageChildOptions{Parent: base, CreatedBy: fmt.Sprintf("step %d", i)}
			opts.Tags = append(opts.Tags, tag)
			if _, err := eng.ImageCreateChild(ctx, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListImages1000 lists 1,000 images through the API on the unix
// socket, as docker images does, and reports the p50 and p99 latency.
//
//	go test -run XXX -bench ListImages1000 ./server/
func BenchmarkListImages1000(b *testing.B) {
	d := startDaemonAt(b, seedImages(b, 1000))
	// The untagged base of the 999 tagged children is an intermediate
	// image, which docker images hides.
	timeGets(b, d.unixHTTP(), "http://skiff/v1.50/images/json", func(list []json.RawMessage) error {
		if len(list) != 999 {
			return fmt.Errorf("%d images listed", len(list))
		}
		return nil
	})
}

// timeGets GETs a JSON list once per iteration, checks it, and reports the
// p50 and p99 latency.
func timeGets(b *testing.B, c *http.Client, url string, check func([]json.RawMessage) error) {
	var latencies []time.Duration
	for b.Loop() {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		var list []json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if err == nil {
			err = check(list)
		}
		if err != nil {
			b.Fatalf("GET %s: %v", url, err)
		}
		latencies = append(latencies, time.Since(start))
	}
	reportPercentiles(b, latencies)
}

// BenchmarkDaemonStart1000Images opens a data root holding 1,000 images
// (schema check, garbage collection of its blobs and layers) and starts
// serving, then shuts down.
//
//	go test -run XXX -bench DaemonStart ./server/
func BenchmarkDaemonStart1000Images(b *testing.B) {
	for _, n := range []int{0, 1000} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			var root string
			if n > 0 {
				root = seedImages(b, n)
			} else {
				root = b.TempDir()
			}
			var latencies []time.Duration
			for b.Loop() {
				start := time.Now()
				ctx, cancel := context.WithCancel(context.Background())
				eng, err := engine.Open(ctx, engine.Config{DataRoot: root, Migrations: os.DirFS("../migrations"), SQLDriver: "sqlite"})
				if err != nil {
					b.Fatal(err)
				}
				srv := New(eng, Config{Socket: filepath.Join(root, "s.sock"), Listen: "127.0.0.1:0"})
				done := make(chan error, 1)
				go func() { done <- srv.Serve(ctx) }()
				<-srv.Ready()
				latencies = append(latencies, time.Since(start))
				cancel()
				<-done
				eng.Close()
			}
			reportPercentiles(b, latencies)
		})
	}
}

func reportPercentiles(b *testing.B, latencies []time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	at := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
