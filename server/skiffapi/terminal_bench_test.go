package skiffapi

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkTerminalRoundTrip measures a keystroke's round trip in the
// dashboard's terminal: a Go websocket client on loopback types a key in a
// binary frame and waits for its echo, as a browser does. The terminal runs
// cat with a tty, attached to the container ("attach") or exec'd in it
// ("exec"), so the echo comes from the pty's line discipline: what is
// measured is skiff's path, both ways. It reports the p50 and p99 latency.
//
//	go test -run XXX -bench TerminalRoundTrip ./server/skiffapi/
func BenchmarkTerminalRoundTrip(b *testing.B) {
	env := newTermEnv(b, nil)
	b.Run("attach", func(b *testing.B) {
		id := env.run(b, true, "cat")
		measureEchoes(b, env.dial(b, attachPath(id, "?rows=24&cols=80")))
	})
	b.Run("exec", func(b *testing.B) {
		id := env.run(b, false, "sleep", "1000")
		c := env.dial(b, execPath(id, "?cmd=cat&rows=24&cols=80"))
		c.sessionID()
		measureEchoes(b, c)
	})
}

// measureEchoes types a character, then erases it, and times each echo:
// the line never grows.
func measureEchoes(b *testing.B, c *termClient) {
	keys := []struct{ key, echo string }{
		{"a", "a"},
		{"\x7f", "\b \b"}, // DEL, the pty's erase character
	}
	c.send("a") // the pty is ready once it echoes
	c.readEcho("a")
	c.send("\x7f")
	c.readEcho("\b \b")

	latencies := make([]time.Duration, 0, 1024)
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		start := time.Now()
		c.send(k.key)
		c.readEcho(k.echo)
		latencies = append(latencies, time.Since(start))
	}
	reportLatencies(b, latencies)
}

// readEcho reads the terminal's next bytes and checks they are want, no
// more.
func (c *termClient) readEcho(want string) {
	c.t.Helper()
	for len(c.out)-c.seen < len(want) {
		if m := c.next(); m != nil {
			c.t.Fatalf("message %+v while waiting for the echo %q", *m, want)
		}
	}
	if got := string(c.out[c.seen:]); got != want {
		c.t.Fatalf("echo %q, want %q", got, want)
	}
	c.out, c.seen = c.out[:0], 0
}

func reportLatencies(b *testing.B, latencies []time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	at := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
