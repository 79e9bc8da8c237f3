package account_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/store"
)

// TestEditUserRefusals: every refused edit changes nothing and says which
// field: a provider-owned field, bad values, an unknown provider, and an
// administrator's own role.
func TestEditUserRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.addUser("admin@example.co.jp", "Admin", "")
	admin.Role = store.RoleAdmin
	if err := e.st.UpdateUser(ctx, admin); err != nil {
		t.Fatal(err)
	}
	u := e.addUser("taro@example.co.jp", "Taro", "")
	a := account.Admin{User: admin}
	str := func(s string) *string { return &s }
	list := func(s ...string) *[]string { return &s }
	role := func(r store.Role) *store.Role { return &r }
	managed := map[string]string{"department": "Google"}
	tests := []struct {
		name   string
		target string
		edit   account.UserEdit
		field  string
		want   error
	}{
		{"managed field", u.ID, account.UserEdit{Department: str("経理部"), Managed: managed}, "department", account.ErrManagedField},
		{"empty name", u.ID, account.UserEdit{DisplayName: str("  ")}, "display_name", account.ErrBadValue},
		{"control character", u.ID, account.UserEdit{Organization: str("a\x00b")}, "organization", account.ErrBadValue},
		{"bidi override", u.ID, account.UserEdit{DisplayName: str("a\u202eb")}, "display_name", account.ErrBadValue},
		{"comma in a group", u.ID, account.UserEdit{Groups: list("a,b")}, "groups", account.ErrBadValue},
		{"unknown role", u.ID, account.UserEdit{Role: role("root")}, "role", account.ErrBadValue},
		{"unknown provider", u.ID, account.UserEdit{LoginMethods: list("google"), Providers: []string{"local"}}, "login_methods", account.ErrBadValue},
		{"own admin role", admin.ID, account.UserEdit{Role: role(store.RoleUser)}, "", account.ErrSelfAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.st.GetUser(ctx, tt.target)
			// Every refusal comes with a valid change that must not be written either.
			tt.edit.Phone = str("03-1111-2222")
			_, err := e.svc.EditUser(ctx, a, tt.target, tt.edit)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ee *account.AdminEditError
			if tt.field != "" && (!errors.As(err, &ee) || ee.Field != tt.field) {
				t.Fatalf("err = %v, want field %s", err, tt.field)
			}
			after, _ := e.st.GetUser(ctx, tt.target)
			if after.Phone != before.Phone || after.Role != before.Role || !slices.Equal(after.Groups, before.Groups) {
				t.Fatalf("a refused edit changed the user: %+v", after)
			}
		})
	}
	// The same edits without the problems go through, audited by the admin.
	got, err := e.svc.EditUser(ctx, a, u.ID, account.UserEdit{Department: str("経理部"), Groups: list(" staff", "staff", "経理 "),
		LoginMethods: list("local"), Providers: []string{"local"}, Role: role(store.RoleAdmin)})
	if err != nil || got.Department != "経理部" || !slices.Equal(got.Groups, []string{"staff", "経理"}) || got.Role != store.RoleAdmin {
		t.Fatalf("edit: %v %+v", err, got)
	}
	evs, _ := e.st.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Action: "user_update"})
	if len(evs) != 1 || evs[0].Actor != "admin:admin@example.co.jp" || evs[0].Detail != "email=taro@example.co.jp fields=department,groups,role,login_methods" {
		t.Fatalf("audit: %+v", evs)
	}
}
