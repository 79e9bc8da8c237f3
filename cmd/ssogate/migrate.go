package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ssogate/ssogate/store/postgres"
	"github.com/ssogate/ssogate/store/sqlite"
)

// migrate applies the configured store's migrations, or with --from and
// --to copies an SQLite store into an empty PostgreSQL one.
func (c *cli) migrate(ctx context.Context, args []string) error {
	fs := c.flags("migrate")
	from := fs.String("from", "", "copy from `sqlite:PATH`")
	to := fs.String("to", "", "copy into `postgres:DSN` (postgres: alone for the configured store.dsn)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if (*from == "") != (*to == "") || fs.NArg() > 0 {
		fmt.Fprintln(c.stderr, "ssogate migrate: give both --from sqlite:PATH and --to postgres:DSN, or neither")
		return exitCode(2)
	}
	if *from != "" {
		return c.copyStore(ctx, *from, *to)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	// Opening a store applies its pending migrations (under an advisory
	// lock for postgres); this command does only that, for deployments
	// that migrate before starting replicas.
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.(interface {
		SchemaVersion(context.Context) (int, error)
	}).SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "store %s is migrated (schema version %d)\n", cfg.Store.Driver, v)
	return nil
}

// copyStore copies the SQLite database named by from into the PostgreSQL
// database named by to, and prints the rows of each table.
func (c *cli) copyStore(ctx context.Context, from, to string) error {
	path, ok := strings.CutPrefix(from, "sqlite:")
	if !ok || path == "" {
		fmt.Fprintf(c.stderr, "ssogate migrate: --from must be sqlite:PATH, e.g. sqlite:./data/ssogate.db\n")
		return exitCode(2)
	}
	dsn, ok := strings.CutPrefix(to, "postgres:")
	if !ok {
		fmt.Fprintf(c.stderr, "ssogate migrate: --to must be postgres:DSN, e.g. postgres:postgres://ssogate@db.example.co.jp/ssogate?sslmode=verify-full, or postgres: for the configured store\n")
		return exitCode(2)
	}
	if dsn == "" {
		cfg, err := c.loadConfig()
		if err != nil {
			return err
		}
		if cfg.Store.Driver != "postgres" {
			fmt.Fprintf(c.stderr, "ssogate migrate: --to postgres: names the configured store, but %s configures store.driver %s\n",
				cfg.Path, cfg.Store.Driver)
			return exitCode(2)
		}
		dsn = cfg.Store.DSN
	}
	dump, err := sqlite.Export(ctx, path)
	if err != nil {
		return err
	}
	// Open applies the migrations, so the tables exist to copy into.
	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer dst.Close()
	counts, err := dst.Import(ctx, dump)
	if errors.Is(err, postgres.ErrNotEmpty) {
		fmt.Fprintf(c.stderr, "ssogate migrate: %v\n", err)
		return exitCode(1)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "copied sqlite:%s into postgres in one transaction; rows per table (read = written):\n", path)
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	for _, n := range counts {
		fmt.Fprintf(tw, "  %s\t%d\n", n.Table, n.Rows)
	}
	return tw.Flush()
}

// migrateUsage is the head of `ssogate migrate --help`.
const migrateUsage = "migrate [--from sqlite:PATH --to postgres:[DSN]]\n\n" +
	"Apply the store's migrations and exit. With --from and --to, copy everything in\n" +
	"the SQLite database PATH (users, password hashes, links, keys, secrets,\n" +
	"tickets, sessions, audit events, failure counts, mail still to send, 2-step\n" +
	"verification factors, recovery codes and remembered browsers) into an empty\n" +
	"PostgreSQL database, in one transaction, and print the rows of each\n" +
	"table. \"postgres:\" alone means the configured store.dsn (or dsn_file): a DSN\n" +
	"on the command line is visible to other users of the host, so keep its\n" +
	"password in PGPASSWORD or ~/.pgpass."
