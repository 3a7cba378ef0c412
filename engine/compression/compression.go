// Package compression recognises and undoes the compressions that image
// tarballs and layers arrive in (gzip, bzip2, xz, zstd), by their magic
// bytes as moby does, so a caller accepts any of them without being told
// which.
package compression

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

// Kind is a compression format.
type Kind string

// The formats Decompress understands.
const (
	None  Kind = "none"
	Gzip  Kind = "gzip"
	Bzip2 Kind = "bzip2"
	Xz    Kind = "xz"
	Zstd  Kind = "zstd"
)

const (
	gzipMagic  = "\x1f\x8b\x08"
	bzip2Magic = "BZh"
	xzMagic    = "\xfd7zXZ\x00"
	zstdMagic  = "\x28\xb5\x2f\xfd"

	// A zstd stream may also start with a skippable frame, whose
	// little-endian magic number is 0x184D2A50 to 0x184D2A5F.
	zstdSkippableMagicMask = 0xFFFFFFF0
	zstdSkippableMagic     = 0x184D2A50

	longestMagic = len(xzMagic)
)

// Detect reports the compression of a stream from its first bytes.
func Detect(head []byte) Kind {
	switch {
	case bytes.HasPrefix(head, []byte(gzipMagic)):
		return Gzip
	case bytes.HasPrefix(head, []byte(bzip2Magic)):
		return Bzip2
	case bytes.HasPrefix(head, []byte(xzMagic)):
		return Xz
	case bytes.HasPrefix(head, []byte(zstdMagic)),
		len(head) >= 4 && binary.LittleEndian.Uint32(head)&zstdSkippableMagicMask == zstdSkippableMagic:
		return Zstd
	}
	return None
}

// Decompress returns the uncompressed content of r, whatever of the known
// compressions it uses (or none). Closing the result releases the
// decompressor; it does not close r.
func Decompress(r io.Reader) (io.ReadCloser, Kind, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(longestMagic)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, None, fmt.Errorf("detect compression: %w", err)
	}
	kind := Detect(head)
	switch kind {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, kind, fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, kind, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(br)), kind, nil
	case Xz:
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, kind, fmt.Errorf("open xz stream: %w", err)
		}
		return io.NopCloser(xr), kind, nil
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, kind, fmt.Errorf("open zstd stream: %w", err)
		}
		return zr.IOReadCloser(), kind, nil
	}
	return io.NopCloser(br), None, nil
}
