package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestPassword(t *testing.T) {
	_, db := openTokens(t)
	password, sessions := NewPassword(db), NewSessions(db)
	ctx := context.Background()
	if ok, err := password.Check(ctx, ""); ok || err != nil {
		t.Fatalf("Check with no password set = %v, %v; want false", ok, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("x", MaxPasswordLength+1)} {
		if err := password.Set(ctx, bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Set(%d characters) = %v; want an invalid argument", len(bad), err)
		}
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sess, _ := sessions.Create(ctx, now)
	if err := password.Set(ctx, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := sessions.Lookup(ctx, sess.ID, now); ok {
		t.Error("a session outlived the password change")
	}
	var stored string
	db.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'admin_password'`).Scan(&stored)
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(stored, "correct horse") {
		t.Errorf("stored %q: want an argon2id hash", stored)
	}
	for _, tc := range []struct {
		password string
		ok       bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
		{stored, false},
	} {
		if ok, err := password.Check(ctx, tc.password); ok != tc.ok || err != nil {
			t.Errorf("Check(%q) = %v, %v; want %v", tc.password, ok, err, tc.ok)
		}
	}
	// A new password replaces the old one.
	if err := password.Set(ctx, "battery staple"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := password.Check(ctx, "correct horse"); ok {
		t.Error("the old password still works")
	}
	if ok, _ := password.Check(ctx, "battery staple"); !ok {
		t.Error("the new password does not work")
	}
}
