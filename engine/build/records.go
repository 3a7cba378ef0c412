package build

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/store"
)

// records keeps builds as rows of the builds table.
type records struct{ db *store.DB }

func (r records) insert(ctx context.Context, rec *Record) error {
	tags, err := json.Marshal(rec.Tags)
	if err != nil {
		return fmt.Errorf("encode tags: %w", err)
	}
	return r.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO builds (id, status, dockerfile, context_digest, tags, started_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			rec.ID, rec.Status, rec.Dockerfile, rec.ContextDigest.String(), string(tags), rec.Started.UnixNano())
		if err != nil {
			return fmt.Errorf("record build %s: %w", rec.ID, err)
		}
		return nil
	})
}

// finish stores a build's outcome and its whole log. It runs on its own
// context: a cancelled build must still be recorded as such.
func (r records) finish(rec *Record, log string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var imageID any
	if rec.ImageID != "" {
		imageID = rec.ImageID.String()
	}
	return r.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE builds SET status = ?, image_id = ?, log = ?, error = ?,
			exit_code = ?, failed_container = ?, finished_at = ? WHERE id = ?`,
			rec.Status, imageID, log, rec.Error, rec.ExitCode, rec.FailedContainer, rec.Finished.UnixNano(), rec.ID)
		if err != nil {
			return fmt.Errorf("record the end of build %s: %w", rec.ID, err)
		}
		return nil
	})
}

// interrupted marks the builds a stopped daemon left running as failed.
func (r records) interrupted(ctx context.Context, now time.Time) error {
	return r.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE builds SET status = ?, error = ?, finished_at = ? WHERE status = ?`,
			StatusFailed, "the daemon stopped during the build", now.UnixNano(), StatusRunning)
		if err != nil {
			return fmt.Errorf("mark interrupted builds: %w", err)
		}
		return nil
	})
}

const recordColumns = `id, status, dockerfile, context_digest, tags, COALESCE(image_id, ''), started_at,
	COALESCE(finished_at, 0), error, exit_code, failed_container`

func (r records) list(ctx context.Context) ([]Record, error) {
	rows, err := r.db.Read().QueryContext(ctx, `SELECT `+recordColumns+` FROM builds ORDER BY started_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list builds: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list builds: %w", err)
	}
	return out, nil
}

// get returns build id's record and its stored log.
func (r records) get(ctx context.Context, id string) (*Record, string, error) {
	row := r.db.Read().QueryRowContext(ctx, `SELECT `+recordColumns+`, log FROM builds WHERE id = ?`, id)
	var log string
	rec, err := scanRecord(row, &log)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", errdefs.ErrNotFound.WithMessage("no such build: " + id)
	}
	if err != nil {
		return nil, "", err
	}
	return rec, log, nil
}

func scanRecord(row interface{ Scan(...any) error }, extra ...any) (*Record, error) {
	var rec Record
	var contextDigest, tags, imageID string
	var started, finished int64
	dest := append([]any{&rec.ID, &rec.Status, &rec.Dockerfile, &contextDigest, &tags, &imageID, &started,
		&finished, &rec.Error, &rec.ExitCode, &rec.FailedContainer}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, fmt.Errorf("read build record: %w", err)
	}
	if err := json.Unmarshal([]byte(tags), &rec.Tags); err != nil {
		return nil, fmt.Errorf("read tags of build %s: %w", rec.ID, err)
	}
	rec.ContextDigest, rec.ImageID = digest.Digest(contextDigest), digest.Digest(imageID)
	rec.Started = time.Unix(0, started).UTC()
	if finished != 0 {
		rec.Finished = time.Unix(0, finished).UTC()
	}
	return &rec, nil
}
