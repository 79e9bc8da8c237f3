package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// claimChildEnv, when set in the environment, makes
// TestClaimAcrossProcesses act as one of its child processes: the value
// is "path owner".
const claimChildEnv = "SSOGATE_TEST_CLAIM_CHILD"

// claimsUntilEmpty claims messages three at a time for owner and marks
// each sent, until none is left, and calls claimed for each.
func claimsUntilEmpty(ctx context.Context, s *Store, owner string, claimed func(id string)) error {
	for {
		list, err := s.ClaimMessages(ctx, owner, time.Now(), time.Hour, 3)
		if err != nil {
			return fmt.Errorf("%s: ClaimMessages: %w", owner, err)
		}
		if len(list) == 0 {
			return nil
		}
		for _, m := range list {
			claimed(m.ID)
			if err := s.MessageSent(ctx, m.ID, owner, time.Now()); err != nil {
				return fmt.Errorf("%s: MessageSent %s: %w", owner, m.ID, err)
			}
		}
	}
}

// TestClaimAcrossProcesses runs outbox workers in three processes of
// their own (this test binary again) and this one, on one database file,
// as gateway processes on one host do: every message is claimed, and
// none by two of them.
func TestClaimAcrossProcesses(t *testing.T) {
	if v := os.Getenv(claimChildEnv); v != "" {
		path, owner, _ := strings.Cut(v, " ")
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		if err := claimsUntilEmpty(t.Context(), s, owner, func(id string) { fmt.Printf("claimed %s %s\n", owner, id) }); err != nil {
			t.Fatal(err)
		}
		return
	}

	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const total = 300
	for i := range total {
		m := &store.Message{ID: fmt.Sprintf("m%03d", i), Channel: store.ChannelMail, Template: "password_reset", To: "a@example.com"}
		if err := s.EnqueueMessage(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu    sync.Mutex
		owner = map[string]string{}
		dups  []string
		wg    sync.WaitGroup
	)
	claimed := func(who, id string) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := owner[id]; ok {
			dups = append(dups, fmt.Sprintf("%s by %s and %s", id, prev, who))
		}
		owner[id] = who
	}
	for i := range 3 {
		who := fmt.Sprintf("process-%d", i)
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestClaimAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), claimChildEnv+"="+path+" "+who)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "claimed" {
					claimed(f[1], f[2])
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("%s: %v\n%s", who, err, stderr.String())
			}
		})
	}
	wg.Go(func() {
		if err := claimsUntilEmpty(t.Context(), s, "parent", func(id string) { claimed("parent", id) }); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()

	if len(dups) > 0 {
		t.Errorf("messages claimed by two processes: %q", dups)
	}
	if len(owner) != total {
		t.Errorf("%d of %d messages claimed", len(owner), total)
	}
	per := map[string]int{}
	for _, who := range owner {
		per[who]++
	}
	t.Logf("claims per process: %v", per)
	pending, err := s.ListMessages(t.Context(), store.MessageFilter{Pending: true})
	if err != nil || len(pending) != 0 {
		t.Errorf("pending after the workers = %d, %v; want none", len(pending), err)
	}
}
