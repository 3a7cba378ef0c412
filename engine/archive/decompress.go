package archive

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Magic numbers of the compressions that moby detects in layers and loaded
// tarballs.
const (
	gzipMagic  = "\x1f\x8b\x08"
	bzip2Magic = "BZh"
	xzMagic    = "\xfd7zXZ\x00"
	zstdMagic  = "\x28\xb5\x2f\xfd"

	// A zstd stream may also start with a skippable frame, whose little-endian
	// magic number is 0x184D2A50 to 0x184D2A5F.
	zstdSkippableMagicMask = 0xFFFFFFF0
	zstdSkippableMagic     = 0x184D2A50

	longestMagic = len(xzMagic)
)

// decompressed returns the uncompressed content of rc, detecting gzip, bzip2,
// xz and zstd by their magic numbers; anything else is returned as it is.
// Closing the result closes rc.
func decompressed(rc io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReader(rc)
	magic, err := br.Peek(longestMagic)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("detect compression: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, []byte(gzipMagic)):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open gzip stream: %w", err)
		}
		return &decompressingReader{Reader: zr, closeDecoder: zr.Close, source: rc}, nil
	case bytes.HasPrefix(magic, []byte(bzip2Magic)):
		return &decompressingReader{Reader: bzip2.NewReader(br), source: rc}, nil
	case bytes.HasPrefix(magic, []byte(xzMagic)):
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open xz stream: %w", err)
		}
		return &decompressingReader{Reader: xr, source: rc}, nil
	case isZstd(magic):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open zstd stream: %w", err)
		}
		closeDecoder := func() error { zr.Close(); return nil }
		return &decompressingReader{Reader: zr, closeDecoder: closeDecoder, source: rc}, nil
	default:
		return &decompressingReader{Reader: br, source: rc}, nil
	}
}

func isZstd(magic []byte) bool {
	if bytes.HasPrefix(magic, []byte(zstdMagic)) {
		return true
	}
	return len(magic) >= 4 && binary.LittleEndian.Uint32(magic)&zstdSkippableMagicMask == zstdSkippableMagic
}

// decompressingReader reads through a decoder and closes it and its source.
type decompressingReader struct {
	io.Reader
	closeDecoder func() error // nil when the decoder needs no closing
	source       io.Closer
}

func (d *decompressingReader) Close() error {
	var decoderErr error
	if d.closeDecoder != nil {
		decoderErr = d.closeDecoder()
	}
	return errors.Join(decoderErr, d.source.Close())
}
