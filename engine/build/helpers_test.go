package build_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	_ "modernc.org/sqlite"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/testimage"
)

func TestMain(m *testing.M) {
	runtime.MaybeReexec()
	monitor.MaybeReexec()
	os.Exit(m.Run())
}

// newEngine opens an engine of the test's own (enginetest.Open) with the
// busybox test image as busybox:latest.
func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e := enginetest.Open(t)
	if _, err := e.ImageImport(context.Background(), bytes.NewReader(testimage.Rootfs(t)), engine.ImageImportOptions{Source: "-", Tag: mustTag(t, "busybox:latest")}); err != nil {
		t.Fatal(err)
	}
	return e
}

func mustTag(t *testing.T, s string) reference.NamedTagged {
	t.Helper()
	tag, err := engine.ParseImageTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// file is an entry of a test build context.
type file struct {
	body string
	mode int64 // 0 is 0644
	link string
}

// contextTar makes a build context of files, by path.
func contextTar(t *testing.T, files map[string]file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f := files[name]
		hdr := &tar.Header{Name: name, Mode: f.mode, Size: int64(len(f.body)), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if f.link != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, f.link, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if f.link == "" {
			tw.Write([]byte(f.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarGz makes a gzip-compressed tar of files: an archive for ADD.
func tarGz(t *testing.T, files map[string]file) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(contextTar(t, files))
	zw.Close()
	return buf.String()
}

// buildResult is what a build printed and made.
type buildResult struct {
	id     digest.Digest
	output string
	err    error
	build  *engine.Build
}

// build builds the context with opts and waits for the end.
func build(t *testing.T, e *engine.Engine, files map[string]file, opts engine.BuildOptions) buildResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := e.BuildStart(ctx, bytes.NewReader(contextTar(t, files)), opts)
	if err != nil {
		return buildResult{err: err}
	}
	return follow(t, ctx, b)
}

func follow(t *testing.T, ctx context.Context, b *engine.Build) buildResult {
	t.Helper()
	res := buildResult{build: b}
	var out strings.Builder
	if err := b.Follow(ctx, func(m engine.BuildMessage) error {
		out.WriteString(m.Stream)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res.output = out.String()
	res.id, res.err = b.Wait(ctx)
	return res
}

// mustBuild builds and fails the test if the build fails.
func mustBuild(t *testing.T, e *engine.Engine, files map[string]file, opts engine.BuildOptions) buildResult {
	t.Helper()
	res := build(t, e, files, opts)
	if res.err != nil {
		t.Fatalf("build failed: %v\n%s", res.err, res.output)
	}
	return res
}

// config returns an image's runtime config.
func config(t *testing.T, e *engine.Engine, ref string) *engine.Image {
	t.Helper()
	img, err := e.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func ptr(s string) *string { return &s }

func itoa(n int) string { return strconv.Itoa(n) }

// equal compares test values of the shapes the config has.
func equal(a, b any) bool { return reflect.DeepEqual(a, b) }
