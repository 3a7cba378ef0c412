package buildcontext

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/skiff-dev/skiff/engine/ctxio"
)

// zipMagic starts a zip archive: its first local file header.
var zipMagic = []byte("PK\x03\x04")

func isZip(head []byte) bool { return bytes.HasPrefix(head, zipMagic) }

// zipAsTar reads a zip archive (the dashboard's uploads may be one) into a
// temporary file in tmpDir, since a zip's directory is at its end, and
// returns the same files as a tar stream, so that one unpacker, with its
// checks, handles every context. Entry sizes are checked against what the
// zip declares (a lying entry fails the tar writer), and each entry's CRC
// by archive/zip.
func zipAsTar(ctx context.Context, r io.Reader, tmpDir string) (io.ReadCloser, error) {
	spool, err := os.CreateTemp(tmpDir, "context-*.zip")
	if err != nil {
		return nil, fmt.Errorf("spool zip context: %w", err)
	}
	os.Remove(spool.Name()) // the open file is all we need
	size, err := io.Copy(spool, ctxio.Reader(ctx, r))
	if err != nil {
		spool.Close()
		return nil, fmt.Errorf("spool zip context: %w", err)
	}
	zr, err := zip.NewReader(spool, size)
	if err != nil {
		spool.Close()
		return nil, invalidf("read zip context: %v", err)
	}
	pr, pw := io.Pipe()
	go func() {
		defer spool.Close()
		pw.CloseWithError(writeZipAsTar(zr, pw))
	}()
	return pr, nil
}

func writeZipAsTar(zr *zip.Reader, w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, f := range zr.File {
		if err := writeZipEntry(tw, f); err != nil {
			return fmt.Errorf("zip entry %q: %w", f.Name, err)
		}
	}
	return tw.Close()
}

func writeZipEntry(tw *tar.Writer, f *zip.File) error {
	mode := f.Mode()
	hdr := &tar.Header{Name: f.Name, Mode: int64(mode.Perm()), ModTime: f.Modified}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	switch {
	case mode.IsDir():
		hdr.Typeflag = tar.TypeDir
		return tw.WriteHeader(hdr)
	case mode&fs.ModeSymlink != 0:
		target, err := io.ReadAll(io.LimitReader(rc, 4096))
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(target)
		return tw.WriteHeader(hdr)
	case mode.IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(f.UncompressedSize64)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, rc)
		return err
	}
	return invalidf("zip entry %q is neither a file, a directory nor a symlink", f.Name)
}
