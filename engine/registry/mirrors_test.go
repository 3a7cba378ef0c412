package registry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
)

// loopbackOnly carries requests to loopback registries and records the
// others, refusing them: tests reach no registry but their own.
type loopbackOnly struct {
	mu      sync.Mutex
	foreign []string
}

func (l *loopbackOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.Host, "127.0.0.1:") {
		l.mu.Lock()
		l.foreign = append(l.foreign, req.URL.Host)
		l.mu.Unlock()
		return nil, errors.New("test: no network beyond loopback")
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestPullThroughMirrors(t *testing.T) {
	empty, full := startFaultRegistry(t), startFaultRegistry(t)
	img := full.push(t, "library/mirrored:v1", 4096, 1)
	config, _ := img.ConfigName()
	var asked []string
	for _, m := range []*faultRegistry{empty, full} {
		m.setFault(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if isManifest(r) {
				asked = append(asked, m.host) // the pull asks one mirror at a time
			}
			return false
		})
	}
	mirrors := []string{"http://" + empty.host, "http://" + full.host}

	t.Run("the first mirror lacks the image", func(t *testing.T) {
		e := enginetest.Open(t)
		asked = nil
		transport := &loopbackOnly{}
		res, err := e.ImagePull(context.Background(), "mirrored:v1", engine.ImagePullOptions{Mirrors: mirrors, Transport: transport})
		if err != nil {
			t.Fatal(err)
		}
		if res.ID.String() != config.String() || res.Tag != "mirrored:v1" {
			t.Fatalf("pull through the mirrors: %+v, want image %s tagged mirrored:v1", res, config)
		}
		if len(asked) != 2 || asked[0] != empty.host || asked[1] != full.host || len(transport.foreign) != 0 {
			t.Fatalf("manifests asked of %q and of %q beyond, want the mirrors in order and nothing of Docker Hub", asked, transport.foreign)
		}
		if _, err := e.ImageInspect(context.Background(), "docker.io/library/mirrored:v1"); err != nil {
			t.Fatalf("the image is not tagged as Docker Hub's: %v", err)
		}
	})

	t.Run("no mirror has it: Docker Hub last", func(t *testing.T) {
		e := enginetest.Open(t)
		asked = nil
		transport := &loopbackOnly{}
		_, err := e.ImagePull(context.Background(), "notmirrored:v1", engine.ImagePullOptions{Mirrors: mirrors, Transport: transport})
		if err == nil {
			t.Fatal("pull of an image no registry has succeeded")
		}
		if len(asked) != 2 || len(transport.foreign) == 0 || !strings.Contains(transport.foreign[0], "docker.io") {
			t.Fatalf("manifests asked of %q, then of %q; want both mirrors, then Docker Hub", asked, transport.foreign)
		}
		assertNoImages(t, e)
	})
}
