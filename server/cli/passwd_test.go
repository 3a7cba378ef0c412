package cli

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const passwdRoute = "POST /skiff/passwd"

func TestPasswdFromStdin(t *testing.T) {
	tests := []struct {
		name   string
		stdin  string
		sent   string // the body sent, "" for no request
		stderr string
	}{
		{"a line", "correct horse\n", `{"password":"correct horse"}`, ""},
		{"no line ending", "correct horse", `{"password":"correct horse"}`, ""},
		{"CRLF", "correct horse\r\nignored\n", `{"password":"correct horse"}`, ""},
		{"inner spaces kept", "  two  spaces \n", `{"password":"  two  spaces "}`, ""},
		{"empty", "", "", "no password on stdin\n"},
		{"empty line", "\nsecond\n", "", "no password on stdin\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerStatus(passwdRoute, http.StatusNoContent)
			cli := d.cli()
			cli.stdin = strings.NewReader(tc.stdin)
			res := cli.run(t, "passwd")
			if res.stderr != tc.stderr {
				t.Fatalf("stderr %q; want %q", res.stderr, tc.stderr)
			}
			sent := d.requestsTo(passwdRoute)
			if tc.sent == "" {
				if len(sent) != 0 || res.code != 1 {
					t.Errorf("exit %d, %d requests; want 1 and none", res.code, len(sent))
				}
				return
			}
			if len(sent) != 1 || strings.TrimSpace(string(sent[0].Body)) != tc.sent || sent[0].Header.Get("Content-Type") != "application/json" {
				t.Fatalf("requests %+v; want one JSON %s", sent, tc.sent)
			}
			if !strings.HasPrefix(res.stdout, "Password changed.") {
				t.Errorf("stdout %q", res.stdout)
			}
		})
	}
}

func TestPasswdReportsTheDaemonsRefusal(t *testing.T) {
	d := newFakeTCPDaemon(t)
	d.answerError(passwdRoute, http.StatusForbidden, "the password can only be changed over the daemon's unix socket: run skiff passwd on the daemon's host")
	cli := d.cli()
	cli.stdin = strings.NewReader("correct horse\n")
	res := cli.run(t, "passwd")
	if res.code != 1 || res.stderr != "Error response from daemon: the password can only be changed over the daemon's unix socket: run skiff passwd on the daemon's host\n" {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

// On a terminal the password is asked twice and never echoed.
func TestPasswdOnATerminal(t *testing.T) {
	tests := []struct {
		name          string
		first, second string
		sent          string
		stderr        string
	}{
		{"confirmed", "correct horse", "correct horse", `{"password":"correct horse"}`, ""},
		{"mismatch", "correct horse", "correct hose", "", "the passwords do not match\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			term := newTerminal(t, 24, 80)
			d := newFakeDaemon(t)
			d.answerStatus(passwdRoute, http.StatusNoContent)
			var stderr lockedBuffer
			exit := term.start(d, &stderr, "passwd")

			for _, step := range []struct{ prompt, typed string }{{"New password: ", tc.first}, {"Retype new password: ", tc.second}} {
				eventually(t, "the prompt "+step.prompt+"with the echo off", func() bool {
					return strings.Contains(term.output(), step.prompt) && term.lflag(t)&unix.ECHO == 0
				})
				term.typeKeys(t, step.typed+"\r")
			}
			if code := waitExit(t, exit); (code == 0) != (tc.sent != "") || stderr.String() != tc.stderr {
				t.Fatalf("exit %d, stderr %q; want %q", code, stderr.String(), tc.stderr)
			}
			if screen := term.output(); strings.Contains(screen, "horse") || strings.Contains(screen, "hose") {
				t.Errorf("the password was echoed: %q", screen)
			}
			if term.lflag(t)&unix.ECHO == 0 {
				t.Error("the terminal's echo was left off")
			}
			sent := d.requestsTo(passwdRoute)
			if tc.sent == "" {
				if len(sent) != 0 {
					t.Errorf("sent %d requests after a mismatch", len(sent))
				}
				return
			}
			if len(sent) != 1 || strings.TrimSpace(string(sent[0].Body)) != tc.sent {
				t.Errorf("requests %+v; want one with %s", sent, tc.sent)
			}
		})
	}
}
