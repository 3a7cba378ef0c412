package server

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	containertypes "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine"
)

// seedContainers fills a new data root with the busybox image and n
// created (never started) containers of it.
func seedContainers(b *testing.B, n int) string {
	return seedDataRoot(b, "busybox:latest", func(ctx context.Context, eng *engine.Engine, _ digest.Digest) {
		for range n {
			_, _, err := eng.ContainerCreate(ctx, engine.ContainerCreateOptions{
				Config:     &containertypes.Config{Image: "busybox", Cmd: []string{"true"}, Labels: map[string]string{"app": "bench"}},
				HostConfig: &containertypes.HostConfig{},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListContainers1000 lists 1,000 containers through the API on the
// unix socket, as docker ps -a does, and reports the p50 and p99 latency.
//
//	go test -run XXX -bench ListContainers1000 ./server/
func BenchmarkListContainers1000(b *testing.B) {
	d := startDaemonAt(b, seedContainers(b, 1000))
	timeGets(b, d.unixHTTP(), "http://skiff/v1.50/containers/json?all=1", func(list []json.RawMessage) error {
		if len(list) != 1000 {
			return fmt.Errorf("%d containers listed", len(list))
		}
		return nil
	})
}
