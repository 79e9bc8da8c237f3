// Command ssogate is the single-sign-on gateway: the server and its
// administration CLI. It is the only place where concrete providers, the
// store backend and the portal are wired together.
//
//	ssogate [--config FILE] serve
//	ssogate [--config FILE] check-config
//	ssogate [--config FILE] user add --email E --name N [--groups g1,g2] [--password-stdin]
//	ssogate [--config FILE] user list | set-password --email E | disable --email E | enable --email E
//	ssogate [--config FILE] keys list | rotate [--activate-in 1m]
//	ssogate [--config FILE] migrate
//	ssogate version
//
// The configuration file is --config, else $SSOGATE_CONFIG, else ./ssogate.yaml.
package main

import (
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
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "ssogate:", err)
		os.Exit(1)
	}
}

const usage = `usage: ssogate [--config FILE] COMMAND [flags]

commands:
  serve          run the gateway
  check-config   validate the configuration file and exit
  user           manage local users: add, list, set-password, disable, enable
  keys           list or rotate the assertion signing keys
  migrate        apply store migrations and exit
  version        print the version

The configuration file is --config, else $SSOGATE_CONFIG, else ./ssogate.yaml.
`

// run executes one CLI invocation; main is a thin shell around it so tests
// can call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	global := flag.NewFlagSet("ssogate", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.Usage = func() { fmt.Fprint(stderr, usage) }
	configPath := global.String("config", defaultConfigPath(), "configuration `file`")
	if err := global.Parse(args); err != nil {
		return err
	}
	rest := global.Args()
	if len(rest) == 0 {
		global.Usage()
		return exitCode(2)
	}
	cmd, rest := rest[0], rest[1:]
	env := &cli{configPath: *configPath, stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "serve":
		return env.serve(ctx, rest)
	case "check-config":
		return env.checkConfig(rest)
	case "user":
		return env.user(ctx, rest)
	case "migrate":
		return env.migrate(ctx, rest)
	case "keys":
		return env.keys(ctx, rest)
	case "version":
		fmt.Fprintln(stdout, "ssogate", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "ssogate: unknown command %q\n\n%s", cmd, usage)
		return exitCode(2)
	}
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

// flags returns a FlagSet for a subcommand that also accepts --config after
// the command name.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ssogate "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.configPath, "config", c.configPath, "configuration `file`")
	return fs
}
