package buildcontext

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/skiff-dev/skiff/engine/build/copier"
)

const defaultDockerfile = "Dockerfile"

// maxDockerfile bounds the Dockerfile's size, as the context's limit may be
// large.
const maxDockerfile = 16 << 20

// readDockerfile reads the Dockerfile name (or the default) from the
// unpacked context dir, and returns its path and text. Like moby, it falls
// back to "dockerfile" when "Dockerfile" is missing, and follows symlinks
// only inside the context.
func readDockerfile(dir, name string) (string, []byte, error) {
	if name == "" {
		name = defaultDockerfile
	}
	clean := path.Clean(strings.TrimLeft(name, "/"))
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", nil, errdefs.ErrInvalidArgument.WithMessage("forbidden path outside the build context: " + name)
	}
	root, err := copier.OpenContext(dir)
	if err != nil {
		return "", nil, err
	}
	defer root.Close()
	data, err := root.ReadFile(clean, maxDockerfile)
	if errors.Is(err, fs.ErrNotExist) && clean == defaultDockerfile {
		lower := strings.ToLower(clean)
		if data, err = root.ReadFile(lower, maxDockerfile); err == nil {
			return lower, data, nil
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		// moby's wording, which clients know.
		return "", nil, errdefs.ErrInvalidArgument.WithMessage("Cannot locate specified Dockerfile: " + name)
	}
	if err != nil {
		return "", nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	return clean, data, nil
}
