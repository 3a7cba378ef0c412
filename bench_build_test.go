package main

// The build benchmark of scripts/bench-build.sh, skiff alone, through its
// CLI as a user runs it: go test -run XXX -bench Build .

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkBuild times builds of a context like the tutorial's (FROM,
// MAINTAINER, ENV, five RUN steps, ADD of a ~5 MB tar.gz, ENTRYPOINT): cold
// (--no-cache), fully cached, and after a change to the last RUN.
func BenchmarkBuild(b *testing.B) {
	d := startSkiffd(b, "")
	mustSucceed(b, "import", d.skiff("import", rootfsFile(b), "busybox:latest"))
	ctx := b.TempDir()
	// Random bytes, so the tar.gz stays ~5 MB and ADD has that much to
	// checksum and unpack.
	rng := rand.New(rand.NewChaCha8([32]byte{}))
	payload := map[string]string{"payload/": ""}
	for i := range 5 {
		part := make([]byte, 1<<20)
		for j := range part {
			part[j] = byte(rng.Uint32())
		}
		payload[fmt.Sprintf("payload/part%d.bin", i)] = string(part)
	}
	writeTarGz(b, filepath.Join(ctx, "payload.tar.gz"), payload)
	dockerfile := func(last string) {
		text := `FROM busybox
MAINTAINER skiff bench <bench@example.invalid>
ENV APP_HOME=/opt/app GREETING=hello
RUN mkdir -p $APP_HOME/data
RUN echo "$GREETING" >$APP_HOME/greeting
RUN seq 1 100000 >$APP_HOME/data/numbers
RUN sha256sum $APP_HOME/data/numbers >$APP_HOME/data/numbers.sha256
RUN echo "` + last + `" >$APP_HOME/last
ADD payload.tar.gz $APP_HOME/
ENTRYPOINT ["cat", "/opt/app/greeting"]
`
		if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// build runs one build and checks that as many steps as expected came
	// from the cache, so that each case measures what it says.
	build := func(b *testing.B, cached int, args ...string) {
		out := mustSucceed(b, "build", d.skiff(append(append([]string{"build"}, args...), ctx)...))
		if got := strings.Count(out, " ---> Using cache\n"); got != cached {
			b.Fatalf("%d steps from the cache, want %d:\n%s", got, cached, out)
		}
	}
	dockerfile("0")
	// The cache the rebuilds use, whichever cases run.
	mustSucceed(b, "build", d.skiff("build", ctx))

	b.Run("Cold", func(b *testing.B) {
		for b.Loop() {
			build(b, 0, "--no-cache", "-t", "bench:cold")
		}
	})
	b.Run("Cached", func(b *testing.B) {
		for b.Loop() {
			build(b, 9, "-t", "bench:cached")
		}
	})
	b.Run("LastRunChanged", func(b *testing.B) {
		n := 0
		for b.Loop() {
			// A value never built before: that RUN, the ADD and the
			// ENTRYPOINT are built again. Writing the Dockerfile is
			// negligible beside the build.
			n++
			dockerfile(fmt.Sprint(n))
			build(b, 6, "-t", "bench:changed")
		}
	})
}
