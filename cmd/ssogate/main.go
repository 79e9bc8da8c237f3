// Command ssogate is the single-sign-on gateway: the server and its
// administration CLI. It is the only place where concrete providers, the
// store backend and the portal are wired together.
//
//	ssogate [--config FILE] serve
//	ssogate [--config FILE] check-config
//	ssogate [--config FILE] user add --email E --name N [--groups g1,g2] [--password-stdin]
//	ssogate [--config FILE] user list | set-password --email E | disable --email E | enable --email E
//	ssogate [--config FILE] user set-methods --email E --methods id1,id2 | links --email E | unlink --email E --provider ID
//	ssogate [--config FILE] user set --email E [--name N] [--groups g1,g2] [--role user|admin] … | delete --email E [--yes]
//	ssogate [--config FILE] user sessions --email E | revoke --email E (--id ID | --all)
//	ssogate [--config FILE] keys list | rotate [--activate-in 1m]
//	ssogate [--config FILE] mail test --to ADDR [--lang ja|en]
//	ssogate [--config FILE] sms test --to NUMBER [--voice] [--lang ja|en]
//	ssogate [--config FILE] migrate [--from sqlite:PATH --to postgres:[DSN]]
//	ssogate version
//
// The configuration file is --config, else $SSOGATE_CONFIG, else ./ssogate.yaml.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitCode carries a process exit status through error returns.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var code exitCode
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	default:
		fmt.Fprintln(os.Stderr, "ssogate:", err)
		os.Exit(1)
	}
}

const usage = `usage: ssogate [--config FILE] COMMAND [flags]

commands:
  serve          run the gateway
  check-config   validate the configuration file and exit
  user           manage users: add, list, set, set-password, disable, enable,
                 unlock, set-methods, links, unlink, reset-2fa, sessions,
                 revoke, delete
  keys           list or rotate the assertion signing keys
  oidc-secret    print the client_secret_hash of an OpenID Connect client secret
  mail           send a test mail through notify.mail: mail test --to ADDR
  sms            send a test code through notify.sms (or notify.voice):
                 sms test --to NUMBER [--voice]
  migrate        apply store migrations and exit
  version        print the version

The configuration file is --config, else $SSOGATE_CONFIG, else ./ssogate.yaml.
ssogate COMMAND --help (or ssogate user add --help) shows a command's flags.
`

// run executes one CLI invocation; main is a thin shell around it so tests
// can call it. --help anywhere prints that command's usage on stdout and
// succeeds; a wrong flag prints the problem and the usage on stderr and
// returns exitCode(2).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	env := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	global := flag.NewFlagSet("ssogate", flag.ContinueOnError)
	global.Usage = func() { fmt.Fprint(global.Output(), usage) }
	configPath := global.String("config", defaultConfigPath(), "configuration `file`")
	err := env.parse(global, args)
	if err == nil {
		env.configPath = *configPath
		err = env.command(ctx, global.Args())
	}
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

// command runs the command named by args[0].
func (c *cli) command(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitCode(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return c.serve(ctx, rest)
	case "check-config":
		return c.checkConfig(rest)
	case "user":
		return c.user(ctx, rest)
	case "migrate":
		return c.migrate(ctx, rest)
	case "keys":
		return c.keys(ctx, rest)
	case "oidc-secret":
		return c.oidcSecret(rest)
	case "mail":
		return c.mail(ctx, rest)
	case "sms":
		return c.sms(ctx, rest)
	case "version":
		if err := c.parse(c.flags("version"), rest); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "ssogate", buildVersion())
		return nil
	case "help":
		fmt.Fprint(c.stdout, usage)
		return nil
	default:
		fmt.Fprintf(c.stderr, "ssogate: unknown command %q\n\n%s", cmd, usage)
		return exitCode(2)
	}
}

// isHelp reports whether arg asks a command group (user, keys) for its
// usage.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

func defaultConfigPath() string {
	if p := os.Getenv("SSOGATE_CONFIG"); p != "" {
		return p
	}
	return "ssogate.yaml"
}

// cli holds what every command needs.
type cli struct {
	configPath string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

// commandUsage is how each subcommand is called and what it does: the
// head of its --help, before its flags.
var commandUsage = map[string]string{
	"serve":        "serve\n\nRun the gateway. It reloads the configuration on SIGHUP and when the file\nchanges (save it by writing a temporary file and renaming it over the old one).",
	"check-config": "check-config\n\nValidate the configuration file and exit: 0 when it is valid (warnings, if\nany, are printed), 1 with every problem otherwise.",
	"migrate":      migrateUsage,
	"version":      "version\n\nPrint the version.",
	"user add": "user add --email E --name N [--groups g1,g2] [--role user|admin] [--phone P]\n" +
		"       [--mobile M] [--organization O] [--department D] [--methods id1,id2]\n" +
		"       [--password-stdin] [--if-not-exists]\n\n" +
		"Add an active user. With --password-stdin the password is read from standard\n" +
		"input (or typed twice on a terminal), never taken from the command line.",
	"user list":         "user list\n\nList the users, with their last sign-in in the portal's time zone.",
	"user set-password": "user set-password --email E\n\nSet a new password, read from standard input; ends the user's sessions.",
	"user disable":      "user disable --email E\n\nDisable the user; ends the user's sessions.",
	"user enable":       "user enable --email E\n\nEnable a disabled user.",
	"user set-methods":  "user set-methods --email E --methods id1,id2\n\nLimit the providers that may sign the user in; an empty list allows any.",
	"user links":        "user links --email E\n\nList the user's linked identities at federated providers.",
	"user unlock":       "user unlock --email E\n\nUnlock a locked account: active again, failure counts cleared.",
	"user reset-2fa": "user reset-2fa --email E\n\nRemove the user's 2-step registration (methods, recovery codes, remembered\n" +
		"browsers); the person sets it up again at the next sign-in when required.",
	"user invite": "user invite --email E --name N [--groups g1,g2]\n\n" +
		"Create the user with status invited and mail them an invitation link (valid\n" +
		"policy.invitation.link_ttl, 14 days by default) with which they choose a password\n" +
		"or a provider themselves. Inviting an address whose invitation is pending or\n" +
		"expired sends a new link.",
	"user set": "user set --email E [--name N] [--groups g1,g2] [--role user|admin] [--phone P]\n" +
		"       [--mobile M] [--organization O] [--department D]\n\n" +
		"Change the fields whose flags are given. Fields a linked sign-in provider sets\n" +
		"are refused. An administrator's change, audited.",
	"user delete": "user delete --email E [--yes]\n\n" +
		"Delete the user: sessions end, linked identities, password and 2-step\n" +
		"registration go; the audit log stays. On a terminal the email is typed again to\n" +
		"confirm; elsewhere --yes is required.",
	"user sessions": "user sessions --email E\n\nList the user's live sessions, with the IDs user revoke takes.",
	"user revoke": "user revoke --email E (--id ID | --all)\n\n" +
		"End one of the user's sessions, or all of them: the browser is signed out at its\n" +
		"next request (a running gateway on SQLite within its session cache_ttl).",
	"user unlink": "user unlink --email E --provider ID\n\nRemove the user's linked identity at provider ID.",
	"keys list":   "keys list\n\nList the assertion signing keys and their state.",
	"mail test": "mail test --to ADDR [--lang ja|en]\n\n" +
		"Send a test mail now through notify.mail.smtp (not through the outbox) and show\n" +
		"how the conversation went: connection, TLS, sign-in and the server's answer.",
	"sms test": "sms test --to NUMBER [--voice] [--lang ja|en]\n\n" +
		"Send the 2-step verification code's SMS (or, with --voice, place its call) now,\n" +
		"with a sample code, through notify.sms (notify.voice), not through the outbox,\n" +
		"and show the text and the API's answer.",
	"keys rotate": "keys rotate [--activate-in D]\n\n" +
		"Add a new signing key: published at once, signing from D on (default 1m), so\n" +
		"every replica and every verifier's JWKS cache knows it first.",
}

// errHelpShown ends a command whose --help was printed; run turns it into
// success.
var errHelpShown = errors.New("help shown")

// flags returns a FlagSet for a subcommand that also accepts --config after
// the command name; name is its key in commandUsage.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ssogate "+name, flag.ContinueOnError)
	fs.StringVar(&c.configPath, "config", c.configPath, "configuration `file`")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ssogate %s\n\nflags:\n", commandUsage[name])
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a command's flags: --help prints the usage on stdout and
// returns errHelpShown; a wrong flag prints the problem and the usage on
// stderr and returns exitCode(2).
func (c *cli) parse(fs *flag.FlagSet, args []string) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.stdout.Write(out.Bytes())
		return errHelpShown
	case err != nil:
		c.stderr.Write(out.Bytes())
		return exitCode(2)
	}
	return nil
}
