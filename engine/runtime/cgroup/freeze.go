package cgroup

import (
	"fmt"
	"path/filepath"
	"time"
)

// Freeze pauses every process of the cgroup (docker pause) and returns once
// all are frozen. It uses the v1 freezer controller where the host has one,
// and v2's cgroup.freeze otherwise. If the processes are not all frozen
// within a few seconds, Freeze thaws them again and fails.
func (m *Manager) Freeze() error {
	if err := m.freeze(freezeTimeout); err != nil {
		return fmt.Errorf("freeze %s: %w", m.id, err)
	}
	return nil
}

// Thaw resumes the processes Freeze paused. Thawing a cgroup that is not
// frozen does nothing.
func (m *Manager) Thaw() error {
	if err := m.thaw(); err != nil {
		return fmt.Errorf("thaw %s: %w", m.id, err)
	}
	return nil
}

func (m *Manager) freeze(timeout time.Duration) error {
	if dir, ok := m.v1["freezer"]; ok {
		return freezeV1(dir, timeout)
	}
	if m.unified != "" {
		return setFrozenV2(m.unified, true, timeout)
	}
	return missing("freezer")
}

func (m *Manager) thaw() error {
	if dir, ok := m.v1["freezer"]; ok {
		return writeFile(dir, "freezer.state", "THAWED")
	}
	if m.unified != "" {
		return setFrozenV2(m.unified, false, freezeTimeout)
	}
	return missing("freezer")
}

// freezeV1 freezes a v1 freezer cgroup. The kernel reports FREEZING until
// every task is frozen, then FROZEN; writing FROZEN again retries the tasks
// it could not freeze yet.
func freezeV1(dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 50*time.Millisecond) {
		if err := writeFile(dir, "freezer.state", "FROZEN"); err != nil {
			return err
		}
		state, err := readFile(dir, "freezer.state")
		if err != nil {
			return err
		}
		if state == "FROZEN" {
			return nil
		}
		if time.Now().After(deadline) {
			_ = writeFile(dir, "freezer.state", "THAWED")
			return fmt.Errorf("%s still %s after %v", filepath.Join(dir, "freezer.state"), state, timeout)
		}
		time.Sleep(delay)
	}
}

// setFrozenV2 writes a v2 cgroup.freeze and waits until cgroup.events
// reports the cgroup frozen (or no longer frozen).
func setFrozenV2(dir string, frozen bool, timeout time.Duration) error {
	value, want := "0", uint64(0)
	if frozen {
		value, want = "1", 1
	}
	if err := writeFile(dir, "cgroup.freeze", value); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 50*time.Millisecond) {
		events, err := readKeyValues(dir, "cgroup.events")
		if err != nil {
			return err
		}
		if events["frozen"] == want {
			return nil
		}
		if time.Now().After(deadline) {
			if frozen {
				_ = writeFile(dir, "cgroup.freeze", "0")
			}
			return fmt.Errorf("%s does not report frozen %d after %v", filepath.Join(dir, "cgroup.events"), want, timeout)
		}
		time.Sleep(delay)
	}
}
