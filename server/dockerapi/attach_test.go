package dockerapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	containertypes "github.com/moby/moby/api/types/container"

	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
)

// attachBackend serves an attach to a container that is not running yet.
// Its ContainerAttach registers the attach only after a while, and notes
// whether the client had its answer by then: docker run starts the
// container as soon as it has it, so an answer before the registration
// loses the output the container writes in between.
type attachBackend struct {
	Backend   // the other methods are not called
	answered  <-chan struct{}
	answerWas chan bool // before the registration?
}

func (b *attachBackend) ContainerInspect(ctx context.Context, ref string) (*engine.Container, error) {
	return &engine.Container{ID: ref, Config: &containertypes.Config{}}, nil
}

func (b *attachBackend) ContainerAttach(ctx context.Context, ref string, opts engine.ContainerAttachOptions) (*engine.Stream, error) {
	select {
	case <-b.answered:
		b.answerWas <- true
	case <-time.After(200 * time.Millisecond):
		b.answerWas <- false
	}
	if opts.Waiting != nil {
		opts.Waiting() // registered: a start would connect it now
	}
	return nil, errors.New("this test starts no container")
}

func TestAttachAnswersOnceTheAttachIsInPlace(t *testing.T) {
	answered := make(chan struct{})
	b := &attachBackend{answered: answered, answerWas: make(chan bool, 1)}
	e := echo.New()
	Register(e, b, nil, Options{Version: "test"})
	srv := httptest.NewServer(e)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "POST /containers/c1/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: skiff\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	close(answered)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("status %d, want 101", resp.StatusCode)
	}
	if before := <-b.answerWas; before {
		t.Error("the client had its answer before the attach was in place")
	}
	// The backend's error comes in the stream, the response being taken over.
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "error attaching: this test starts no container") {
		t.Errorf("stream after the answer: %q", rest)
	}
}
