package registry_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	skiffregistry "github.com/skiff-dev/skiff/engine/registry"
)

// gate holds the registry's blob answers until release says so, and counts
// the blob GETs being answered at once.
type gate struct {
	mu             sync.Mutex
	inFlight, most int
	arrived        int
	changed        chan struct{}
	release        func(inFlight, arrived int) bool
	configGets     int
}

func newGate(release func(inFlight, arrived int) bool) *gate {
	return &gate{changed: make(chan struct{}), release: release}
}

func (g *gate) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// hold is a faultRegistry fault: blob GETs wait until release is true.
func (g *gate) hold(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
		return false
	}
	g.mu.Lock()
	g.inFlight++
	g.arrived++
	g.most = max(g.most, g.inFlight)
	g.notifyLocked()
	for !g.release(g.inFlight, g.arrived) {
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			g.mu.Lock()
			g.inFlight--
			g.mu.Unlock()
			return true
		}
		g.mu.Lock()
	}
	g.mu.Unlock()
	next.ServeHTTP(w, r)
	g.mu.Lock()
	g.inFlight--
	g.notifyLocked()
	g.mu.Unlock()
	return true
}

func TestPullDownloadsThreeLayersAtOnce(t *testing.T) {
	reg := startFaultRegistry(t)
	img := reg.push(t, "test/five:v1", 64<<10, 5)
	config, _ := img.ConfigName()
	// The config blob comes alone first; then the first three layers must
	// all be in flight before any is answered, and the last two come once
	// those are done.
	g := newGate(func(inFlight, arrived int) bool { return arrived == 1 || inFlight == 3 || arrived == 6 })
	reg.setFault(g.hold)

	e := enginetest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard against a hang, not a measure
	defer cancel()
	var mu sync.Mutex
	waiting := map[digest.Digest]bool{}
	_, err := e.ImagePull(ctx, reg.host+"/test/five:v1", engine.ImagePullOptions{Progress: func(p skiffregistry.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Status == skiffregistry.Waiting {
			waiting[p.Layer] = true
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if g.most != 3 {
		t.Errorf("%d blobs downloaded at once, want 3 (Docker's default)", g.most)
	}
	layers, _ := img.Layers()
	for i, l := range layers {
		d, _ := l.Digest()
		if want := i >= 3; waiting[digest.Digest(d.String())] != want {
			t.Errorf("layer %d said Waiting: %v, want %v", i+1, !want, want)
		}
	}
	if got, _ := e.ImageInspect(context.Background(), config.String()); got == nil {
		t.Fatal("the image is not stored")
	}
}

func TestConcurrentPullsFetchEachLayerOnce(t *testing.T) {
	reg := startFaultRegistry(t)
	img := reg.push(t, "test/shared:v1", 128<<10, 2)
	config, _ := img.ConfigName()
	// No layer blob is answered before both pulls have their config: so
	// both are under way when the layers are fetched.
	g := newGate(nil)
	g.release = func(_, _ int) bool { return g.configGets >= 2 }
	reg.setFault(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if strings.HasSuffix(r.URL.Path, "/blobs/"+config.String()) {
			g.mu.Lock()
			g.configGets++
			g.notifyLocked()
			g.mu.Unlock()
			return false
		}
		return g.hold(w, r, next)
	})

	e := enginetest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard against a hang
	defer cancel()
	var wg sync.WaitGroup
	results := make([]engine.ImagePullResult, 2)
	errs := make([]error, 2)
	steps := make([][]string, 2)
	for i := range 2 {
		wg.Go(func() {
			results[i], errs[i] = e.ImagePull(ctx, reg.host+"/test/shared:v1", engine.ImagePullOptions{Progress: func(p skiffregistry.Progress) {
				steps[i] = append(steps[i], p.Status)
			}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull %d: %v", i+1, err)
		}
		if results[i].ID.String() != config.String() {
			t.Fatalf("pull %d stored %s, want %s", i+1, results[i].ID, config)
		}
	}
	layers, _ := img.Layers()
	for i, l := range layers {
		d, _ := l.Digest()
		if n := reg.gets(d); n != 1 {
			t.Errorf("layer %d fetched %d times by two pulls, want once", i+1, n)
		}
	}
	// One pull fetched, the other waited for it.
	if !slices.Contains(steps[0], skiffregistry.Downloading) == !slices.Contains(steps[1], skiffregistry.Downloading) {
		t.Errorf("progress of the two pulls: %q and %q; want one downloading, the other waiting", steps[0], steps[1])
	}
}
