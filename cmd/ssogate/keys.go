package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/store"
)

const keysUsage = `usage: ssogate keys COMMAND [flags]

  list                       the assertion signing keys and their state
  rotate [--activate-in D]   add a new signing key; it is published at once and
                             signs from D on (default 1m, so every replica and
                             every verifier's JWKS cache knows it first); the
                             old key stops signing then and stays published
                             until its last assertion has expired
`

func (c *cli) keys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, keysUsage)
		return exitCode(2)
	}
	if isHelp(args[0]) {
		fmt.Fprint(c.stdout, keysUsage)
		return nil
	}
	switch args[0] {
	case "list":
		return c.keysList(ctx, args[1:])
	case "rotate":
		return c.keysRotate(ctx, args[1:])
	default:
		fmt.Fprintf(c.stderr, "ssogate keys: unknown command %q\n\n%s", args[0], keysUsage)
		return exitCode(2)
	}
}

func (c *cli) keysRotate(ctx context.Context, args []string) error {
	fs := c.flags("keys rotate")
	activateIn := fs.Duration("activate-in", gateway.DefaultKeyActivation, "publish now, sign from this long from now")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *activateIn < 0 {
		return fmt.Errorf("keys rotate: --activate-in must not be negative")
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	kids, err := gateway.RotateSigningKey(ctx, cfg, st, now, *activateIn)
	if err != nil {
		return err
	}
	for _, kid := range kids {
		fmt.Fprintf(c.stdout, "new signing key %s signs from %s\n", kid, now.Add(*activateIn).Format(time.RFC3339))
	}
	return nil
}

func (c *cli) keysList(ctx context.Context, args []string) error {
	fs := c.flags("keys list")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := st.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	return printKeys(c.stdout, keys, time.Now())
}

func printKeys(w io.Writer, keys []*store.SigningKey, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tCREATED\tSIGNS FROM\tRETIRED\tSTATE")
	for _, k := range keys {
		state := "signing"
		switch {
		case now.Before(k.ActiveAt):
			state = "published, not yet signing"
		case !k.RetiredAt.IsZero() && !now.Before(k.RetiredAt):
			state = "retired"
		}
		retired := "-"
		if !k.RetiredAt.IsZero() {
			retired = k.RetiredAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.CreatedAt.Format(time.RFC3339),
			k.ActiveAt.Format(time.RFC3339), retired, state)
	}
	return tw.Flush()
}
