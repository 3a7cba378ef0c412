package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// Moving images in and out of the daemon as archives: import, load, save.

type importOptions struct {
	source    string // file, URL or "-" for stdin
	reference string // optional REPOSITORY[:TAG] for the new image
	changes   []string
	message   string
}

func newImportCommand(cc *cliContext) *cobra.Command {
	var opts importOptions
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.source = args[0]
			if len(args) > 1 {
				opts.reference = args[1]
			}
			return runImport(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringArrayVarP(&opts.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	flags.StringVarP(&opts.message, "message", "m", "", "Set commit message for imported image")
	return cmd
}

// runImport sends a root filesystem tarball — a local file, stdin, or a URL
// the daemon fetches itself — and prints the new image's ID.
func runImport(ctx context.Context, cc *cliContext, opts importOptions) error {
	source, closeSource, err := importSource(cc, opts.source)
	if err != nil {
		return err
	}
	defer closeSource()

	api, err := cc.daemon()
	if err != nil {
		return err
	}
	progress, err := api.ImageImport(ctx, source, opts.reference, client.ImageImportOptions{
		Message: opts.message,
		Changes: opts.changes,
	})
	if err != nil {
		return err
	}
	defer progress.Close()
	return printJSONMessages(progress, cc.stdout)
}

// importSource opens what `import` reads: stdin for "-", nothing for an
// http(s) URL (the daemon downloads it), else the named file.
func importSource(cc *cliContext, source string) (client.ImageImportSource, func(), error) {
	noop := func() {}
	switch {
	case source == "-":
		return client.ImageImportSource{Source: cc.stdin, SourceName: "-"}, noop, nil
	case strings.HasPrefix(source, "http://"), strings.HasPrefix(source, "https://"):
		return client.ImageImportSource{SourceName: source}, noop, nil
	}
	file, err := os.Open(source)
	if err != nil {
		return client.ImageImportSource{}, noop, err
	}
	return client.ImageImportSource{Source: file, SourceName: "-"}, func() { _ = file.Close() }, nil
}

type loadOptions struct {
	input string
	quiet bool
}

func newLoadCommand(cc *cliContext) *cobra.Command {
	var opts loadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

// runLoad sends an image archive (from -i or stdin) and prints the daemon's
// "Loaded image: …" lines.
func runLoad(ctx context.Context, cc *cliContext, opts loadOptions) error {
	input := cc.stdin
	if opts.input == "" {
		if cc.stdinIsTerminal {
			return errors.New("requested load from stdin, but stdin is empty")
		}
	} else {
		file, err := os.Open(opts.input)
		if err != nil {
			return err
		}
		defer file.Close()
		input = file
	}

	api, err := cc.daemon()
	if err != nil {
		return err
	}
	// Progress bars only make sense on a terminal, so docker asks for a
	// quiet stream otherwise; the "Loaded image" lines come either way.
	quiet := opts.quiet || !cc.stdoutIsTerminal
	progress, err := api.ImageLoad(ctx, input, client.ImageLoadWithQuiet(quiet))
	if err != nil {
		return err
	}
	defer progress.Close()
	return printJSONMessages(progress, cc.stdout)
}

type saveOptions struct {
	images []string
	output string
}

func newSaveCommand(cc *cliContext) *cobra.Command {
	var opts saveOptions
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runSave(cmd.Context(), cc, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// runSave streams the images' archive to -o or stdout. A file is written
// under a temporary name and renamed into place only once complete, so a
// failed or interrupted save leaves no partial archive behind.
func runSave(ctx context.Context, cc *cliContext, opts saveOptions) error {
	if opts.output == "" {
		if cc.stdoutIsTerminal {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
		return saveImages(ctx, cc, opts.images, cc.stdout)
	}

	file, err := createPendingFile(opts.output, savedArchiveMode)
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	defer file.cleanup()
	if err := saveImages(ctx, cc, opts.images, file); err != nil {
		return err
	}
	if err := file.commit(); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	return nil
}

// saveImages copies the daemon's archive of images to out.
func saveImages(ctx context.Context, cc *cliContext, images []string, out io.Writer) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	archive, err := api.ImageSave(ctx, images)
	if err != nil {
		return err
	}
	defer archive.Close()
	if _, err := io.Copy(out, archive); err != nil {
		return fmt.Errorf("receiving the image archive: %w", err)
	}
	return nil
}

// savedArchiveMode is the permission of a saved archive, as docker's.
const savedArchiveMode = 0o600

// pendingFile is a file being written under a temporary name beside its
// final path. commit moves it into place; cleanup, deferred right after
// creation, removes it if it was never committed.
type pendingFile struct {
	*os.File
	path      string
	committed bool
}

func createPendingFile(path string, mode os.FileMode) (*pendingFile, error) {
	dir := filepath.Dir(path)
	if err := checkOutputDir(dir); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return nil, err
	}
	return &pendingFile{File: tmp, path: path}, nil
}

// checkOutputDir reports an output directory that cannot hold the file.
func checkOutputDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("invalid output path: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("invalid output path: %s is not a directory", dir)
	}
	return nil
}

// commit flushes the file to disk and renames it to its final path.
func (f *pendingFile) commit() error {
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), f.path); err != nil {
		return err
	}
	f.committed = true
	return nil
}

// cleanup discards the temporary file unless it was committed.
func (f *pendingFile) cleanup() {
	if f.committed {
		return
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// printJSONMessages renders a daemon's JSON message stream (import, load)
// as docker does when not drawing progress bars: "stream" text verbatim,
// "status" lines prefixed by their "id", progress updates skipped. An
// "errorDetail" message ends the stream as an error.
func printJSONMessages(stream io.Reader, out io.Writer) error {
	return eachJSONMessage(stream, func(msg jsonstream.Message) error {
		return printJSONMessage(out, msg)
	})
}

// eachJSONMessage calls fn with each message of a daemon's JSON message
// stream until its end; an "errorDetail" message ends it as that error.
func eachJSONMessage(stream io.Reader, fn func(jsonstream.Message) error) error {
	decoder := json.NewDecoder(stream)
	for {
		var msg jsonstream.Message
		err := decoder.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the daemon's progress stream: %w", err)
		}
		if msg.Error != nil {
			return msg.Error
		}
		if err := fn(msg); err != nil {
			return err
		}
	}
}

func printJSONMessage(out io.Writer, msg jsonstream.Message) error {
	if msg.Aux != nil || isProgressUpdate(msg) {
		return nil
	}
	var line string
	if msg.ID != "" {
		line = msg.ID + ": "
	}
	if msg.Stream != "" {
		line += msg.Stream
	} else {
		line += msg.Status + "\n"
	}
	_, err := io.WriteString(out, line)
	return err
}

func isProgressUpdate(msg jsonstream.Message) bool {
	return msg.Progress != nil && (msg.Progress.Current > 0 || msg.Progress.Total > 0)
}
