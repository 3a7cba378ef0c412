package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// execUser is who the process runs as.
type execUser struct {
	uid, gid int
	groups   []int // supplementary groups
	home     string
}

// maxID is the largest uid or gid a user may give, as Docker (moby/sys/user):
// larger values wrapped to 0 in some runtimes (CVE-2024-40635), and
// 4294967295 means "unchanged" to setresuid.
const maxID = 1<<31 - 1

// lookupUser resolves spec ("", "uid", "uid:gid", "name", "name:group" and
// the mixed forms) against the container's /etc/passwd and /etc/group, as
// Docker does: names must exist, numeric IDs need not; without an explicit
// group the user's primary group and the groups listing it as a member
// apply.
func lookupUser(spec string) (execUser, error) {
	passwd, err := readContainerFile("/etc/passwd")
	if err != nil {
		return execUser{}, err
	}
	group, err := readContainerFile("/etc/group")
	if err != nil {
		return execUser{}, err
	}
	return parseUser(spec, passwd, group)
}

// parseUser is lookupUser on the files' contents.
func parseUser(spec string, passwd, group []byte) (execUser, error) {
	userArg, groupArg, _ := strings.Cut(spec, ":")
	u := execUser{home: "/"}
	uid, uidErr := parseID(userArg)
	gid, gidErr := parseID(groupArg)

	// The user: a name must be in passwd; a number is taken as a uid, found
	// there or not. No user is root.
	var name string
	entry, found := findEntry(passwd, func(f []string) bool {
		switch {
		case userArg == "":
			return f[2] == "0"
		case uidErr == nil:
			return f[2] == userArg || atoiOK(f[2], uid)
		default:
			return f[0] == userArg
		}
	}, 7)
	switch {
	case found:
		var err error
		if u.uid, err = parseID(entry[2]); err != nil {
			return u, invalid("user %s in /etc/passwd: uid %q: %v", entry[0], entry[2], err)
		}
		if u.gid, err = parseID(entry[3]); err != nil {
			return u, invalid("user %s in /etc/passwd: gid %q: %v", entry[0], entry[3], err)
		}
		name, u.home = entry[0], entry[5]
		if u.home == "" {
			u.home = "/"
		}
	case userArg == "":
		// root, without a passwd entry
	case uidErr == nil:
		u.uid = uid
	case errors.Is(uidErr, errIDRange):
		return u, errdefs.ErrInvalidArgument.WithMessage(uidErr.Error())
	default:
		return u, invalid("unable to find user %s: no matching entries in passwd file", userArg)
	}

	// The group: an explicit one replaces the primary group (and then no
	// supplementary groups apply, as in Docker); otherwise the groups that
	// list the user as a member are added.
	switch {
	case groupArg != "":
		entry, found := findEntry(group, func(f []string) bool {
			if gidErr == nil {
				return f[2] == groupArg || atoiOK(f[2], gid)
			}
			return f[0] == groupArg
		}, 4)
		switch {
		case found:
			var err error
			if u.gid, err = parseID(entry[2]); err != nil {
				return u, invalid("group %s in /etc/group: gid %q: %v", entry[0], entry[2], err)
			}
		case gidErr == nil:
			u.gid = gid
		case errors.Is(gidErr, errIDRange):
			return u, errdefs.ErrInvalidArgument.WithMessage(gidErr.Error())
		default:
			return u, invalid("unable to find group %s: no matching entries in group file", groupArg)
		}
	case name != "":
		for _, f := range entries(group, 4) {
			if !slices.Contains(strings.Split(f[3], ","), name) {
				continue
			}
			g, err := parseID(f[2])
			if err != nil {
				return u, invalid("group %s in /etc/group: gid %q: %v", f[0], f[2], err)
			}
			u.groups = append(u.groups, g)
		}
	}
	return u, nil
}

var (
	errIDRange   = fmt.Errorf("uids and gids must be in range 0-%d", maxID)
	errNotNumber = errors.New("not a number")
)

// parseID parses a decimal uid or gid in [0, maxID].
func parseID(s string) (int, error) {
	digits := s
	if digits != "" && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, errNotNumber
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxID {
		return 0, errIDRange
	}
	return int(n), nil
}

// atoiOK reports whether field is the number want written differently
// ("007" for 7).
func atoiOK(field string, want int) bool {
	n, err := parseID(field)
	return err == nil && n == want
}

// findEntry returns the first line of a passwd-style file for which match
// is true, split into at least n fields.
func findEntry(data []byte, match func([]string) bool, n int) ([]string, bool) {
	for _, f := range entries(data, n) {
		if match(f) {
			return f, true
		}
	}
	return nil, false
}

// entries splits a passwd or group file into its lines' fields, padded to n
// fields; comments and blank lines are skipped.
func entries(data []byte, n int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		for len(f) < n {
			f = append(f, "")
		}
		out = append(out, f)
	}
	return out
}

// maxUserFile bounds what is read of /etc/passwd or /etc/group.
const maxUserFile = 16 << 20

// readContainerFile reads a small configuration file of the container; a
// missing file reads as empty. The image controls it: a magic link, a FIFO
// (which would block the init) or a device is refused.
func readContainerFile(path string) ([]byte, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, invalid("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxUserFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxUserFile {
		return nil, invalid("%s is larger than %d bytes", path, maxUserFile)
	}
	return data, nil
}
