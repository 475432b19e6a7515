// Package pgstore keeps the control plane's state in PostgreSQL, shared by
// several fleetsim processes (replicas) that serve as one simulator: it is
// a sim.SharedStore.
//
// Tables (created if missing, in the connection's search_path):
// fleetsim_records holds each resource's latest JSON; fleetsim_changes is
// the change log, one row per committed write with its records and the
// Events it raised, numbered without gaps; fleetsim_version holds the
// number of the last change. A write takes a transaction-scoped advisory
// lock (pg_advisory_xact_lock), so writes are serialized across replicas,
// reads the changes it has not seen, and commits the next change, which
// NOTIFY announces to the other replicas (LISTEN fleetsim_changes). A
// commit returns once PostgreSQL has made it durable (synchronous_commit
// as the server sets it, on by default), so a replica killed at any moment
// loses nothing it acknowledged. The log keeps the last KeepChanges
// changes; a replica that fell further behind must restart.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fleetsim/fleetsim/sim"
)

// lockKey is the advisory lock of fleetsim's writes ("fleetsim" in ASCII).
const lockKey int64 = 0x666c656574736d

// channel is the NOTIFY channel that announces changes.
const channel = "fleetsim_changes"

// KeepChanges is how many of the latest changes the log keeps.
const KeepChanges = 10000

// Store is a sim.SharedStore on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	cfg  *pgx.ConnConfig // of the watcher's own connection
}

var _ sim.SharedStore = (*Store)(nil)

// IsURL reports whether state names a PostgreSQL database
// (postgres:// or postgresql://) rather than a file.
func IsURL(state string) bool {
	for _, p := range []string{"postgres://", "postgresql://"} {
		if len(state) >= len(p) && state[:len(p)] == p {
			return true
		}
	}
	return false
}

// Redacted returns state with the password of a postgres:// URL masked,
// for logs; anything else unchanged.
func Redacted(state string) string {
	if !IsURL(state) {
		return state
	}
	u, err := url.Parse(state)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// Open connects to the database at url (a postgres:// URL or a libpq
// key=value string) and creates fleetsim's tables if they are missing.
func Open(ctx context.Context, connString string) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	s := &Store{pool: pool, cfg: pcfg.ConnConfig.Copy()}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("state: %w", err)
	}
	return s, nil
}

// migrate creates the tables, under the write lock so that replicas
// starting together do not race.
func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			CREATE TABLE IF NOT EXISTS fleetsim_records (
				kind text NOT NULL,
				id   text NOT NULL,
				data bytea NOT NULL,
				PRIMARY KEY (kind, id)
			);
			CREATE TABLE IF NOT EXISTS fleetsim_changes (
				version bigint PRIMARY KEY,
				records bytea NOT NULL,
				events  bytea,
				at      timestamptz NOT NULL DEFAULT now()
			);
			CREATE TABLE IF NOT EXISTS fleetsim_version (
				one     boolean PRIMARY KEY DEFAULT true CHECK (one),
				version bigint NOT NULL
			);
			INSERT INTO fleetsim_version (version) VALUES (0) ON CONFLICT DO NOTHING`)
		return err
	})
}

// Load implements sim.Store.
func (s *Store) Load(ctx context.Context, fn func(sim.Record) error) error {
	_, err := s.Snapshot(ctx, fn)
	return err
}

// Snapshot implements sim.SharedStore: the records and the version are
// read in one repeatable-read transaction.
func (s *Store) Snapshot(ctx context.Context, fn func(sim.Record) error) (version int64, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM fleetsim_version`).Scan(&version); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT kind, id, data FROM fleetsim_records ORDER BY kind, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r sim.Record
			if err := rows.Scan(&r.Kind, &r.ID, &r.Data); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("loading state: %w", err)
	}
	return version, nil
}

// Commit implements sim.Store: the batch is one change without Events.
func (s *Store) Commit(ctx context.Context, batch []sim.Record) error {
	tx, _, err := s.begin(ctx, -1)
	if err != nil {
		return err
	}
	_, err = tx.Commit(ctx, batch, nil)
	return err
}

// Begin implements sim.SharedStore.
func (s *Store) Begin(ctx context.Context, since int64) (sim.SharedTx, []sim.Change, error) {
	return s.begin(ctx, since)
}

// begin starts a write; since < 0 reads no changes.
func (s *Store) begin(ctx context.Context, since int64) (*tx, []sim.Change, error) {
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("saving state: %w", err)
	}
	if _, err := ptx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
		_ = ptx.Rollback(ctx)
		return nil, nil, fmt.Errorf("saving state: %w", err)
	}
	var changes []sim.Change
	if since >= 0 {
		if changes, err = changesAfter(ctx, ptx, since); err != nil {
			_ = ptx.Rollback(ctx)
			return nil, nil, err
		}
	}
	return &tx{tx: ptx}, changes, nil
}

// Changes implements sim.SharedStore.
func (s *Store) Changes(ctx context.Context, since int64) ([]sim.Change, error) {
	return changesAfter(ctx, s.pool, since)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func changesAfter(ctx context.Context, q querier, since int64) ([]sim.Change, error) {
	rows, err := q.Query(ctx, `SELECT version, records, events FROM fleetsim_changes WHERE version > $1 ORDER BY version`, since)
	if err != nil {
		return nil, fmt.Errorf("reading changes: %w", err)
	}
	defer rows.Close()
	var out []sim.Change
	for rows.Next() {
		var ch sim.Change
		var recs []byte
		if err := rows.Scan(&ch.Version, &recs, &ch.Events); err != nil {
			return nil, fmt.Errorf("reading changes: %w", err)
		}
		if len(out) == 0 && ch.Version != since+1 {
			return nil, fmt.Errorf("change %d follows %d: %w", ch.Version, since, sim.ErrChangesTrimmed)
		}
		if ch.Records, err = decodeRecords(recs); err != nil {
			return nil, fmt.Errorf("reading change %d: %w", ch.Version, err)
		}
		out = append(out, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading changes: %w", err)
	}
	return out, nil
}

// Version implements sim.SharedStore.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM fleetsim_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the state's version: %w", err)
	}
	return v, nil
}

// Watch implements sim.SharedStore: it LISTENs on its own connection,
// reconnecting after a failure, and wakes the caller on every
// notification, after every (re)connection and every pollEvery.
func (s *Store) Watch(ctx context.Context, wake func()) {
	const pollEvery = 2 * time.Second
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, s.cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+channel)
		}
		for err == nil {
			wake()
			wctx, cancel := context.WithTimeout(ctx, pollEvery)
			_, err = conn.WaitForNotification(wctx)
			cancel()
			if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				err = nil
			}
		}
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(cctx)
			cancel()
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Close implements sim.Store.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// tx is a write holding the lock.
type tx struct{ tx pgx.Tx }

// Commit implements sim.SharedTx: records, change, version and
// notification in one round trip, then COMMIT.
func (t *tx) Commit(ctx context.Context, recs []sim.Record, events []byte) (int64, error) {
	enc, err := encodeRecords(recs)
	if err != nil {
		_ = t.tx.Rollback(ctx)
		return 0, err
	}
	var b pgx.Batch
	for _, r := range recs {
		if r.Data == nil {
			b.Queue(`DELETE FROM fleetsim_records WHERE kind = $1 AND id = $2`, r.Kind, r.ID)
		} else {
			b.Queue(`INSERT INTO fleetsim_records (kind, id, data) VALUES ($1, $2, $3)
				ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data`, r.Kind, r.ID, r.Data)
		}
	}
	var v int64
	b.Queue(`UPDATE fleetsim_version SET version = version + 1 RETURNING version`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&v)
	})
	b.Queue(`INSERT INTO fleetsim_changes (version, records, events) SELECT version, $1, $2 FROM fleetsim_version`, enc, events)
	b.Queue(`SELECT pg_notify($1, version::text) FROM fleetsim_version`, channel)
	b.Queue(`DELETE FROM fleetsim_changes WHERE version <= (SELECT version FROM fleetsim_version) - $1
		AND (SELECT version FROM fleetsim_version) % 256 = 0`, KeepChanges)
	if err := t.tx.SendBatch(ctx, &b).Close(); err != nil {
		_ = t.tx.Rollback(ctx)
		return 0, fmt.Errorf("saving state: %w", err)
	}
	if err := t.tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("saving state: %w", err)
	}
	return v, nil
}

// Rollback implements sim.SharedTx.
func (t *tx) Rollback(ctx context.Context) { _ = t.tx.Rollback(ctx) }

// wireRecord is a record in the change log; Data is the resource's JSON
// as is, null for a deletion.
type wireRecord struct {
	Kind string          `json:"k"`
	ID   string          `json:"i"`
	Data json.RawMessage `json:"d"`
}

func encodeRecords(recs []sim.Record) ([]byte, error) {
	w := make([]wireRecord, len(recs))
	for i, r := range recs {
		w[i] = wireRecord{Kind: r.Kind, ID: r.ID, Data: r.Data}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("saving state: %w", err)
	}
	return b, nil
}

func decodeRecords(b []byte) ([]sim.Record, error) {
	var w []wireRecord
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([]sim.Record, len(w))
	for i, r := range w {
		out[i] = sim.Record{Kind: r.Kind, ID: r.ID}
		if string(r.Data) != "null" && r.Data != nil {
			out[i].Data = []byte(r.Data)
		}
	}
	return out, nil
}
