package registry

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// compressLayer writes layer (an uncompressed tar) to w as gzip, at the
// fastest level: layers are stored uncompressed, so each upload compresses
// one, and its time is most of a push's. Registries keep what they are
// given; a bigger blob costs a little more transfer, once.
func compressLayer(w io.Writer, layer io.Reader) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zw, layer); err != nil {
		return fmt.Errorf("compress layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress layer: %w", err)
	}
	return nil
}
