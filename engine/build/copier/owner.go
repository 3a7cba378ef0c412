package copier

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
)

// maxIDFile bounds what is read of /etc/passwd or /etc/group.
const maxIDFile = 16 << 20

// maxID is the largest uid or gid --chown takes: larger ones wrap in some
// tools, and 1<<32-1 means "unchanged" to chown.
const maxID = 1<<31 - 1

// LookupOwner resolves --chown's "user[:group]" against dst's /etc/passwd
// and /etc/group, as the classic builder does (moby's parseChownFlag):
//
//   - a number is taken as is, without reading the files;
//   - a name is looked up: the user's uid in passwd, the group's gid in group;
//   - without ":group" the user part is used for the group too, so
//     --chown=app means app's uid and the gid of the group named app (not
//     app's primary group, as BuildKit would take), and --chown=1000 is
//     1000:1000.
//
// An unknown name fails with an error naming it.
func LookupOwner(dst *Root, spec string) (Owner, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if !hasGroup {
		groupPart = userPart
	}
	if userPart == "" || groupPart == "" || strings.Contains(groupPart, ":") {
		return Owner{}, errdefs.ErrInvalidArgument.WithMessage("invalid chown string format: " + spec)
	}
	uid, err := lookupID(dst, "user", "/etc/passwd", userPart)
	if err != nil {
		return Owner{}, fmt.Errorf("can't find uid for user %s: %w", userPart, err)
	}
	gid, err := lookupID(dst, "group", "/etc/group", groupPart)
	if err != nil {
		return Owner{}, fmt.Errorf("can't find gid for group %s: %w", groupPart, err)
	}
	return Owner{UID: uid, GID: gid}, nil
}

// lookupID returns the ID of name (a user or group, as what says): itself if
// it is a number, else the third field of its line in file (passwd and group
// both keep the ID there).
func lookupID(dst *Root, what, file, name string) (int, error) {
	if id, err := strconv.Atoi(name); err == nil {
		if id < 0 || id > maxID {
			return 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%d is out of range 0-%d", id, maxID))
		}
		return id, nil
	}
	data, err := dst.ReadFile(file, maxIDFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		id, err := strconv.Atoi(fields[2])
		if err != nil || id < 0 || id > maxID {
			return 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s %s in %s: bad ID %q", what, name, file, fields[2]))
		}
		return id, nil
	}
	return 0, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no such %s: %s", what, name))
}
