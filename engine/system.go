package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
)

// Info describes the host and the engine, for docker info and the
// dashboard's header.
type Info struct {
	ID                string
	Name              string // host name
	Images            int
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	KernelVersion     string
	OperatingSystem   string
	Architecture      string
	NCPU              int
	MemTotal          int64
	DataRoot          string
	StorageDriver     string
	BackingFilesystem string // of the data root, as docker info names it (extfs, xfs, tmpfs, …)
	CgroupVersion     string // "1" or "2"
	DiskUsed          int64  // bytes under the data root's content and layers
	Started           time.Time
}

// Info gathers the system information.
func (e *Engine) Info(ctx context.Context) (Info, error) {
	info := Info{
		ID:                e.id,
		KernelVersion:     kernelVersion(),
		OperatingSystem:   operatingSystem(),
		Architecture:      machine(),
		NCPU:              runtime.NumCPU(),
		MemTotal:          memTotal(),
		DataRoot:          e.root,
		StorageDriver:     "overlayfs",
		BackingFilesystem: backingFilesystem(e.root),
		CgroupVersion:     cgroupVersion(),
		Started:           e.started,
	}
	info.Name, _ = os.Hostname()
	q := e.db.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM images`).Scan(&info.Images); err != nil {
		return info, fmt.Errorf("count images: %w", err)
	}
	err := q.QueryRowContext(ctx, `SELECT COUNT(*),
		COUNT(*) FILTER (WHERE status IN ('running', 'restarting')),
		COUNT(*) FILTER (WHERE status = 'paused')
		FROM containers`).Scan(&info.Containers, &info.ContainersRunning, &info.ContainersPaused)
	if err != nil {
		return info, fmt.Errorf("count containers: %w", err)
	}
	info.ContainersStopped = info.Containers - info.ContainersRunning - info.ContainersPaused
	if err := q.QueryRowContext(ctx, `SELECT IFNULL(SUM(size), 0) FROM layers`).Scan(&info.DiskUsed); err != nil {
		return info, fmt.Errorf("sum layer sizes: %w", err)
	}
	return info, nil
}

// KernelVersion is the running kernel's release, as uname -r prints it.
func KernelVersion() string { return kernelVersion() }

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func machine() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return runtime.GOARCH
	}
	return unix.ByteSliceToString(u.Machine[:])
}

func operatingSystem() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return "Linux"
}

func memTotal() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// cgroupVersion is "2" on a unified-only host and "1" on a legacy or hybrid
// one (controllers on v1, as on the machines skiff is tested on).
func cgroupVersion() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "2"
	}
	return "1"
}

func newDaemonID() string {
	id, err := uuid.NewRandomFromReader(rand.Reader)
	if err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())
	}
	return id.String()
}

// backingFilesystem names the filesystem under dir as docker info does.
func backingFilesystem(dir string) string {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return "unknown"
	}
	switch int64(st.Type) {
	case unix.EXT4_SUPER_MAGIC:
		return "extfs"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return fmt.Sprintf("0x%x", st.Type)
}
