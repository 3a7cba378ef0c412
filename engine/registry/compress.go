package registry

import (
	"bufio"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// compressLayer writes layer (an uncompressed tar) to w as gzip, at the
// fastest level: layers are stored uncompressed, so each upload compresses
// one, and its time is most of a push's. Registries keep what they are
// given; a bigger blob costs a little more transfer, once.
//
// Reads and writes go in 1 MiB pieces: w is a pipe to the HTTP request,
// and each write through it is a hand-over between goroutines.
func compressLayer(w io.Writer, layer io.Reader) error {
	out := bufio.NewWriterSize(w, 1<<20)
	zw, err := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(zw, struct{ io.Reader }{layer}, make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("compress layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress layer: %w", err)
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("compress layer: %w", err)
	}
	return nil
}
