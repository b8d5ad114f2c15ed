// Package storetest gives each test its own PostgreSQL database, cloned from a
// migrated template so that tests run in parallel and never see each other's
// rows. The server is taken from DROPCAST_TEST_DATABASE_URL (default: the local
// server's "postgres" database, user postgres).
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/store"
)

// DefaultURL is the maintenance database used when DROPCAST_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// advisoryLockKey serializes template creation across test processes.
const advisoryLockKey = 0x64726f70 // "drop"

// BaseURL returns the maintenance database URL tests connect to.
func BaseURL() string {
	if u := os.Getenv("DROPCAST_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New creates a fresh, migrated database for t and returns a pool on it. The
// database is dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := NewWithURL(t)
	return pool
}

// NewWithURL is New that also returns the database's URL, for code under test
// that opens its own connections.
func NewWithURL(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	base := BaseURL()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("storetest: connect %s: %v (is PostgreSQL running?)", base, err)
	}
	defer admin.Close(ctx)

	tmpl := "dropcast_tmpl_" + migrationsHash(t)
	ensureTemplate(ctx, t, admin, base, tmpl)

	name := "dropcast_test_" + randomHex(t, 8)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(tmpl)); err != nil {
		t.Fatalf("storetest: clone template: %v", err)
	}
	dbURL := withDatabase(t, base, name)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", name, err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("storetest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Logf("storetest: drop %s: %v", name, err)
		}
	})
	return pool, dbURL
}

// EmptyURL creates an empty database (no migrations) for t and returns its
// URL; it is dropped when the test ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	base := BaseURL()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("storetest: connect %s: %v", base, err)
	}
	defer admin.Close(ctx)
	name := "dropcast_test_" + randomHex(t, 8)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
	})
	return withDatabase(t, base, name)
}

func ensureTemplate(ctx context.Context, t testing.TB, admin *pgx.Conn, base, tmpl string) {
	t.Helper()
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", advisoryLockKey); err != nil {
		t.Fatalf("storetest: lock: %v", err)
	}
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", advisoryLockKey) //nolint:errcheck

	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tmpl).Scan(&exists); err != nil {
		t.Fatalf("storetest: look up template: %v", err)
	}
	if exists {
		return
	}
	building := tmpl + "_building"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(building)+" WITH (FORCE)"); err != nil {
		t.Fatalf("storetest: drop stale template: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(building)); err != nil {
		t.Fatalf("storetest: create template: %v", err)
	}
	pool, err := pgxpool.New(ctx, withDatabase(t, base, building))
	if err != nil {
		t.Fatalf("storetest: open template: %v", err)
	}
	_, err = store.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pool.Close()
	if err != nil {
		t.Fatalf("storetest: migrate template: %v", err)
	}
	// Renaming only after a complete migration means a crash never leaves a
	// half-built template under the final name.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident(building)+" RENAME TO "+ident(tmpl)); err != nil {
		t.Fatalf("storetest: publish template: %v", err)
	}
	dropStaleTemplates(ctx, t, admin, tmpl)
}

// dropStaleTemplates removes templates of earlier migration sets, so they do
// not pile up as the schema changes. It is best effort: a template that is
// being cloned right now (another checkout's tests) is in use and stays.
func dropStaleTemplates(ctx context.Context, t testing.TB, admin *pgx.Conn, keep string) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'dropcast\_tmpl\_%' AND datname <> $1`, keep)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_building") {
			continue
		}
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)); err != nil {
			t.Logf("storetest: keep stale template %s: %v", name, err)
		}
	}
}

func migrationsHash(t testing.TB) string {
	t.Helper()
	h := sha256.New()
	err := fs.WalkDir(store.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(store.Migrations(), path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatalf("storetest: hash migrations: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func withDatabase(t testing.TB, base, name string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: parse %s: %v", base, err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }
