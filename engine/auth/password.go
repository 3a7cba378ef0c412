package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/containerd/errdefs"
	"golang.org/x/crypto/argon2"

	"github.com/skiff-dev/skiff/engine/store"
)

// Password lengths accepted. The upper bound keeps a login from making the
// daemon hash megabytes.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 1024
)

// argon2id parameters: OWASP's recommendation of 19 MiB, 2 passes, 1 lane
// (Password Storage Cheat Sheet). They are stored with each hash, so they can
// change without invalidating the stored one.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

const passwordKey = "admin_password"

// maxHashing bounds the hashes computed at once: each takes argonMemory, and
// a burst of logins must not take the daemon's memory with it.
const maxHashing = 4

// Password is the dashboard's admin password, kept as an argon2id hash in
// the settings table. There is none until `skiff passwd` sets one.
type Password struct {
	db      *store.DB
	hashing chan struct{}
}

// NewPassword returns the password kept in db.
func NewPassword(db *store.DB) *Password {
	return &Password{db: db, hashing: make(chan struct{}, maxHashing)}
}

// Set replaces the password and ends every session: whoever logged in with
// the old one, or stole a cookie, is out.
func (p *Password) Set(ctx context.Context, password string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordLength {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("the password is too short: it needs at least %d characters", MinPasswordLength))
	}
	if len(password) > MaxPasswordLength {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("the password is too long: at most %d bytes", MaxPasswordLength))
	}
	encoded, err := hashPassword(password)
	if err != nil {
		return err
	}
	err = p.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, passwordKey, encoded); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions`)
		return err
	})
	if err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	return nil
}

// Check reports whether password is the admin password. It takes as long
// when no password is set, so timing does not tell whether one is.
func (p *Password) Check(ctx context.Context, password string) (bool, error) {
	var encoded string
	err := p.db.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, passwordKey).Scan(&encoded)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read password: %w", err)
	}
	if len(password) > MaxPasswordLength {
		return false, nil
	}
	select {
	case p.hashing <- struct{}{}:
		defer func() { <-p.hashing }()
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if encoded == "" {
		hashPassword(password) // the same work as a real check
		return false, nil
	}
	return verifyPassword(encoded, password)
}

// hashPassword returns password's argon2id hash in the PHC string format:
// $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("generate salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verifyPassword checks password against a hash made by hashPassword, with
// the parameters stored in it.
func verifyPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("stored password hash: not an argon2id hash")
	}
	var version int
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("stored password hash: unsupported version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil {
		return false, fmt.Errorf("stored password hash: parameters %q: %w", parts[3], err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("stored password hash: salt: %w", err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("stored password hash: key: %v", err)
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
