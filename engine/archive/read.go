package archive

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/engine/ctxio"
)

const (
	// maxJSONSize bounds every JSON document read from an archive.
	maxJSONSize = 8 << 20

	// maxLinkHops bounds the links followed to resolve one path, as the
	// kernel's ELOOP limit does.
	maxLinkHops = 40
)

// Archive is a tarball being loaded: its content spooled into a temp dir.
type Archive struct {
	dir    string
	links  map[string]string // link entry → target entry, both clean archive paths
	images []LoadImage
}

// LoadImage is one image found in an archive.
type LoadImage struct {
	// ConfigDigest is the sha256 of Config, verified against the digest by
	// which the archive names the config, if it does.
	ConfigDigest digest.Digest
	Config       []byte
	Layers       []LoadLayer
	// RepoTags are the image's names as found: manifest.json RepoTags, or
	// OCI annotations converted to familiar form when possible.
	RepoTags []string
	Parent   digest.Digest // from manifest.json "Parent", if any
}

// LoadLayer is one layer of a LoadImage.
type LoadLayer struct {
	// Open returns the layer's *uncompressed* tar stream (gzip/zstd/xz/bzip2
	// detected by magic bytes, as moby does).
	Open func() (io.ReadCloser, error)
	// Digest is the digest of the stored (possibly compressed) blob, when
	// known from the archive; informational.
	Digest digest.Digest
}

// Read spools the tar from r (possibly compressed) into a new directory
// under tmpDir, verifying every blobs/<alg>/<hex> entry against its name as
// it is written, and parses manifest.json (preferred when present) or
// index.json. The directory is removed by Close, or at once on error. Errors
// caused by the input match errdefs.ErrInvalidArgument.
func Read(ctx context.Context, r io.Reader, tmpDir string) (_ *Archive, retErr error) {
	dir, err := os.MkdirTemp(tmpDir, "load-")
	if err != nil {
		return nil, fmt.Errorf("create load directory: %w", err)
	}
	a := &Archive{dir: dir, links: make(map[string]string)}
	defer func() {
		if retErr == nil {
			return
		}
		if err := a.Close(); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()

	if err := a.spool(ctx, r); err != nil {
		return nil, err
	}
	if a.images, err = a.parse(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Images returns the images found in the archive. Their layers can be opened
// until Close.
func (a *Archive) Images() []LoadImage {
	return a.images
}

// Close removes the spooled content.
func (a *Archive) Close() error {
	if err := os.RemoveAll(a.dir); err != nil {
		return fmt.Errorf("remove load directory: %w", err)
	}
	return nil
}

// parse reads the image list from whichever format the archive has.
func (a *Archive) parse(ctx context.Context) ([]LoadImage, error) {
	if a.exists(dockerManifestFile) {
		return a.parseDockerArchive(ctx)
	}
	if a.exists(ocispec.ImageIndexFile) {
		return a.parseOCILayout(ctx)
	}
	return nil, invalidf("not an image archive: no %s or %s", dockerManifestFile, ocispec.ImageIndexFile)
}

// spool extracts the tar into a.dir: regular files and directories are
// written, links are recorded, anything else is ignored.
func (a *Archive) spool(ctx context.Context, r io.Reader) error {
	source := &recordingReader{r: r}
	content, err := decompressed(io.NopCloser(source))
	if err != nil {
		return source.headerError(err, "")
	}
	defer content.Close()

	tr := tar.NewReader(ctxio.Reader(ctx, content))
	previous := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return source.headerError(err, previous)
		}
		if err := a.spoolEntry(hdr, tr); err != nil {
			return source.entryError(err, hdr.Name)
		}
		previous = hdr.Name
	}
}

func (a *Archive) spoolEntry(hdr *tar.Header, content io.Reader) error {
	name, err := cleanEntryName(hdr.Name)
	if err != nil || name == "." {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		delete(a.links, name)
		if err := os.MkdirAll(a.fsPath(name), 0o700); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	case tar.TypeReg:
		delete(a.links, name)
		return a.spoolFile(name, content)
	case tar.TypeSymlink, tar.TypeLink:
		return a.recordLink(hdr, name)
	}
	return nil
}

// spoolFile writes a regular file, verifying a blob against its name.
func (a *Archive) spoolFile(name string, content io.Reader) (retErr error) {
	expected, isBlob, err := blobDigest(name)
	if err != nil {
		return err
	}
	file := a.fsPath(name)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	defer func() {
		if err := f.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("close file: %w", err)
		}
	}()

	if !isBlob {
		_, err := io.Copy(f, content)
		return err
	}
	digester := expected.Algorithm().Digester()
	if _, err := io.Copy(io.MultiWriter(f, digester.Hash()), content); err != nil {
		return err
	}
	if got := digester.Digest(); got != expected {
		return invalidf("blob digest mismatch: content hashes to %s", got)
	}
	return nil
}

// recordLink remembers where a symbolic or hard link points. Links are never
// created on disk, and may not stand for blobs, which must be verified
// content.
func (a *Archive) recordLink(hdr *tar.Header, name string) error {
	if isUnderBlobs(name) {
		return invalidf("a link under %s/ (blobs must be regular files)", ocispec.ImageBlobsDir)
	}
	target := hdr.Linkname
	if hdr.Typeflag == tar.TypeSymlink {
		if path.IsAbs(target) {
			return invalidf("link to absolute path %q", target)
		}
		target = path.Join(path.Dir(name), target)
	}
	target, err := cleanEntryName(target)
	if err != nil {
		return fmt.Errorf("link target %q: %w", hdr.Linkname, err)
	}
	if err := os.RemoveAll(a.fsPath(name)); err != nil {
		return fmt.Errorf("replace with link: %w", err)
	}
	a.links[name] = target
	return nil
}

// cleanEntryName returns the clean form of a path in the archive, which must
// stay inside it.
func cleanEntryName(name string) (string, error) {
	if path.IsAbs(name) {
		return "", invalidf("absolute path")
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", invalidf("path escapes the archive")
	}
	return clean, nil
}

// blobDigest returns the digest that a blobs/<alg>/<hex> name stands for.
func blobDigest(name string) (d digest.Digest, isBlob bool, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] != ocispec.ImageBlobsDir {
		return "", false, nil
	}
	d = digest.NewDigestFromEncoded(digest.Algorithm(parts[1]), parts[2])
	if err := d.Validate(); err != nil {
		return "", false, invalidf("not a valid blob name: %w", err)
	}
	return d, true, nil
}

func isUnderBlobs(name string) bool {
	return name == ocispec.ImageBlobsDir || strings.HasPrefix(name, ocispec.ImageBlobsDir+"/")
}

// resolve follows the links along a clean archive path.
func (a *Archive) resolve(name string) (string, error) {
	for hops := 0; ; hops++ {
		if hops > maxLinkHops {
			return "", invalidf("too many links")
		}
		resolved, followed := a.followFirstLink(name)
		if !followed {
			return name, nil
		}
		name = resolved
	}
}

// followFirstLink replaces the first link among the leading components of
// name by its target.
func (a *Archive) followFirstLink(name string) (string, bool) {
	for i := range len(name) + 1 {
		if i < len(name) && name[i] != '/' {
			continue
		}
		if target, ok := a.links[name[:i]]; ok {
			return path.Join(target, name[i:]), true
		}
	}
	return name, false
}

// fsPath is where an archive path is spooled.
func (a *Archive) fsPath(name string) string {
	return filepath.Join(a.dir, filepath.FromSlash(name))
}

// exists reports whether name is a regular file in the archive.
func (a *Archive) exists(name string) bool {
	_, _, err := a.regularFile(name)
	return err == nil
}

// regularFile returns the spooled file that an archive path (clean, maybe
// through links) names, and its size.
func (a *Archive) regularFile(name string) (file string, size int64, err error) {
	resolved, err := a.resolve(name)
	if err != nil {
		return "", 0, err
	}
	file = a.fsPath(resolved)
	fi, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return "", 0, invalidf("not in the archive")
	}
	if err != nil {
		return "", 0, fmt.Errorf("stat: %w", err)
	}
	return file, fi.Size(), nil
}

// readJSON reads a JSON document of at most maxJSONSize bytes and decodes it
// into v. It returns the raw bytes.
func (a *Archive) readJSON(name string, v any) ([]byte, error) {
	data, err := a.readJSONFile(name)
	if err != nil {
		return nil, err
	}
	if err := decodeJSON(data, v); err != nil {
		return nil, err
	}
	return data, nil
}

// readJSONFile reads a file that holds a JSON document, if it is at most
// maxJSONSize bytes long.
func (a *Archive) readJSONFile(name string) ([]byte, error) {
	file, _, err := a.regularFile(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJSONSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxJSONSize {
		return nil, invalidf("larger than the %d MiB limit for JSON documents", maxJSONSize>>20)
	}
	return data, nil
}

func decodeJSON(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return invalidf("malformed JSON: %w", err)
	}
	return nil
}

// layerOpener returns a LoadLayer.Open that decompresses the spooled file.
func layerOpener(file string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("open layer: %w", err)
		}
		rc, err := decompressed(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open layer %s: %w", filepath.Base(file), err)
		}
		return rc, nil
	}
}

// recordingReader remembers the last error of the archive's reader, so that
// a failing source (a broken connection) is not blamed on the archive.
type recordingReader struct {
	r   io.Reader
	err error
}

func (s *recordingReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

// notInputFault reports whether err, met reading the archive, is the
// source's own failure (a broken connection), a cancellation or a local file
// system error rather than a fault of the archive.
func (s *recordingReader) notInputFault(err error) bool {
	var fsErr *fs.PathError
	return errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) ||
		(s.err != nil && errors.Is(err, s.err)) ||
		errors.As(err, &fsErr)
}

// headerError wraps an error met reading the header that follows entry
// previous ("" for the first).
func (s *recordingReader) headerError(err error, previous string) error {
	where := "read archive"
	if previous != "" {
		where = fmt.Sprintf("read archive after entry %q", previous)
	}
	truncated := errors.Is(err, io.ErrUnexpectedEOF)
	switch {
	case s.notInputFault(err):
		return fmt.Errorf("%s: %w", where, err)
	case previous == "" && truncated:
		return invalidf("%s: not a tar archive, or truncated: %w", where, err)
	case previous == "":
		return invalidf("%s: not a tar archive: %w", where, err)
	case truncated:
		return invalidf("%s: truncated: %w", where, err)
	default:
		return invalidf("%s: corrupt tar: %w", where, err)
	}
}

// entryError wraps an error met spooling entry name.
func (s *recordingReader) entryError(err error, name string) error {
	var bad *inputError
	switch {
	case s.notInputFault(err), errors.As(err, &bad):
		return fmt.Errorf("read archive entry %q: %w", name, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidf("read archive entry %q: truncated: %w", name, err)
	default: // a corrupt compressed stream
		return invalidf("read archive entry %q: %w", name, err)
	}
}
