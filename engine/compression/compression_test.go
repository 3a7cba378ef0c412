package compression

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func TestDecompressDetectsTheCompression(t *testing.T) {
	content := []byte("hello, layer\n")
	tests := []struct {
		name   string
		stored []byte
	}{
		{"uncompressed", content},
		{"empty", nil},
		{"gzip", gzipCompressed(t, content)},
		// bzip2 -9 of content; the standard library has no bzip2 writer.
		{"bzip2", []byte("\x42\x5a\x68\x39\x31\x41\x59\x26\x53\x59\x86\xdd\xac\x0a\x00\x00\x03\x51\x80\x00\x10\x40\x04\x22\x44\x90\x20\x20\x00\x31\x00\x30\x20\x03\xd2\x14\x02\xde\x58\xd0\xbc\x5d\xc9\x14\xe1\x42\x42\x1b\x76\xb0\x28")},
		{"xz", xzCompressed(t, content)},
		{"zstd", zstdCompressed(t, content)},
		{"zstd after a skippable frame", append(skippableFrame([]byte("meta")), zstdCompressed(t, content)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, _, err := Decompress(bytes.NewReader(tt.stored))
			if err != nil {
				t.Fatalf("Decompress: %v", err)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if err := rc.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			want := content
			if tt.stored == nil {
				want = nil
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func xzCompressed(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	xw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatalf("xz: %v", err)
	}
	if _, err := xw.Write(data); err != nil {
		t.Fatalf("xz: %v", err)
	}
	if err := xw.Close(); err != nil {
		t.Fatalf("xz: %v", err)
	}
	return buf.Bytes()
}

// skippableFrame is a zstd frame that decoders skip.
func skippableFrame(payload []byte) []byte {
	frame := binary.LittleEndian.AppendUint32(nil, zstdSkippableMagic+3)
	frame = binary.LittleEndian.AppendUint32(frame, uint32(len(payload)))
	return append(frame, payload...)
}

func gzipCompressed(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return buf.Bytes()
}

func zstdCompressed(t *testing.T, data []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatalf("zstd: %v", err)
	}
	defer zw.Close()
	return zw.EncodeAll(data, nil)
}

func TestCorruptStreamsFailClearly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input []byte
		want  string
	}{
		{"gzip header only", []byte(gzipMagic), "gzip"},
		{"xz header only", []byte(xzMagic), "xz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, err := Decompress(bytes.NewReader(tc.input))
			if err == nil {
				_, err = io.ReadAll(rc)
			}
			if err == nil {
				t.Fatalf("a corrupt %s stream decompressed without error", tc.want)
			}
		})
	}
}
