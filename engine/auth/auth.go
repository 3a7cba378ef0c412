// Package auth keeps the credentials of the daemon's TCP listener. Only
// hashes are stored: a token is shown once, when it is created, and cannot be
// read back from the database.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/skiff-dev/skiff/engine/store"
)

// Tokens checks and creates API tokens.
type Tokens struct {
	db *store.DB
}

// NewTokens returns the token store kept in db.
func NewTokens(db *store.DB) *Tokens { return &Tokens{db: db} }

// EnsureInitial creates the first token if none exists. It returns the new
// token, or "" when tokens already existed.
func (t *Tokens) EnsureInitial(ctx context.Context) (string, error) {
	var n int
	if err := t.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_tokens`).Scan(&n); err != nil {
		return "", fmt.Errorf("count tokens: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	return t.Create(ctx)
}

// Create makes a new random token and stores its hash.
func (t *Tokens) Create(ctx context.Context) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	token := "skiff_" + base64.RawURLEncoding.EncodeToString(b[:])
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_tokens(hash, created_at) VALUES (?, ?)`, hash(token), time.Now().UnixNano())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store token: %w", err)
	}
	return token, nil
}

// Valid reports whether token is one of the stored tokens. Tokens are long
// random strings, so a plain hash is enough: there is nothing to guess from.
func (t *Tokens) Valid(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	var one int
	err := t.db.Read().QueryRowContext(ctx, `SELECT 1 FROM auth_tokens WHERE hash = ?`, hash(token)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check token: %w", err)
	}
	return true, nil
}

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
