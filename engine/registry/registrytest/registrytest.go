// Package registrytest runs a real registry for tests: Debian's
// docker-registry (distribution) on a loopback port, with storage in the
// test's temporary directory, and pushes images to it.
package registrytest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"
)

// Registry is a docker-registry (distribution) serving on loopback.
type Registry struct {
	Host    string // 127.0.0.1:PORT
	Storage string // its filesystem storage
}

// Option changes how Start runs the registry.
type Option func(*config)

type config struct {
	auth string // the config's auth section
}

// WithHtpasswd makes the registry ask for an account (basic auth from an
// htpasswd file): user with password, the only one it accepts.
func WithHtpasswd(t testing.TB, user, password string) Option {
	return func(c *config) {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(file, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: registrytest\n    path: %s\n", file)
	}
}

// Start runs Debian's docker-registry on a free loopback port, with
// storage of the test's own, until the test ends.
func Start(t testing.TB, opts ...Option) Registry {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Fatal("docker-registry is not installed: scripts/test.sh installs it (Debian package docker-registry)")
	}
	dir := t.TempDir()
	reg := Registry{Host: freeLoopbackAddr(t), Storage: filepath.Join(dir, "storage")}
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
%s`, reg.Storage, reg.Host, cfg.auth)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", config)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The registry logs "listening on ADDR" once its socket is open.
	lines := bufio.NewScanner(stderr)
	var log strings.Builder
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "listening on "+reg.Host) {
			go io.Copy(io.Discard, stderr)
			return reg
		}
	}
	t.Fatalf("docker-registry exited before listening:\n%s", log.String())
	return reg
}

// freeLoopbackAddr returns a loopback address with a port nothing listens on.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Image makes a one-layer image of rootfs (an uncompressed tar).
func Image(t testing.TB, rootfs []byte) v1.Image {
	t.Helper()
	base, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		OS:           "linux",
		Architecture: runtime.GOARCH,
		Config:       v1.Config{Cmd: []string{"sh"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Push uploads img as ref and returns its manifest digest.
func Push(t testing.TB, img v1.Image, ref string) digest.Digest {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest.Digest(d.String())
}
