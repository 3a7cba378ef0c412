package dns

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestHostUpstreamsLeavesLoopbackOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	conf := "# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\nnameserver ::1\nnameserver 2001:db8::53\nnameserver fe80::1%eth0\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := HostUpstreams(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.53:53"), netip.MustParseAddrPort("[2001:db8::53]:53")}
	if !slices.Equal(got, want) {
		t.Errorf("HostUpstreams = %v, want %v", got, want)
	}
	if got, err := HostUpstreams(filepath.Join(t.TempDir(), "none")); err != nil || got != nil {
		t.Errorf("no file: %v, %v", got, err)
	}
}
