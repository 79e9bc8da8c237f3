package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrBadCursor means a UserQuery's Cursor is not one a listing with the
// same Sort handed out (edited, truncated, or from the other sort).
var ErrBadCursor = errors.New("store: bad cursor")

// UserCursor is the position after the last user of a page: the sort key
// of that user and its id, so the next page starts right after it however
// many users were added or removed meanwhile (keyset paging, no OFFSET).
// Backends encode it in UserPage.Next and decode it from UserQuery.Cursor.
type UserCursor struct {
	Sort UserSort `json:"s"`
	// Email is the key of SortEmail; LastLogin (zero: never signed in)
	// the key of SortLastLogin.
	Email     string    `json:"e,omitempty"`
	LastLogin time.Time `json:"l,omitzero"`
	ID        string    `json:"i"`
}

// CursorAfter is the cursor that follows u in a listing sorted by sort.
func CursorAfter(sort UserSort, u *User) UserCursor {
	c := UserCursor{Sort: sort, ID: u.ID}
	if sort == SortLastLogin {
		c.LastLogin = u.LastLoginAt
	} else {
		c.Email = u.Email
	}
	return c
}

// Encode is the opaque form of c for UserPage.Next.
func (c UserCursor) Encode() string {
	b, err := json.Marshal(c)
	if err != nil {
		// A struct of strings and a time always marshals.
		panic(fmt.Sprintf("store: encode cursor: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseUserCursor decodes s, the Cursor of a query sorted by sort; it
// returns an error wrapping ErrBadCursor when s is not such a cursor.
func ParseUserCursor(s string, sort UserSort) (UserCursor, error) {
	var c UserCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if c.Sort != sort || c.ID == "" || (sort == SortEmail && c.Email == "") {
		return c, fmt.Errorf("%w: not a cursor of sort %q", ErrBadCursor, sort)
	}
	c.LastLogin = c.LastLogin.UTC()
	return c, nil
}

// Normalize returns q with its Sort and Limit defaulted and capped: Sort
// SortEmail unless SortLastLogin, Limit 50 when zero or less, at most
// 500. Backends call it before reading q.
func (q UserQuery) Normalize() UserQuery {
	if q.Sort != SortLastLogin {
		q.Sort = SortEmail
	}
	switch {
	case q.Limit <= 0:
		q.Limit = DefaultUserLimit
	case q.Limit > MaxUserLimit:
		q.Limit = MaxUserLimit
	}
	return q
}

// The page sizes of SearchUsers.
const (
	DefaultUserLimit = 50
	MaxUserLimit     = 500
)
