package monitor

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fakeMonitor listens on dir's request socket and hands each request it
// reads to the test, which answers it.
func fakeMonitor(t *testing.T, dir string) <-chan func(reply) {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(dir, socketFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	answer := make(chan func(reply), 1)
	go func() { // ends when l is closed
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			var req request
			if readLine(bufio.NewReader(conn), &req) != nil {
				conn.Close()
				continue
			}
			answer <- func(r reply) { writeLine(conn, r); conn.Close() }
		}
	}()
	return answer
}

// A Close while a signal's answer is on its way (the container died of
// the signal, and its exit closes the Client) leaves the answer to arrive;
// a Close while a Wait is pending ends the Wait.
func TestCloseLetsQuickRequestsFinish(t *testing.T) {
	dir := t.TempDir()
	answers := fakeMonitor(t, dir)
	c := &Client{dir: dir, conns: make(map[*net.UnixConn]struct{})}

	signalled := make(chan error, 1)
	go func() { signalled <- c.Signal(syscall.SIGKILL) }()
	answer := <-answers // the monitor has read the request
	c.Close()
	answer(reply{})
	if err := <-signalled; err != nil {
		t.Errorf("Signal answered after Close: %v, want success", err)
	}

	c = &Client{dir: dir, conns: make(map[*net.UnixConn]struct{})}
	waited := make(chan error, 1)
	go func() {
		_, err := c.Wait(context.Background())
		waited <- err
	}()
	<-answers // never answered
	c.Close()
	select {
	case err := <-waited:
		if !errors.Is(err, errClientClosed) {
			t.Errorf("Wait after Close: %v, want %v", err, errClientClosed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait still pending after Close")
	}

	if err := c.Signal(syscall.SIGTERM); !errors.Is(err, errClientClosed) {
		t.Errorf("Signal after Close: %v, want %v", err, errClientClosed)
	}
}
