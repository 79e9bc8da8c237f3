package account_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	u.MustChangePassword = true
	if err := e.st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	e.addSession(u, "here")
	e.addSession(u, "elsewhere")

	for _, tc := range []struct {
		name, current, pw, confirm string
		want                       []string
		wantErr                    error
	}{
		{"mismatch", oldPW, newPW, newPW + "x", []string{account.ReasonMismatch}, nil},
		{"same", oldPW, oldPW, oldPW, []string{account.ReasonSameAsCurrent}, nil},
		{"common", oldPW, "Password1!", "Password1!", []string{account.ReasonCommon}, nil},
		{"name", oldPW, "Yamada#2026x", "Yamada#2026x", []string{account.ReasonContainsName}, nil},
		{"wrong current", "Wrong-Passw0rd!", newPW, newPW, nil, account.ErrWrongPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.svc.ChangePassword(ctx, u, tc.current, tc.pw, tc.confirm, account.Origin{})
			var we *account.WeakPasswordError
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ChangePassword = %v, want %v", err, tc.wantErr)
				}
			case !errors.As(err, &we) || !slices.Equal(we.Reasons, tc.want):
				t.Fatalf("ChangePassword = %v, want reasons %v", err, tc.want)
			}
		})
	}
	if ss, _ := e.st.ListUserSessions(ctx, u.ID); len(ss) != 2 {
		t.Fatalf("refused changes ended sessions: %d left", len(ss))
	}

	if err := e.svc.ChangePassword(ctx, u, oldPW, newPW, newPW, account.Origin{}); err != nil {
		t.Fatal(err)
	}
	if ss, _ := e.st.ListUserSessions(ctx, u.ID); len(ss) != 0 {
		t.Fatalf("%d sessions survived (the gateway starts the new one)", len(ss))
	}
	got, _ := e.st.GetUser(ctx, u.ID)
	if got.MustChangePassword {
		t.Fatal("the must-change flag survived the change")
	}
	if err := (passwords{e.pw}).Check(ctx, u.Email, newPW); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	if ms, _ := e.mails(notify.TemplatePasswordChanged); len(ms) != 1 {
		t.Fatalf("%d password-changed mails", len(ms))
	}
	evs, _ := e.st.ListAudit(ctx, store.AuditFilter{Action: "password_change"})
	outcomes := map[string]int{}
	for _, ev := range evs {
		outcomes[string(ev.Outcome)+":"+ev.Detail]++
	}
	if outcomes["success:must_change"] != 1 || outcomes["failure:wrong_password"] != 1 {
		t.Fatalf("audit = %v", outcomes)
	}
}

func TestChangePasswordLimitsGuessing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	for range 10 {
		if err := e.svc.ChangePassword(ctx, u, "Wrong-Passw0rd!", newPW, newPW, account.Origin{}); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("wrong current = %v", err)
		}
	}
	if err := e.svc.ChangePassword(ctx, u, oldPW, newPW, newPW, account.Origin{}); !errors.Is(err, account.ErrTooManyAttempts) {
		t.Fatalf("11th try = %v, want ErrTooManyAttempts even with the right password", err)
	}
}

func TestChangePasswordWithoutPassword(t *testing.T) {
	e := newEnv(t)
	u := e.addUser("jiro@example.co.jp", "Jiro Suzuki", "")
	if err := e.svc.ChangePassword(context.Background(), u, "x", newPW, newPW, account.Origin{}); !errors.Is(err, account.ErrNoPassword) {
		t.Fatalf("ChangePassword = %v, want ErrNoPassword", err)
	}
}
