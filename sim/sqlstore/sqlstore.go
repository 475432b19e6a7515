// Package sqlstore keeps the control plane's state in an embedded SQLite
// database (pure Go, WAL journal).
//
// Durability: in WAL mode a commit is appended to the write-ahead log.
// With synchronous=FULL (the default, SyncFull) the log is fsynced at every
// commit, so an acknowledged write survives a process kill and a power
// loss or OS crash. With synchronous=NORMAL (SyncNormal) the log is
// fsynced only at checkpoints: an acknowledged write is in the OS page
// cache and survives kill -9 of the process, but the last commits before a
// power loss or OS crash may be lost (the database stays consistent). The
// control plane commits writes in groups (see sim.Control), so the fsync
// of FULL is paid once per group, not once per write.
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
	// upsert and del are prepared once, on the one connection; each
	// Commit binds them to its transaction (Tx.StmtContext reuses the
	// connection's prepared statement rather than parsing the SQL again).
	upsert, del *sql.Stmt
}

// Sync is SQLite's synchronous setting in WAL mode.
type Sync uint8

// Sync settings.
const (
	SyncFull   Sync = iota // fsync the log at every commit: survives power loss
	SyncNormal             // fsync at checkpoints only: survives kill -9, not power loss
)

// Option configures Open.
type Option func(*options)

type options struct{ sync Sync }

// WithSync sets the synchronous setting (default SyncFull).
func WithSync(s Sync) Option { return func(o *options) { o.sync = s } }

var _ sim.Store = (*Store)(nil)

// Memory is the path of a database that lives only as long as the Store.
const Memory = ":memory:"

// Open opens or creates the database at path (Memory for a throwaway one).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	sync := "FULL"
	if o.sync == SyncNormal {
		sync = "NORMAL"
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
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
	st := &Store{db: db}
	if st.upsert, err = db.PrepareContext(ctx, `INSERT INTO records (kind, id, data) VALUES (?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data`); err == nil {
		st.del, err = db.PrepareContext(ctx, `DELETE FROM records WHERE kind = ? AND id = ?`)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	return st, nil
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
	var upsert, del *sql.Stmt
	for _, r := range batch {
		if r.Data == nil {
			if del == nil {
				del = tx.StmtContext(ctx, s.del)
			}
			_, err = del.ExecContext(ctx, r.Kind, r.ID)
		} else {
			if upsert == nil {
				upsert = tx.StmtContext(ctx, s.upsert)
			}
			_, err = upsert.ExecContext(ctx, r.Kind, r.ID, r.Data)
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
func (s *Store) Close() error {
	s.upsert.Close()
	s.del.Close()
	return s.db.Close()
}
