package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// TwoStepPolicy is policy.two_factor as the flows apply it, with the
// settings around it that decide when the second step is asked.
type TwoStepPolicy struct {
	// Required asks every password sign-in (local, LDAP, AD) and every
	// sign-in through a provider in AppliesTo for a second factor; a
	// person with none enrols first. People who enrolled of their own
	// accord are asked at those sign-ins whether or not it is required.
	Required  bool
	AppliesTo []string
	// Methods are the factor kinds people may enrol, in the order the
	// enrolment page offers them.
	Methods []string
	// RememberBrowser is how long "remember this browser" skips the step
	// after the browser's last use (sliding); 0 offers no checkbox.
	RememberBrowser time.Duration
	// CodeTTL is how long a code sent by SMS or voice works; MaxTries
	// wrong codes void a challenge; ResendAfter is the least time between
	// two codes sent for one sign-in or enrolment; PendingTTL is how long
	// a sign-in may wait at a step before it must start again.
	CodeTTL     time.Duration
	MaxTries    int
	ResendAfter time.Duration
	PendingTTL  time.Duration
	// LineOnly is policy.access_route line_only: every request comes from
	// a registered line, so the second step is never asked.
	LineOnly bool
	// PhoneRegions are, by kind ("sms", "voice"), the regions of phone
	// numbers typed without a country code (notify.sms.default_region,
	// notify.voice.default_region; "JP" when unset).
	PhoneRegions map[string]string
}

// Limits of code entry, counted on every code or recovery code typed
// (right or wrong) whatever the sign-in: per account, so that guesses
// spread over many pending sign-ins (each after a correct password) stay
// few, and per client address, so that one machine cannot try many
// accounts' codes. Twenty entries in a quarter of an hour leave room for
// a person who mistypes and for an office behind one address.
const (
	CodeEntriesPerUser   = 20
	CodeEntriesPerClient = 60
	CodeEntryWindow      = 15 * time.Minute
)

// RecoveryCodeCount is how many recovery codes a set holds.
const RecoveryCodeCount = 10

// Stages of a pending sign-in.
const (
	// StageVerify waits for a registered factor (or a recovery code).
	StageVerify = "verify"
	// StageSetup waits for the first factor's enrolment: 2-step
	// verification is required and the person has none.
	StageSetup = "setup"
	// StageCodes shows recovery codes made at the first enrolment, or
	// after one was used, until the person says they saved them.
	StageCodes = "codes"
)

// Errors of the second step. The portal explains each in the person's
// language; none tells whether an account exists, since only a browser
// that passed a first factor reaches them.
var (
	// ErrPendingGone: the pending sign-in expired, was used, or never
	// existed: the person signs in again.
	ErrPendingGone = errors.New("account: sign-in no longer pending")
	// ErrWrongCode: the code is not right; nothing changed but the count
	// of tries.
	ErrWrongCode = errors.New("account: wrong code")
	// ErrCodeUsed: the code was right but used already (a TOTP code is
	// good once; wait for the next one).
	ErrCodeUsed = errors.New("account: code used already")
	// ErrTooManyTries: the challenge took MaxTries wrong codes. A sent
	// code is void (send a new one); for an authenticator app the
	// sign-in ends.
	ErrTooManyTries = errors.New("account: too many wrong codes")
	// ErrCodeExpired: the sent code is older than CodeTTL, or none was
	// sent: send one.
	ErrCodeExpired = errors.New("account: code expired")
	// ErrResendTooSoon: a code was sent less than ResendAfter ago.
	ErrResendTooSoon = errors.New("account: code sent a moment ago")
	// ErrRateLimited: too many codes were entered for this account or
	// from this address within CodeEntryWindow.
	ErrRateLimited = errors.New("account: too many code entries")
	// ErrMethodUnavailable: the factor kind is not offered here.
	ErrMethodUnavailable = errors.New("account: 2-step method not available")
	// ErrInvalidPhone: the number cannot receive a code.
	ErrInvalidPhone = errors.New("account: phone number cannot receive a code")
	// ErrNoSuchFactor: the factor is not one of the person's.
	ErrNoSuchFactor = errors.New("account: no such 2-step method")
	// ErrLastFactor: 2-step verification is required and this is the
	// person's last factor.
	ErrLastFactor = errors.New("account: the last 2-step method cannot be removed while 2-step verification is required")
	// ErrWrongStage: the request does not fit the pending sign-in's step
	// (a stale form).
	ErrWrongStage = errors.New("account: not at this step")
)

// SignIn is a sign-in that passed its first factor, as the gateway knows
// it: what decides whether the second step is asked, and what the
// session made at the end carries.
type SignIn struct {
	User *store.User
	// Provider is the first factor's provider id; Password tells a
	// password provider (local, LDAP, AD), whose sign-ins the policy
	// covers, from a federated one, covered only when in AppliesTo.
	Provider string
	Password bool
	// AMR is the first factor's (RFC 8176: "pwd", or the IdP's).
	AMR []string
	// Line is the registered line the request came through, or "".
	Line     string
	ClientIP string
	// ReturnTo is where the browser goes at the end (validated).
	ReturnTo string
	// Browser is the remembered-browser cookie's token, or "".
	Browser string
	// StepUp is the id of the session whose second step this is (a
	// service that requires it), or "" for a sign-in.
	StepUp string
}

// Begin says how a sign-in goes on.
type Begin struct {
	// Token is the pending sign-in's secret for the browser's cookie; ""
	// when no second step is asked (make the session now).
	Token string
	// Stage is StageVerify or StageSetup when Token is set.
	Stage string
	// Remembered is true when the step was skipped because the browser
	// is remembered; its cookie is to be refreshed.
	Remembered bool
}

// Passed is a sign-in that passed its second step: the session to make.
type Passed struct {
	User     *store.User
	Provider string
	// AMR is the first factor's, the second's ("otp", "sms", "tel",
	// "hwk") and "mfa".
	AMR      []string
	Line     string
	ClientIP string
	ReturnTo string
	// StepUp is the session to replace, or "".
	StepUp string
	// RememberToken, when set, goes into the remembered-browser cookie.
	RememberToken string
	// Enrolled is true when the factor was set up in this sign-in: the
	// completion page is shown before ReturnTo.
	Enrolled bool
	// Factor is the kind passed ("totp", "sms", "voice", "webauthn",
	// "recovery").
	Factor string
}

// Step is the outcome of a POST at a pending sign-in: either Passed, or
// the new Token the browser's cookie holds from now on (the old one is
// used up).
type Step struct {
	Token  string
	Passed *Passed
}

// pending is a pending sign-in's state, sealed in its ticket's Data.
type pending struct {
	UserID   string   `json:"u"`
	Provider string   `json:"p"`
	AMR      []string `json:"a"`
	Line     string   `json:"l,omitempty"`
	ClientIP string   `json:"ip,omitempty"`
	ReturnTo string   `json:"r,omitempty"`
	StepUp   string   `json:"su,omitempty"`
	Stage    string   `json:"st"`
	// Factor is the chosen factor's id; State its challenge's state,
	// Options what its page passes to a script (WebAuthn).
	Factor  string `json:"f,omitempty"`
	State   []byte `json:"fs,omitempty"`
	Options []byte `json:"fo,omitempty"`
	// Tries counts wrong codes of the current challenge; SentAt is when
	// its code was sent (unix ms, 0 when none).
	Tries  int   `json:"t,omitempty"`
	SentAt int64 `json:"sa,omitempty"`
	// Enrol is an enrolment under way (StageSetup).
	Enrol *enrolState `json:"e,omitempty"`
	// Codes are recovery codes waiting to be shown (StageCodes); Passed
	// the factor kind that got there; Remember the checkbox's answer.
	Codes    []string `json:"c,omitempty"`
	Passed   string   `json:"pa,omitempty"`
	Remember bool     `json:"rm,omitempty"`
	Enrolled bool     `json:"en,omitempty"`
}

// enrolState is an enrolment under way: the factor's state and what the
// page shows (a TOTP key's URI, text and QR code; the masked phone).
type enrolState struct {
	Kind   string `json:"k"`
	Phone  string `json:"ph,omitempty"`
	State  []byte `json:"s"`
	URI    string `json:"u,omitempty"`
	Secret string `json:"sc,omitempty"`
	QR     []byte `json:"q,omitempty"`
	SentAt int64  `json:"sa,omitempty"`
	Tries  int    `json:"t,omitempty"`

	// Options are a WebAuthn enrolment's creation options, for the
	// page's script.
	Options []byte `json:"o,omitempty"`
}

// tokenBytes is the randomness of a pending sign-in's or remembered
// browser's token.
const tokenBytes = 32

// newToken returns a random token, base64url.
func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("account: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenID is the store's id of a token: its SHA-256, hex.
func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// maxToken bounds a token read from a cookie.
const maxToken = 64

// pendingAD binds sealed pending data to its purpose.
var pendingAD = []byte(store.PurposeSignInPending)

// required is TwoStepPolicy.Required as it is now.
func (s *Service) required() bool {
	if s.org != nil {
		r, _ := s.org()
		return r
	}
	return s.twoStep.Required
}

// lineOnly is TwoStepPolicy.LineOnly as it is now.
func (s *Service) lineOnly() bool {
	if s.org != nil {
		_, l := s.org()
		return l
	}
	return s.twoStep.LineOnly
}

// TwoStepOn reports whether 2-step verification exists here: at least one
// factor is wired.
func (s *Service) TwoStepOn() bool { return len(s.factors) > 0 }

// factor returns the wired factor of kind, if offered by the policy.
func (s *Service) factor(kind string) (mfa.Factor, bool) {
	if !slices.Contains(s.twoStep.Methods, kind) {
		return nil, false
	}
	f, ok := s.factors[mfa.Kind(kind)]
	return f, ok
}

// EnrolMethods are the kinds a person may set up, in the policy's order.
func (s *Service) EnrolMethods() []string {
	var out []string
	for _, m := range s.twoStep.Methods {
		if _, ok := s.factors[mfa.Kind(m)]; ok {
			out = append(out, m)
		}
	}
	return out
}

// covered reports whether the policy covers a sign-in through in's
// provider: password sign-ins, and federated ones in AppliesTo.
func (s *Service) covered(in SignIn) bool {
	return in.Password || slices.Contains(s.twoStep.AppliesTo, in.Provider)
}

// asks reports whether the policy may ask the second step of the
// sign-in in at all, before anything is read: not under line_only, not
// for a provider it does not cover, not after a first factor that was
// multi-factor already.
func (s *Service) asks(in SignIn) bool {
	return !s.lineOnly() && s.covered(in) && !multiFactor(in.AMR)
}

// multiFactor reports whether amr shows two factors already: an IdP that
// asserted its own MFA, a passwordless passkey with user verification.
func multiFactor(amr []string) bool {
	return slices.Contains(amr, "mfa") || (slices.Contains(amr, "hwk") && slices.Contains(amr, "user"))
}

// BeginSignIn decides whether the sign-in in asks for a second step and,
// when it does, writes the pending sign-in and returns its token. It is
// skipped (Token "") when 2-step verification is off here, for a
// sign-in the policy does not cover, from a registered line, when the
// first factor was multi-factor already, for a person not required and
// not enrolled, and from a browser remembered for this person (whose
// record then slides on). Each skip for a remembered browser or line is
// audited as "mfa_skipped". A step-up (in.StepUp set: a service requires
// a second factor of a signed-in session) skips none of these: it is
// asked, or enrolment first when the person has no factor.
//
// A sign-in the policy cannot ask reads nothing; one it may ask reads
// the person's factors (one query), and a remembered browser's record.
func (s *Service) BeginSignIn(ctx context.Context, in SignIn, o Origin) (*Begin, error) {
	if !s.TwoStepOn() || (in.StepUp == "" && !s.asks(in)) {
		return &Begin{}, nil
	}
	factors, err := s.st.ListFactors(ctx, in.User.ID)
	if err != nil {
		return nil, fmt.Errorf("account: factors: %w", err)
	}
	factors = s.usable(factors)
	now := s.now()
	if in.StepUp == "" {
		skip, remembered, err := s.skipStep(ctx, in, len(factors) > 0, now, o)
		if err != nil || skip {
			return &Begin{Remembered: remembered}, err
		}
	}
	p := &pending{UserID: in.User.ID, Provider: in.Provider, AMR: slices.Clone(in.AMR), Line: in.Line,
		ClientIP: in.ClientIP, ReturnTo: in.ReturnTo, StepUp: in.StepUp, Stage: StageVerify}
	if len(factors) == 0 {
		p.Stage = StageSetup
	} else if err := s.choose(ctx, in.User, p, lastUsed(factors)); err != nil {
		return nil, err
	}
	ev := s.twoStepEvent("mfa_pending", o, in.User, store.OutcomeSuccess, "stage="+p.Stage)
	if in.StepUp != "" {
		ev.Detail += " step_up"
	}
	token, t, err := s.pendingTicket(p, now)
	if err != nil {
		return nil, err
	}
	if err := s.commit(ctx, &store.Batch{Tickets: []*store.Ticket{t}, Audit: []*store.AuditEvent{ev}}); err != nil {
		return nil, err
	}
	return &Begin{Token: token, Stage: p.Stage}, nil
}

// skipStep applies the policy to a sign-in (not a step-up) of a person
// with or without factors (enrolled): it reports whether the step is
// skipped, and whether because the browser is remembered (its record
// slid on).
func (s *Service) skipStep(ctx context.Context, in SignIn, enrolled bool, now time.Time, o Origin) (skip, remembered bool, err error) {
	if !enrolled && !s.required() {
		return true, false, nil
	}
	skipped := func(reason string) {
		ev := s.twoStepEvent("mfa_skipped", o, in.User, store.OutcomeSuccess, reason)
		if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
			s.log.Error("audit write failed", "request_id", o.RequestID, "action", ev.Action, "err", err)
		}
	}
	if in.Line != "" || slices.Contains(in.AMR, "net") {
		skipped("line")
		return true, false, nil
	}
	if in.Browser == "" || len(in.Browser) > maxToken || s.twoStep.RememberBrowser <= 0 {
		return false, false, nil
	}
	err = s.st.UseRememberedBrowser(ctx, tokenID(in.Browser), in.User.ID, now, s.twoStep.RememberBrowser)
	switch {
	case err == nil:
		skipped("remembered_browser")
		return true, true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, false, nil
	}
	return false, false, fmt.Errorf("account: remembered browser: %w", err)
}

// lastUsed is the factor of fs used most recently (the oldest when none
// was used): the one the step asks first, since the person most likely
// has it at hand.
func lastUsed(fs []*store.Factor) *store.Factor {
	best := fs[0]
	for _, f := range fs[1:] {
		if f.LastUsedAt.After(best.LastUsedAt) {
			best = f
		}
	}
	return best
}

// usable keeps the factors whose kind is wired here. A factor of a kind
// switched off since (a sender removed from the configuration) cannot be
// asked, so it neither asks nor counts as enrolled.
func (s *Service) usable(fs []*store.Factor) []*store.Factor {
	return slices.DeleteFunc(fs, func(f *store.Factor) bool {
		_, ok := s.factors[mfa.Kind(f.Kind)]
		return !ok
	})
}

// pendingTicket seals p into a new ticket and returns its token.
func (s *Service) pendingTicket(p *pending, now time.Time) (string, *store.Ticket, error) {
	return s.sealedTicket(p, pendingAD, store.PurposeSignInPending, p.UserID, now, s.twoStep.PendingTTL)
}

// sealedTicket returns a new ticket of purpose for userID (may be empty)
// that holds v as JSON sealed under the 2-step key with the associated
// data ad, valid for ttl from now, and the token (the secret the browser
// keeps; the ticket's id is its hash).
func (s *Service) sealedTicket(v any, ad []byte, purpose, userID string, now time.Time, ttl time.Duration) (string, *store.Ticket, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", nil, fmt.Errorf("account: %s: %w", purpose, err)
	}
	data, err := s.pendingSeal.seal(plain, ad)
	if err != nil {
		return "", nil, err
	}
	token, err := newToken()
	if err != nil {
		return "", nil, err
	}
	return token, &store.Ticket{ID: tokenID(token), Purpose: purpose, UserID: userID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(ttl)}, nil
}

// loaded is a pending sign-in read from its ticket.
type loaded struct {
	id   string
	p    *pending
	user *store.User
}

// load reads the pending sign-in of token without using it.
// ErrPendingGone when it expired, was used, or its user is gone or
// disabled.
func (s *Service) load(ctx context.Context, token string) (*loaded, error) {
	// Off (since a reload): a sign-in left pending starts again.
	if !s.TwoStepOn() || token == "" || len(token) > maxToken {
		return nil, ErrPendingGone
	}
	id := tokenID(token)
	t, err := s.st.PeekTicket(ctx, store.PurposeSignInPending, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrPendingGone
	}
	if err != nil {
		return nil, fmt.Errorf("account: pending: %w", err)
	}
	plain, err := s.pendingSeal.open(t.Data, pendingAD)
	if err != nil {
		return nil, ErrPendingGone
	}
	var p pending
	if err := json.Unmarshal(plain, &p); err != nil || p.UserID != t.UserID {
		return nil, ErrPendingGone
	}
	u, err := s.st.GetUser(ctx, p.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrPendingGone
	case err != nil:
		return nil, fmt.Errorf("account: pending user: %w", err)
	case u.Status == store.StatusDisabled || u.Status == store.StatusInvited:
		return nil, ErrPendingGone
	}
	return &loaded{id: id, p: &p, user: u}, nil
}

// advance uses up l's ticket and writes next (when not nil) in its
// place, with the batch's other writes, in one transaction; it returns
// next's token. ErrPendingGone when the ticket was used meanwhile.
func (s *Service) advance(ctx context.Context, l *loaded, next *pending, b *store.Batch) (string, error) {
	now := s.now()
	b.Consume = &store.TicketUse{Purpose: store.PurposeSignInPending, ID: l.id, Now: now}
	token := ""
	if next != nil {
		var t *store.Ticket
		var err error
		if token, t, err = s.pendingTicket(next, now); err != nil {
			return "", err
		}
		b.Tickets = append(b.Tickets, t)
	}
	_, err := s.apply(ctx, b)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrPendingGone
	}
	if err != nil {
		return "", fmt.Errorf("account: pending step: %w", err)
	}
	for _, ev := range b.Audit {
		s.logEvent(ctx, ev)
	}
	return token, nil
}

// twoStepEvent is an audit event of the second step for u.
func (s *Service) twoStepEvent(action string, o Origin, u *store.User, outcome store.Outcome, detail string) *store.AuditEvent {
	ev := s.flowEvent(action, o, s.now())
	ev.UserID, ev.Actor, ev.Outcome, ev.Detail = u.ID, u.Email, outcome, detail
	return ev
}

// FactorChoice is a registered factor as the pages list it.
type FactorChoice struct {
	ID   string
	Kind string
	Name string
	// Target is an SMS or voice factor's number, masked (***-****-*678).
	Target    string
	CreatedAt time.Time
	LastUsed  time.Time
}

// choice describes f for a page.
func choice(f *store.Factor) FactorChoice {
	c := FactorChoice{ID: f.ID, Kind: f.Kind, Name: f.Name, CreatedAt: f.CreatedAt, LastUsed: f.LastUsedAt}
	if f.Target != "" {
		c.Target = notify.MaskPhone(f.Target)
	}
	return c
}

// PendingView is what the pages of a pending sign-in show.
type PendingView struct {
	Stage string
	User  *store.User
	// StepUp is true when a signed-in session is being stepped up.
	StepUp   bool
	ReturnTo string

	// StageVerify: the person's factors, the chosen one, whether its
	// code was sent (SMS, voice), tries left, the checkbox, and a
	// WebAuthn ceremony's options.
	Factors      []FactorChoice
	Chosen       FactorChoice
	Sends        bool
	Sent         bool
	TriesLeft    int
	Remember     bool
	Options      []byte
	RecoveryLeft int

	// StageSetup: the kinds offered, in order; the enrolment under way
	// (its kind, TOTP key as URI, grouped text and QR code PNG, the
	// masked phone a code went to); the number to prefill (the person's
	// mobile).
	Methods     []string
	EnrolKind   string
	EnrolURI    string
	EnrolSecret string
	EnrolQR     []byte
	EnrolTarget string
	EnrolSent   bool
	Phone       string
	// EnrolOptions are a WebAuthn enrolment's creation options.
	EnrolOptions []byte

	// StageCodes: the recovery codes to show once; Enrolled tells codes
	// of a first enrolment from a set renewed after one was used.
	Codes    []string
	Enrolled bool
}

// Pending returns the view of the pending sign-in of token, without
// using it. ErrPendingGone when it is not pending.
func (s *Service) Pending(ctx context.Context, token string) (*PendingView, error) {
	l, err := s.load(ctx, token)
	if err != nil {
		return nil, err
	}
	p := l.p
	v := &PendingView{Stage: p.Stage, User: l.user, StepUp: p.StepUp != "", ReturnTo: p.ReturnTo,
		Remember: s.twoStep.RememberBrowser > 0 && p.StepUp == ""}
	switch p.Stage {
	case StageVerify:
		fs, err := s.st.ListFactors(ctx, l.user.ID)
		if err != nil {
			return nil, fmt.Errorf("account: factors: %w", err)
		}
		for _, f := range s.usable(fs) {
			c := choice(f)
			v.Factors = append(v.Factors, c)
			if f.ID == p.Factor {
				v.Chosen = c
			}
		}
		v.Sends = sends(v.Chosen.Kind)
		v.Sent = p.SentAt != 0
		v.TriesLeft = max(0, s.twoStep.MaxTries-p.Tries)
		v.Options = p.Options
		if v.RecoveryLeft, err = s.st.RecoveryCodesLeft(ctx, l.user.ID); err != nil {
			return nil, fmt.Errorf("account: recovery codes: %w", err)
		}
	case StageSetup:
		v.Methods = s.EnrolMethods()
		v.Phone = l.user.Mobile
		if e := p.Enrol; e != nil {
			v.EnrolKind, v.EnrolURI, v.EnrolSecret, v.EnrolQR = e.Kind, e.URI, e.Secret, e.QR
			v.EnrolOptions = e.Options
			v.EnrolSent = e.SentAt != 0
			v.TriesLeft = max(0, s.twoStep.MaxTries-e.Tries)
			if e.Phone != "" {
				v.EnrolTarget = notify.MaskPhone(e.Phone)
			}
		}
	case StageCodes:
		v.Codes, v.Enrolled = p.Codes, p.Enrolled
	}
	return v, nil
}

// sends reports whether a factor kind sends its code (SMS, voice):
// its page has a "send the code" button.
func sends(kind string) bool {
	return kind == store.FactorSMS || kind == store.FactorVoice
}

// amrOf is the RFC 8176 value of a factor kind.
func amrOf(kind string) string {
	switch kind {
	case store.FactorSMS:
		return "sms"
	case store.FactorVoice:
		return "tel"
	case store.FactorWebAuthn:
		return "hwk"
	}
	return "otp" // authenticator app, recovery code
}

// passedAMR is the first factor's amr with the second factor's value and
// "mfa" added, without duplicates.
func passedAMR(first []string, kind string) []string {
	out := slices.Clone(first)
	if len(out) == 0 {
		out = []string{"pwd"}
	}
	for _, v := range []string{amrOf(kind), "mfa"} {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// subject is u as a factor sees it; phone is an SMS or voice factor's.
func (s *Service) subject(u *store.User, phone string) mfa.Subject {
	return mfa.Subject{UserID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Phone: phone,
		Language: s.mailLang(u, "")}
}
