package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/store"
)

// TestUsersByIDPrefix: the users whose id starts with the prefix, at
// most two, and none for another prefix; the query is a range on the
// primary key's index, not a scan of the table.
func TestUsersByIDPrefix(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for i, id := range []string{"3f9a1c2b7d40aaaa", "3f9a1c2b7d41bbbb", "3f9a1c2b7d3fcccc", "3f9a1c2b7d40dddd", "3f9a1c2b7d40eeee"} {
		u := &store.User{ID: id, Email: id + "@example.co.jp", Role: store.RoleUser, Status: store.StatusActive}
		if i == 1 {
			u.Mobile = "090-1234-5678"
		}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UsersByIDPrefix(ctx, "3f9a1c2b7d41")
	if err != nil || len(got) != 1 || got[0].ID != "3f9a1c2b7d41bbbb" || got[0].Mobile != "090-1234-5678" {
		t.Fatalf("UsersByIDPrefix(…41) = %+v, %v", got, err)
	}
	if got, err := s.UsersByIDPrefix(ctx, "3f9a1c2b7d40"); err != nil || len(got) != 2 || !strings.HasPrefix(got[1].ID, "3f9a1c2b7d40") {
		t.Fatalf("UsersByIDPrefix(…40) = %+v, %v: want two of three", got, err)
	}
	for _, p := range []string{"3f9a1c2b7d42", "000000000000", ""} {
		if got, err := s.UsersByIDPrefix(ctx, p); err != nil || len(got) != 0 {
			t.Fatalf("UsersByIDPrefix(%q) = %+v, %v", p, got, err)
		}
	}
	var plan strings.Builder
	rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT `+userColumns+` FROM users WHERE id >= ? AND id < ? ORDER BY id LIMIT 2`, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "\n")
	}
	if p := plan.String(); !strings.Contains(p, "USING INDEX") && !strings.Contains(p, "USING PRIMARY KEY") {
		t.Fatalf("not an index range:\n%s", p)
	}
}
