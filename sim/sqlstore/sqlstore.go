// Package sqlstore keeps the control plane's state in an embedded SQLite
// database (pure Go, WAL journal, synchronous commits).
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/fleetsim/fleetsim/sim"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Store is a sim.Store on SQLite.
type Store struct {
	db *sql.DB
}

var _ sim.Store = (*Store)(nil)

// Memory is the path of a database that lives only as long as the Store.
const Memory = ":memory:"

// Open opens or creates the database at path (Memory for a throwaway one).
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if path == Memory {
		dsn = "file:fleetsim?mode=memory&_txlock=immediate"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and an in-memory database
	// exists per connection.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS records (
		kind TEXT NOT NULL,
		id   TEXT NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (kind, id)
	) WITHOUT ROWID`); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Load implements sim.Store.
func (s *Store) Load(ctx context.Context, fn func(sim.Record) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, id, data FROM records ORDER BY kind, id`)
	if err != nil {
		return fmt.Errorf("loading state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r sim.Record
		if err := rows.Scan(&r.Kind, &r.ID, &r.Data); err != nil {
			return fmt.Errorf("loading state: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Commit implements sim.Store: the batch is one transaction.
func (s *Store) Commit(ctx context.Context, batch []sim.Record) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for _, r := range batch {
		if r.Data == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM records WHERE kind = ? AND id = ?`, r.Kind, r.ID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO records (kind, id, data) VALUES (?, ?, ?)
				ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data`, r.Kind, r.ID, r.Data)
		}
		if err != nil {
			return fmt.Errorf("saving state: %w", err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	return nil
}

// Close implements sim.Store.
func (s *Store) Close() error { return s.db.Close() }
