package cli

import (
	"net/http"
	"testing"

	"github.com/moby/moby/api/types/image"
)

// rmiDaemon knows busybox (removable), "used" (in use by a container) and
// nothing else.
func rmiDaemon(t *testing.T) *fakeDaemon {
	d := newFakeDaemon(t)
	d.answerJSON("DELETE /images/busybox", http.StatusOK, []image.DeleteResponse{
		{Untagged: "busybox:latest"},
		{Untagged: "busybox@sha256:" + sha("d")[7:]},
		{Deleted: sha("1")},
	})
	d.answerError("DELETE /images/used", http.StatusConflict,
		`conflict: unable to remove repository reference "used" (must force) - container 0123456789ab is using its referenced image 111111111111`)
	d.answerError("DELETE /images/nope", http.StatusNotFound, "No such image: nope:latest")
	return d
}

const removedBusybox = "Untagged: busybox:latest\n" +
	"Untagged: busybox@sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\n" +
	"Deleted: sha256:1111111111111111111111111111111111111111111111111111111111111111\n"

func TestRmi(t *testing.T) {
	const (
		notFound = "Error response from daemon: No such image: nope:latest\n"
		conflict = `Error response from daemon: conflict: unable to remove repository reference "used" (must force) - container 0123456789ab is using its referenced image 111111111111` + "\n"
	)
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{
			name:       "removes",
			args:       []string{"busybox"},
			wantStdout: removedBusybox,
		},
		{
			name:       "goes on after errors and fails with all of them",
			args:       []string{"nope", "busybox", "used", "nope"},
			wantStdout: removedBusybox,
			wantStderr: notFound + conflict + notFound,
			wantCode:   1,
		},
		{
			name:       "force forgives missing images",
			args:       []string{"-f", "nope", "busybox"},
			wantStdout: removedBusybox,
			wantStderr: notFound,
			wantCode:   0,
		},
		{
			name:       "force does not forgive other errors",
			args:       []string{"-f", "nope", "used"},
			wantStderr: notFound + conflict,
			wantCode:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rmiDaemon(t)

			res := d.cli().run(t, append([]string{"rmi"}, tt.args...)...)

			expectOutput(t, res.stdout, tt.wantStdout)
			res.expectExit(t, tt.wantCode, tt.wantStderr)
		})
	}
}

func TestRmiQuery(t *testing.T) {
	tests := []struct {
		args        []string
		wantForce   string
		wantNoPrune string
	}{
		{args: []string{"busybox"}},
		{args: []string{"-f", "--no-prune", "busybox"}, wantForce: "1", wantNoPrune: "1"},
	}
	for _, tt := range tests {
		d := rmiDaemon(t)
		d.cli().run(t, append([]string{"image", "rm"}, tt.args...)...).expectSuccess(t)

		query := d.lastRequest(t).Query
		if got := first(query["force"]); got != tt.wantForce {
			t.Errorf("%v: force = %q, want %q", tt.args, got, tt.wantForce)
		}
		if got := first(query["noprune"]); got != tt.wantNoPrune {
			t.Errorf("%v: noprune = %q, want %q", tt.args, got, tt.wantNoPrune)
		}
	}
}

func TestTag(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("POST /images/busybox/tag", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	d.answerError("POST /images/nope/tag", http.StatusNotFound, "No such image: nope:latest")

	res := d.cli().run(t, "tag", "busybox", "registry.example.com:5000/team/box:v2")
	res.expectSuccess(t)
	expectOutput(t, res.stdout, "")
	query := d.lastRequest(t).Query
	if first(query["repo"]) != "registry.example.com:5000/team/box" || first(query["tag"]) != "v2" {
		t.Errorf("query = %v, want repo and tag of the target", query)
	}

	d.cli().run(t, "image", "tag", "nope", "x").
		expectExit(t, 1, "Error response from daemon: No such image: nope:latest\n")
}

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}
