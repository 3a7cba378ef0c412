package cli

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// The build context as the docker CLI's legacy builder sends it: a tar of
// the context directory without what .dockerignore excludes, owned by root.

const (
	defaultDockerfile = "Dockerfile"
	dockerignoreFile  = ".dockerignore"
)

// buildContext is a build context ready to send.
type buildContext struct {
	tar io.ReadCloser
	// dockerfile is the Dockerfile's name in the context, for the
	// dockerfile parameter; "" leaves the daemon's default.
	dockerfile string
}

// openBuildContext prepares what `skiff build PATH|-` sends. dockerfile is
// -f: "" for the context's Dockerfile, "-" for stdin, else a path relative
// to the working directory, as docker has it.
func openBuildContext(stdin io.Reader, path, dockerfile string) (*buildContext, error) {
	if path == "-" {
		return stdinContext(stdin, dockerfile)
	}
	if strings.Contains(path, "://") || strings.HasPrefix(path, "git@") {
		return nil, fmt.Errorf("unable to prepare context: remote contexts are not supported: clone or download %s and build the directory", path)
	}
	ctx, err := dirContext(stdin, path, dockerfile)
	if err != nil {
		return nil, fmt.Errorf("unable to prepare context: %w", err)
	}
	return ctx, nil
}

// stdinContext reads the context from stdin: a tar, plain or compressed,
// is sent as it is; anything else is a Dockerfile, sent alone.
func stdinContext(stdin io.Reader, dockerfile string) (*buildContext, error) {
	if dockerfile == "-" {
		return nil, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
	}
	in := bufio.NewReaderSize(stdin, 2*tarBlock)
	if isArchive(in) {
		return &buildContext{tar: io.NopCloser(in), dockerfile: dockerfile}, nil
	}
	text, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile from stdin: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := writeTarFile(tw, defaultDockerfile, 0o644, text); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buildContext{tar: io.NopCloser(&buf), dockerfile: defaultDockerfile}, nil
}

const tarBlock = 512

// isArchive tells a tar, or a compressed stream, from a Dockerfile by its
// first bytes.
func isArchive(in *bufio.Reader) bool {
	head, _ := in.Peek(2 * tarBlock)
	for _, magic := range [][]byte{
		{0x1f, 0x8b},                     // gzip
		[]byte("BZh"),                    // bzip2
		{0xfd, '7', 'z', 'X', 'Z', 0x00}, // xz
		{0x28, 0xb5, 0x2f, 0xfd},         // zstd
	} {
		if bytes.HasPrefix(head, magic) {
			return true
		}
	}
	_, err := tar.NewReader(bytes.NewReader(head)).Next()
	return err == nil
}

// dirContext tars a context directory. A Dockerfile outside it, or from
// stdin, is added under a random name that .dockerignore also lists, so
// COPY . never copies it: docker does the same.
func dirContext(stdin io.Reader, path, dockerfile string) (*buildContext, error) {
	dir, err := contextDir(path)
	if err != nil {
		return nil, err
	}
	var outside []byte // the Dockerfile, when it is not in the context
	rel := ""
	if dockerfile == "-" {
		if outside, err = io.ReadAll(stdin); err != nil {
			return nil, fmt.Errorf("reading the Dockerfile from stdin: %w", err)
		}
	} else {
		abs, err := dockerfilePath(dir, dockerfile)
		if err != nil {
			return nil, err
		}
		rel, err = filepath.Rel(dir, abs)
		if err != nil {
			return nil, fmt.Errorf("unable to get relative Dockerfile path: %w", err)
		}
		if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			if outside, err = os.ReadFile(abs); err != nil {
				return nil, fmt.Errorf("unable to open Dockerfile: %w", err)
			}
			rel = ""
		}
	}

	keep := []string{dockerignoreFile}
	if rel != "" {
		keep = append(keep, filepath.ToSlash(rel))
	}
	matcher, err := readDockerignore(dir, keep...)
	if err != nil {
		return nil, err
	}
	entries, err := listContext(dir, matcher)
	if err != nil {
		return nil, fmt.Errorf("error checking context: %w", err)
	}

	ctx := &buildContext{dockerfile: filepath.ToSlash(rel)}
	var extra *namedDockerfile
	if outside != nil {
		extra = &namedDockerfile{name: ".dockerfile." + randomHex(10), text: outside}
		ctx.dockerfile = extra.name
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, entries, extra)) }()
	ctx.tar = pr
	return ctx, nil
}

// contextDir resolves the context directory.
func contextDir(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("unable to get absolute context directory of given context directory %q: %w", path, err)
	}
	dir, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("path %q not found", path)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("unable to stat context directory %q: %w", dir, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("context must be a directory: %s", dir)
	}
	return dir, nil
}

// dockerfilePath finds the Dockerfile: -f relative to the working
// directory, else Dockerfile in the context (or dockerfile, docker's
// fallback).
func dockerfilePath(dir, dockerfile string) (string, error) {
	path := dockerfile
	if path == "" {
		path = filepath.Join(dir, defaultDockerfile)
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			if lower := filepath.Join(dir, strings.ToLower(defaultDockerfile)); exists(lower) {
				path = lower
			}
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("unable to get absolute path to Dockerfile: %w", err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("unable to evaluate symlinks in Dockerfile path: %w", err)
	}
	return resolved, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// readDockerignore reads the context's .dockerignore into a matcher that
// never excludes keep: the daemon needs the Dockerfile and .dockerignore.
func readDockerignore(dir string, keep ...string) (*patternmatcher.PatternMatcher, error) {
	var patterns []string
	f, err := os.Open(filepath.Join(dir, dockerignoreFile))
	switch {
	case err == nil:
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("error reading .dockerignore: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("error reading .dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("invalid .dockerignore: %w", err)
	}
	for _, name := range keep {
		if excluded, _ := pm.MatchesOrParentMatches(name); excluded {
			patterns = append(patterns, "!"+name)
		}
	}
	return patternmatcher.New(patterns)
}

// contextEntry is a file of the context to send.
type contextEntry struct {
	name string // slash-separated, relative to the context
	path string
	info fs.FileInfo
}

// listContext walks the context directory for the entries matcher leaves
// in, checking that each can be read before anything is sent.
func listContext(dir string, matcher *patternmatcher.PatternMatcher) ([]contextEntry, error) {
	var entries []contextEntry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return fmt.Errorf("can't stat '%s'", path)
			}
			return err
		}
		if path == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		excluded, err := matcher.MatchesOrParentMatches(name)
		if err != nil {
			return err
		}
		if excluded {
			if d.IsDir() && !mayInclude(matcher, name) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("can't stat '%s'", path)
		}
		if info.Mode()&fs.ModeSocket != 0 {
			return nil // tar has no sockets
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("no permission to read from '%s'", path)
			}
			f.Close()
		}
		entries = append(entries, contextEntry{name: name, path: path, info: info})
		return nil
	})
	return entries, err
}

// mayInclude tells whether an exception pattern ("!dir/keep") may bring
// back something inside an excluded directory, which must then be walked.
func mayInclude(matcher *patternmatcher.PatternMatcher, dir string) bool {
	for _, p := range matcher.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", dir+"/") {
			return true
		}
	}
	return false
}

// namedDockerfile is a Dockerfile added to the context under a new name.
type namedDockerfile struct {
	name string
	text []byte
}

// writeContext writes the tar of entries, plus extra and its line in
// .dockerignore.
func writeContext(w io.Writer, entries []contextEntry, extra *namedDockerfile) error {
	tw := tar.NewWriter(w)
	ignoreWritten := false
	for _, e := range entries {
		if extra != nil && e.name == dockerignoreFile && e.info.Mode().IsRegular() {
			patterns, err := os.ReadFile(e.path)
			if err != nil {
				return err
			}
			if err := writeTarFile(tw, e.name, e.info.Mode().Perm(), append(patterns, "\n"+extra.name+"\n"...)); err != nil {
				return err
			}
			ignoreWritten = true
			continue
		}
		if err := writeEntry(tw, e); err != nil {
			return err
		}
	}
	if extra != nil {
		if !ignoreWritten {
			if err := writeTarFile(tw, dockerignoreFile, 0o600, []byte(dockerignoreFile+"\n"+extra.name+"\n")); err != nil {
				return err
			}
		}
		if err := writeTarFile(tw, extra.name, 0o600, extra.text); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeEntry writes one file, directory, link or device of the context.
func writeEntry(tw *tar.Writer, e contextEntry) error {
	var link string
	if e.info.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(e.path); err != nil {
			return err
		}
	}
	h, err := tar.FileInfoHeader(rootOwned{e.info}, link)
	if err != nil {
		return fmt.Errorf("%s: %w", e.path, err)
	}
	h.Name = e.name
	if e.info.IsDir() {
		h.Name += "/"
	}
	h.Uid, h.Gid = 0, 0
	h.ModTime = h.ModTime.Truncate(time.Second)
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !e.info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(e.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, h.Size); err != nil {
		return fmt.Errorf("sending %s (did it change while being sent?): %w", e.path, err)
	}
	return nil
}

// writeTarFile writes a regular file made up by the CLI.
func writeTarFile(tw *tar.Writer, name string, mode fs.FileMode, content []byte) error {
	now := time.Now().Truncate(time.Second)
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode), Size: int64(len(content)), ModTime: now}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := tw.Write(content)
	return err
}

// rootOwned makes tar.FileInfoHeader skip the user and group name lookups:
// the context is sent as owned by root, with no names.
type rootOwned struct{ fs.FileInfo }

func (rootOwned) Uname() (string, error) { return "", nil }
func (rootOwned) Gname() (string, error) { return "", nil }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails, as documented
	return hex.EncodeToString(b)
}
