package build_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
)

// The tutorial's Dockerfile style: FROM, MAINTAINER, ENV, RUN, ADD of a
// tarball that is unpacked, and a shell-form ENTRYPOINT.
const tutorialDockerfile = `FROM busybox
MAINTAINER Jane Doe <jane@example.com>
ENV APP_HOME /opt/app
RUN mkdir -p $APP_HOME && echo built > $APP_HOME/built.txt
ADD app.tar.gz /opt/
ENTRYPOINT cat $APP_HOME/built.txt /opt/app/hello.txt && echo started
`

func tutorialContext(t *testing.T, hello string) map[string]file {
	return map[string]file{
		"Dockerfile": {body: tutorialDockerfile},
		"app.tar.gz": {body: tarGz(t, map[string]file{"app/hello.txt": {body: hello}})},
	}
}

func TestBuildTheTutorialsDockerfile(t *testing.T) {
	e := newEngine(t)
	res := mustBuild(t, e, tutorialContext(t, "hello\n"), engine.BuildOptions{Tags: []string{"tutorial"}, Remove: true})

	short := engine.ImageShortID(res.id)
	want := `^Step 1/6 : FROM busybox
 ---> [0-9a-f]{12}
Step 2/6 : MAINTAINER Jane Doe <jane@example.com>
 ---> [0-9a-f]{12}
Step 3/6 : ENV APP_HOME /opt/app
 ---> [0-9a-f]{12}
Step 4/6 : RUN mkdir -p \$APP_HOME && echo built > \$APP_HOME/built.txt
 ---> Running in ([0-9a-f]{12})
Removing intermediate container ([0-9a-f]{12})
 ---> [0-9a-f]{12}
Step 5/6 : ADD app.tar.gz /opt/
 ---> [0-9a-f]{12}
Step 6/6 : ENTRYPOINT cat \$APP_HOME/built.txt /opt/app/hello.txt && echo started
 ---> ` + short + `
Successfully built ` + short + `
Successfully tagged tutorial:latest
$`
	m := regexp.MustCompile(want).FindStringSubmatch(res.output)
	if m == nil {
		t.Fatalf("build output:\n%s\nwant it to match:\n%s", res.output, want)
	}
	if m[1] != m[2] {
		t.Errorf("ran in %s but removed %s", m[1], m[2])
	}

	img := config(t, e, "tutorial")
	if img.Config.Author != "Jane Doe <jane@example.com>" {
		t.Errorf("author %q", img.Config.Author)
	}
	if !slices.Contains(img.Config.Config.Env, "APP_HOME=/opt/app") {
		t.Errorf("env %q", img.Config.Config.Env)
	}
	if got := img.Config.Config.Entrypoint; !slices.Equal(got, []string{"/bin/sh", "-c", "cat $APP_HOME/built.txt /opt/app/hello.txt && echo started"}) {
		t.Errorf("entrypoint %q", got)
	}
	// The shell-form entrypoint runs through /bin/sh -c; ADD unpacked the
	// tarball.
	if out := enginetest.Run(t, e, "tutorial", "sh", "-c", "cat /opt/app/built.txt /opt/app/hello.txt; ls /opt"); out != "built\nhello\napp\n" {
		t.Errorf("image files: %q", out)
	}
	if list, _ := e.ContainerList(context.Background(), engine.ContainerListOptions{All: true}); len(list) != 0 {
		t.Errorf("--rm left %d containers", len(list))
	}

	// Each step is an image whose parent is the previous step's: the
	// lineage shows 6 images, busybox at the root.
	hist, err := e.ImageHistory(context.Background(), "tutorial")
	if err != nil {
		t.Fatal(err)
	}
	var createdBy []string
	for _, h := range hist {
		createdBy = append(createdBy, h.CreatedBy)
	}
	joined := strings.Join(createdBy, "\n")
	for _, want := range []string{
		"/bin/sh -c #(nop)  MAINTAINER Jane Doe <jane@example.com>",
		"/bin/sh -c mkdir -p $APP_HOME && echo built > $APP_HOME/built.txt",
		"/bin/sh -c #(nop) ADD file:",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("history lacks %q:\n%s", want, joined)
		}
	}
	tree, err := e.ImageTree(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for n := tree[0]; len(n.Children) > 0; n = n.Children[0] {
		depth++
	}
	if len(tree) != 1 || depth != 5 {
		t.Errorf("lineage: %d roots, depth %d, want busybox with a chain of 5 steps", len(tree), depth)
	}
}

func TestBuildCache(t *testing.T) {
	e := newEngine(t)
	first := mustBuild(t, e, tutorialContext(t, "hello\n"), engine.BuildOptions{Remove: true})

	again := mustBuild(t, e, tutorialContext(t, "hello\n"), engine.BuildOptions{Remove: true})
	if again.id != first.id {
		t.Errorf("a cached rebuild made %s, the first build %s", again.id, first.id)
	}
	if n := strings.Count(again.output, " ---> Using cache\n"); n != 5 {
		t.Errorf("cached rebuild used the cache %d times, want 5:\n%s", n, again.output)
	}
	if strings.Contains(again.output, "Running in") {
		t.Errorf("cached rebuild ran a container:\n%s", again.output)
	}

	// A changed ADD source rebuilds from the ADD step on.
	changed := mustBuild(t, e, tutorialContext(t, "hello again\n"), engine.BuildOptions{Remove: true})
	if n := strings.Count(changed.output, " ---> Using cache\n"); n != 3 {
		t.Errorf("after changing the tarball the cache was used %d times, want 3:\n%s", n, changed.output)
	}
	if out := enginetest.Run(t, e, changed.id.String(), "cat", "/opt/app/hello.txt"); out != "hello again\n" {
		t.Errorf("rebuilt image has %q", out)
	}

	// A changed last line rebuilds that step only.
	ctxFiles := tutorialContext(t, "hello\n")
	ctxFiles["Dockerfile"] = file{body: strings.Replace(tutorialDockerfile, "&& echo started", "&& echo go", 1)}
	last := mustBuild(t, e, ctxFiles, engine.BuildOptions{Remove: true})
	if n := strings.Count(last.output, " ---> Using cache\n"); n != 4 {
		t.Errorf("after changing the last line the cache was used %d times, want 4:\n%s", n, last.output)
	}

	noCache := mustBuild(t, e, tutorialContext(t, "hello\n"), engine.BuildOptions{Remove: true, NoCache: true})
	if strings.Contains(noCache.output, "Using cache") || noCache.id == first.id {
		t.Errorf("--no-cache used the cache:\n%s", noCache.output)
	}
}

func TestFailedRunStep(t *testing.T) {
	e := newEngine(t)
	files := map[string]file{"Dockerfile": {body: "FROM busybox\nRUN echo one > /one\nRUN echo about to fail && exit 3\nCMD [\"true\"]\n"}}
	res := build(t, e, files, engine.BuildOptions{Tags: []string{"broken"}, Remove: true})
	if res.err == nil {
		t.Fatalf("a failing RUN built:\n%s", res.output)
	}
	want := "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3 (Dockerfile line 3)"
	if res.err.Error() != want {
		t.Errorf("error %q, want %q", res.err, want)
	}
	if !strings.Contains(res.output, "about to fail\n") {
		t.Errorf("the step's output is missing:\n%s", res.output)
	}
	if _, err := e.ImageInspect(context.Background(), "broken"); err == nil {
		t.Error("a failed build was tagged")
	}
	// With --rm but not --force-rm, the failed step's container stays for
	// the user to look into, and the record names it.
	rec, err := e.BuildInspect(context.Background(), res.build.ID())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != engine.BuildStatus("failed") || rec.Error != want || rec.ExitCode != 3 || rec.FailedContainer == "" {
		t.Errorf("record: %+v", rec)
	}
	if _, err := e.ContainerInspect(context.Background(), rec.FailedContainer); err != nil {
		t.Errorf("the failed step's container is gone: %v", err)
	}

	// The steps that succeeded stay as cache; --force-rm removes the failed
	// step's container.
	res = build(t, e, files, engine.BuildOptions{Remove: true, ForceRemove: true})
	if !strings.Contains(res.output, " ---> Using cache\n") {
		t.Errorf("the successful step was not cached:\n%s", res.output)
	}
	if list, _ := e.ContainerList(context.Background(), engine.ContainerListOptions{All: true}); len(list) != 1 {
		t.Errorf("after --force-rm %d containers remain, want the first build's one", len(list))
	}
}

func TestBadDockerfilesAreRefusedNamingTheLine(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct {
		name, dockerfile, want string
	}{
		{"unknown instruction", "FROM busybox\nFOO bar\n", "dockerfile parse error on line 2: unknown instruction: FOO"},
		{"no FROM", "RUN true\n", "no build stage in current context"},
		{"heredoc", "FROM busybox\nRUN <<EOF\necho hi\nEOF\n", "line 2: heredocs"},
		{"RUN --mount", "FROM busybox\nRUN --mount=type=cache,target=/c true\n", "line 2: RUN --mount needs BuildKit"},
		{"unknown base image", "FROM nosuchimage\n", "nosuchimage"},
		{"missing COPY source", "FROM busybox\nCOPY missing.txt /\n", "COPY failed: file not found in build context"},
		{"wrong argument count", "FROM busybox\nMAINTAINER\n", "line 2"},
		{"several sources to a file", "FROM busybox\nCOPY Dockerfile Dockerfile /x\n", "the destination must be a directory and end with a /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := build(t, e, map[string]file{"Dockerfile": {body: tc.dockerfile}}, engine.BuildOptions{})
			if res.err == nil || !strings.Contains(res.err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q\n%s", res.err, tc.want, res.output)
			}
		})
	}
	t.Run("unknown target", func(t *testing.T) {
		res := build(t, e, map[string]file{"Dockerfile": {body: "FROM busybox AS a\n"}}, engine.BuildOptions{Target: "b"})
		if res.err == nil || !strings.Contains(res.err.Error(), "failed to reach build target b") {
			t.Errorf("error %v", res.err)
		}
	})
}

func TestEveryInstruction(t *testing.T) {
	e := newEngine(t)
	dockerfile := `ARG BASE=busybox
FROM $BASE
ARG GREETING=hello
ARG UNSET
LABEL org.example.team=builders version="1.0"
ENV A=1 B=two
ENV C $B-three
WORKDIR /srv
WORKDIR app
COPY --chown=1000:1000 conf/ ./conf/
COPY Dockerfile notes.txt ./
RUN echo "$GREETING $A $C" > greeting && pwd > where
SHELL ["/bin/sh", "-ec"]
RUN test "$(id -u)" = 0 && echo shell-ok > shell
USER 1000:1000
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo triggered > /tmp/triggered
CMD ["sh"]
`
	files := map[string]file{
		"Dockerfile":    {body: dockerfile},
		"notes.txt":     {body: "notes\n"},
		"conf/app.conf": {body: "x=1\n"},
	}
	res := mustBuild(t, e, files, engine.BuildOptions{Tags: []string{"every"}, Remove: true,
		BuildArgs: map[string]*string{"GREETING": ptr("howdy")}, Labels: map[string]string{"extra": "yes"}})
	cfg := config(t, e, "every").Config.Config
	checks := []struct {
		what      string
		got, want any
	}{
		{"labels", cfg.Labels, map[string]string{"org.example.team": "builders", "version": "1.0", "extra": "yes"}},
		{"workdir", cfg.WorkingDir, "/srv/app"},
		{"user", cfg.User, "1000:1000"},
		{"stop signal", cfg.StopSignal, "SIGTERM"},
		{"shell", cfg.Shell, []string{"/bin/sh", "-ec"}},
		{"onbuild", cfg.OnBuild, []string{"RUN echo triggered > /tmp/triggered"}},
		{"cmd", []string(cfg.Cmd), []string{"sh"}},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if !slices.Contains(cfg.Env, "C=two-three") || !slices.Contains(cfg.Env, "A=1") {
		t.Errorf("env %q", cfg.Env)
	}
	if slices.ContainsFunc(cfg.Env, func(kv string) bool { return strings.HasPrefix(kv, "GREETING=") }) {
		t.Errorf("a build arg was kept in the image's env: %q", cfg.Env)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok || len(cfg.ExposedPorts) != 2 {
		t.Errorf("exposed ports %v", cfg.ExposedPorts)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("volumes %v", cfg.Volumes)
	}
	if cfg.Healthcheck == nil || cfg.Healthcheck.Interval != 5*time.Second {
		t.Errorf("healthcheck %+v", cfg.Healthcheck)
	}
	out := enginetest.Run(t, e, "every", "sh", "-c", "cat greeting where shell notes.txt conf/app.conf; stat -c '%u:%g %n' conf conf/app.conf notes.txt")
	want := "howdy 1 two-three\n/srv/app\nshell-ok\nnotes\nx=1\n1000:1000 conf\n1000:1000 conf/app.conf\n0:0 notes.txt\n"
	if out != want {
		t.Errorf("files of the image:\n%s\nwant:\n%s", out, want)
	}
	if strings.Contains(res.output, "were not consumed") {
		t.Errorf("a declared build arg was reported unused:\n%s", res.output)
	}
	hist, _ := e.ImageHistory(context.Background(), "every")
	found := false
	for _, h := range hist {
		found = found || strings.HasPrefix(h.CreatedBy, "|1 GREETING=howdy /bin/sh -c echo")
	}
	if !found {
		t.Error("the RUN's history does not show the build arg it saw")
	}

	// The ONBUILD trigger runs in a child build, and is not inherited.
	child := mustBuild(t, e, map[string]file{"Dockerfile": {body: "FROM every\nUSER 0\n"}}, engine.BuildOptions{Tags: []string{"child"}, Remove: true})
	if !strings.Contains(child.output, "# Executing 1 build trigger\n") {
		t.Errorf("child build output:\n%s", child.output)
	}
	if out := enginetest.Run(t, e, "child", "cat", "/tmp/triggered"); out != "triggered\n" {
		t.Errorf("the trigger did not run: %q", out)
	}
	if got := config(t, e, "child").Config.Config.OnBuild; len(got) != 0 {
		t.Errorf("the child inherited the triggers: %q", got)
	}
}

func TestUnusedBuildArgIsReported(t *testing.T) {
	e := newEngine(t)
	res := mustBuild(t, e, map[string]file{"Dockerfile": {body: "FROM busybox\nRUN true\n"}}, engine.BuildOptions{BuildArgs: map[string]*string{"NOPE": ptr("1")}})
	if !strings.Contains(res.output, "[Warning] One or more build-args [NOPE] were not consumed\n") {
		t.Errorf("output:\n%s", res.output)
	}
}

func TestMultiStageBuild(t *testing.T) {
	e := newEngine(t)
	dockerfile := `FROM busybox AS builder
RUN mkdir /out && echo compiled > /out/app && echo junk > /junk
FROM busybox AS unused
RUN echo never > /never
FROM busybox
COPY --from=builder /out/app /usr/local/bin/app
COPY --from=0 /out /out2
`
	files := map[string]file{"Dockerfile": {body: dockerfile}}
	mustBuild(t, e, files, engine.BuildOptions{Tags: []string{"final"}, Remove: true})
	if out := enginetest.Run(t, e, "final", "sh", "-c", "cat /usr/local/bin/app /out2/app; ls /junk /never 2>&1 | wc -l"); out != "compiled\ncompiled\n2\n" {
		t.Errorf("final image: %q", out)
	}
	res := mustBuild(t, e, files, engine.BuildOptions{Tags: []string{"first"}, Target: "builder", Remove: true})
	if !strings.Contains(res.output, "Step 2/2 : RUN") {
		t.Errorf("--target builder built more than its stage:\n%s", res.output)
	}
	if out := enginetest.Run(t, e, "first", "cat", "/junk"); out != "junk\n" {
		t.Errorf("target image: %q", out)
	}
}

func TestContextSafety(t *testing.T) {
	e := newEngine(t)
	t.Run("a symlink out of the context is refused as a source", func(t *testing.T) {
		res := build(t, e, map[string]file{
			"Dockerfile": {body: "FROM busybox\nCOPY passwd /stolen\n"},
			"passwd":     {link: "/etc/passwd"},
		}, engine.BuildOptions{})
		if res.err == nil {
			t.Fatalf("copied a file through a symlink out of the context:\n%s", res.output)
		}
	})
	t.Run(".dockerignore keeps files out of COPY", func(t *testing.T) {
		mustBuild(t, e, map[string]file{
			"Dockerfile":    {body: "FROM busybox\nCOPY . /ctx/\n"},
			".dockerignore": {body: "secret*\n"},
			"secret.key":    {body: "k"},
			"kept.txt":      {body: "kept"},
		}, engine.BuildOptions{Tags: []string{"ignored"}, Remove: true})
		if out := enginetest.Run(t, e, "ignored", "ls", "/ctx"); out != "Dockerfile\nkept.txt\n" && out != ".dockerignore\nDockerfile\nkept.txt\n" {
			t.Errorf("/ctx holds %q", out)
		}
	})
	t.Run("a destination symlink stays inside the image", func(t *testing.T) {
		mustBuild(t, e, map[string]file{
			"Dockerfile": {body: "FROM busybox\nRUN ln -s /tmp/inside /escape\nCOPY f.txt /escape/f.txt\n"},
			"f.txt":      {body: "f"},
		}, engine.BuildOptions{Tags: []string{"escape"}, Remove: true})
		if out := enginetest.Run(t, e, "escape", "cat", "/tmp/inside/f.txt"); out != "f" {
			t.Errorf("the copy did not land inside the image: %q", out)
		}
	})
}

func TestAddFromURLIsDownloadedNotUnpacked(t *testing.T) {
	e := newEngine(t)
	archive := tarGz(t, map[string]file{"x.txt": {body: "x"}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Write([]byte(archive))
	}))
	defer srv.Close()
	mustBuild(t, e, map[string]file{"Dockerfile": {body: "FROM busybox\nADD " + srv.URL + "/files/pkg.tar.gz /dl/\n"}},
		engine.BuildOptions{Tags: []string{"url"}, Remove: true})
	out := enginetest.Run(t, e, "url", "stat", "-c", "%a %s %Y %n", "/dl/pkg.tar.gz")
	if want := "600 " + itoa(len(archive)) + " 1136214245 /dl/pkg.tar.gz\n"; out != want {
		t.Errorf("downloaded file: %q, want %q", out, want)
	}
}

func TestCancelledBuildLeavesNothingHalfDone(t *testing.T) {
	e := newEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := e.BuildStart(ctx, strings.NewReader(string(contextTar(t, map[string]file{
		"Dockerfile": {body: "FROM busybox\nRUN echo started && sleep 600\n"},
	}))), engine.BuildOptions{Tags: []string{"never"}, Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	// Cancel once the step is running.
	err = b.Follow(ctx, func(m engine.BuildMessage) error {
		if strings.Contains(m.Stream, "started") {
			go e.BuildCancel(context.Background(), b.ID())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Wait(ctx); err == nil {
		t.Fatal("a cancelled build succeeded")
	}
	rec, err := e.BuildInspect(ctx, b.ID())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != "cancelled" {
		t.Errorf("status %q", rec.Status)
	}
	if list, _ := e.ContainerList(ctx, engine.ContainerListOptions{All: true}); len(list) != 0 {
		t.Errorf("the cancelled step's container remains")
	}
	images, _ := e.ImageList(ctx, engine.ImageListOptions{All: true})
	if len(images) != 1 {
		t.Errorf("%d images after a cancelled build, want busybox alone", len(images))
	}
}

func TestFinishedBuildCanBeReread(t *testing.T) {
	e := newEngine(t)
	res := mustBuild(t, e, map[string]file{"Dockerfile": {body: "FROM busybox\nRUN echo from the step\n"}}, engine.BuildOptions{Remove: true})
	var out strings.Builder
	var last engine.BuildMessage
	if err := e.BuildFollow(context.Background(), res.build.ID(), func(m engine.BuildMessage) error {
		out.WriteString(m.Stream)
		last = m
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if out.String() != res.output || last.ImageID != res.id {
		t.Errorf("reread log:\n%s\nlast %+v; live log:\n%s", out.String(), last, res.output)
	}
	list, err := e.BuildList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != res.build.ID() || list[0].Status != "succeeded" || list[0].ImageID != res.id {
		t.Errorf("build list %+v", list)
	}
}
