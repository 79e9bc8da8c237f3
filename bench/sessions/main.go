// Command sessions issues many sessions for one user of an ssogate SQLite
// store, for the benchmark's 100,000-session target, and writes the Cookie
// header value of each, one a line. Run it before `ssogate serve` starts on
// the same configuration: the sessions are in the store, and the gateway
// finds them as it would any other.
//
//	go run ./bench/sessions -config ssogate.yaml -email bench@example.com -n 100000 -out cookies.txt
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/store/sqlite"
)

func main() {
	configPath := flag.String("config", "", "ssogate configuration (its store must be SQLite)")
	email := flag.String("email", "", "the user the sessions are for")
	n := flag.Int("n", 100000, "how many sessions")
	out := flag.String("out", "", "file for the Cookie header values")
	flag.Parse()
	if *configPath == "" || *email == "" || *out == "" || *n < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *configPath, *email, *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "sessions:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, configPath, email string, n int, out string) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	if cfg.Store.Driver != "sqlite" {
		return fmt.Errorf("store driver %q: only sqlite", cfg.Store.Driver)
	}
	st, err := sqlite.Open(ctx, cfg.Store.DSN)
	if err != nil {
		return err
	}
	defer st.Close()
	user, err := st.GetUserByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("user %s: %w", email, err)
	}
	sh, err := gateway.NewShared(ctx, gateway.Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer sh.Close()

	start := time.Now()
	cookies := make([]string, n)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c, err := sh.IssueSession(ctx, user, []string{"pwd"}, "127.0.0.1")
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				cookies[i] = c
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, c := range cookies {
		bw.WriteString(c)
		bw.WriteByte('\n')
	}
	if err := errors.Join(bw.Flush(), f.Close()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sessions: %d sessions for %s in %v\n", n, email, time.Since(start).Round(time.Millisecond))
	return nil
}
