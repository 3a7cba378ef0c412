package auth

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestSessionsAreStoredOnlyAsHashes(t *testing.T) {
	tokens, db := openTokens(t)
	sessions := NewSessions(db)
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sess, err := sessions.Create(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.ID) < 43 || len(sess.CSRFToken) < 43 || sess.ID == sess.CSRFToken {
		t.Fatalf("session %+v: want two distinct 32-byte secrets", sess)
	}
	var stored string
	db.Read().QueryRowContext(ctx, `SELECT id_hash FROM sessions`).Scan(&stored)
	if stored == "" || strings.Contains(stored, sess.ID) {
		t.Errorf("stored %q for session %q: want a hash", stored, sess.ID)
	}
	for _, id := range []string{stored, "", sess.ID + "x"} {
		if _, ok, err := sessions.Lookup(ctx, id, now); ok || err != nil {
			t.Errorf("Lookup(%q) = %v, %v; want no session", id, ok, err)
		}
	}
	// A session is no API token, nor the other way round.
	if ok, _ := tokens.Valid(ctx, sess.ID); ok {
		t.Error("a session ID is accepted as a token")
	}
}

func TestSessionExpiry(t *testing.T) {
	_, db := openTokens(t)
	sessions := NewSessions(db)
	ctx := context.Background()
	login := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		uses []time.Duration // after login, each must find the session
		at   time.Duration   // the last lookup, after login
		ok   bool
		// expires is when the session found at `at` expires, after login.
		expires time.Duration
	}{
		{"fresh", nil, time.Second, true, SessionIdle},
		{"within the idle timeout", nil, SessionIdle - time.Second, true, 2*SessionIdle - time.Second},
		{"idle too long", nil, SessionIdle, false, 0},
		{"kept alive by use", []time.Duration{10 * time.Hour, 20 * time.Hour}, 30 * time.Hour, true, 30*time.Hour + SessionIdle},
		{"kept alive, but not past its longest life", everyTenHours(SessionMaxAge), SessionMaxAge - time.Hour, true, SessionMaxAge},
		{"past its longest life", everyTenHours(SessionMaxAge), SessionMaxAge, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := sessions.Create(ctx, login)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range tc.uses {
				if _, ok, err := sessions.Lookup(ctx, sess.ID, login.Add(u)); !ok || err != nil {
					t.Fatalf("use at +%v: %v, %v", u, ok, err)
				}
			}
			got, ok, err := sessions.Lookup(ctx, sess.ID, login.Add(tc.at))
			if err != nil || ok != tc.ok {
				t.Fatalf("Lookup at +%v = %v, %v; want %v", tc.at, ok, err, tc.ok)
			}
			if ok && (!got.ExpiresAt.Equal(login.Add(tc.expires)) || got.CSRFToken != sess.CSRFToken) {
				t.Errorf("session expires at +%v (csrf %q), want +%v (%q)", got.ExpiresAt.Sub(login), got.CSRFToken, tc.expires, sess.CSRFToken)
			}
		})
	}
}

func everyTenHours(until time.Duration) []time.Duration {
	var uses []time.Duration
	for d := 10 * time.Hour; d < until-time.Hour; d += 10 * time.Hour {
		uses = append(uses, d)
	}
	return uses
}

func TestDeletedSessionIsGoneAndExpiredOnesArePurged(t *testing.T) {
	_, db := openTokens(t)
	sessions := NewSessions(db)
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	old, _ := sessions.Create(ctx, now)
	kept, _ := sessions.Create(ctx, now)
	if err := sessions.Delete(ctx, kept.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := sessions.Lookup(ctx, kept.ID, now); ok {
		t.Error("a deleted session is still found")
	}
	if _, err := sessions.Create(ctx, now.Add(SessionIdle)); err != nil {
		t.Fatal(err)
	}
	var n int
	db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&n)
	if n != 1 {
		t.Errorf("%d sessions stored; want only the new one (%q expired)", n, old.ID)
	}
}
