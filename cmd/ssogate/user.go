package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/store"
)

const userUsage = `usage: ssogate user COMMAND [flags]

  add           --email E --name N [--groups g1,g2] [--role user|admin] [--phone P] [--mobile M]
                [--organization O] [--department D] [--password-stdin] [--must-change-password]
                [--if-not-exists]
  list
  set-password  --email E      (new password from stdin; ends the user's sessions)
  disable       --email E      (ends the user's sessions)
  enable        --email E
  unlock        --email E      (a locked account: active again, failure counts cleared)
  set-methods   --email E --methods id1,id2   (providers that may sign the user in; empty = any)
  links         --email E      (the user's linked identities at federated providers)
  unlink        --email E --provider ID
  reset-2fa     --email E      (removes the 2-step registration: methods, recovery
                codes, remembered browsers; the person sets it up again)
  set           --email E [--name N] [--groups g1,g2] [--role user|admin] [--phone P]
                [--mobile M] [--organization O] [--department D]   (only the flags given change)
  delete        --email E [--yes]   (asks to type the email on a terminal; sessions end,
                the audit log stays)
  sessions      --email E      (the user's live sessions)
  revoke        --email E (--id ID | --all)   (end one session, or all of them)

Passwords are read from standard input (or asked for on a terminal), never
taken from the command line. A user added without a password (no
--password-stdin, not on a terminal) signs in after an invitation or a
password reset, or with a federated provider. With --must-change-password (and
--password-stdin) the password is an initial one: after signing in, the
person reaches nothing but the password change until they change it.
`

func (c *cli) user(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, userUsage)
		return exitCode(2)
	}
	if isHelp(args[0]) {
		fmt.Fprint(c.stdout, userUsage)
		return nil
	}
	switch args[0] {
	case "add":
		return c.userAdd(ctx, args[1:])
	case "list":
		return c.userList(ctx, args[1:])
	case "set-password":
		return c.userSetPassword(ctx, args[1:])
	case "disable":
		return c.userSetStatus(ctx, "user disable", args[1:], store.StatusDisabled)
	case "enable":
		return c.userSetStatus(ctx, "user enable", args[1:], store.StatusActive)
	case "unlock":
		return c.userUnlock(ctx, args[1:])
	case "set-methods":
		return c.userSetMethods(ctx, args[1:])
	case "links":
		return c.userLinks(ctx, args[1:])
	case "unlink":
		return c.userUnlink(ctx, args[1:])
	case "reset-2fa":
		return c.userResetTwoStep(ctx, args[1:])
	case "set":
		return c.userSet(ctx, args[1:])
	case "delete":
		return c.userDelete(ctx, args[1:])
	case "sessions":
		return c.userSessions(ctx, args[1:])
	case "revoke":
		return c.userRevoke(ctx, args[1:])
	default:
		fmt.Fprintf(c.stderr, "ssogate user: unknown command %q\n\n%s", args[0], userUsage)
		return exitCode(2)
	}
}

// openUser opens the store and providers and finds the user with email;
// what names the command in the error.
func (c *cli) openUser(ctx context.Context, what, email string) (*app, *store.User, error) {
	a, err := c.openForAdmin(ctx)
	if err != nil {
		return nil, nil, err
	}
	u, err := a.store.GetUserByEmail(ctx, local.NormalizeEmail(email))
	if err != nil {
		a.Close()
		return nil, nil, fmt.Errorf("%s: %s: %w", what, email, err)
	}
	return a, u, nil
}

// openForAdmin loads the configuration and opens the store and providers.
func (c *cli) openForAdmin(ctx context.Context) (*app, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg.Log, io.Discard)
	return newApp(ctx, cfg, log, nil)
}

func (c *cli) userAdd(ctx context.Context, args []string) error {
	fs := c.flags("user add")
	email := fs.String("email", "", "login id (email address)")
	name := fs.String("name", "", "display name")
	groups := fs.String("groups", "", "comma-separated groups")
	role := fs.String("role", string(store.RoleUser), "user or admin")
	phone := fs.String("phone", "", "phone number")
	mobile := fs.String("mobile", "", "mobile number")
	org := fs.String("organization", "", "organisation")
	dept := fs.String("department", "", "department")
	methods := fs.String("methods", "", "comma-separated provider ids that may sign the user in (default: any)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	ifNotExists := fs.Bool("if-not-exists", false, "succeed without change if the email exists")
	mustChange := fs.Bool("must-change-password", false, "the password is an initial one, to be changed at the first sign-in (needs --password-stdin)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	e := local.NormalizeEmail(*email)
	if !validEmail(e) {
		return fmt.Errorf("user add: --email must be an email address, got %q", *email)
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("user add: --name is required")
	}
	if *role != string(store.RoleUser) && *role != string(store.RoleAdmin) {
		return fmt.Errorf("user add: --role must be user or admin, got %q", *role)
	}
	if *mustChange && !*pwStdin {
		return errors.New("user add: --must-change-password needs --password-stdin (the initial password to change)")
	}
	a, err := c.openForAdmin(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := checkMethods(a, splitList(*methods)); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if _, err := a.store.GetUserByEmail(ctx, e); err == nil {
		if *ifNotExists {
			fmt.Fprintf(c.stdout, "user %s exists; unchanged\n", e)
			return nil
		}
		return fmt.Errorf("user add: %s already exists", e)
	}
	hash, err := c.newUserPassword(ctx, a, e, *pwStdin)
	if err != nil {
		return err
	}
	u := &store.User{
		Email: e, DisplayName: strings.TrimSpace(*name), Groups: splitList(*groups),
		Phone: *phone, Mobile: *mobile, Organization: *org, Department: *dept,
		Role: store.Role(*role), Status: store.StatusActive, LoginMethods: splitList(*methods),
		MustChangePassword: *mustChange,
	}
	if err := a.store.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if hash != "" {
		if err := a.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
			return fmt.Errorf("user add: %w", err)
		}
	}
	audit(ctx, a.store, "user_add", u)
	fmt.Fprintf(c.stdout, "added user %s (%s)\n", u.Email, u.ID)
	if hash == "" {
		fmt.Fprintf(c.stdout, "%s has no password: they can sign in only after an invitation (ssogate user invite)\n"+
			"or a password reset (/password/forgot, or the admin console), or with a federated provider.\n", u.Email)
	}
	return nil
}

// newUserPassword returns the hash of the new user's password: read from
// standard input with --password-stdin; else, for a person at a terminal,
// asked for (empty for none); else none ("").
func (c *cli) newUserPassword(ctx context.Context, a *app, email string, fromStdin bool) (string, error) {
	prompt := !fromStdin && a.local != nil && c.onTerminal()
	if !fromStdin && !prompt {
		return "", nil
	}
	if a.local == nil {
		return "", errors.New("user add: no local provider is configured to hold a password")
	}
	if prompt {
		fmt.Fprintln(c.stderr, "Password for the new user (empty for none: the user then signs in after an invitation or a password reset).")
	}
	pw, err := c.readPassword(false)
	if err != nil || pw == "" {
		return "", err
	}
	if err := a.local.Policy().Check(pw, email); err != nil {
		return "", fmt.Errorf("user add: password rejected: %s", policyText(a.local.Policy(), err))
	}
	return a.local.Hash(ctx, pw)
}

// onTerminal reports whether standard input is a terminal (a person
// typing, not a script).
func (c *cli) onTerminal() bool {
	f, ok := c.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (c *cli) userList(ctx context.Context, args []string) error {
	fs := c.flags("user list")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, err := c.openForAdmin(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	users, err := a.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	// Times read as the portal shows them, in its zone, named in the header.
	loc := a.cfg.Portal.Location
	rows := [][]string{{"EMAIL", "NAME", "GROUPS", "ROLE", "STATUS", "LAST LOGIN (" + loc.String() + ")"}}
	for _, u := range users {
		last := "-"
		if !u.LastLoginAt.IsZero() {
			last = u.LastLoginAt.In(loc).Format(time.DateTime)
		}
		groups := strings.Join(u.Groups, ",")
		if groups == "" {
			groups = "-"
		}
		rows = append(rows, []string{u.Email, u.DisplayName, groups, string(u.Role), string(u.Status), last})
	}
	return writeTable(c.stdout, rows)
}

func (c *cli) userSetPassword(ctx context.Context, args []string) error {
	fs := c.flags("user set-password")
	email := fs.String("email", "", "login id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, u, err := c.openUser(ctx, "user set-password", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.local == nil {
		return errors.New("user set-password: no local provider is configured")
	}
	pw, err := c.readPassword(true)
	if err != nil {
		return err
	}
	if err := a.local.Policy().Check(pw, u.Email); err != nil {
		return fmt.Errorf("user set-password: password rejected: %s", policyText(a.local.Policy(), err))
	}
	hash, err := a.local.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if err := a.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	n, err := a.store.DeleteUserSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	audit(ctx, a.store, "password_set", u)
	fmt.Fprintf(c.stdout, "password set for %s; %d sessions ended\n", u.Email, n)
	return nil
}

func (c *cli) userSetStatus(ctx context.Context, name string, args []string, status store.Status) error {
	fs := c.flags(name)
	email := fs.String("email", "", "login id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, u, err := c.openUser(ctx, name, *email)
	if err != nil {
		return err
	}
	defer a.Close()
	// The console's flow: disabling ends the sessions in the same
	// transaction; enabling starts the lockout count afresh, as an unlock
	// does.
	svc := a.gateway.Account()
	live, err := svc.Sessions(ctx, u.ID)
	if err != nil {
		return err
	}
	if _, err := svc.SetStatus(ctx, cliAdmin(), u.ID, status); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	n := 0
	if status != store.StatusActive {
		n = len(live)
	}
	fmt.Fprintf(c.stdout, "%s is now %s; %d sessions ended\n", u.Email, status, n)
	return nil
}

// userUnlock unlocks a locked account as the mailed link does.
func (c *cli) userUnlock(ctx context.Context, args []string) error {
	fs := c.flags("user unlock")
	email := fs.String("email", "", "login id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, u, err := c.openUser(ctx, "user unlock", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.gateway.Account()
	if svc == nil {
		return errors.New("user unlock: the store keeps no account state")
	}
	was := u.Status
	if err := svc.UnlockUser(ctx, u, "cli"); err != nil {
		return fmt.Errorf("user unlock: %w", err)
	}
	if was != store.StatusLocked {
		fmt.Fprintf(c.stdout, "%s was not locked (%s); failure counts cleared\n", u.Email, was)
		return nil
	}
	fmt.Fprintf(c.stdout, "%s is unlocked\n", u.Email)
	return nil
}

// checkMethods refuses provider ids the configuration does not have.
func checkMethods(a *app, methods []string) error {
	for _, m := range methods {
		found := false
		for _, p := range a.cfg.Providers {
			found = found || p.ID == m
		}
		if !found {
			var ids []string
			for _, p := range a.cfg.Providers {
				ids = append(ids, p.ID)
			}
			return fmt.Errorf("--methods: no provider %q; configured: %s", m, strings.Join(ids, ", "))
		}
	}
	return nil
}

func (c *cli) userSetMethods(ctx context.Context, args []string) error {
	fs := c.flags("user set-methods")
	email := fs.String("email", "", "login id")
	methods := fs.String("methods", "", "comma-separated provider ids; empty allows any")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, u, err := c.openUser(ctx, "user set-methods", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	list := splitList(*methods)
	if err := checkMethods(a, list); err != nil {
		return fmt.Errorf("user set-methods: %w", err)
	}
	u.LoginMethods = list
	if err := a.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	audit(ctx, a.store, "user_methods", u)
	if len(list) == 0 {
		fmt.Fprintf(c.stdout, "%s may sign in with any configured provider\n", u.Email)
	} else {
		fmt.Fprintf(c.stdout, "%s may sign in with: %s\n", u.Email, strings.Join(list, ", "))
	}
	return nil
}

func (c *cli) userLinks(ctx context.Context, args []string) error {
	fs := c.flags("user links")
	email := fs.String("email", "", "login id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, u, err := c.openUser(ctx, "user links", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	links, err := a.store.ListUserIdentities(ctx, u.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tSUBJECT\tEMAIL\tLINKED\tLAST USED")
	for _, l := range links {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.ProviderID, l.Subject, l.Email,
			l.CreatedAt.Format(time.RFC3339), l.LastUsedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func (c *cli) userUnlink(ctx context.Context, args []string) error {
	fs := c.flags("user unlink")
	email := fs.String("email", "", "login id")
	provider := fs.String("provider", "", "provider id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, u, err := c.openUser(ctx, "user unlink", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	links, err := a.store.ListUserIdentities(ctx, u.ID)
	if err != nil {
		return err
	}
	n := 0
	for _, l := range links {
		if l.ProviderID == *provider {
			if err := a.store.UnlinkIdentity(ctx, l.ProviderID, l.Subject); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("user unlink: %s has no identity at %q", u.Email, *provider)
	}
	audit(ctx, a.store, "identity_unlink", u)
	fmt.Fprintf(c.stdout, "unlinked %d identity from %s\n", n, u.Email)
	return nil
}

// userResetTwoStep removes a person's 2-step registration, as a password
// reset does: for a lost phone without recovery codes.
func (c *cli) userResetTwoStep(ctx context.Context, args []string) error {
	fs := c.flags("user reset-2fa")
	email := fs.String("email", "", "login id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, u, err := c.openUser(ctx, "user reset-2fa", *email)
	if err != nil {
		return err
	}
	defer a.Close()
	actor := "cli"
	if name := os.Getenv("USER"); name != "" {
		actor = "cli:" + name
	}
	if err := a.gateway.Account().ResetTwoStep(ctx, u.ID, actor, account.Origin{}); err != nil {
		return fmt.Errorf("user reset-2fa: %w", err)
	}
	fmt.Fprintf(c.stdout, "%s: 2-step verification reset; it is set up again at the next sign-in when required\n", u.Email)
	return nil
}

// readPassword reads one password: a line from standard input, or, on a
// terminal, typed twice without echo.
func (c *cli) readPassword(confirm bool) (string, error) {
	if f, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(c.stderr, "Password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(c.stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", err
		}
		if string(pw) != string(again) {
			return "", errors.New("passwords do not match")
		}
		return string(pw), nil
	}
	line, err := bufio.NewReader(io.LimitReader(c.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

// policyText explains a password-rule failure to an administrator.
func policyText(p local.Policy, err error) string {
	var pe *local.PolicyError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	var parts []string
	for _, r := range pe.Reasons {
		switch r {
		case local.ReasonTooShort:
			parts = append(parts, fmt.Sprintf("shorter than %d characters", p.MinLength))
		case local.ReasonTooFewClasses:
			parts = append(parts, fmt.Sprintf("uses fewer than %d of upper case, lower case, digits and symbols", p.MinClasses))
		case local.ReasonContainsEmail:
			parts = append(parts, "contains the email address or part of it")
		case local.ReasonTooLong:
			parts = append(parts, fmt.Sprintf("longer than %d characters", local.MaxPasswordRunes))
		default:
			parts = append(parts, r)
		}
	}
	return strings.Join(parts, "; ")
}

// audit records an administrative action done from the CLI.
func audit(ctx context.Context, st store.Store, action string, u *store.User) {
	actor := "cli"
	if name := os.Getenv("USER"); name != "" {
		actor = "cli:" + name
	}
	_ = st.AppendAudit(ctx, &store.AuditEvent{
		Time: time.Now(), Action: action, UserID: u.ID, Actor: actor,
		Outcome: store.OutcomeSuccess, Detail: "email=" + u.Email,
	})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validEmail is a deliberately plain check: one @, a dot in the domain,
// no spaces or control characters.
func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || len(e) > 254 || !strings.Contains(domain, ".") || strings.ContainsAny(domain, "@") {
		return false
	}
	for _, r := range e {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
