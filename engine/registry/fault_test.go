package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	skiffregistry "github.com/skiff-dev/skiff/engine/registry"
)

// faultRegistry is go-containerregistry's in-memory registry on a loopback
// port behind a handler that may tamper with, hold or drop its answers, and
// that counts the blob GETs.
type faultRegistry struct {
	host string

	mu       sync.Mutex
	fault    func(w http.ResponseWriter, r *http.Request, next http.Handler) bool // true: answered
	blobGets map[string]int                                                       // by digest
}

func startFaultRegistry(t *testing.T) *faultRegistry {
	t.Helper()
	f := &faultRegistry{blobGets: map[string]int{}}
	next := ggcrregistry.New(ggcrregistry.Logger(discardLogger()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			f.mu.Lock()
			f.blobGets[filepath.Base(r.URL.Path)]++
			f.mu.Unlock()
		}
		f.mu.Lock()
		fault := f.fault
		f.mu.Unlock()
		if fault != nil && fault(w, r, next) {
			return
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.host = strings.TrimPrefix(srv.URL, "http://")
	return f
}

func (f *faultRegistry) setFault(fn func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	f.mu.Lock()
	f.fault = fn
	f.mu.Unlock()
}

func (f *faultRegistry) gets(d v1.Hash) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.blobGets[d.String()]
}

// push uploads a random image of n layers of size bytes each (before
// compression) as repo:tag.
func (f *faultRegistry) push(t *testing.T, repoTag string, size, n int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, n)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(f.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	f.setFault(nil)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return img
}

// recorder captures what the proxy's handler writes, to tamper with it.
func recorded(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

func isBlob(r *http.Request, d v1.Hash) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d.String())
}

func isManifest(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/")
}

// storeFiles lists the files of an engine's stores and scratch space, by
// path under its data root: what a failed pull must leave as it was.
func storeFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"content", "layers", "tmp"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			// A layer's own files are not listed, only the layer.
			if strings.Count(rel, "/") <= 1 || !strings.HasPrefix(rel, "layers/") {
				files = append(files, rel)
			}
			if d.IsDir() && strings.HasPrefix(rel, "layers/") && strings.Count(rel, "/") == 1 {
				return fs.SkipDir
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return files
}

func TestPullFaults(t *testing.T) {
	reg := startFaultRegistry(t)
	good := reg.push(t, "test/good:v1", 256<<10, 3)
	goodLayers, _ := good.Layers()
	firstBlob, _ := goodLayers[0].Digest()
	config, _ := good.ConfigName()
	manifestDigest, _ := good.Digest()
	other := reg.push(t, "test/other:v1", 1024, 1)
	otherManifest, _ := other.RawManifest()

	for _, tc := range []struct {
		name  string
		ref   string
		fault func(w http.ResponseWriter, r *http.Request, next http.Handler) bool
		want  []string // in the error
		// cancelAt cancels the pull's context at the first progress of
		// this step.
		cancelAt string
	}{{
		name: "layer bytes not matching the digest",
		ref:  "test/good:v1",
		fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlob(r, firstBlob) {
				return false
			}
			body := recorded(next, r).Body.Bytes()
			body[len(body)/2] ^= 0xff
			w.Write(body)
			return true
		},
		want: []string{firstBlob.String(), "does not match its digest", "checksum"},
	}, {
		name: "config not matching its digest",
		ref:  "test/good:v1",
		fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlob(r, config) {
				return false
			}
			body := recorded(next, r).Body.Bytes()
			w.Write(bytes.Replace(body, []byte(`"rootfs"`), []byte(`"rootfz"`), 1))
			return true
		},
		want: []string{"config " + config.String(), "checksum", "want \"" + config.String()},
	}, {
		name: "100 MB manifest",
		ref:  "test/good:v1",
		fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isManifest(r) {
				return false
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.WriteHeader(http.StatusOK) // no length: chunked, read until the cap
			io.CopyN(w, zeros{}, 100<<20)
			return true
		},
		want: []string{"manifest refused: more than 4194304 bytes"},
	}, {
		name: "100 MB manifest, length given",
		ref:  "test/good:v1",
		fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isManifest(r) {
				return false
			}
			w.Header().Set("Content-Length", "104857600")
			w.WriteHeader(http.StatusOK)
			io.CopyN(w, zeros{}, 100<<20)
			return true
		},
		want: []string{"manifest of 104857600 bytes refused"},
	}, {
		name: "connection dropped halfway through a blob",
		ref:  "test/good:v1",
		fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlob(r, firstBlob) {
				return false
			}
			body := recorded(next, r).Body.Bytes()
			w.Header().Set("Content-Length", itoa(len(body)))
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return true
		},
		want: []string{firstBlob.String(), "unexpected EOF"},
	}, {
		name: "500 answers to blobs",
		ref:  "test/good:v1",
		fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlob(r, firstBlob) {
				return false
			}
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		},
		want: []string{firstBlob.String(), "500"},
	}, {
		name: "slow registry, pull cancelled while downloading",
		ref:  "test/good:v1",
		fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlob(r, firstBlob) {
				return false
			}
			body := recorded(next, r).Body.Bytes()
			w.Header().Set("Content-Length", itoa(len(body)))
			for i := 0; i < len(body); i += 64 << 10 {
				if _, err := w.Write(body[i:min(i+64<<10, len(body))]); err != nil {
					return true
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return true
				case <-time.After(50 * time.Millisecond): // a slow link, not an assertion
				}
			}
			return true
		},
		cancelAt: skiffregistry.Downloading,
		want:     []string{"context canceled"},
	}, {
		name: "pull by digest served another manifest",
		ref:  "test/good@" + manifestDigest.String(),
		fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isManifest(r) {
				return false
			}
			w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
			w.Write(otherManifest)
			return true
		},
		want: []string{"does not match", manifestDigest.String()},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			e, root := enginetest.OpenRoot(t)
			before := storeFiles(t, root)
			reg.setFault(tc.fault)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var steps []string
			_, err := e.ImagePull(ctx, reg.host+"/"+tc.ref, engine.ImagePullOptions{Progress: func(p skiffregistry.Progress) {
				steps = append(steps, p.Status)
				if p.Status == tc.cancelAt {
					cancel()
				}
			}})
			if err == nil {
				t.Fatal("pull succeeded")
			}
			t.Logf("pull error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("pull error %q, want it to say %q", err, w)
				}
			}
			if tc.cancelAt != "" && !slices.Contains(steps, tc.cancelAt) {
				t.Errorf("progress %q, want %q before the cancel", steps, tc.cancelAt)
			}
			assertNoImages(t, e)
			if after := storeFiles(t, root); !slices.Equal(after, before) {
				t.Errorf("the failed pull changed the stores: files before %q, after %q", before, after)
			}

			// The engine keeps working: the same pull, without the fault.
			reg.setFault(nil)
			res, err := e.ImagePull(context.Background(), reg.host+"/test/good:v1", engine.ImagePullOptions{})
			if err != nil {
				t.Fatalf("pull after the fault: %v", err)
			}
			if res.ID.String() != config.String() {
				t.Fatalf("pull after the fault stored %s, want %s", res.ID, config)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
