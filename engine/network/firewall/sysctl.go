package firewall

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netns"
)

// enableRouting turns on IPv4 forwarding and route_localnet for the bridge
// in the firewall's namespace.
func (f *Firewall) enableRouting(bridge string) error {
	return inNetNS(f.ns, func() error {
		if err := setSysctl("net/ipv4/ip_forward", "1"); err != nil {
			return err
		}
		return setSysctl(filepath.Join("net/ipv4/conf", bridge, "route_localnet"), "1")
	})
}

// setSysctl writes value to /proc/sys/key unless it already holds it:
// writing ip_forward, even the same value, resets every device's forwarding
// setting.
func setSysctl(key, value string) error {
	path := filepath.Join("/proc/sys", key)
	cur, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read sysctl %s: %w", key, err)
	}
	if string(bytes.TrimSpace(cur)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// inNetNS runs fn in the network namespace ns, or in the caller's when ns is
// not open. /proc/sys/net shows the namespace of the thread that opens it, so
// fn runs on a thread of its own that enters ns and is never handed back to
// the scheduler: the goroutine ends locked, and the runtime retires the
// thread instead of reusing it in the wrong namespace.
func inNetNS(ns netns.NsHandle, fn func() error) error {
	if !ns.IsOpen() {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
