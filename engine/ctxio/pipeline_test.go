package ctxio

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/iotest"
)

func TestReadAheadGivesEveryByteInOrder(t *testing.T) {
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize*depth + 17} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rand.N(256))
		}
		// A source that returns one byte at a time stresses the chunking;
		// the reader of a ReadAhead reads in odd sizes.
		ra := ReadAhead(iotest.HalfReader(bytes.NewReader(data)))
		got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(ra, int64(size)+1)))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: read %d bytes, not the source's", size, len(got))
		}
		ra.Close()
	}
}

func TestReadAheadPassesTheSourcesError(t *testing.T) {
	for _, boom := range []error{errors.New("download dropped"), io.ErrUnexpectedEOF} {
		readAheadFailing(t, boom)
	}
}

func readAheadFailing(t *testing.T, boom error) {
	ra := ReadAhead(io.MultiReader(bytes.NewReader(make([]byte, chunkSize+5)), iotest.ErrReader(boom)))
	defer ra.Close()
	n, err := io.Copy(io.Discard, ra)
	if !errors.Is(err, boom) || n != chunkSize+5 {
		t.Fatalf("copied %d bytes, error %v; want %d then %v", n, err, chunkSize+5, boom)
	}
}

// Close in the middle of an endless stream stops the goroutine reading
// it (Close waits for it: were it not stopped, Close would not return),
// which read no more than the read-ahead holds.
func TestReadAheadCloseStopsReading(t *testing.T) {
	src := &countingSource{}
	ra := ReadAhead(src)
	if _, err := io.ReadFull(ra, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	if read := src.reads.Load(); read > int64((depth+2)*chunkSize) {
		t.Fatalf("source read %d bytes: more than the read-ahead holds", read)
	}
}

func TestAsyncWriterWritesEverythingAndTellsTheFirstError(t *testing.T) {
	data := bytes.Repeat([]byte("layer"), chunkSize)
	var out bytes.Buffer
	w := AsyncWriter(&out)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1000+rand.N(3*chunkSize))
		if k, err := w.Write(rest[:n]); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("wrote %d bytes, not the %d given", out.Len(), len(data))
	}

	full := errors.New("no space left on device")
	w = AsyncWriter(failingWriter{full})
	var err error
	for range 4 * depth { // the failure shows within the queue's depth
		if _, err = w.Write(make([]byte, chunkSize)); err != nil {
			break
		}
	}
	if !errors.Is(err, full) {
		t.Fatalf("Write after the writer failed = %v, want %v", err, full)
	}
	if err := w.Close(); !errors.Is(err, full) {
		t.Fatalf("Close = %v, want %v", err, full)
	}
}

type countingSource struct{ reads atomic.Int64 }

func (c *countingSource) Read(p []byte) (int, error) {
	c.reads.Add(int64(len(p)))
	return len(p), nil
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }
