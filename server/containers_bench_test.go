package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	containertypes "github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// seedContainers fills a new data root with the busybox image and n
// created (never started) containers of it.
func seedContainers(b *testing.B, n int) string {
	b.Helper()
	root := b.TempDir()
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Config{DataRoot: root, Migrations: os.DirFS("../migrations"), SQLDriver: "sqlite"})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	tag, _ := engine.ParseImageTag("busybox:latest")
	opts := engine.ImageImportOptions{Source: "-", Tag: tag}
	if _, err := eng.ImageImport(ctx, bytes.NewReader(testimage.Rootfs(b)), opts); err != nil {
		b.Fatal(err)
	}
	for range n {
		_, _, err := eng.ContainerCreate(ctx, engine.ContainerCreateOptions{
			Config:     &containertypes.Config{Image: "busybox", Cmd: []string{"true"}, Labels: map[string]string{"app": "bench"}},
			HostConfig: &containertypes.HostConfig{},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return root
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
