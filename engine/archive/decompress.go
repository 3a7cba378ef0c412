package archive

import (
	"errors"
	"io"

	"github.com/skiff-dev/skiff/engine/compression"
)

// decompressed returns the uncompressed content of rc (gzip, bzip2, xz and
// zstd are detected by their magic numbers; anything else is returned as it
// is). Closing the result closes rc.
func decompressed(rc io.ReadCloser) (io.ReadCloser, error) {
	plain, _, err := compression.Decompress(rc)
	if err != nil {
		return nil, err
	}
	return &decompressingReader{ReadCloser: plain, source: rc}, nil
}

// decompressingReader reads through a decoder and closes it and its source.
type decompressingReader struct {
	io.ReadCloser
	source io.Closer
}

func (d *decompressingReader) Close() error {
	return errors.Join(d.ReadCloser.Close(), d.source.Close())
}
