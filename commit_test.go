package main

// The tutorial's "save the container's state": a change made in a
// container, listed by docker diff, committed as an image whose parent is
// the container's, and exported as a tar.

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCommitDiffExport(t *testing.T) {
	d := withBusybox(t)
	t.Cleanup(func() { checkNoLeftovers(t, d) })
	busybox := inspect(t, d, "{{.Id}}", "busybox")

	mustSucceed(t, "run", d.docker("run", "--name", "changed", "busybox", "sh", "-c",
		"echo new > /new; rm /bin/vi; echo 'x:x:5:5::/:/bin/sh' >> /etc/passwd; mkdir /tmp/d"))

	t.Run("docker diff lists the A, C and D changes", func(t *testing.T) {
		out := mustSucceed(t, "diff", d.docker("diff", "changed"))
		want := "C /bin\nD /bin/vi\nC /etc\nC /etc/passwd\nA /new\nC /tmp\nA /tmp/d\n"
		if out != want {
			t.Errorf("docker diff printed\n%s\nwant\n%s", out, want)
		}
		// Only the runtime's own mount points: nothing to show.
		mustSucceed(t, "run", d.docker("run", "--name", "unchanged", "busybox", "true"))
		if out := mustSucceed(t, "diff", d.docker("diff", "unchanged")); out != "" {
			t.Errorf("docker diff of a container that changed nothing:\n%s", out)
		}
	})

	t.Run("docker commit makes a child image of the container's", func(t *testing.T) {
		id := strings.TrimSpace(mustSucceed(t, "commit", d.docker("commit", "-m", "msg", "-a", "me", "-c", `CMD ["cat","/new"]`, "changed", "repo:tag")))
		if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(id) {
			t.Fatalf("docker commit printed %q", id)
		}
		if got := inspect(t, d, "{{.Id}} {{.Parent}} {{.Comment}} {{.Author}} {{json .Config.Cmd}}", "repo:tag"); got != id+" "+busybox+` msg me ["cat","/new"]` {
			t.Errorf("docker inspect of the commit: %q", got)
		}
		if out := mustSucceed(t, "run", d.docker("run", "--rm", "repo:tag")); out != "new\n" {
			t.Errorf("the committed image's CMD printed %q", out)
		}
		if out := mustSucceed(t, "run", d.docker("run", "--rm", "repo:tag", "sh", "-c", "ls /bin/vi; tail -1 /etc/passwd; ls -d /tmp/d")); out != "x:x:5:5::/:/bin/sh\n/tmp/d\n" {
			t.Errorf("the committed image's files: %q", out)
		}

		tree := mustSucceed(t, "images --tree", d.skiff("images", "--tree"))
		if !regexp.MustCompile(`(?m)^└─` + busybox[7:19] + ` Virtual Size: .* Tags: busybox:latest\n  └─` + id[7:19] + ` Virtual Size: .* Tags: repo:tag$`).MatchString(tree) {
			t.Errorf("skiff images --tree:\n%s", tree)
		}
		history := mustSucceed(t, "history", d.docker("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", "repo:tag"))
		want := id + "|sh -c echo new > /new; rm /bin/vi; echo 'x:x:5:5::/:/bin/sh' >> /etc/passwd; mkdir /tmp/d|msg\n" + busybox + "||Imported from -\n"
		if history != want {
			t.Errorf("docker history:\n%s\nwant\n%s", history, want)
		}
		// The layer holds the changes only, with a whiteout for /bin/vi.
		layer := lastLayer(t, d, "repo:tag")
		wantEntries := []string{"bin/", "bin/.wh.vi", "etc/", "etc/passwd", "new", "tmp/", "tmp/d/"}
		if !slices.Equal(layer, wantEntries) {
			t.Errorf("the commit's layer holds %v, want %v", layer, wantEntries)
		}
	})

	t.Run("docker export writes the container's filesystem with the change", func(t *testing.T) {
		out := mustSucceed(t, "export", d.docker("export", "changed"))
		files := map[string]string{}
		tr := tar.NewReader(strings.NewReader(out))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("docker export wrote a bad tar: %v", err)
			}
			b, _ := io.ReadAll(tr)
			files[h.Name] = string(b)
		}
		if files["new"] != "new\n" || !strings.HasSuffix(files["etc/passwd"], "x:x:5:5::/:/bin/sh\n") {
			t.Errorf("the export lacks the changes: new=%q passwd=%q", files["new"], files["etc/passwd"])
		}
		if _, ok := files["bin/vi"]; ok {
			t.Errorf("the export has the deleted /bin/vi")
		}
		if _, ok := files["bin/sh"]; !ok || len(files) < 100 {
			t.Errorf("the export lacks the image's files (%d entries)", len(files))
		}
	})
}

// lastLayer lists the entries of an image's top layer, from docker save.
func lastLayer(t *testing.T, d *skiffd, ref string) []string {
	t.Helper()
	saved := mustSucceed(t, "save", d.docker("save", ref))
	blobs := map[string][]byte{}
	var manifest []byte
	tr := tar.NewReader(strings.NewReader(saved))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		blobs[h.Name] = b
		if h.Name == "manifest.json" {
			manifest = b
		}
	}
	m := regexp.MustCompile(`"Layers":\[([^\]]*)\]`).FindSubmatch(manifest)
	if m == nil {
		t.Fatalf("docker save: no layers in %s", manifest)
	}
	layers := strings.Split(string(m[1]), ",")
	top := strings.Trim(layers[len(layers)-1], `"`)
	var names []string
	lr := tar.NewReader(bytes.NewReader(blobs[top]))
	for {
		h, err := lr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return names
}
