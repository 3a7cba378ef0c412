package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/skiff-dev/skiff/engine/store"
)

func openTokens(t *testing.T) (*Tokens, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return NewTokens(db), db
}

func TestInitialTokenIsMadeOnceAndStoredOnlyAsAHash(t *testing.T) {
	tokens, db := openTokens(t)
	ctx := context.Background()
	token, err := tokens.EnsureInitial(ctx)
	if err != nil || !strings.HasPrefix(token, "skiff_") || len(token) < 40 {
		t.Fatalf("EnsureInitial = %q, %v", token, err)
	}
	again, err := tokens.EnsureInitial(ctx)
	if err != nil || again != "" {
		t.Errorf("second EnsureInitial = %q, %v; want no new token", again, err)
	}
	var stored string
	db.Read().QueryRowContext(ctx, `SELECT hash FROM auth_tokens`).Scan(&stored)
	if stored == "" || strings.Contains(stored, token) || strings.Contains(token, stored) {
		t.Errorf("stored %q for token %q: want a hash, not the token", stored, token)
	}
	for _, tc := range []struct {
		token string
		valid bool
	}{
		{token, true},
		{"", false},
		{token + "x", false},
		{stored, false}, // the hash itself is no credential
	} {
		if ok, err := tokens.Valid(ctx, tc.token); ok != tc.valid || err != nil {
			t.Errorf("Valid(%q) = %v, %v; want %v", tc.token, ok, err, tc.valid)
		}
	}
}
