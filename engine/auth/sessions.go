package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/skiff-dev/skiff/engine/store"
)

// Session lifetimes. A session ends after SessionIdle without use (each use
// pushes its expiry forward) and in any case SessionMaxAge after the login,
// so a stolen cookie that is kept busy still dies.
const (
	SessionIdle   = 12 * time.Hour
	SessionMaxAge = 7 * 24 * time.Hour
	// renewAfter spares a write per request: an expiry moves forward only
	// once it is this much older than a fresh one would be.
	renewAfter = time.Minute
)

// Session is a logged-in dashboard client.
type Session struct {
	// ID is the secret the session cookie carries. Only its hash is stored.
	ID string
	// CSRFToken must come back in the X-CSRF-Token header of every
	// state-changing request the session makes.
	CSRFToken string
	ExpiresAt time.Time
}

// Sessions keeps the dashboard's sessions server-side, so that logging out
// or changing the password ends them for good.
type Sessions struct {
	db *store.DB
}

// NewSessions returns the session store kept in db.
func NewSessions(db *store.DB) *Sessions { return &Sessions{db: db} }

// Create starts a session at now. It also forgets the sessions that have
// expired, which keeps the table small without a sweeper.
func (s *Sessions) Create(ctx context.Context, now time.Time) (Session, error) {
	id, err := randomString()
	if err != nil {
		return Session{}, err
	}
	csrf, err := randomString()
	if err != nil {
		return Session{}, err
	}
	sess := Session{ID: id, CSRFToken: csrf, ExpiresAt: now.Add(SessionIdle)}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO sessions(id_hash, csrf_token, created_at, expires_at, ends_at) VALUES (?, ?, ?, ?, ?)`,
			hash(id), csrf, now.UnixNano(), sess.ExpiresAt.UnixNano(), now.Add(SessionMaxAge).UnixNano())
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("store session: %w", err)
	}
	return sess, nil
}

// Lookup returns the live session whose ID is id, its expiry pushed to now
// plus SessionIdle (capped by its longest life); ok is false for an unknown
// or expired one.
func (s *Sessions) Lookup(ctx context.Context, id string, now time.Time) (sess Session, ok bool, err error) {
	if id == "" {
		return Session{}, false, nil
	}
	var expires, ends int64
	err = s.db.Read().QueryRowContext(ctx, `SELECT csrf_token, expires_at, ends_at FROM sessions WHERE id_hash = ?`, hash(id)).
		Scan(&sess.CSRFToken, &expires, &ends)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("look up session: %w", err)
	}
	if now.UnixNano() >= expires {
		return Session{}, false, nil
	}
	sess.ID = id
	sess.ExpiresAt = time.Unix(0, expires)
	renewed := time.Unix(0, min(now.Add(SessionIdle).UnixNano(), ends))
	if renewed.Sub(sess.ExpiresAt) < renewAfter {
		return sess, true, nil
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET expires_at = ? WHERE id_hash = ?`, renewed.UnixNano(), hash(id))
		return err
	})
	if err != nil {
		return Session{}, false, fmt.Errorf("renew session: %w", err)
	}
	sess.ExpiresAt = renewed
	return sess, true, nil
}

// Delete ends the session whose ID is id, if there is one.
func (s *Sessions) Delete(ctx context.Context, id string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hash(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// randomString is 32 random bytes, base64url-encoded.
func randomString() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate a random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
