package engine

import (
	"context"
	"time"

	"github.com/skiff-dev/skiff/engine/auth"
)

// The dashboard's credentials: the admin password and the sessions opened
// by logging in with it or with a token (see engine/auth).

// CheckPassword reports whether password is the admin password.
func (e *Engine) CheckPassword(ctx context.Context, password string) (bool, error) {
	return e.password.Check(ctx, password)
}

// SetPassword replaces the admin password and ends every session.
func (e *Engine) SetPassword(ctx context.Context, password string) error {
	return e.password.Set(ctx, password)
}

// CreateSession starts a dashboard session at now.
func (e *Engine) CreateSession(ctx context.Context, now time.Time) (auth.Session, error) {
	return e.sessions.Create(ctx, now)
}

// LookupSession returns the live session whose ID is id, its idle expiry
// renewed; ok is false for an unknown or expired one.
func (e *Engine) LookupSession(ctx context.Context, id string, now time.Time) (auth.Session, bool, error) {
	return e.sessions.Lookup(ctx, id, now)
}

// DeleteSession ends the session whose ID is id.
func (e *Engine) DeleteSession(ctx context.Context, id string) error {
	return e.sessions.Delete(ctx, id)
}
