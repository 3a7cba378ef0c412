package main

// docker system df against skiff: what the daemon measures (writable layers,
// volumes, layers shared between images) and that skiff's CLI prints the
// same table as docker's from it.

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestSystemDfFromBothCLIs(t *testing.T) {
	d := withBusybox(t)

	// A running container that wrote 100,000 bytes, a stopped one that wrote
	// 30,000 and an image committed from it: busybox's layer is shared.
	running := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "-v", "used:/data", "busybox", "sh", "-c",
		"head -c 100000 /dev/zero > /big; head -c 4000 /dev/zero > /data/f; sleep 1000")))
	waitFor(t, "the running container to write its files", func() bool {
		return inspect(t, d, "{{.State.Running}}", running) == "true" && dfSizeRw(t, d, running) == 100000
	})
	mustSucceed(t, "run", d.docker("run", "--name", "stopped", "busybox", "sh", "-c", "head -c 30000 /dev/zero > /mid"))
	mustSucceed(t, "commit", d.docker("commit", "stopped", "child:v1"))
	mustSucceed(t, "volume create", d.docker("volume", "create", "spare"))
	mustSucceed(t, "write the spare volume", d.docker("run", "--rm", "-v", "spare:/s", "busybox", "sh", "-c", "head -c 2500 /dev/zero > /s/g"))

	var du struct {
		LayersSize int64
		Images     []struct {
			RepoTags         []string
			Size, SharedSize int64
			Containers       int64
		}
		Containers []struct {
			Id     string
			SizeRw int64
		}
		Volumes []struct {
			Name      string
			UsageData struct{ Size, RefCount int64 }
		}
		BuildCache []any
	}
	d.getJSON(t, "/system/df", &du)

	type imageUse struct{ size, shared, containers int64 }
	images := map[string]imageUse{}
	for _, img := range du.Images {
		images[strings.Join(img.RepoTags, ",")] = imageUse{img.Size, img.SharedSize, img.Containers}
	}
	busybox, child := images["busybox:latest"], images["child:v1"]
	if busybox.size == 0 || busybox.shared != busybox.size || busybox.containers != 2 {
		t.Errorf("busybox: %+v; want all of its size shared and 2 containers", busybox)
	}
	if child.size != busybox.size+30000 || child.shared != busybox.size || child.containers != 0 {
		t.Errorf("child:v1: %+v; want busybox's size plus 30000, busybox's shared, no containers", child)
	}
	if len(images) != 2 || du.LayersSize != child.size {
		t.Errorf("LayersSize %d; want the two images' layers once: %d (images %+v)", du.LayersSize, child.size, images)
	}
	sizes := map[string]int64{}
	for _, v := range du.Volumes {
		sizes[v.Name] = v.UsageData.Size
	}
	if sizes["used"] != 4000 || sizes["spare"] != 2500 {
		t.Errorf("volume sizes %v; want used 4000, spare 2500", sizes)
	}
	if len(du.Containers) != 2 || du.BuildCache == nil || len(du.BuildCache) != 0 {
		t.Errorf("%d containers, build cache %v", len(du.Containers), du.BuildCache)
	}

	for _, args := range [][]string{{"system", "df"}, {"system", "df", "--format", "json"}, {"system", "df", "--format", "{{.Type}}: {{.Size}}"}} {
		want := mustSucceed(t, "docker", d.docker(args...))
		if got := mustSucceed(t, "skiff", d.skiff(args...)); got != want {
			t.Errorf("skiff %s:\n%s\ndocker %s:\n%s", strings.Join(args, " "), got, strings.Join(args, " "), want)
		}
	}
	table := mustSucceed(t, "docker system df", d.docker("system", "df"))
	for _, line := range []string{
		"TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE",
		"Containers      2         1         130kB     30kB (23%)",
		"Local Volumes   2         1         6.5kB     2.5kB (38%)",
		"Build Cache     0         0         0B        0B",
	} {
		if !strings.Contains(table, line+"\n") {
			t.Errorf("docker system df lacks %q:\n%s", line, table)
		}
	}
}

// dfSizeRw is the size of a container's writable layer as /system/df
// reports it.
func dfSizeRw(t *testing.T, d *skiffd, id string) int64 {
	var du struct {
		Containers []struct {
			Id     string
			SizeRw int64
		}
	}
	d.getJSON(t, "/system/df?type=container", &du)
	for _, c := range du.Containers {
		if c.Id == id {
			return c.SizeRw
		}
	}
	return -1
}

// getJSON decodes the daemon's answer to GET path on its unix socket.
func (d *skiffd) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://skiff" + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
