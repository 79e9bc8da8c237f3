package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/store"
)

// PasswordHashes lists every stored hash, so that the local provider knows
// what stored hashes cost from its first sign-in on.
func (a accounts) PasswordHashes(ctx context.Context) (map[string]string, error) {
	users, err := a.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(users))
	for _, u := range users {
		h, err := a.st.PasswordHash(ctx, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[u.ID] = h
	}
	return out, nil
}

// UpdatePasswordHash stores a rehashed password unless the stored hash
// changed since it was verified. The window between the read and the write
// is a few milliseconds, where a password change could otherwise be lost
// to a rehash of the old password.
func (a accounts) UpdatePasswordHash(ctx context.Context, userID, old, encoded string) error {
	cur, err := a.st.PasswordHash(ctx, userID)
	if err != nil {
		return err
	}
	if cur != old {
		return local.ErrHashChanged
	}
	return a.st.SetPasswordHash(ctx, userID, encoded)
}

// checkHashingBudget refuses a local provider (providers[i]) whose hashing
// budget of budgetKiB is smaller than the memory a stored hash needs: that
// account could never sign in, and would be refused in a way that tells it
// apart from an unknown email. The error names the key's line as
// configuration errors do.
func checkHashingBudget(cfg *config.Config, i int, budgetKiB int64, costs []local.StoredCost) *config.Error {
	var worst local.StoredCost
	over := 0
	for _, c := range costs {
		if int64(c.MemoryKiB) > budgetKiB {
			over += c.Accounts
			if c.MemoryKiB > worst.MemoryKiB {
				worst = c
			}
		}
	}
	if over == 0 {
		return nil
	}
	pc := cfg.Providers[i]
	memory := int64(pc.Local.Hashing.MemoryKiB)
	if memory == 0 {
		memory = local.DefaultMemory
	}
	need := (int64(worst.MemoryKiB) + memory - 1) / memory
	hashes := "1 stored password hash needs"
	if over > 1 {
		hashes = fmt.Sprintf("%d stored password hashes need", over)
	}
	return cfg.ErrorAt(fmt.Sprintf("providers[%d].hashing.max_in_flight", i),
		"the hashing budget (max_in_flight × memory_kib) is %d KiB, less than the %d KiB that %s (%s), so those accounts could not sign in; raise max_in_flight to %d or more (or memory_kib, so that max_in_flight × memory_kib is at least %d), or reset those passwords",
		budgetKiB, worst.MemoryKiB, hashes, worst.Cost, need, worst.MemoryKiB)
}

// checkHashingBudgets is serve's start-up check: every local provider's
// budget against the stored hashes it learned of when it opened. The CLI's
// user commands do not refuse, so that `user set-password` can still
// reset the password of an account the budget leaves out.
func (a *app) checkHashingBudgets() error {
	return checkHashingBudgetsOf(a.cfg, a.providers)
}

// checkHashingBudgetsOf checks the local providers of reg, opened for cfg:
// serve's start-up check, and a reload's before it swaps anything.
func checkHashingBudgetsOf(cfg *config.Config, reg *providers.Registry) error {
	var errs config.Errors
	for i, pc := range cfg.Providers {
		p, _ := reg.Get(pc.ID)
		lp, ok := p.(*local.Provider)
		if !ok || pc.Local == nil {
			continue
		}
		if err := checkHashingBudget(cfg, i, lp.BudgetKiB(), lp.StoredCosts()); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// checkStoredHashes is check-config's view of checkHashingBudget: it reads
// the cost of each hash in the SQLite store read-only, so that checking a
// file never creates the database or applies migrations that a running
// older gateway could not read. A store that does not exist yet holds no
// hash.
func checkStoredHashes(ctx context.Context, cfg *config.Config) error {
	if cfg.Store.Driver != "sqlite" {
		return nil
	}
	var locals []int
	for i, pc := range cfg.Providers {
		if pc.Type == "local" && pc.Local != nil {
			locals = append(locals, i)
		}
	}
	if len(locals) == 0 {
		return nil
	}
	costs, err := sqliteHashCosts(ctx, cfg.Store.DSN)
	if err != nil {
		return fmt.Errorf("check-config: read the stored password hashes: %w", err)
	}
	var errs config.Errors
	for _, i := range locals {
		lc := localConfig(cfg.Providers[i])
		budget := int64(lc.MaxInFlight) * int64(lc.Memory)
		if err := checkHashingBudget(cfg, i, budget, costs); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// sqliteHashCosts counts the stored password hashes of the SQLite database
// at path by cost, opening it read-only.
func sqliteHashCosts(ctx context.Context, path string) ([]local.StoredCost, error) {
	db, err := openSQLiteReadOnly(ctx, path, "passwords")
	if db == nil || err != nil {
		return nil, err // no file or no table: not migrated yet
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT hash FROM passwords`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[local.Cost]int{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		// A malformed hash is refused at its own sign-in, naming its user.
		if c, err := local.HashCost(h); err == nil {
			counts[c]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]local.StoredCost, 0, len(counts))
	for c, n := range counts {
		out = append(out, local.StoredCost{Cost: c, Accounts: n})
	}
	return out, nil
}

// openSQLiteReadOnly opens the SQLite database at path read-only, for
// check-config, which must create and migrate nothing: nil (and no
// error) when the file does not exist or has no table named table yet.
func openSQLiteReadOnly(ctx context.Context, path, table string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro&_busy_timeout=5000"}
	db, err := sql.Open("sqlite3", u.String())
	if err != nil {
		return nil, err
	}
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&tables); err != nil {
		db.Close()
		return nil, err
	}
	if tables == 0 {
		db.Close()
		return nil, nil
	}
	return db, nil
}
