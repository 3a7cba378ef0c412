package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/server/wire"
)

// `skiff passwd` sets the dashboard's admin password. The daemon takes it
// only over its unix socket, so only who may use the socket (root, as for
// docker.sock) can set it, and a stolen dashboard session cannot.

func newPasswdCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd",
		Short: "Set the dashboard's admin password (asked twice on a terminal, else read from stdin)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPasswd(cmd.Context(), cc)
		},
	}
}

func runPasswd(ctx context.Context, cc *cliContext) error {
	password, err := cc.readNewPassword()
	if err != nil {
		return err
	}
	body, err := json.Marshal(wire.Passwd{Password: password})
	if err != nil {
		return err
	}
	resp, err := cc.skiffRequestBody(ctx, http.MethodPost, "/skiff/passwd", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Fprintln(cc.stdout, "Password changed. Every dashboard session has ended: log in again with the new password.")
	return nil
}

// readNewPassword asks for the password twice, without echo, on a
// terminal; otherwise it reads one line of stdin (for scripts:
// `echo "$PW" | skiff passwd`).
func (cc *cliContext) readNewPassword() (string, error) {
	in := bufio.NewReader(cc.stdin)
	if !cc.stdinIsTerminal {
		password, err := readLine(in)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		if password == "" {
			return "", errors.New("no password on stdin")
		}
		return password, nil
	}
	password, err := cc.readSecret(in, "New password: ")
	if err != nil {
		return "", err
	}
	if password == "" {
		return "", errors.New("no password given")
	}
	again, err := cc.readSecret(in, "Retype new password: ")
	if err != nil {
		return "", err
	}
	if again != password {
		return "", errors.New("the passwords do not match")
	}
	return password, nil
}

// readSecret prompts and reads a line with the terminal's echo off.
func (cc *cliContext) readSecret(in *bufio.Reader, prompt string) (string, error) {
	fmt.Fprint(cc.stdout, prompt)
	restore, err := noEcho(cc.stdin)
	if err != nil {
		return "", fmt.Errorf("turning off the terminal's echo: %w", err)
	}
	line, err := readLine(in)
	restore()
	fmt.Fprintln(cc.stdout) // the Enter key was not echoed either
	return line, err
}

// noEcho turns off the echo of the terminal behind stream, keeping line
// editing, and returns the function restoring it.
func noEcho(stream any) (func(), error) {
	return changeTermios(stream, func(t *unix.Termios) { t.Lflag &^= unix.ECHO })
}

// readLine reads a line without its line ending; the last line of the input
// may lack one.
func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
