package account

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/ssogate/ssogate/store"
)

// Problems of a row of a bulk-invitation CSV file (the console names
// each).
const (
	RowBadEmail   = "email"
	RowNoName     = "name"
	RowDuplicate  = "duplicate"
	RowRegistered = "registered"
	RowColumns    = "columns"
)

// ErrCSV means a bulk-invitation file is not a CSV file with the header
// line email,display_name,groups.
var ErrCSV = errors.New("account: not an invitation CSV file")

// MaxInviteRows bounds a bulk-invitation file.
const MaxInviteRows = 5000

// InviteRow is one data row of a bulk-invitation file: its line number
// (the header is line 1), what it says (normalised when valid), and its
// problem, "" when it can be invited.
type InviteRow struct {
	Line    int
	Invitee Invitee
	Problem string
}

// DecodeCSVText returns b as UTF-8 text: valid UTF-8 (a byte-order mark
// dropped) as it is, anything else read as Shift_JIS, as Excel saves a
// CSV file on a Japanese Windows. A Shift_JIS file of ASCII only is
// valid UTF-8 too, and means the same either way.
func DecodeCSVText(b []byte) (string, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if utf8.Valid(b) {
		return string(b), nil
	}
	out, _, err := transform.Bytes(japanese.ShiftJIS.NewDecoder(), b)
	if err != nil {
		return "", fmt.Errorf("%w: neither UTF-8 nor Shift_JIS: %w", ErrCSV, err)
	}
	return string(out), nil
}

// ParseInviteCSV reads a bulk-invitation file: a header line naming the
// columns email, display_name and groups (in any order; groups may be
// left out), then one person a line. Groups are separated by ';' (a comma
// separates the columns, and group names may contain spaces). Each row
// is checked (address, name, a duplicate of an earlier row, an address
// already registered; one only invited is invited again); nothing is
// written.
func (s *Service) ParseInviteCSV(ctx context.Context, b []byte) ([]InviteRow, error) {
	text, err := DecodeCSVText(b)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCSV, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	ie, okE := col["email"]
	in, okN := col["display_name"]
	ig, okG := col["groups"]
	if !okE || !okN {
		return nil, fmt.Errorf("%w: header %q", ErrCSV, strings.Join(head, ","))
	}
	var rows []InviteRow
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: %w", ErrCSV, err)
		}
		line, _ := r.FieldPos(0)
		if len(rows) >= MaxInviteRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrCSV, MaxInviteRows)
		}
		if err != nil || len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") {
			if err != nil {
				rows = append(rows, InviteRow{Line: pe.Line, Problem: RowColumns})
			}
			continue
		}
		row := InviteRow{Line: line}
		field := func(i int, ok bool) string {
			if !ok || i >= len(rec) {
				return ""
			}
			return rec[i]
		}
		row.Invitee = Invitee{Email: strings.TrimSpace(field(ie, true)), DisplayName: field(in, true)}
		if okG {
			row.Invitee.Groups = strings.Split(field(ig, true), ";")
		}
		if ie >= len(rec) || in >= len(rec) {
			row.Problem = RowColumns
			rows = append(rows, row)
			continue
		}
		checked, err := CheckInvitee(row.Invitee)
		switch {
		case errors.Is(err, ErrEmailInvalid):
			row.Problem = RowBadEmail
		case errors.Is(err, ErrNameRequired):
			row.Problem = RowNoName
		}
		if err == nil {
			row.Invitee = checked
			if seen[checked.Email] {
				row.Problem = RowDuplicate
			}
			seen[checked.Email] = true
		}
		if row.Problem == "" {
			u, err := s.st.GetUserByEmail(ctx, checked.Email)
			switch {
			case err == nil && u.Status != store.StatusInvited:
				row.Problem = RowRegistered
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("account: invitation file: %w", err)
			}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no rows", ErrCSV)
	}
	return rows, nil
}

// purposeInviteBatch keeps a checked bulk-invitation file between its
// preview and the administrator's confirmation, so that the file is not
// uploaded twice: Data is the rows, UserID the administrator.
const purposeInviteBatch = "invitation_batch"

// inviteBatchTTL is how long a preview can be confirmed.
const inviteBatchTTL = 30 * time.Minute

// ErrBadRows: a bulk invitation with rows in error, confirmed without
// choosing to skip them; nobody was invited.
var ErrBadRows = errors.New("account: the file has rows with errors")

// ErrBatchExpired: the preview is unknown, used, expired or another
// administrator's.
var ErrBatchExpired = errors.New("account: invitation preview expired")

// KeepInviteRows keeps rows for admin's confirmation and returns the
// token the preview's form posts back.
func (s *Service) KeepInviteRows(ctx context.Context, admin *store.User, rows []InviteRow) (string, error) {
	data, err := json.Marshal(rows)
	if err != nil {
		return "", fmt.Errorf("account: keep invitation rows: %w", err)
	}
	token, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	if err := s.st.CreateTicket(ctx, &store.Ticket{ID: tokenID(token), Purpose: purposeInviteBatch, UserID: admin.ID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(inviteBatchTTL)}); err != nil {
		return "", fmt.Errorf("account: keep invitation rows: %w", err)
	}
	return token, nil
}

// InviteKept invites the good rows kept under token (KeepInviteRows).
// When a row has a problem and skipBad is false nobody is invited
// (ErrBadRows) and the preview stays usable. It returns how many were
// invited and the rows that failed now (an address registered since the
// preview).
func (s *Service) InviteKept(ctx context.Context, admin *store.User, token string, skipBad bool, o Origin) (int, []InviteRow, error) {
	t, err := s.st.ConsumeTicket(ctx, purposeInviteBatch, tokenID(token), s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.UserID != admin.ID) {
		return 0, nil, ErrBatchExpired
	}
	if err != nil {
		return 0, nil, fmt.Errorf("account: invitation rows: %w", err)
	}
	var rows []InviteRow
	if err := json.Unmarshal(t.Data, &rows); err != nil {
		return 0, nil, ErrBatchExpired
	}
	bad := slices.ContainsFunc(rows, func(r InviteRow) bool { return r.Problem != "" })
	if bad && !skipBad {
		if err := s.st.CreateTicket(ctx, t); err != nil {
			return 0, nil, fmt.Errorf("account: keep invitation rows: %w", err)
		}
		return 0, nil, ErrBadRows
	}
	n := 0
	var failed []InviteRow
	for _, r := range rows {
		if r.Problem != "" {
			continue
		}
		_, err := s.Invite(ctx, admin, r.Invitee, o)
		switch {
		case errors.Is(err, ErrAlreadyRegistered):
			r.Problem = RowRegistered
			failed = append(failed, r)
		case err != nil:
			return n, failed, err
		default:
			n++
		}
	}
	return n, failed, nil
}
