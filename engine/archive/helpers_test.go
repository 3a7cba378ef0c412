package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// tarEntry is one entry of a tar built or read by a test.
type tarEntry struct {
	name     string
	body     []byte
	typeflag byte // tar.TypeReg when zero
	linkname string
}

func file(name string, body []byte) tarEntry {
	return tarEntry{name: name, body: body}
}

func jsonFile(t *testing.T, name string, v any) tarEntry {
	t.Helper()
	return file(name, mustJSON(t, v))
}

func symlink(name, target string) tarEntry {
	return tarEntry{name: name, typeflag: tar.TypeSymlink, linkname: target}
}

// buildTar writes entries as a tar, in order.
func buildTar(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:     e.name,
			Typeflag: e.typeflag,
			Linkname: e.linkname,
			Mode:     0o644,
			Size:     int64(len(e.body)),
			ModTime:  time.Unix(0, 0),
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %q: %v", e.name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatalf("write %q: %v", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("close tar: %v", err)
	}
	return buf.Bytes()
}

// readTar returns the entries of a tar, in order.
func readTar(t *testing.T, data []byte) []tarEntry {
	t.Helper()
	var entries []tarEntry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar entry %q: %v", hdr.Name, err)
		}
		entries = append(entries, tarEntry{name: hdr.Name, body: body, typeflag: hdr.Typeflag, linkname: hdr.Linkname})
	}
}

// regularFiles maps the names of a tar's regular files to their content.
func regularFiles(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte)
	for _, e := range readTar(t, data) {
		if e.typeflag == tar.TypeReg {
			files[e.name] = e.body
		}
	}
	return files
}

// layerTar returns a real layer: a tar of one file.
func layerTar(t *testing.T, fileName, content string) []byte {
	t.Helper()
	return buildTar(t, tarEntry{name: "etc/", typeflag: tar.TypeDir}, file("etc/"+fileName, []byte(content)))
}

// imageConfig returns an image config for the host platform with the given
// layers; comment makes configs differ.
func imageConfig(t *testing.T, comment string, diffIDs ...digest.Digest) []byte {
	t.Helper()
	return platformConfig(t, runtime.GOARCH, comment, diffIDs...)
}

func platformConfig(t *testing.T, arch, comment string, diffIDs ...digest.Digest) []byte {
	t.Helper()
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return mustJSON(t, ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: arch},
		Config:   ocispec.ImageConfig{Cmd: []string{"sh"}, Env: []string{"COMMENT=" + comment}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: append([]digest.Digest{}, diffIDs...)},
	})
}

// saveLayer returns a Layer to save from its bytes.
func saveLayer(content []byte) Layer {
	return Layer{
		DiffID: digest.FromBytes(content),
		Size:   int64(len(content)),
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(content)), nil
		},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return data
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return buf.Bytes()
}

func zstdCompressed(t *testing.T, data []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatalf("zstd: %v", err)
	}
	defer zw.Close()
	return zw.EncodeAll(data, nil)
}

func blobName(d digest.Digest) string {
	return "blobs/sha256/" + d.Encoded()
}

// blobFile is a blob entry named by its content.
func blobFile(content []byte) tarEntry {
	return file(blobName(digest.FromBytes(content)), content)
}

// descriptor describes content for an OCI document.
func descriptor(mediaType string, content []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(content), Size: int64(len(content))}
}

// writeArchive saves images and returns the tar.
func writeArchive(t *testing.T, images ...Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, images); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// readArchive loads data, failing the test on error; the archive is closed
// at the end of the test.
func readArchive(t *testing.T, data []byte) *Archive {
	t.Helper()
	a, err := Read(context.Background(), bytes.NewReader(data), t.TempDir())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a
}

// layerBytes reads a loaded layer's uncompressed content.
func layerBytes(t *testing.T, l LoadLayer) []byte {
	t.Helper()
	rc, err := l.Open()
	if err != nil {
		t.Fatalf("open layer %s: %v", l.Digest, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read layer %s: %v", l.Digest, err)
	}
	return data
}

// assertEmptyDir fails unless dir has no entries.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	for _, e := range entries {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}
