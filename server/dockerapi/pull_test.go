package dockerapi

import "testing"

func TestPullReference(t *testing.T) {
	const dgst = "sha256:b5026959d07e2c3b93aab2dfc68091071da4ddd054c6ac5f13e4f5aaac40e6a2"
	for _, tc := range []struct{ fromImage, tag, want string }{
		{"busybox", "", "docker.io/library/busybox:latest"},
		{"busybox", "1.36", "docker.io/library/busybox:1.36"},
		{"docker.io/library/busybox", "latest", "docker.io/library/busybox:latest"},
		{"127.0.0.1:5000/test/busybox", "v1", "127.0.0.1:5000/test/busybox:v1"},
		{"127.0.0.1:5000/test/busybox", dgst, "127.0.0.1:5000/test/busybox@" + dgst},
		{"busybox:1.36", "", "docker.io/library/busybox:1.36"},
	} {
		got, err := pullReference(tc.fromImage, tc.tag)
		if err != nil || got.String() != tc.want {
			t.Errorf("pullReference(%q, %q) = %v, %v; want %s", tc.fromImage, tc.tag, got, err, tc.want)
		}
	}
	for _, bad := range [][2]string{{"Busybox", ""}, {"busybox", "bad tag"}, {"busybox", "sha256:short"}} {
		if _, err := pullReference(bad[0], bad[1]); err == nil {
			t.Errorf("pullReference(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
