package build

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/build/copier"
	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/runtime"
)

// copyStep is a COPY or an ADD.
type copyStep struct {
	name   string // COPY or ADD
	sd     instructions.SourcesAndDest
	from   string // COPY --from
	chown  string
	unpack bool // ADD: local archives are unpacked
}

// sourceSet is some of a step's sources: paths in one root.
type sourceSet struct {
	root   *copier.Root
	paths  []string
	unpack bool
}

// copyStep copies files from the context, an earlier stage, an image or a
// URL into the stage's image.
func (r *run) copyStep(ctx context.Context, st *stageState, c copyStep) error {
	if len(c.sd.SourceContents) > 0 {
		return invalid("%s of a heredoc is not supported by skiff's classic builder", c.name)
	}
	dest := c.sd.DestPath
	if !path.IsAbs(dest) {
		dest = path.Join("/", st.config.WorkingDir, dest) + trailingSlash(dest)
	}
	src := r.context
	if c.from != "" {
		root, release, err := r.stageRootfs(ctx, c.from)
		if err != nil {
			return err
		}
		defer release()
		src = root
	}
	sets, err := r.sources(ctx, c, src)
	if err != nil {
		return err
	}
	defer closeDownloads(sets, src)
	count := 0
	for _, s := range sets {
		count += len(s.paths)
	}
	if count > 1 && !strings.HasSuffix(dest, "/") {
		return invalid("When using %s with more than one source file, the destination must be a directory and end with a /", c.name)
	}
	sum, err := checksum(ctx, sets)
	if err != nil {
		return err
	}
	kind := "file"
	if count > 1 {
		kind = "multi"
	}
	createdBy := fmt.Sprintf("/bin/sh -c #(nop) %s %s:%s in %s ", c.name, kind, sum.Encoded(), dest)
	key := stepKey("copy", createdBy, c.chown, configKey(st))
	return r.filesStep(ctx, st, key, createdBy, func(scratch *scratchRootfs) error {
		opts := copier.Options{}
		if c.chown != "" {
			owner, err := copier.LookupOwner(scratch.root, c.chown)
			if err != nil {
				return err
			}
			opts.Owner = &owner
		}
		for _, s := range sets {
			opts.Unpack = s.unpack
			if err := copier.Copy(ctx, scratch.root, dest, s.root, s.paths, opts); err != nil {
				return err
			}
		}
		return nil
	})
}

func trailingSlash(p string) string {
	if strings.HasSuffix(p, "/") && p != "/" {
		return "/"
	}
	return ""
}

// sources expands a step's sources: wildcards in src, and for ADD the URLs,
// downloaded.
func (r *run) sources(ctx context.Context, c copyStep, src *copier.Root) ([]sourceSet, error) {
	var sets []sourceSet
	for _, s := range c.sd.SourcePaths {
		if c.name == "ADD" && isURL(s) {
			root, name, err := r.download(ctx, s)
			if err != nil {
				closeDownloads(sets, src)
				return nil, err
			}
			// A downloaded archive is not unpacked, as Docker's ADD.
			sets = append(sets, sourceSet{root: root, paths: []string{name}})
			continue
		}
		paths, err := src.Match(s)
		if err != nil {
			closeDownloads(sets, src)
			return nil, fmt.Errorf("%s failed: %w", c.name, err)
		}
		sets = append(sets, sourceSet{root: src, paths: paths, unpack: c.unpack})
	}
	return sets, nil
}

// closeDownloads closes the roots of downloaded sources (all but src).
func closeDownloads(sets []sourceSet, src *copier.Root) {
	for _, s := range sets {
		if s.root != src {
			s.root.Close()
		}
	}
}

// checksum digests every source's contents, for the step's cache key.
func checksum(ctx context.Context, sets []sourceSet) (digest.Digest, error) {
	if len(sets) == 1 {
		return sets[0].root.Checksum(ctx, sets[0].paths)
	}
	h := sha256.New()
	for _, s := range sets {
		d, err := s.root.Checksum(ctx, s.paths)
		if err != nil {
			return "", err
		}
		io.WriteString(h, d.String()+"\n")
	}
	return digest.NewDigest(digest.SHA256, h), nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// download fetches an ADD's URL into a directory of its own, as Docker
// does: the file named by the URL's last path element, mode 0600, its
// mtime the server's Last-Modified.
func (r *run) download(ctx context.Context, rawURL string) (*copier.Root, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", invalid("ADD %s: %v", rawURL, err)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		return nil, "", invalid("ADD %s: cannot determine a file name from the URL", rawURL)
	}
	dir, err := r.scratchDir()
	if err != nil {
		return nil, "", err
	}
	if err := r.fetch(ctx, rawURL, filepath.Join(dir, name)); err != nil {
		return nil, "", err
	}
	root, err := copier.OpenContext(dir)
	return root, name, err
}

func (r *run) fetch(ctx context.Context, rawURL, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return invalid("ADD %s: %v", rawURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ADD %s: download: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ADD %s: download: the server answered %s", rawURL, resp.Status)
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("ADD %s: %w", rawURL, err)
	}
	defer f.Close()
	limit := r.b.cfg.ContextLimit
	n, err := io.Copy(f, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("ADD %s: download: %w", rawURL, err)
	}
	if n > limit {
		return invalid("ADD %s: the download is larger than the limit of %d MB", rawURL, limit>>20)
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		os.Chtimes(file, t, t)
	}
	return f.Close()
}

// stageRootfs opens the files of COPY --from's source: an earlier stage,
// by name or index, or an image.
func (r *run) stageRootfs(ctx context.Context, from string) (*copier.Root, func(), error) {
	var id digest.Digest
	if n, err := strconv.Atoi(from); err == nil {
		if n < 0 || n >= len(r.stages) {
			return nil, nil, invalid("COPY --from=%d: the Dockerfile has no earlier stage %d", n, n)
		}
		id = r.stages[n].image
	} else if st := r.stageNamed(from); st != nil {
		id = st.image
	} else {
		var err error
		if id, err = r.b.cfg.Images.Resolve(ctx, from); err != nil {
			return nil, nil, fmt.Errorf("COPY --from=%s: %w", from, err)
		}
	}
	scratch, err := r.mountScratch(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return scratch.root, scratch.remove, nil
}

// workdirStep makes WORKDIR's directory exist, as the classic builder
// does, and commits the new config with it.
func (r *run) workdirStep(ctx context.Context, st *stageState, createdBy string) error {
	key := stepKey("workdir", createdBy, configKey(st))
	return r.filesStep(ctx, st, key, createdBy, func(scratch *scratchRootfs) error {
		if err := mkdirInRoot(scratch.file, st.config.WorkingDir); err != nil {
			return fmt.Errorf("create working directory %s: %w", st.config.WorkingDir, err)
		}
		return nil
	})
}

// filesStep runs a step that writes files: from the cache when it has the
// step, else change writes through a scratch rootfs of the stage's image
// and what it wrote is committed.
func (r *run) filesStep(ctx context.Context, st *stageState, key, createdBy string, change func(*scratchRootfs) error) error {
	if r.useCache(ctx, st, key) {
		return nil
	}
	scratch, err := r.mountScratch(ctx, st.image)
	if err != nil {
		return err
	}
	defer scratch.remove()
	if err := change(scratch); err != nil {
		return err
	}
	return r.commitFiles(ctx, st, scratch, createdBy, key)
}

// scratchRootfs is a step's writable view of an image: a detached overlay
// of the image's layers under a fresh upper directory, whose contents
// become the step's layer.
type scratchRootfs struct {
	dir, upper string
	file       *os.File // the overlay's root; closing it unmounts
	root       *copier.Root
}

func (r *run) mountScratch(ctx context.Context, id digest.Digest) (*scratchRootfs, error) {
	dir, err := r.scratchDir()
	if err != nil {
		return nil, err
	}
	s := &scratchRootfs{dir: dir, upper: filepath.Join(dir, "upper")}
	work := filepath.Join(dir, "work")
	for _, d := range []string{s.upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("create step directory: %w", err)
		}
	}
	var lowers []string
	if id != "" {
		top, err := r.b.cfg.Images.TopLayer(ctx, id)
		if err == nil && top != "" {
			lowers, err = r.b.cfg.Images.ChainPaths(ctx, top)
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if s.file, err = runtime.MountDetached(runtime.Rootfs{LowerDirs: lowers, UpperDir: s.upper, WorkDir: work}); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("mount the rootfs of image %s: %w", image.ShortID(id), err)
	}
	s.root = copier.OpenRootfs(s.file)
	return s, nil
}

// unmount detaches the overlay; the upper directory stays.
func (s *scratchRootfs) unmount() {
	if s.file != nil {
		s.root.Close()
		s.file.Close()
		s.file = nil
	}
}

func (s *scratchRootfs) remove() {
	s.unmount()
	os.RemoveAll(s.dir)
}

func (r *run) scratchDir() (string, error) {
	r.scratch++
	dir := filepath.Join(r.dir, "step-"+strconv.Itoa(r.scratch))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create step directory: %w", err)
	}
	return dir, nil
}

// commitFiles makes the step's image from what changed in its scratch
// rootfs: a layer, or none when nothing did.
func (r *run) commitFiles(ctx context.Context, st *stageState, s *scratchRootfs, createdBy, key string) error {
	s.unmount()
	opts := image.ChildOptions{Parent: st.image, Config: st.config, CreatedBy: createdBy, Author: st.author}
	if !isEmptyDir(s.upper) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(layer.Diff(ctx, s.upper, pw)) }()
		defer pr.Close()
		opts.Layer = pr
	}
	id, err := r.b.cfg.Images.CreateChild(ctx, opts)
	if err != nil {
		return err
	}
	return r.stepDone(ctx, st, key, id)
}

func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// mkdirInRoot creates dir and its missing parents inside root, resolving
// every symlink on the way as if root were /: each directory is made in
// its parent opened with RESOLVE_IN_ROOT, so no path is ever resolved
// against the host's /.
func mkdirInRoot(root *os.File, dir string) error {
	done := "." // the part of dir that exists, relative to root
	for _, name := range strings.Split(strings.Trim(path.Clean(dir), "/"), "/") {
		if name == "" {
			continue
		}
		parent, err := openInRoot(root, done)
		if err != nil {
			return err
		}
		err = unix.Mkdirat(parent, name, 0o755)
		unix.Close(parent)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return &os.PathError{Op: "mkdir", Path: path.Join("/", done, name), Err: err}
		}
		done = path.Join(done, name)
	}
	// What exists may be a symlink: it must lead to a directory.
	fd, err := openInRoot(root, done)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// openInRoot opens the directory name of root, resolving symlinks as if
// root were /.
func openInRoot(root *os.File, name string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(int(root.Fd()), name, &how)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue // a concurrent rename raced with the lookup
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path.Join("/", name), Err: err}
		}
		return fd, nil
	}
}
