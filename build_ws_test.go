package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/jsonstream"
)

// The dashboard's way to build: upload a context to POST /skiff/builds,
// then follow the log on the websocket, live or after the end.
func TestBuildLogsOverTheWebsocket(t *testing.T) {
	d := withBusybox(t)
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}}

	dockerfile := "FROM busybox\nRUN echo one && sleep 0.5 && echo two\nCMD [\"sh\"]\n"
	resp, err := client.Post("http://skiff/skiff/builds?t=wsbuild", "application/x-tar", bytes.NewReader(tarOf(t, "Dockerfile", dockerfile)))
	if err != nil {
		t.Fatal(err)
	}
	var started struct{ Id string }
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || started.Id == "" {
		t.Fatalf("POST /skiff/builds: %s, id %q", resp.Status, started.Id)
	}

	follow := func() (string, string) {
		t.Helper()
		ws, _, err := (&websocket.Dialer{NetDialContext: dial}).Dial("ws://skiff/skiff/builds/"+started.Id+"/logs", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		var text strings.Builder
		var result string
		for {
			var m jsonstream.Message
			if err := ws.ReadJSON(&m); err != nil {
				if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
					t.Fatalf("websocket ended with %v after:\n%s", err, text.String())
				}
				return text.String(), result
			}
			text.WriteString(m.Stream)
			if m.Aux != nil {
				var aux struct{ ID string }
				json.Unmarshal(*m.Aux, &aux)
				result = aux.ID
			}
			if m.Error != nil {
				t.Fatalf("build failed: %s\n%s", m.Error.Message, text.String())
			}
		}
	}
	live, id := follow()
	for _, want := range []string{"Step 2/3 : RUN echo one", "one\ntwo\n", "Successfully built ", "Successfully tagged wsbuild:latest\n"} {
		if !strings.Contains(live, want) {
			t.Errorf("the live log lacks %q:\n%s", want, live)
		}
	}
	if got := inspect(t, d, "{{.Id}}", "wsbuild"); got != id {
		t.Errorf("the websocket's result %s is not the tagged image %s", id, got)
	}
	// A late joiner reads the stored log, the same.
	if again, againID := follow(); again != live || againID != id {
		t.Errorf("replayed log:\n%s\nlive log:\n%s", again, live)
	}
}

// tarOf makes a tar of one file.
func tarOf(t testing.TB, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
