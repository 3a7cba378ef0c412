package logfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// logPath returns the path of a log in a new temporary directory.
func logPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "container-json.log")
}

// newTestWriter returns a writer whose partial lines wait partialDelay,
// closed when the test ends.
func newTestWriter(t testing.TB, cfg WriterConfig, partialDelay time.Duration) *Writer {
	t.Helper()
	w, err := NewWriter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.partialDelay = partialDelay
	t.Cleanup(func() { w.Close() })
	return w
}

// write writes each of chunks to s, failing the test on a short write.
func write(t testing.TB, s interface{ Write([]byte) (int, error) }, chunks ...string) {
	t.Helper()
	for _, c := range chunks {
		if n, err := s.Write([]byte(c)); n != len(c) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", c, n, err)
		}
	}
}

// readAll returns the entries Read delivers without following.
func readAll(t testing.TB, path string, cfg ReadConfig) []Entry {
	t.Helper()
	var got []Entry
	err := Read(context.Background(), path, cfg, nil, func(e Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got
}

// all selects every entry of both streams.
var all = ReadConfig{Tail: -1, Stdout: true, Stderr: true}

// fileRecords decodes every line of a log file, failing the test on a line
// that is not a record.
func fileRecords(t testing.TB, name string) []Entry {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	for line := range bytes.Lines(data) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			t.Fatalf("%s: unterminated record %q", name, line)
		}
		e, err := decodeEntry(line[:len(line)-1])
		if err != nil {
			t.Fatalf("%s: %v in %q", name, err, line)
		}
		out = append(out, e)
	}
	return out
}

// logs returns "stream:line" for each entry, for comparisons.
func logs(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Stream + ":" + string(e.Line)
	}
	return out
}

// writeRecords writes records with chosen times to a log file, as a writer
// would have, for reader tests. Raw lines (not records) are written as
// they are.
func writeRecords(t testing.TB, name string, items ...any) {
	t.Helper()
	var buf []byte
	for _, it := range items {
		switch it := it.(type) {
		case Entry:
			buf = appendRecord(buf, it.Stream, it.Line, it.Time)
		case string:
			buf = append(buf, it...)
		default:
			t.Fatalf("writeRecords: %T", it)
		}
	}
	if err := os.WriteFile(name, buf, 0o640); err != nil {
		t.Fatal(err)
	}
}
