package registry_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	skiffregistry "github.com/skiff-dev/skiff/engine/registry"
	"github.com/skiff-dev/skiff/engine/registry/registrytest"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// importImage stores the test rootfs as tag in e.
func importImage(t *testing.T, e *engine.Engine, tag string) string {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(tag)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.ImageImport(context.Background(), bytes.NewReader(testimage.Rootfs(t)), engine.ImageImportOptions{
		Tag: reference.TagNameOnly(named).(reference.NamedTagged), Changes: []string{`CMD ["sh"]`},
	})
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// countingProxy forwards to a registry and counts the requests that
// upload blobs (POST, PATCH and PUT under /blobs/uploads/), and apart the
// PATCH requests, which carry layers.
type countingProxy struct {
	Host             string
	mu               sync.Mutex
	uploads, patches int
}

func startCountingProxy(t *testing.T, registryHost string) *countingProxy {
	t.Helper()
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: registryHost})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads/") {
			p.mu.Lock()
			p.uploads++
			if r.Method == http.MethodPatch {
				p.patches++
			}
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.Host = srv.Listener.Addr().String()
	return p
}

// take returns the counts since the last call.
func (p *countingProxy) take() (uploads, patches int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	uploads, patches = p.uploads, p.patches
	p.uploads, p.patches = 0, 0
	return uploads, patches
}

// pushSteps pushes ref from e and returns the layer steps it reported,
// the Pushing ones folded into one.
func pushSteps(t *testing.T, e *engine.Engine, ref string) (skiffregistry.PushResult, []string) {
	t.Helper()
	var mu sync.Mutex
	var steps []string
	res, err := e.ImagePush(context.Background(), ref, skiffregistry.PushOptions{Progress: func(p skiffregistry.PushProgress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Status == skiffregistry.Pushing {
			if p.Current <= 0 || p.Current > p.Total {
				t.Errorf("pushing %d of %d bytes", p.Current, p.Total)
			}
			if len(steps) > 0 && steps[len(steps)-1] == p.Status {
				return
			}
		}
		steps = append(steps, p.Status)
	}})
	if err != nil {
		t.Fatal(err)
	}
	return res, steps
}

func TestPushToDistribution(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	proxy := startCountingProxy(t, reg.Host)
	e := enginetest.Open(t)
	repo := proxy.Host + "/test/pushed"
	id := importImage(t, e, repo+":v1")

	res, steps := pushSteps(t, e, repo+":v1")
	if want := []string{skiffregistry.Preparing, skiffregistry.Pushing, skiffregistry.Pushed}; !slices.Equal(steps, want) {
		t.Errorf("first push: steps %q, want %q", steps, want)
	}
	if _, patches := proxy.take(); patches != 1 {
		t.Errorf("first push sent %d layers, want 1", patches)
	}
	// What the registry serves under the tag is what the push reported,
	// and its config is the local image's.
	gref, err := name.ParseReference(repo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(gref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != res.Digest.String() || res.Tag != "v1" {
		t.Errorf("registry has %s under v1, push reported %+v", d, res)
	}
	if cfg, _ := img.ConfigName(); cfg.String() != id {
		t.Errorf("pushed config %s, want the image ID %s", cfg, id)
	}

	t.Run("again", func(t *testing.T) {
		again, steps := pushSteps(t, e, repo+":v1")
		if want := []string{skiffregistry.Preparing, skiffregistry.LayerExists}; !slices.Equal(steps, want) {
			t.Errorf("second push: steps %q, want %q", steps, want)
		}
		if n, _ := proxy.take(); n != 0 {
			t.Errorf("second push made %d upload requests, want none", n)
		}
		if again.Digest != res.Digest {
			t.Errorf("second push stored manifest %s, first %s", again.Digest, res.Digest)
		}
	})

	t.Run("mount into another repository", func(t *testing.T) {
		if err := e.ImageTag(ctx, repo+":v1", proxy.Host+"/other/copy:v2"); err != nil {
			t.Fatal(err)
		}
		_, steps := pushSteps(t, e, proxy.Host+"/other/copy:v2")
		if want := []string{skiffregistry.Preparing, skiffregistry.MountedFrom + " test/pushed"}; !slices.Equal(steps, want) {
			t.Errorf("push to another repository: steps %q, want %q", steps, want)
		}
		if _, patches := proxy.take(); patches != 0 {
			t.Errorf("push to another repository sent %d layers, want none", patches)
		}
	})

	t.Run("pull back and run", func(t *testing.T) {
		other := enginetest.Open(t)
		pulled, err := other.ImagePull(ctx, repo+":v1", engine.ImagePullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pulled.ID.String() != id || pulled.Digest != res.Digest {
			t.Fatalf("pulled %+v, want ID %s and digest %s", pulled, id, res.Digest)
		}
		if out := enginetest.Run(t, other, repo+":v1", "busybox", "echo", "pushed"); out != "pushed\n" {
			t.Fatalf("container printed %q", out)
		}
		// The pull recorded where the layer is: pushing it back finds it.
		_, steps := pushSteps(t, other, repo+":v1")
		if want := []string{skiffregistry.Preparing, skiffregistry.LayerExists}; !slices.Equal(steps, want) {
			t.Errorf("push of a pulled image: steps %q, want %q", steps, want)
		}
	})

	t.Run("all tags of a repository", func(t *testing.T) {
		if err := e.ImageTag(ctx, repo+":v1", repo+":v2"); err != nil {
			t.Fatal(err)
		}
		// other/copy:v2 names the same image: not a tag of the repository.
		tags, err := e.ImagePushTags(ctx, repo)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{repo + ":v1", repo + ":v2"}; !slices.Equal(tags, want) {
			t.Fatalf("tags to push %q, want %q", tags, want)
		}
	})

	t.Run("unknown image", func(t *testing.T) {
		_, err := e.ImagePush(ctx, repo+":nosuchtag", skiffregistry.PushOptions{})
		if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "An image does not exist locally with the tag: "+repo) {
			t.Fatalf("push of a missing image: %v, want not found with Docker's message", err)
		}
	})
}

func TestPushManyLayersWaitsForUploadSlots(t *testing.T) {
	reg := registrytest.Start(t)
	e := enginetest.Open(t)
	repo := reg.Host + "/test/layers"
	importImage(t, e, repo+":base")
	// Three more layers through child images: each commit adds one.
	parent := repo + ":base"
	for i, tag := range []string{"c1", "c2", "c3"} {
		pid, err := e.ImageResolve(context.Background(), parent)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ImageCreateChild(context.Background(), childOptions(t, pid.String(), repo+":"+tag, i)); err != nil {
			t.Fatal(err)
		}
		parent = repo + ":" + tag
	}
	var mu sync.Mutex
	count := map[string]int{}
	_, err := e.ImagePush(context.Background(), parent, skiffregistry.PushOptions{MaxConcurrentUploads: 1, Progress: func(p skiffregistry.PushProgress) {
		mu.Lock()
		count[p.Status]++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if count[skiffregistry.Preparing] != 4 || count[skiffregistry.Pushed] != 4 || count[skiffregistry.Waiting] != 3 {
		t.Fatalf("steps %v, want 4 layers prepared and pushed, 3 of them waiting for the one upload slot", count)
	}
}

// childOptions makes a child of parent with a one-file layer of its own
// (n tells the files apart), tagged tag.
func childOptions(t *testing.T, parent, tag string, n int) engine.ImageChildOptions {
	t.Helper()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	body := []byte(fmt.Sprintf("layer %d\n", n))
	if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("file%d", n), Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	named, err := reference.ParseNormalizedNamed(tag)
	if err != nil {
		t.Fatal(err)
	}
	return engine.ImageChildOptions{
		Parent: digest.Digest(parent), Layer: &layer, CreatedBy: "test layer",
		Config: dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Cmd: []string{"sh"}}},
		Tags:   []reference.NamedTagged{named.(reference.NamedTagged)},
	}
}
