package copier

import (
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

const (
	testPasswd = "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000::/home/app:/bin/sh\nweb:x:33:50::/var/www:/bin/false\n"
	testGroup  = "root:x:0:\nwww:x:50:web\napp:x:1500:\nstaff:x:60:app\n"
)

func TestLookupOwner(t *testing.T) {
	dst, _ := rootfs(t, map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup})
	tests := []struct {
		spec string
		want Owner
	}{
		{"0", Owner{0, 0}},
		{"1000", Owner{1000, 1000}},
		{"42:43", Owner{42, 43}},
		{"app", Owner{1000, 1500}}, // the group named app, not app's primary group: moby's classic builder
		{"app:staff", Owner{1000, 60}},
		{"web:www", Owner{33, 50}},
		{"app:7", Owner{1000, 7}},
		{"7:www", Owner{7, 50}},
	}
	for _, tt := range tests {
		got, err := LookupOwner(dst, tt.spec)
		if err != nil || got != tt.want {
			t.Errorf("LookupOwner(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}

func TestLookupOwnerErrors(t *testing.T) {
	dst, _ := rootfs(t, map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup})
	bare, _ := rootfs(t, nil)
	tests := []struct {
		root    *Root
		spec    string
		wantErr string
	}{
		{dst, "nobody", "can't find uid for user nobody: no such user: nobody"},
		{dst, "web", "can't find gid for group web: no such group: web"}, // no group named web
		{dst, "app:nogroup", "can't find gid for group nogroup: no such group: nogroup"},
		{dst, "a:b:c", "invalid chown string format: a:b:c"},
		{dst, ":5", "invalid chown string format: :5"},
		{dst, "-1", "out of range"},
		{bare, "app", "can't find uid for user app: no such user: app"},
	}
	for _, tt := range tests {
		_, err := LookupOwner(tt.root, tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("LookupOwner(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
		}
	}
	// Numbers need no files.
	if got, err := LookupOwner(bare, "5:6"); err != nil || got != (Owner{5, 6}) {
		t.Errorf("LookupOwner(5:6) without /etc = %+v, %v", got, err)
	}
	if _, err := LookupOwner(dst, "nobody"); !errdefs.IsNotFound(err) {
		t.Errorf("unknown user error %v is not errdefs.ErrNotFound", err)
	}
}

func TestLookupOwnerReadsTheImageFilesInsideIt(t *testing.T) {
	// /etc/passwd a symlink to an absolute path resolves in the image.
	dst, _ := rootfs(t, map[string]string{"etc/passwd": "-> /data/passwd", "data/passwd": "svc:x:77:77::/:/bin/sh\n", "etc/group": "svc:x:78:\n"})
	if got, err := LookupOwner(dst, "svc"); err != nil || got != (Owner{77, 78}) {
		t.Errorf("LookupOwner(svc) = %+v, %v; want {77 78}", got, err)
	}
}
