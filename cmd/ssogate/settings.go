package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/store"
)

// storedSetting is an organisation setting read by check-config, with
// the email of the administrator who set it.
type storedSetting struct {
	store.Setting
	by string
}

// printSettings writes the organisation settings in effect and where
// each comes from: the YAML's default, or the value an administrator set
// in the console (who, when). check-config reads the store read-only
// (nothing is created or migrated); when it cannot, it says it shows the
// YAML's defaults only.
func printSettings(ctx context.Context, w io.Writer, cfg *config.Config) {
	loc := cfg.Portal.Location
	if loc == nil {
		loc = time.UTC
	}
	var (
		stored []*storedSetting
		note   string
	)
	var err error
	switch cfg.Store.Driver {
	case "sqlite", "":
		stored, err = sqliteSettings(ctx, cfg.Store.DSN)
	case "postgres":
		stored, err = postgresSettings(ctx, cfg.Store.DSN)
	default:
		err = fmt.Errorf("store driver %q is not available", cfg.Store.Driver)
	}
	if err != nil {
		note = fmt.Sprintf("the store could not be read (%v): YAML defaults only; values set in the admin console override them", err)
	}
	if note != "" {
		fmt.Fprintf(w, "organisation settings (%s):\n", note)
	} else {
		fmt.Fprintln(w, "organisation settings:")
	}
	list := make([]*store.Setting, 0, len(stored))
	by := map[string]string{}
	for _, s := range stored {
		list = append(list, &s.Setting)
		by[s.Key] = s.by
	}
	for _, v := range gateway.EffectiveSettings(cfg, list) {
		src := "YAML default"
		if s := v.Stored; s != nil {
			src = fmt.Sprintf("set in the admin console by %s at %s", by[v.Key], s.UpdatedAt.In(loc).Format("2006-01-02 15:04 MST"))
		}
		fmt.Fprintf(w, "  %s: %s (%s)\n", v.Key, v.Value, src)
		if v.Ignored != "" {
			fmt.Fprintf(w, "    stored value not applied: %s\n", v.Ignored)
		}
	}
}

// sqliteSettings reads the stored organisation settings of the SQLite
// database at path, read-only (nothing is created or migrated); none
// when the file or its settings table does not exist yet.
func sqliteSettings(ctx context.Context, path string) ([]*storedSetting, error) {
	db, err := openSQLiteReadOnly(ctx, path, "settings")
	if db == nil || err != nil {
		return nil, err // no file or no table: not migrated to the console's schema yet
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, settingsQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*storedSetting
	for rows.Next() {
		var (
			s  storedSetting
			at int64
		)
		if err := rows.Scan(&s.Key, &s.Value, &s.UpdatedBy, &at, &s.by); err != nil {
			return nil, err
		}
		s.UpdatedAt = time.UnixMilli(at)
		out = append(out, &s)
	}
	return out, rows.Err()
}

// settingsQuery reads the stored settings with their author's email.
const settingsQuery = `SELECT s.key, s.value, s.updated_by, s.updated_at, COALESCE(u.email, s.updated_by)
	FROM settings s LEFT JOIN users u ON u.id = s.updated_by`

// postgresSettings reads the stored organisation settings of the
// PostgreSQL database dsn in a read-only transaction, giving up after
// a few seconds; none when the schema has no settings table yet.
func postgresSettings(ctx context.Context, dsn string) ([]*storedSetting, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('settings') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, nil
	}
	rows, err := tx.Query(ctx, settingsQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*storedSetting
	for rows.Next() {
		var s storedSetting
		if err := rows.Scan(&s.Key, &s.Value, &s.UpdatedBy, &s.UpdatedAt, &s.by); err != nil {
			return nil, err
		}
		out = append(out, &s)
	}
	return out, rows.Err()
}
