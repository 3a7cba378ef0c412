package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

func TestSaveLoadRoundTripKeepsIDsTagsAndLineage(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.importBusybox(t, "busybox:latest")
	child := e.child(t, base, "a", "app:v1")

	var archive bytes.Buffer
	if err := e.Save(ctx, &archive, []string{"busybox", "app:v1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Delete(ctx, "app:v1", false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Delete(ctx, "busybox", false, true); err != nil {
		t.Fatal(err)
	}
	if c := e.counts(t); c != (counts{}) {
		t.Fatalf("data root not empty before load: %+v", c)
	}

	results, err := e.Load(ctx, bytes.NewReader(archive.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].ID != base || results[1].ID != child {
		t.Fatalf("loaded %+v, want busybox then app", results)
	}
	if !slices.Equal(results[1].Tags, []string{"app:v1"}) {
		t.Errorf("tags = %v", results[1].Tags)
	}
	img, err := e.Inspect(ctx, "app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != child || img.ParentID != base {
		t.Errorf("after load app:v1 is %s with parent %q; want %s with parent %s", img.ID, img.ParentID, child, base)
	}
	if c := e.counts(t); c.images != 2 || c.layers != 2 || c.scratch != 0 {
		t.Errorf("data root holds %+v after load", c)
	}
}

func TestSaveByIDIsUntaggedAndByRepositoryHasAllTags(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := e.importBusybox(t, "busybox:latest")
	e.Tag(ctx, "busybox", "busybox:1.35")

	tags := func(ref string) []string {
		t.Helper()
		var buf bytes.Buffer
		if err := e.Save(ctx, &buf, []string{ref}); err != nil {
			t.Fatal(err)
		}
		var manifest []struct{ RepoTags []string }
		if err := json.Unmarshal(tarFile(t, buf.Bytes(), "manifest.json"), &manifest); err != nil {
			t.Fatal(err)
		}
		if len(manifest) != 1 {
			t.Fatalf("manifest has %d entries", len(manifest))
		}
		slices.Sort(manifest[0].RepoTags)
		return manifest[0].RepoTags
	}
	if got := tags(id.Encoded()[:12]); len(got) != 0 {
		t.Errorf("saved by ID: tags %v, want none", got)
	}
	if got := tags("busybox"); !slices.Equal(got, []string{"busybox:1.35", "busybox:latest"}) {
		t.Errorf("saved by repository: tags %v", got)
	}
	if got := tags("busybox:1.35"); !slices.Equal(got, []string{"busybox:1.35"}) {
		t.Errorf("saved by tag: tags %v", got)
	}
	if err := e.Save(ctx, io.Discard, []string{"nosuch"}); !errdefs.IsNotFound(err) {
		t.Errorf("saving an unknown image: %v", err)
	}
}

func TestLoadMovesATagAndSaysSo(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	old := e.importBusybox(t, "app:v1")
	var archive bytes.Buffer
	newer := e.child(t, old, "a", "app:v2")
	e.Save(ctx, &archive, []string{"app:v2"})
	e.Delete(ctx, "app:v2", false, false)
	// Retag the archive's image name onto the old image, then load.
	patched := retagArchive(t, archive.Bytes(), "app:v2", "app:v1")
	results, err := e.Load(ctx, bytes.NewReader(patched))
	if err != nil {
		t.Fatal(err)
	}
	if results[0].ID != newer || results[0].Moved["app:v1"] != old {
		t.Errorf("result %+v: want app:v1 moved from %s", results[0], ShortID(old))
	}
}

// A load whose content does not match its digests is refused, and leaves
// nothing registered.
func TestLoadRefusesTamperedArchives(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.importBusybox(t, "busybox:latest")
	var archive bytes.Buffer
	if err := e.Save(ctx, &archive, []string{"busybox"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Delete(ctx, "busybox", false, true); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		tamper func(name string, data []byte) (string, []byte)
		want   string
	}{
		{
			name: "config edited",
			tamper: func(name string, data []byte) (string, []byte) {
				if bytes.Contains(data, []byte(`"rootfs"`)) {
					return name, bytes.Replace(data, []byte(`"linux"`), []byte(`"Linux"`), 1)
				}
				return name, data
			},
			want: "digest",
		},
		{
			name: "manifest points at another config",
			tamper: func(name string, data []byte) (string, []byte) {
				if name == "manifest.json" {
					var m []map[string]any
					json.Unmarshal(data, &m)
					m[0]["Config"] = "blobs/sha256/" + digest.FromString("x").Encoded()
					data, _ = json.Marshal(m)
				}
				return name, data
			},
			want: "blobs/sha256/" + digest.FromString("x").Encoded(),
		},
		{
			name: "not a tar",
			tamper: func(name string, data []byte) (string, []byte) {
				return name, data
			},
			want: "tar",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var input []byte
			if tc.name == "not a tar" {
				input = []byte(strings.Repeat("garbage ", 200))
			} else {
				input = rewriteTar(t, archive.Bytes(), tc.tamper)
			}
			_, err := e.Load(ctx, bytes.NewReader(input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.want)
			}
			if c := e.counts(t); c != (counts{}) {
				t.Errorf("a refused load left %+v", c)
			}
		})
	}
}

// rewriteTar copies a tar, passing each regular file through fn.
func rewriteTar(t *testing.T, in []byte, fn func(name string, data []byte) (string, []byte)) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(in))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if hdr.Typeflag == tar.TypeReg {
			hdr.Name, data = fn(hdr.Name, data)
			hdr.Size = int64(len(data))
		}
		tw.WriteHeader(hdr)
		tw.Write(data)
	}
	tw.Close()
	return out.Bytes()
}

// retagArchive renames a tag in an archive's manifest.json.
func retagArchive(t *testing.T, in []byte, from, to string) []byte {
	return rewriteTar(t, in, func(name string, data []byte) (string, []byte) {
		if name == "manifest.json" {
			data = bytes.ReplaceAll(data, []byte(`"`+from+`"`), []byte(`"`+to+`"`))
		}
		return name, data
	})
}

func tarFile(t *testing.T, archive []byte, name string) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in archive: %v", name, err)
		}
		if hdr.Name == name {
			data, _ := io.ReadAll(tr)
			return data
		}
	}
}
