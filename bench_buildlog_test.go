package main

// How soon a line a build step prints reaches the dashboard: go test -run
// XXX -bench BuildLogLatency .

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/jsonstream"
)

// BenchmarkBuildLogLatency measures, for lines a RUN step prints, the time
// from the step printing a line to a websocket client of
// /skiff/builds/{id}/logs receiving it. Each line carries the host's
// /proc/uptime at the moment it was printed (the container shares the
// host's clock), so the figure covers the whole path: the container's
// output, its monitor, the builder and the websocket. /proc/uptime counts
// in hundredths of a second, so figures are within 10 ms. Goal: the first
// line within 100 ms.
func BenchmarkBuildLogLatency(b *testing.B) {
	d := startSkiffd(b, "")
	mustSucceed(b, "import", d.skiff("import", rootfsFile(b), "busybox:latest"))
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}}
	var latencies []time.Duration
	for i := 0; b.Loop(); i++ {
		// A different RUN each time: the cache must not answer.
		dockerfile := "FROM busybox\nRUN for n in $(seq 10); do cat /proc/uptime; sleep 0.05; done # " + strconv.Itoa(i) + "\n"
		resp, err := client.Post("http://skiff/skiff/builds", "application/x-tar", strings.NewReader(string(tarOf(b, "Dockerfile", dockerfile))))
		if err != nil {
			b.Fatal(err)
		}
		var started struct{ Id string }
		json.NewDecoder(resp.Body).Decode(&started)
		resp.Body.Close()
		ws, _, err := (&websocket.Dialer{NetDialContext: dial}).Dial("ws://skiff/skiff/builds/"+started.Id+"/logs", nil)
		if err != nil {
			b.Fatal(err)
		}
		for {
			var m jsonstream.Message
			if err := ws.ReadJSON(&m); err != nil {
				break
			}
			now := uptime(b)
			for _, line := range strings.Split(m.Stream, "\n") {
				if printed, ok := parseUptime(line); ok {
					latencies = append(latencies, now-printed)
				}
			}
		}
		ws.Close()
	}
	if len(latencies) == 0 {
		b.Fatal("no timed line reached the websocket")
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}

// uptime is the host's /proc/uptime: the clock the container's lines use.
func uptime(tb testing.TB) time.Duration {
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		tb.Fatal(err)
	}
	t, ok := parseUptime(string(raw))
	if !ok {
		tb.Fatalf("/proc/uptime holds %q", raw)
	}
	return t
}

// parseUptime reads the first field of a /proc/uptime line, in seconds
// with two decimals.
func parseUptime(line string) (time.Duration, bool) {
	first, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	secs, err := strconv.ParseFloat(first, 64)
	if err != nil || !strings.Contains(first, ".") {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}
