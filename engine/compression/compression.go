// Package compression recognises and undoes the compressions that image
// tarballs arrive in (gzip, bzip2, xz, zstd), by their magic bytes as Docker
// does, so a caller can accept any of them without being told which.
package compression

import (
	"bufio"
	"bytes"
	"compress/bzip2"
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

var magics = []struct {
	kind  Kind
	magic []byte
}{
	{Gzip, []byte{0x1f, 0x8b, 0x08}},
	{Bzip2, []byte{'B', 'Z', 'h'}},
	{Xz, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{Zstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
}

// Detect reports the compression of a stream from its first bytes.
func Detect(head []byte) Kind {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.kind
		}
	}
	return None
}

// Decompress returns the uncompressed content of r, whatever of the known
// compressions it uses (or none). Closing the result releases the
// decompressor; it does not close r.
func Decompress(r io.Reader) (io.ReadCloser, Kind, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(8)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, None, fmt.Errorf("read stream header: %w", err)
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
