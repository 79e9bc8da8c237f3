package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// requestEmailChange asks for u's change to newEmail and returns the
// ticket of the newest confirmation mail.
func (e *env) requestEmailChange(u *store.User, newEmail, pw string) string {
	e.t.Helper()
	return e.newLink(notify.TemplateEmailChangeConfirm, func() error {
		return e.svc.RequestEmailChange(context.Background(), u, newEmail, newEmail, pw, account.Origin{ClientIP: "192.0.2.1"})
	})
}

func TestEmailChangeRequestRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	for _, tc := range []struct {
		name, email, confirm, pw string
		want                     error
	}{
		{"not an address", "taro", "taro", oldPW, account.ErrEmailInvalid},
		{"two dots", "taro@example..jp", "taro@example..jp", oldPW, account.ErrEmailInvalid},
		{"copies differ", "new@example.co.jp", "neu@example.co.jp", oldPW, account.ErrEmailMismatch},
		{"same as now", "TARO@example.co.jp", "taro@example.co.jp", oldPW, account.ErrEmailSame},
		{"wrong password", "new@example.co.jp", "new@example.co.jp", "nope", account.ErrWrongPassword},
		{"no password", "new@example.co.jp", "new@example.co.jp", "", account.ErrWrongPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.svc.RequestEmailChange(ctx, u, tc.email, tc.confirm, tc.pw, account.Origin{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("RequestEmailChange = %v, want %v", err, tc.want)
			}
		})
	}
	if ms, _ := e.st.ListMessages(ctx, store.MessageFilter{}); len(ms) != 0 {
		t.Fatalf("refused requests enqueued %d messages", len(ms))
	}
}

func TestEmailChangeConfirm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	e.addSession(u, "here")
	e.addSession(u, "elsewhere")
	// Full-width input is folded as logins are.
	ticket := e.requestEmailChange(u, "Ｔａｒｏ.Ｎｅｗ@example.co.jp", oldPW)

	ms, data := e.mails(notify.TemplateEmailChangeConfirm)
	if len(ms) != 1 || ms[0].To != "taro.new@example.co.jp" || data[0].NewEmail != "taro.new@example.co.jp" {
		t.Fatalf("confirmation mails = %+v %+v", ms, data)
	}
	ms, data = e.mails(notify.TemplateEmailChangeNotice)
	if len(ms) != 1 || ms[0].To != "taro@example.co.jp" || data[0].Link != "" || data[0].NewEmail != "taro.new@example.co.jp" {
		t.Fatalf("notice mails = %+v %+v (the old address must not get the link)", ms, data)
	}
	if got, _ := e.st.GetUser(ctx, u.ID); got.Email != "taro@example.co.jp" {
		t.Fatalf("the address changed before confirmation: %s", got.Email)
	}

	e.clock.Set(t0.Add(24*time.Hour - time.Second))
	here := &store.Session{ID: "here", UserID: u.ID}
	got, err := e.svc.ConfirmEmailChange(ctx, ticket, here, account.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "taro.new@example.co.jp" {
		t.Fatalf("email = %s", got.Email)
	}
	ss, _ := e.st.ListUserSessions(ctx, u.ID)
	if len(ss) != 1 || ss[0].ID != "here" {
		t.Fatalf("sessions after confirm = %v, want only the confirming one", ss)
	}
	ms, _ = e.mails(notify.TemplateEmailChanged)
	if len(ms) != 1 || ms[0].To != "taro@example.co.jp" {
		t.Fatalf("changed mails = %+v, want one to the old address", ms)
	}
	if len(e.reset) != 1 {
		t.Errorf("2-step hook calls = %v, want one for a password account", e.reset)
	}
	if _, err := e.svc.ConfirmEmailChange(ctx, ticket, nil, account.Origin{}); !errors.Is(err, account.ErrLinkUsed) {
		t.Fatalf("second use = %v, want ErrLinkUsed", err)
	}
	evs, _ := e.st.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Limit: 100})
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.Action+"/"+string(ev.Outcome)+"/"+ev.Detail] = true
	}
	for _, want := range []string{"email_change_request/success/new_email=taro.new@example.co.jp",
		"email_change/success/new_email=taro.new@example.co.jp", "email_change/failure/link_used"} {
		if !seen[want] {
			t.Errorf("no audit event %s in %v", want, seen)
		}
	}
	// The new address signs in.
	if err := (passwords{e.pw}).Check(ctx, "taro.new@example.co.jp", oldPW); err != nil {
		t.Fatalf("sign-in with the new address: %v", err)
	}
}

func TestEmailChangeLinkExpires(t *testing.T) {
	e := newEnv(t)
	u := e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	ticket := e.requestEmailChange(u, "new@example.co.jp", oldPW)
	e.clock.Set(t0.Add(24*time.Hour + time.Second))
	if err := e.svc.CheckEmailLink(context.Background(), ticket); !errors.Is(err, account.ErrLinkExpired) {
		t.Fatalf("CheckEmailLink = %v, want ErrLinkExpired", err)
	}
	if _, err := e.svc.ConfirmEmailChange(context.Background(), ticket, nil, account.Origin{}); !errors.Is(err, account.ErrLinkExpired) {
		t.Fatalf("ConfirmEmailChange = %v, want ErrLinkExpired", err)
	}
}

func TestEmailChangeTakenMeanwhile(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.addUser("taro@example.co.jp", "Taro Yamada", "")
	e.addSession(u, "other")
	ticket := e.requestEmailChange(u, "new@example.co.jp", "")
	e.addUser("new@example.co.jp", "Someone Else", oldPW)
	if _, err := e.svc.ConfirmEmailChange(ctx, ticket, nil, account.Origin{}); !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("ConfirmEmailChange = %v, want ErrEmailTaken", err)
	}
	got, _ := e.st.GetUser(ctx, u.ID)
	if got.Email != "taro@example.co.jp" {
		t.Fatalf("email changed to %s", got.Email)
	}
	if ss, _ := e.st.ListUserSessions(ctx, u.ID); len(ss) != 1 {
		t.Fatalf("a refused confirmation ended sessions: %d left", len(ss))
	}
	if ms, _ := e.mails(notify.TemplateEmailChanged); len(ms) != 0 {
		t.Fatalf("a refused confirmation mailed %d notices", len(ms))
	}
	if len(e.reset) != 0 {
		t.Errorf("2-step hook ran for a refused change / an account without a password: %v", e.reset)
	}
}
