package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// logsDaemon knows "c" (no TTY) and "t" (TTY); logs are served by logs.
func logsDaemon(t *testing.T, logs http.HandlerFunc) *fakeDaemon {
	d := newFakeDaemon(t)
	cID, tID := strings.Repeat("c", 64), strings.Repeat("d", 64)
	d.handle("GET /containers/c/json", rawJSON(`{"Id":"`+cID+`","Config":{"Tty":false}}`))
	d.handle("GET /containers/t/json", rawJSON(`{"Id":"`+tID+`","Config":{"Tty":true}}`))
	d.handle("GET /containers/"+cID+"/logs", logs)
	d.handle("GET /containers/"+tID+"/logs", logs)
	return d
}

func TestLogsDemultiplexesWithoutTTY(t *testing.T) {
	d := logsDaemon(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", multiplexedStream)
		_, _ = w.Write(stdcopyFrame(1, "line1\n"))
		_, _ = w.Write(stdcopyFrame(2, "oops\n"))
		_, _ = w.Write(stdcopyFrame(1, "line2\n"))
	})

	res := d.cli().run(t, "logs", "c")

	expectOutput(t, res.stdout, "line1\nline2\n")
	res.expectExit(t, 0, "oops\n")
	// The logs are asked by the ID the inspect returned, as docker does.
	expectRoutes(t, d, "GET /containers/c/json", "GET /containers/"+strings.Repeat("c", 64)+"/logs?stderr=1&stdout=1")
}

func TestLogsRawWithTTY(t *testing.T) {
	d := logsDaemon(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", rawStream)
		_, _ = w.Write([]byte("tty line\r\n"))
	})

	res := d.cli().run(t, "container", "logs", "t")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "tty line\r\n")
}

func TestLogsQuery(t *testing.T) {
	d := logsDaemon(t, func(w http.ResponseWriter, _ *http.Request) {})

	d.cli().run(t, "logs", "--tail", "5", "-t", "--details", "--since", "2026-01-01T00:00:00Z", "c").expectSuccess(t)

	query := d.lastRequest(t).Query
	for key, want := range map[string]string{"tail": "5", "timestamps": "1", "details": "1", "since": "1767225600.000000000", "stdout": "1", "stderr": "1"} {
		if got := first(query[key]); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if query["follow"] != nil {
		t.Error("follow sent without -f")
	}
}

func TestLogsFollowKeepsReading(t *testing.T) {
	more := make(chan struct{})
	sentFirst := make(chan struct{})
	d := logsDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", multiplexedStream)
		_, _ = w.Write(stdcopyFrame(1, "first\n"))
		_ = http.NewResponseController(w).Flush()
		close(sentFirst)
		select {
		case <-more:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(stdcopyFrame(1, "second\n"))
	})
	done := make(chan cliResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- d.cli().runContext(ctx, "logs", "-f", "c")
	}()

	<-sentFirst
	select {
	case res := <-done:
		t.Fatalf("logs -f ended after the first line: %+v", res)
	case <-time.After(50 * time.Millisecond):
	}
	close(more)
	res := <-done

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "first\nsecond\n")
	if got := first(d.lastRequest(t).Query["follow"]); got != "1" {
		t.Errorf("follow = %q, want 1", got)
	}
}

func TestLogsInterruptedWhileFollowing(t *testing.T) {
	d := logsDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", multiplexedStream)
		_, _ = w.Write(stdcopyFrame(1, "first\n"))
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	ctx, interrupt := context.WithCancel(t.Context())
	go func() {
		eventually(t, "the logs request", func() bool { return len(d.received()) == 2 })
		time.Sleep(20 * time.Millisecond)
		interrupt()
	}()

	res := d.cli().runContext(ctx, "logs", "-f", "c")

	res.expectExit(t, exitInterrupted, "")
	expectOutput(t, res.stdout, "first\n")
}
