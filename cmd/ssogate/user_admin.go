package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/store"
)

// cliAdmin is the CLI as the actor of an administrator's action:
// "cli:<login name>", as the CLI's other audit events name it.
func cliAdmin() account.Admin {
	name := "cli"
	if u := os.Getenv("USER"); u != "" {
		name = "cli:" + u
	}
	return account.Admin{Name: name}
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// userSet changes the fields whose flags are given, through the same
// flow as the console (provider-owned fields refused, audited).
func (c *cli) userSet(ctx context.Context, args []string) error {
	fs := c.flags("user set")
	email := fs.String("email", "", "login id")
	name := fs.String("name", "", "display name")
	groups := fs.String("groups", "", "comma-separated groups (replaces the list; empty clears it)")
	role := fs.String("role", "", "user or admin")
	phone := fs.String("phone", "", "phone number")
	mobile := fs.String("mobile", "", "mobile number")
	org := fs.String("organization", "", "organisation")
	dept := fs.String("department", "", "department")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	given := setFlags(fs)
	pick := func(flagName string, v *string) *string {
		if given[flagName] {
			return v
		}
		return nil
	}
	e := account.UserEdit{DisplayName: pick("name", name), Phone: pick("phone", phone), Mobile: pick("mobile", mobile),
		Organization: pick("organization", org), Department: pick("department", dept)}
	if given["groups"] {
		list := splitList(*groups)
		e.Groups = &list
	}
	if given["role"] {
		r := store.Role(*role)
		if r != store.RoleUser && r != store.RoleAdmin {
			return fmt.Errorf("user set: --role must be user or admin, got %q", *role)
		}
		e.Role = &r
	}
	if e.DisplayName == nil && e.Phone == nil && e.Mobile == nil && e.Organization == nil && e.Department == nil &&
		e.Groups == nil && e.Role == nil {
		return errors.New("user set: nothing to change; give at least one of --name, --groups, --role, --phone, --mobile, --organization, --department")
	}
	a, u, err := c.openUser(ctx, "user set", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	if e.Managed, err = a.gateway.ManagedFields(ctx, u.ID); err != nil {
		return fmt.Errorf("user set: %w", err)
	}
	updated, err := a.gateway.Account().EditUser(ctx, cliAdmin(), u.ID, e)
	var ee *account.AdminEditError
	switch {
	case errors.As(err, &ee) && errors.Is(err, account.ErrManagedField):
		return fmt.Errorf("user set: %s is set by the sign-in provider %s; it cannot be changed here", ee.Field, e.Managed[ee.Field])
	case errors.As(err, &ee):
		return fmt.Errorf("user set: %s: invalid value (control characters, a comma in a group, or over 100 characters)", ee.Field)
	case err != nil:
		return fmt.Errorf("user set: %w", err)
	}
	fmt.Fprintf(c.stdout, "%s: name %q, groups %q, role %s, phone %q, mobile %q, organization %q, department %q\n",
		updated.Email, updated.DisplayName, strings.Join(updated.Groups, ","), updated.Role,
		updated.Phone, updated.Mobile, updated.Organization, updated.Department)
	return nil
}

// userDelete deletes a user once the email is typed again on a terminal,
// or with --yes.
func (c *cli) userDelete(ctx context.Context, args []string) error {
	fs := c.flags("user delete")
	email := fs.String("email", "", "login id")
	yes := fs.Bool("yes", false, "do not ask to type the email again")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if !*yes && !c.onTerminal() {
		return errors.New("user delete: to delete without a terminal to confirm on, add --yes")
	}
	a, u, err := c.openUser(ctx, "user delete", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	confirm := u.Email
	if !*yes {
		fmt.Fprintf(c.stderr, "Deleting %s (%s) ends their sessions and removes the account; the audit log stays.\nType the email address to confirm: ", u.Email, u.DisplayName)
		line, err := bufio.NewReader(io.LimitReader(c.stdin, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("user delete: %w", err)
		}
		confirm = strings.TrimSpace(line)
	}
	if _, err := a.gateway.Account().DeleteUser(ctx, cliAdmin(), u.ID, confirm); errors.Is(err, account.ErrConfirmMismatch) {
		return fmt.Errorf("user delete: %q is not %s; nothing was deleted", confirm, u.Email)
	} else if err != nil {
		return fmt.Errorf("user delete: %w", err)
	}
	fmt.Fprintf(c.stdout, "deleted user %s; sessions ended, audit log kept\n", u.Email)
	return nil
}

// userSessions lists the user's live sessions.
func (c *cli) userSessions(ctx context.Context, args []string) error {
	fs := c.flags("user sessions")
	email := fs.String("email", "", "login id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, u, err := c.openUser(ctx, "user sessions", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.gateway.Account().Sessions(ctx, u.ID)
	if err != nil {
		return err
	}
	loc := a.cfg.Portal.Location
	rows := [][]string{{"ID", "SIGNED IN (" + loc.String() + ")", "LAST SEEN", "ADDRESS", "BROWSER"}}
	for _, s := range list {
		rows = append(rows, []string{s.ID, s.CreatedAt.In(loc).Format(time.DateTime), s.LastSeenAt.In(loc).Format(time.DateTime),
			orDash(s.ClientIP), orDash(truncateRunes(s.UserAgent, 60))})
	}
	return writeTable(c.stdout, rows)
}

// userRevoke ends one session of the user, or all of them.
func (c *cli) userRevoke(ctx context.Context, args []string) error {
	fs := c.flags("user revoke")
	email := fs.String("email", "", "login id")
	id := fs.String("id", "", "the session's ID, as user sessions lists it")
	all := fs.Bool("all", false, "end every session of the user")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if (*id == "") == !*all {
		return errors.New("user revoke: give either --id ID or --all")
	}
	a, u, err := c.openUser(ctx, "user revoke", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.gateway.Account()
	if *all {
		n, err := svc.RevokeAllSessions(ctx, cliAdmin(), u.ID)
		if err != nil {
			return fmt.Errorf("user revoke: %w", err)
		}
		fmt.Fprintf(c.stdout, "%s: %d sessions ended\n", u.Email, n)
		return nil
	}
	if err := svc.RevokeSession(ctx, cliAdmin(), u.ID, *id); errors.Is(err, account.ErrNoSuchSession) {
		return fmt.Errorf("user revoke: %s has no live session %q (see ssogate user sessions)", u.Email, *id)
	} else if err != nil {
		return fmt.Errorf("user revoke: %w", err)
	}
	fmt.Fprintf(c.stdout, "%s: session ended\n", u.Email)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// truncateRunes shortens s to n characters, marking the cut.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
