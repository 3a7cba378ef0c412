package main

// End-to-end tests: the real skiff binary as daemon and CLI, and the docker
// CLI against it, as a user runs them. The test binary doubles as the skiff
// binary (SKIFF_TEST_MAIN), so no separate build is needed.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vishvananda/netns"

	"github.com/skiff-dev/skiff/engine/archive"
	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/testimage"
)

func TestMain(m *testing.M) {
	// The engine re-executes this binary as a container's monitor and init.
	runtime.MaybeReexec()
	monitor.MaybeReexec()
	if os.Getenv("SKIFF_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// skiffd is a skiff daemon process serving a data root of its own.
type skiffd struct {
	t       testing.TB
	root    string
	socket  string
	tcp     string
	token   string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	exited  chan error
	workDir string
	// bridge and subnet are the daemon's own default network (see
	// testBridge); netns is the network namespace it runs in, the host's
	// when not open (see startSkiffdInNetNS).
	bridge, subnet string
	netns          netns.NsHandle
	// restarted: restartDaemon started another daemon on its data root.
	restarted bool
}

// startSkiffd starts "skiff serve" on a data root (a new one when root is
// ""), with extra serve flags, and waits until it is ready.
func startSkiffd(t testing.TB, root string, flags ...string) *skiffd {
	t.Helper()
	return startSkiffdIn(t, netns.None(), root, flags...)
}

// startSkiffdIn is startSkiffd in the network namespace ns (the test's own
// when not open). The daemon gets a bridge and subnet of its own unless
// flags name them (restartDaemon passes the first daemon's).
func startSkiffdIn(t testing.TB, ns netns.NsHandle, root string, flags ...string) *skiffd {
	t.Helper()
	work := t.TempDir()
	if root == "" {
		root = filepath.Join(work, "root")
	}
	d := &skiffd{t: t, root: root, socket: filepath.Join(work, "skiff.sock"), workDir: work, log: &bytes.Buffer{}, exited: make(chan error, 1), netns: ns}
	if !slices.Contains(flags, "--bridge") {
		d.bridge, d.subnet = testBridge(t, ns)
		flags = append(flags, "--bridge", d.bridge, "--bridge-subnet", d.subnet)
	} else {
		d.bridge, d.subnet = flags[slices.Index(flags, "--bridge")+1], flags[slices.Index(flags, "--bridge-subnet")+1]
	}
	d.cmd = exec.Command(os.Args[0], append([]string{"serve", "--data-root", root, "--socket", d.socket, "--listen", "127.0.0.1:0"}, flags...)...)
	d.cmd.Env = append(os.Environ(), "SKIFF_TEST_MAIN=1")
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := inNetNS(ns, d.cmd.Start); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go d.readLog(stderr, ready)
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(d.stop)
	select {
	case <-ready:
	case err := <-d.exited:
		d.exited <- err
		t.Fatalf("skiff serve exited: %v\n%s", err, d.log)
	case <-time.After(20 * time.Second):
		t.Fatalf("skiff serve did not get ready:\n%s", d.log)
	}
	return d
}

var (
	tcpAddr   = regexp.MustCompile(`tcp=(\S+)`)
	tokenLine = regexp.MustCompile(`token=(\S+)`)
)

func (d *skiffd) readLog(r interface{ Read([]byte) (int, error) }, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	once := false
	for sc.Scan() {
		line := sc.Text()
		d.log.WriteString(line + "\n")
		if m := tcpAddr.FindStringSubmatch(line); m != nil {
			d.tcp = m[1]
		}
		if m := tokenLine.FindStringSubmatch(line); m != nil {
			d.token = m[1]
		}
		// The dashboard's line comes last, after the token's on a first start.
		if strings.Contains(line, "dashboard: ") && !once {
			once = true
			close(ready)
		}
	}
}

// stop ends the daemon with SIGTERM, as a service manager does.
//
// Its containers are removed first, so that the daemon removes its bridge
// and firewall table as it exits (it keeps them for running containers):
// none may stay on the host.
func (d *skiffd) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	if ids := strings.Fields(d.docker("ps", "-aq").stdout); len(ids) > 0 {
		d.docker(append([]string{"rm", "-f"}, ids...)...)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		d.t.Errorf("skiff serve ignored SIGTERM for 10s")
	}
	if n := d.networkLeftovers(); n != "" {
		d.t.Errorf("skiff serve stopped with no container left, and left %s", n)
	}
}

// result is what a command printed and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

func run(t testing.TB, env []string, stdin []byte, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		res.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return res
}

// skiff runs the skiff CLI against the daemon.
func (d *skiffd) skiff(args ...string) result {
	d.t.Helper()
	return run(d.t, []string{"SKIFF_TEST_MAIN=1", "SKIFF_HOST=unix://" + d.socket}, nil, os.Args[0], args...)
}

// docker runs the docker CLI against the daemon, with a config dir of its own.
func (d *skiffd) docker(args ...string) result {
	d.t.Helper()
	return run(d.t, []string{"DOCKER_HOST=unix://" + d.socket, "DOCKER_CONFIG=" + filepath.Join(d.workDir, "docker-config")}, nil, "docker", args...)
}

func mustSucceed(t testing.TB, what string, r result) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func rootfsFile(t testing.TB) string {
	return testimage.WriteRootfs(t, t.TempDir())
}

func TestSkiffCLIAndDockerCLIShowTheSameImages(t *testing.T) {
	d := startSkiffd(t, "")
	rootfs := rootfsFile(t)

	id := strings.TrimSpace(mustSucceed(t, "skiff import", d.skiff("import", rootfs, "busybox:latest")))
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("skiff import printed %q, want the image ID", id)
	}
	dockerID := strings.TrimSpace(mustSucceed(t, "docker import", d.docker("import", "-m", "by docker", "-c", `CMD ["/bin/sh"]`, rootfs, "fromdocker:v1")))
	mustSucceed(t, "docker tag", d.docker("tag", "busybox", "registry.example:5000/team/app:v1"))
	mustSucceed(t, "skiff tag", d.skiff("tag", "fromdocker:v1", "fromdocker:latest"))

	for _, args := range [][]string{
		{"images", "-q"},
		{"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"},
		{"images", "--digests", "-q"},
		{"history", "-q", "busybox"},
		{"history", "--format", "{{.CreatedBy}}|{{.Size}}|{{.Comment}}", "fromdocker:v1"},
		{"inspect", "busybox"},
		{"inspect", "--format", "{{.Id}} {{.Config.Cmd}} {{.RepoTags}}", "fromdocker:v1"},
		{"image", "inspect", "registry.example:5000/team/app:v1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			want := sortedRows(mustSucceed(t, "docker", d.docker(args...)))
			got := sortedRows(mustSucceed(t, "skiff", d.skiff(args...)))
			if got != want {
				t.Errorf("skiff printed\n%s\ndocker printed\n%s", got, want)
			}
		})
	}
	// The table itself: same columns and rows (CREATED is relative time, so
	// compare it, and the padding its words change, only in their shape).
	got := sortedRows(withoutTimes(mustSucceed(t, "skiff images", d.skiff("images"))))
	want := sortedRows(withoutTimes(mustSucceed(t, "docker images", d.docker("images"))))
	if got != want {
		t.Errorf("skiff images:\n%s\ndocker images:\n%s", got, want)
	}
	if !strings.Contains(got, "registry.example:5000/team/app") || !strings.Contains(got, dockerID[7:19]) {
		t.Errorf("images table lacks the tags:\n%s", got)
	}
}

func TestRmiRulesFromBothCLIs(t *testing.T) {
	d := startSkiffd(t, "")
	rootfs := rootfsFile(t)
	mustSucceed(t, "import", d.skiff("import", rootfs, "busybox:latest"))
	mustSucceed(t, "load lineage", d.loadChildOf("busybox:latest", "app:v1"))
	base := strings.TrimSpace(mustSucceed(t, "images -q", d.skiff("images", "-q", "busybox")))

	for _, cli := range []func(...string) result{d.skiff, d.docker} {
		r := cli("rmi", "-f", base)
		if r.code != 1 || !strings.Contains(r.stderr, "Error response from daemon: conflict: unable to delete "+base+" (cannot be forced) - image has dependent child images") {
			t.Errorf("rmi -f of a parent: exit %d, stderr %q", r.code, r.stderr)
		}
	}
	// Removing one of two tags only untags.
	mustSucceed(t, "tag", d.skiff("tag", "busybox", "busybox:copy"))
	if out := mustSucceed(t, "docker rmi", d.docker("rmi", "busybox:copy")); out != "Untagged: busybox:copy\n" {
		t.Errorf("docker rmi of a second tag printed %q", out)
	}
	// Removing the child then the base deletes both, with Docker's lines.
	out := mustSucceed(t, "skiff rmi", d.skiff("rmi", "app:v1", "busybox"))
	for _, want := range []string{"Untagged: app:v1\nDeleted: sha256:", "Untagged: busybox:latest\nDeleted: sha256:" + base} {
		if !strings.Contains(out, want) {
			t.Errorf("skiff rmi printed\n%s\nwant it to contain %q", out, want)
		}
	}
	if out := mustSucceed(t, "images", d.skiff("images", "-aq")); out != "" {
		t.Errorf("images left: %q", out)
	}
	r := d.docker("rmi", "nosuch")
	if r.code != 1 || strings.TrimSpace(r.stderr) != "Error response from daemon: No such image: nosuch:latest" {
		t.Errorf("docker rmi nosuch: exit %d, %q", r.code, r.stderr)
	}
}

func TestSaveAndLoadAcrossBothCLIs(t *testing.T) {
	d := startSkiffd(t, "")
	mustSucceed(t, "import", d.skiff("import", rootfsFile(t), "busybox:latest"))
	id := mustSucceed(t, "images -q", d.skiff("images", "-q"))
	dir := t.TempDir()

	// docker save → skiff load, and skiff save → docker load.
	pairs := []struct {
		save, load func(...string) result
		name       string
	}{
		{d.docker, d.skiff, "docker save, skiff load"},
		{d.skiff, d.docker, "skiff save, docker load"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			archive := filepath.Join(dir, strings.ReplaceAll(p.name, " ", "_")+".tar")
			mustSucceed(t, "save", p.save("save", "-o", archive, "busybox"))
			mustSucceed(t, "rmi", d.skiff("rmi", "busybox"))
			out := mustSucceed(t, "load", p.load("load", "-i", archive))
			if !strings.Contains(out, "Loaded image: busybox:latest") {
				t.Errorf("load printed %q", out)
			}
			if got := mustSucceed(t, "images -q", d.skiff("images", "-q")); got != id {
				t.Errorf("after the round trip the image is %q, want %q", got, id)
			}
		})
	}
	// A failed save writes no file.
	missing := filepath.Join(dir, "missing.tar")
	if r := d.skiff("save", "-o", missing, "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "No such image: nosuch:latest") {
		t.Errorf("save of an unknown image: exit %d, %q", r.code, r.stderr)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed save left %s", missing)
	}
}

// sortedRows sorts the rows of a table after its first line. The docker CLI
// lists the repositories of one image in map order, which varies from run to
// run; only the set of rows is comparable.
func sortedRows(out string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) > 1 {
		slices.Sort(lines[1:])
	}
	return strings.Join(lines, "\n") + "\n"
}

// Bad input is refused in one line, with exit code 1, and registers nothing.
func TestBadInputFromTheCLI(t *testing.T) {
	d := startSkiffd(t, "")
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.tar")
	os.WriteFile(garbage, bytes.Repeat([]byte("not a tar "), 100), 0o644)
	rootfs, _ := os.ReadFile(rootfsFile(t))
	truncated := filepath.Join(dir, "truncated.tar")
	os.WriteFile(truncated, rootfs[:len(rootfs)/3], 0o644)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"corrupt tarball", []string{"import", garbage, "bad:1"}, "tar"},
		{"truncated tarball", []string{"import", truncated, "bad:1"}, "unexpected EOF"},
		{"load of a non-archive", []string{"load", "-i", garbage}, "tar"},
		{"unparsable reference", []string{"tag", "busybox", "Bad Name"}, "invalid reference format"},
		{"unknown image", []string{"history", "nosuch"}, "No such image: nosuch:latest"},
		{"missing file", []string{"import", filepath.Join(dir, "absent.tar")}, "absent.tar"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := d.skiff(tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, tc.want)
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines != 1 {
				t.Errorf("error is %d lines, want one:\n%s", lines, r.stderr)
			}
		})
	}
	if out := mustSucceed(t, "images", d.skiff("images", "-aq")); out != "" {
		t.Errorf("failed commands registered images: %q", out)
	}
}

func TestImagesTreeShowsLineageAndTags(t *testing.T) {
	d := startSkiffd(t, "")
	mustSucceed(t, "import", d.skiff("import", rootfsFile(t), "busybox:latest"))
	mustSucceed(t, "tag", d.skiff("tag", "busybox", "mybox:v1"))
	mustSucceed(t, "load lineage", d.loadChildOf("busybox:latest", "app:v1"))
	base := strings.TrimSpace(mustSucceed(t, "images -q", d.skiff("images", "-q", "busybox")))
	child := strings.TrimSpace(mustSucceed(t, "images -q", d.skiff("images", "-q", "app")))

	out := mustSucceed(t, "images --tree", d.skiff("images", "--tree"))
	want := regexp.MustCompile(`(?m)^└─` + base + ` Virtual Size: [0-9.]+ [kM]B Tags: busybox:latest, mybox:v1\n  └─` + child + ` Virtual Size: [0-9.]+ [kM]B Tags: app:v1\n$`)
	if !want.MatchString(out) {
		t.Errorf("images --tree printed\n%s", out)
	}
}

// A second daemon on the same data root is refused with a clear message.
func TestSecondDaemonOnTheSameDataRootIsRefused(t *testing.T) {
	d := startSkiffd(t, "")
	r := run(t, []string{"SKIFF_TEST_MAIN=1"}, nil, os.Args[0], "serve", "--data-root", d.root,
		"--socket", filepath.Join(t.TempDir(), "other.sock"), "--listen", "")
	if r.code != 1 || !strings.Contains(r.stderr, "is in use by another skiff daemon (pid "+fmt.Sprint(d.cmd.Process.Pid)+")") {
		t.Errorf("second daemon: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestDaemonShutsDownCleanlyOnSIGTERM(t *testing.T) {
	d := startSkiffd(t, "")
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, d.log)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10s after SIGTERM")
	}
	if _, err := os.Stat(d.socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
	if !strings.Contains(d.log.String(), "skiff daemon stopped") {
		t.Errorf("log lacks the stop line:\n%s", d.log)
	}
}

// A killed daemon loses nothing it acknowledged, and its next start cleans
// up after it.
func TestKilledDaemonLosesNoData(t *testing.T) {
	d := startSkiffd(t, "")
	mustSucceed(t, "import", d.skiff("import", rootfsFile(t), "busybox:latest"))
	mustSucceed(t, "tag", d.skiff("tag", "busybox", "kept:v1"))
	before := mustSucceed(t, "images", d.skiff("images", "--no-trunc", "-q"))
	d.cmd.Process.Kill()
	<-d.exited
	d.exited <- nil

	d2 := startSkiffd(t, d.root, d.bridgeFlags()...)
	if after := mustSucceed(t, "images", d2.skiff("images", "--no-trunc", "-q")); after != before {
		t.Errorf("images after kill -9 and restart: %q, want %q", after, before)
	}
	out := mustSucceed(t, "inspect", d2.skiff("inspect", "--format", "{{.RepoTags}}", "kept:v1"))
	if out != "[busybox:latest kept:v1]\n" {
		t.Errorf("tags after restart: %q", out)
	}
}

// The TCP listener answers only with the token printed at first start, and
// skiff's CLI sends it from SKIFF_TOKEN.
func TestTCPListenerNeedsTheFirstStartToken(t *testing.T) {
	d := startSkiffd(t, "")
	if d.tcp == "" || !strings.HasPrefix(d.token, "skiff_") {
		t.Fatalf("log did not show the TCP address and token:\n%s", d.log)
	}
	env := []string{"SKIFF_TEST_MAIN=1", "SKIFF_HOST=tcp://" + d.tcp}
	if r := run(t, env, nil, os.Args[0], "images"); r.code != 1 || !strings.Contains(r.stderr, "authentication required") {
		t.Errorf("without a token: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, append(env, "SKIFF_TOKEN="+d.token), nil, os.Args[0], "images"); r.code != 0 {
		t.Errorf("with the token: exit %d, %q", r.code, r.stderr)
	}
	// The token is printed once: a restart does not show it again.
	d.stop()
	d2 := startSkiffd(t, d.root, d.bridgeFlags()...)
	if strings.Contains(d2.log.String(), "token=") {
		t.Errorf("the token was printed again on restart:\n%s", d2.log)
	}
}

// loadChildOf loads, through skiff load, a child image of parent (imported
// from the test rootfs) with one more layer, tagged tag: the lineage a build
// makes, before the builder exists.
func (d *skiffd) loadChildOf(parent, tag string) result {
	t := d.t
	t.Helper()
	saved := filepath.Join(t.TempDir(), "parent.tar")
	mustSucceed(t, "save parent", d.skiff("save", "-o", saved, parent))
	f, err := os.Open(saved)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := archive.Read(context.Background(), f, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	parentImg := a.Images()[0]
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(parentImg.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	rootfs := testimage.Rootfs(t)
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "app/hello", Mode: 0o644, Size: 6, Typeflag: tar.TypeReg})
	tw.Write([]byte("hello\n"))
	tw.Close()
	now := time.Now().UTC()
	cfg.Created = &now
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(layer.Bytes()))
	cfg.History = append(cfg.History, ocispec.History{Created: &now, CreatedBy: "ADD hello /app/"})
	config, _ := json.Marshal(cfg)
	layerOf := func(b []byte) archive.Layer {
		return archive.Layer{DiffID: digest.FromBytes(b), Size: int64(len(b)), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}}
	}
	var out bytes.Buffer
	err = archive.Write(context.Background(), &out, []archive.Image{{
		Config:   config,
		Layers:   []archive.Layer{layerOf(rootfs), layerOf(layer.Bytes())},
		RepoTags: []string{tag},
		Parent:   parentImg.ConfigDigest,
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "child.tar")
	os.WriteFile(path, out.Bytes(), 0o644)
	return d.skiff("load", "-i", path)
}

// The unix socket needs no token: its file mode is the guard, as with
// docker.sock.
func TestSocketIsOpenOnlyToOwnerAndGroup(t *testing.T) {
	d := startSkiffd(t, "")
	fi, err := os.Stat(d.socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
}
