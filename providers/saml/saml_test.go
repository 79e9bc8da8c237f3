package saml

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssogate/ssogate/providers"
)

// checkErr fails t unless err matches: nil when want is nil, else
// errors.Is(err, want), errors.Is(err, cause) when cause is set, and err's
// text contains text.
func checkErr(t *testing.T, err, want, cause error, text string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("err = %v, want success", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want one wrapping %v", err, want)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Fatalf("err = %v, want one wrapping %v", err, cause)
	}
	if !strings.Contains(err.Error(), text) {
		t.Fatalf("err = %v, want it to mention %q", err, text)
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	_, _, ec := testKeys(t)
	redirect := e.open(t, "redirect", e.config("redirect"))
	postCfg := e.config("post")
	postCfg.Binding = BindingPost
	post := e.open(t, "post", postCfg)
	ecCfg := e.config("ec")
	ecCfg.Key, ecCfg.Certificate = ec.key, ec.cert
	ecp := e.open(t, "ec", ecCfg)
	for _, p := range []*Provider{redirect, post, ecp} {
		e.idp.register(t, p, true)
	}

	tests := []struct {
		name      string
		p         *Provider
		user, pw  string
		encrypted bool
		want      providers.Identity
	}{
		{
			name: "redirect binding, encrypted assertion, name from surname and given name",
			p:    redirect, user: "alice", pw: "alice-pw", encrypted: true,
			want: providers.Identity{ProviderID: "redirect", Subject: "alice@example.test", Email: "alice@example.test",
				EmailVerified: true, DisplayName: "山田 太郎", Groups: []string{"staff", "admins"}, AMR: []string{"fed"}},
		},
		{
			name: "post binding, name attribute",
			p:    post, user: "bob", pw: "bob-pw", encrypted: true,
			want: providers.Identity{ProviderID: "post", Subject: "bob@example.test", Email: "bob@example.test",
				EmailVerified: true, DisplayName: "Bob Example", Groups: []string{"staff"}, AMR: []string{"fed"}},
		},
		{
			name: "ECDSA key: signed requests, plain assertion",
			p:    ecp, user: "alice", pw: "alice-pw",
			want: providers.Identity{ProviderID: "ec", Subject: "alice@example.test", Email: "alice@example.test",
				EmailVerified: true, DisplayName: "山田 太郎", Groups: []string{"staff", "admins"}, AMR: []string{"fed"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			res, err := tc.p.Begin(ctx, providers.BeginRequest{CallbackURL: tc.p.s.ACSURL})
			if err != nil {
				t.Fatal(err)
			}
			st := decodeState(t, res.State)
			checkSignedRequest(t, tc.p, res, st)

			form := newBrowser(e.idp).signIn(t, res, tc.user, tc.pw, tc.p.s.ACSURL)
			if form.Get("RelayState") != st.Relay {
				t.Fatalf("the IdP returned RelayState %q, want %q", form.Get("RelayState"), st.Relay)
			}
			raw, _ := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
			if got := strings.Contains(string(raw), "EncryptedAssertion"); got != tc.encrypted {
				t.Fatalf("assertion encrypted = %v, want %v", got, tc.encrypted)
			}

			id, err := tc.p.Complete(ctx, providers.CompleteRequest{CallbackURL: tc.p.s.ACSURL, Form: form, State: res.State})
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			claims := id.Claims
			id.Claims = nil
			if got, want := jsonString(t, id), jsonString(t, tc.want); got != want {
				t.Errorf("identity\n got %s\nwant %s", got, want)
			}
			if got := claims["urn:oid:0.9.2342.19200300.100.1.1"]; !slices.Equal(got, []string{tc.user}) {
				t.Errorf("Claims[uid] = %q, want [%s]; all claims: %v", got, tc.user, claims)
			}
		})
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkSignedRequest checks Begin's result: the binding's shape, the
// request id in State, and a signature by the SP key.
func checkSignedRequest(t *testing.T, p *Provider, res *providers.BeginResult, st authState) {
	t.Helper()
	if st.Provider != p.ID() || !strings.HasPrefix(st.RequestID, "id-") || len(st.Relay) != 32 {
		t.Fatalf("state %+v", st)
	}
	if p.s.Binding == BindingPost {
		if !strings.HasSuffix(res.RedirectURL, "/sso") || res.PostForm.Get("RelayState") != st.Relay {
			t.Fatalf("post binding: RedirectURL %q, PostForm %v", res.RedirectURL, res.PostForm)
		}
		raw, err := base64.StdEncoding.DecodeString(res.PostForm.Get("SAMLRequest"))
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil {
			t.Fatal(err)
		}
		if id := doc.Root().SelectAttrValue("ID", ""); id != st.RequestID {
			t.Fatalf("AuthnRequest ID %q, state %q", id, st.RequestID)
		}
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{p.s.Certificate}})
		if _, err := vc.Validate(doc.Root()); err != nil {
			t.Fatalf("AuthnRequest signature: %v", err)
		}
		return
	}
	if res.PostForm != nil {
		t.Fatalf("redirect binding with a PostForm")
	}
	u, err := url.Parse(res.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("RelayState") != st.Relay || q.Get("SAMLRequest") == "" || q.Get("Signature") == "" {
		t.Fatalf("redirect URL %s", res.RedirectURL)
	}
	if p.s.sigMethod != dsig.RSASHA256SignatureMethod {
		if q.Get("SigAlg") != p.s.sigMethod {
			t.Fatalf("SigAlg %q, want %q", q.Get("SigAlg"), p.s.sigMethod)
		}
		return
	}
	// HTTP-Redirect binding 3.4.4.1: the signature covers the raw query
	// up to SigAlg.
	signed, _, _ := strings.Cut(u.RawQuery, "&Signature=")
	sig, err := base64.StdEncoding.DecodeString(q.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(p.s.Certificate.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("redirect signature: %v", err)
	}
}

// TestRefused runs a sign-in at the real IdP for each case, changes what
// the browser brings back, and checks Complete's verdict.
func TestRefused(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, "sp", e.config("sp"))
	e.idp.register(t, p, false)
	// other has its own entity id but the same ACS, so that only the
	// audience tells its responses from p's.
	otherCfg := e.config("other")
	otherCfg.ACSURL = p.s.ACSURL
	other := e.open(t, "other", otherCfg)
	e.idp.register(t, other, false)
	b := newBrowser(e.idp)

	setEmail := func(root *etree.Element, to string) {
		for _, v := range assertionOf(t, root).FindElements(".//AttributeValue") {
			if v.Text() == "Alice@Example.test" {
				v.SetText(to)
			}
		}
	}
	tests := []struct {
		name  string
		edit  func(t *testing.T, f flow) providers.CompleteRequest
		at    time.Duration // clock offset at Complete
		want  error
		cause error
		text  string
	}{
		{name: "as sent"},
		{
			name: "response signature removed, assertion signed",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("SAMLResponse", editResponse(t, f.form.Get("SAMLResponse"), func(root *etree.Element) { removeSignature(t, root) }))
				return r
			},
		},
		{name: "two minutes late, within clock skew", at: 2 * time.Minute},
		{
			name: "assertion altered, response signature kept",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("SAMLResponse", editResponse(t, f.form.Get("SAMLResponse"), func(root *etree.Element) {
					setEmail(root, "mallory@example.test")
				}))
				return r
			},
			want: providers.ErrInvalidResponse, text: "signature",
		},
		{
			name: "assertion altered, response signature removed",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("SAMLResponse", editResponse(t, f.form.Get("SAMLResponse"), func(root *etree.Element) {
					removeSignature(t, root)
					setEmail(root, "mallory@example.test")
				}))
				return r
			},
			want: providers.ErrInvalidResponse, text: "signature on Assertion",
		},
		{
			name: "assertion signature value flipped",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("SAMLResponse", editResponse(t, f.form.Get("SAMLResponse"), func(root *etree.Element) {
					removeSignature(t, root)
					sv := assertionOf(t, root).FindElement("./Signature/SignatureValue")
					sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sv.Text()))
					if err != nil {
						t.Fatal(err)
					}
					sig[len(sig)/2] ^= 0x01
					sv.SetText(base64.StdEncoding.EncodeToString(sig))
				}))
				return r
			},
			want: providers.ErrInvalidResponse, text: "signature on Assertion",
		},
		{
			name: "unsigned response",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("SAMLResponse", editResponse(t, f.form.Get("SAMLResponse"), func(root *etree.Element) {
					removeSignature(t, root)
					removeSignature(t, assertionOf(t, root))
				}))
				return r
			},
			want: providers.ErrInvalidResponse, text: "signature element not present",
		},
		{
			name: "Destination elsewhere, response signature removed",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("SAMLResponse", editResponse(t, f.form.Get("SAMLResponse"), func(root *etree.Element) {
					removeSignature(t, root)
					root.CreateAttr("Destination", "https://evil.example.test/acs")
				}))
				return r
			},
			want: providers.ErrInvalidResponse, text: "Destination",
		},
		{name: "expired: past NotOnOrAfter and clock skew", at: 4 * time.Minute, want: providers.ErrInvalidResponse, text: "expired"},
		{name: "not yet valid: before NotBefore and clock skew", at: -3 * time.Minute, want: providers.ErrInvalidResponse, text: "not yet valid"},
		{
			name: "response made for another SP",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				of := signInFlow(t, other, b)
				// A State of p for other's request, as a gateway would
				// hold if the attacker had started that sign-in at p.
				return providers.CompleteRequest{Form: of.form,
					State: encodeState(t, authState{Provider: p.ID(), RequestID: of.st.RequestID, Relay: of.st.Relay})}
			},
			want: providers.ErrInvalidResponse, text: "Audience",
		},
		{
			name: "InResponseTo of another sign-in",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				res, err := p.Begin(context.Background(), providers.BeginRequest{})
				if err != nil {
					t.Fatal(err)
				}
				r := f.request()
				r.State = res.State
				r.Form.Set("RelayState", decodeState(t, res.State).Relay)
				return r
			},
			want: providers.ErrInvalidResponse, text: "InResponseTo",
		},
		{
			name: "RelayState differs",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("RelayState", randomString())
				return r
			},
			want: providers.ErrInvalidResponse, cause: errRelayState,
		},
		{
			name: "RelayState missing",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Del("RelayState")
				return r
			},
			want: providers.ErrInvalidResponse, cause: errRelayState,
		},
		{
			name: "no State: IdP-initiated, refused by default",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.State = nil
				return r
			},
			want: providers.ErrInvalidResponse, cause: errUnsolicited,
		},
		{
			name: "State of another provider",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				st := f.st
				st.Provider = "other"
				r.State = encodeState(t, st)
				return r
			},
			want: providers.ErrInvalidResponse, text: "state of another provider",
		},
		{
			name: "SAMLResponse not base64",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("SAMLResponse", "%%%")
				return r
			},
			want: providers.ErrInvalidResponse, text: "base64",
		},
		{
			name: "SAMLResponse not XML",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte("hello")))
				return r
			},
			want: providers.ErrInvalidResponse, text: "",
		},
		{
			name: "no SAMLResponse",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Form.Del("SAMLResponse")
				return r
			},
			want: providers.ErrInvalidResponse, text: "without SAMLResponse",
		},
		{
			name: "SAMLResponse in the query string",
			edit: func(t *testing.T, f flow) providers.CompleteRequest {
				r := f.request()
				r.Query = url.Values{"SAMLResponse": {r.Form.Get("SAMLResponse")}}
				r.Form.Del("SAMLResponse")
				return r
			},
			want: providers.ErrInvalidResponse, text: "HTTP-POST binding",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := signInFlow(t, p, b)
			req := f.request()
			if tc.edit != nil {
				req = tc.edit(t, f)
			}
			e.clock.set(tc.at)
			defer e.clock.set(0)
			id, err := p.Complete(context.Background(), req)
			checkErr(t, err, tc.want, tc.cause, tc.text)
			if err == nil && id.Subject != "alice@example.test" {
				t.Fatalf("Subject %q", id.Subject)
			}
		})
	}
}

// TestCrafted checks responses that samlidp does not send, written and
// signed with the IdP's key.
func TestCrafted(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, "sp", e.config("sp"))

	tests := []struct {
		name  string
		edit  func(c *crafted)
		want  error
		cause error
		text  string
		check func(t *testing.T, id *providers.Identity)
	}{
		{
			name: "persistent NameID is the subject",
			check: func(t *testing.T, id *providers.Identity) {
				if id.Subject != "Opaque-7f3a" || id.Email != "hanako@example.test" || id.DisplayName != "佐藤 花子" {
					t.Fatalf("identity %+v", id)
				}
			},
		},
		{name: "response signed, assertion not", edit: func(c *crafted) { c.signResponse, c.signAssertion = true, false }},
		{name: "both signed", edit: func(c *crafted) { c.signResponse = true }},
		{
			name: "neither signed",
			edit: func(c *crafted) { c.signAssertion = false },
			want: providers.ErrInvalidResponse, text: "signature element not present",
		},
		{
			name: "signed with RSA-SHA1",
			edit: func(c *crafted) { c.method = dsig.RSASHA1SignatureMethod },
			want: providers.ErrInvalidResponse, cause: errAlgorithm, text: "SHA-1",
		},
		{
			name: "signed by a key not in the IdP metadata",
			edit: func(c *crafted) { c.signer = &spKeys },
			want: providers.ErrInvalidResponse, text: "signature on Assertion",
		},
		{
			name: "Conditions NotOnOrAfter passed, within clock skew",
			edit: func(c *crafted) { c.assertion.Conditions.NotOnOrAfter = time.Now().Add(-time.Minute) },
		},
		{
			name: "Conditions NotOnOrAfter passed beyond clock skew",
			edit: func(c *crafted) { c.assertion.Conditions.NotOnOrAfter = time.Now().Add(-2 * time.Minute) },
			want: providers.ErrInvalidResponse, text: "Conditions is expired",
		},
		{
			name: "SubjectConfirmationData NotOnOrAfter passed beyond clock skew",
			edit: func(c *crafted) {
				c.assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData.NotOnOrAfter = time.Now().Add(-2 * time.Minute)
			},
			want: providers.ErrInvalidResponse, text: "SubjectConfirmationData is expired",
		},
		{
			name: "issued more than clock skew plus a minute ago",
			edit: func(c *crafted) {
				c.assertion.IssueInstant = time.Now().Add(-3 * time.Minute)
				c.assertion.Conditions.NotOnOrAfter = time.Now().Add(time.Hour)
			},
			want: providers.ErrInvalidResponse, text: "expired on",
		},
		{
			name: "no AudienceRestriction",
			edit: func(c *crafted) { c.assertion.Conditions.AudienceRestrictions = nil },
			want: providers.ErrInvalidResponse, text: "without AudienceRestriction",
		},
		{
			name: "a second AudienceRestriction for another SP",
			edit: func(c *crafted) {
				c.assertion.Conditions.AudienceRestrictions = append(c.assertion.Conditions.AudienceRestrictions,
					crewjam.AudienceRestriction{Audience: crewjam.Audience{Value: "https://other.example.test/sp"}})
			},
			want: providers.ErrInvalidResponse, text: "Audience",
		},
		{
			name: "no Conditions",
			edit: func(c *crafted) { c.assertion.Conditions = nil },
			want: providers.ErrInvalidResponse, text: "malformed",
		},
		{
			name: "SubjectConfirmation without data",
			edit: func(c *crafted) { c.assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData = nil },
			want: providers.ErrInvalidResponse, text: "malformed",
		},
		{
			name: "no SubjectConfirmation",
			edit: func(c *crafted) { c.assertion.Subject.SubjectConfirmations = nil },
			want: providers.ErrInvalidResponse, text: "bearer SubjectConfirmation",
		},
		{
			name: "holder-of-key, not bearer",
			edit: func(c *crafted) {
				c.assertion.Subject.SubjectConfirmations[0].Method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
			},
			want: providers.ErrInvalidResponse, text: "bearer SubjectConfirmation",
		},
		{
			name: "Recipient elsewhere",
			edit: func(c *crafted) {
				c.assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData.Recipient = "https://evil.example.test/acs"
			},
			want: providers.ErrInvalidResponse, text: "Recipient",
		},
		{
			name: "assertion InResponseTo differs from the response's",
			edit: func(c *crafted) {
				c.assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo = "id-other"
			},
			want: providers.ErrInvalidResponse, text: "SubjectConfirmation",
		},
		{
			name: "assertion from another issuer",
			edit: func(c *crafted) { c.assertion.Issuer.Value = "https://evil.example.test/idp" },
			want: providers.ErrInvalidResponse, text: "issuer",
		},
		{
			name: "transient NameID and no email",
			edit: func(c *crafted) {
				c.assertion.Subject.NameID.Format = nameIDTransient
				c.assertion.AttributeStatements[0].Attributes = c.assertion.AttributeStatements[0].Attributes[1:]
			},
			want: providers.ErrInvalidResponse, text: "no stable subject",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Begin(context.Background(), providers.BeginRequest{})
			if err != nil {
				t.Fatal(err)
			}
			st := decodeState(t, res.State)
			c := e.idp.newCrafted(p, st.RequestID)
			if tc.edit != nil {
				tc.edit(c)
			}
			id, err := p.Complete(context.Background(), providers.CompleteRequest{
				Form:  url.Values{"SAMLResponse": {c.encode(t, e.idp)}, "RelayState": {st.Relay}},
				State: res.State,
			})
			checkErr(t, err, tc.want, tc.cause, tc.text)
			if tc.check != nil {
				tc.check(t, id)
			}
		})
	}
}

func TestErrorStatus(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, "sp", e.config("sp"))
	status := func(top, sub string) crewjam.StatusCode {
		sc := crewjam.StatusCode{Value: top}
		if sub != "" {
			sc.StatusCode = &crewjam.StatusCode{Value: sub}
		}
		return sc
	}
	tests := []struct {
		name         string
		code         crewjam.StatusCode
		unsigned     bool
		inResponseTo string // default: the request's id
		want         error
		wantCode     string
	}{
		{name: "AuthnFailed", code: status(crewjam.StatusResponder, crewjam.StatusAuthnFailed),
			want: providers.ErrDenied, wantCode: "Responder/AuthnFailed"},
		{name: "Requester", code: status(crewjam.StatusRequester, ""), want: providers.ErrDenied, wantCode: "Requester"},
		{name: "RequestDenied", code: status(crewjam.StatusResponder, crewjam.StatusRequestDenied),
			want: providers.ErrDenied, wantCode: "Responder/RequestDenied"},
		{name: "Responder", code: status(crewjam.StatusResponder, ""), want: providers.ErrInvalidResponse, wantCode: "Responder"},
		{name: "VersionMismatch", code: status(crewjam.StatusVersionMismatch, ""),
			want: providers.ErrInvalidResponse, wantCode: "VersionMismatch"},
		{name: "unsigned AuthnFailed", code: status(crewjam.StatusResponder, crewjam.StatusAuthnFailed), unsigned: true,
			want: providers.ErrDenied, wantCode: "Responder/AuthnFailed"},
		{name: "AuthnFailed for another request", code: status(crewjam.StatusResponder, crewjam.StatusAuthnFailed),
			inResponseTo: "id-another", want: providers.ErrInvalidResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Begin(context.Background(), providers.BeginRequest{})
			if err != nil {
				t.Fatal(err)
			}
			st := decodeState(t, res.State)
			reqID := st.RequestID
			if tc.inResponseTo != "" {
				reqID = tc.inResponseTo
			}
			c := e.idp.newCrafted(p, reqID)
			c.assertion = nil
			c.signResponse = !tc.unsigned
			c.response.Status.StatusCode = tc.code
			c.response.Status.StatusMessage = &crewjam.StatusMessage{Value: "パスワードが違います"}
			_, err = p.Complete(context.Background(), providers.CompleteRequest{
				Form:  url.Values{"SAMLResponse": {c.encode(t, e.idp)}, "RelayState": {st.Relay}},
				State: res.State,
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var perr *providers.ProviderError
			if tc.wantCode == "" {
				if errors.As(err, &perr) {
					t.Fatalf("err = %v: a status for another request must not pass as the IdP's answer", err)
				}
				return
			}
			if !errors.As(err, &perr) || perr.Code != tc.wantCode || perr.Description != "パスワードが違います" {
				t.Fatalf("err = %#v, want ProviderError %s with the status message", err, tc.wantCode)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, "sp", e.config("sp"))
	e.idp.register(t, p, true)
	b := newBrowser(e.idp)
	ctx := context.Background()

	f := signInFlow(t, p, b)
	if _, err := p.Complete(ctx, f.request()); err != nil {
		t.Fatalf("first Complete: %v", err)
	}
	// The attacker has the response and starts a sign-in of their own
	// whose state the gateway keeps: same request id, fresh RelayState.
	fresh := authState{Provider: p.ID(), RequestID: f.st.RequestID, Relay: randomString()}
	form := cloneValues(f.form)
	form.Set("RelayState", fresh.Relay)
	_, err := p.Complete(ctx, providers.CompleteRequest{Form: form, State: encodeState(t, fresh)})
	checkErr(t, err, providers.ErrInvalidResponse, errReplay, "replay")

	entries := e.replay.entries()
	if len(entries) != 1 {
		t.Fatalf("replay cache %v, want one assertion", entries)
	}
	for id, until := range entries {
		if !strings.HasPrefix(id, "saml:sp:id-") {
			t.Errorf("replay key %q, want saml:<provider>:<assertion id>", id)
		}
		// samlidp's assertions are valid 90 s, plus 90 s of skew.
		if d := time.Until(until); d < 170*time.Second || d > 200*time.Second {
			t.Errorf("remembered for %s, want NotOnOrAfter + clock skew (about 180s)", d)
		}
	}

	e.replay.failWith(errors.New("store down"))
	f = signInFlow(t, p, b)
	_, err = p.Complete(ctx, f.request())
	checkErr(t, err, providers.ErrUnavailable, nil, "store down")
}

func TestIDPInitiated(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("portal")
	cfg.AllowIDPInitiated = true
	p := e.open(t, "portal", cfg)
	e.idp.register(t, p, true)
	strictCfg := e.config("portal")
	strict := e.open(t, "portal", strictCfg)
	e.idp.put(t, "/shortcuts/gw", "application/json", `{"name":"gw","service_provider":"`+p.s.EntityID+`"}`)
	b := newBrowser(e.idp)
	b.login(t, "alice", "alice-pw")
	ctx := context.Background()

	unsolicited := func(t *testing.T) url.Values {
		pg := readPage(t)(b.c.Get(e.idp.srv.URL + "/login/gw"))
		if pg.fields.Get("SAMLResponse") == "" || pg.action != p.s.ACSURL {
			t.Fatalf("IdP-initiated page %+v", pg)
		}
		return pg.fields
	}

	t.Run("refused without allow_idp_initiated", func(t *testing.T) {
		_, err := strict.Complete(ctx, providers.CompleteRequest{Form: unsolicited(t)})
		checkErr(t, err, providers.ErrInvalidResponse, errUnsolicited, "")
	})
	t.Run("accepted with allow_idp_initiated, once", func(t *testing.T) {
		form := unsolicited(t)
		id, err := p.Complete(ctx, providers.CompleteRequest{Form: form})
		if err != nil {
			t.Fatal(err)
		}
		if id.Subject != "alice@example.test" || id.DisplayName != "山田 太郎" {
			t.Fatalf("identity %+v", id)
		}
		_, err = p.Complete(ctx, providers.CompleteRequest{Form: form})
		checkErr(t, err, providers.ErrInvalidResponse, errReplay, "")
	})
	t.Run("unsolicited response where a sign-in was started", func(t *testing.T) {
		res, err := p.Begin(ctx, providers.BeginRequest{})
		if err != nil {
			t.Fatal(err)
		}
		form := unsolicited(t)
		form.Set("RelayState", decodeState(t, res.State).Relay)
		_, err = p.Complete(ctx, providers.CompleteRequest{Form: form, State: res.State})
		checkErr(t, err, providers.ErrInvalidResponse, nil, "InResponseTo")
	})
	t.Run("solicited response posted as unsolicited", func(t *testing.T) {
		f := signInFlow(t, p, b)
		_, err := p.Complete(ctx, providers.CompleteRequest{Form: f.form})
		checkErr(t, err, providers.ErrInvalidResponse, errSolicited, "")
	})
	t.Run("solicited assertion in an unsolicited response", func(t *testing.T) {
		c := e.idp.newCrafted(p, "")
		c.assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo = "id-someone-elses"
		_, err := p.Complete(ctx, providers.CompleteRequest{Form: url.Values{"SAMLResponse": {c.encode(t, e.idp)}}})
		checkErr(t, err, providers.ErrInvalidResponse, errSolicited, "")
	})
}

func TestSHA1(t *testing.T) {
	e := newEnv(t)
	strict := e.open(t, "strict", e.config("strict"))
	legacyCfg := e.config("legacy")
	legacyCfg.AllowSHA1 = true
	legacy := e.open(t, "legacy", legacyCfg)
	e.idp.register(t, strict, true)
	e.idp.register(t, legacy, true)
	e.idp.server.IDP.SignatureMethod = dsig.RSASHA1SignatureMethod
	b := newBrowser(e.idp)

	f := signInFlow(t, strict, b)
	_, err := strict.Complete(context.Background(), f.request())
	checkErr(t, err, providers.ErrInvalidResponse, errAlgorithm, "rsa-sha1")

	f = signInFlow(t, legacy, b)
	if _, err := legacy.Complete(context.Background(), f.request()); err != nil {
		t.Fatalf("AllowSHA1: %v", err)
	}
}

func TestEncryptionAlgorithms(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, "sp", e.config("sp"))
	e.idp.register(t, p, true)
	b := newBrowser(e.idp)
	tests := []struct {
		name string
		path string
		alg  string
	}{
		{"RSA PKCS#1 v1.5 key transport", ".//EncryptedKey/EncryptionMethod", "http://www.w3.org/2001/04/xmlenc#rsa-1_5"},
		{"3DES content", "./EncryptedAssertion/EncryptedData/EncryptionMethod", "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := signInFlow(t, p, b)
			r := f.request()
			r.Form.Set("SAMLResponse", editResponse(t, f.form.Get("SAMLResponse"), func(root *etree.Element) {
				m := root.FindElement(tc.path)
				if m == nil {
					t.Fatalf("no %s in the response", tc.path)
				}
				m.CreateAttr("Algorithm", tc.alg)
			}))
			_, err := p.Complete(context.Background(), r)
			checkErr(t, err, providers.ErrInvalidResponse, errAlgorithm, tc.alg)
		})
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	_, _, ec := testKeys(t)
	rsaP := e.open(t, "sp", e.config("sp"))
	ecCfg := e.config("ec")
	ecCfg.Key, ecCfg.Certificate = ec.key, ec.cert
	ecCfg.EntityID = "urn:example:gateway"
	ecP := e.open(t, "ec", ecCfg)

	tests := []struct {
		name     string
		p        *Provider
		entityID string
		uses     []string
	}{
		{"RSA key: signing and encryption", rsaP, "https://gw.example.test/saml/sp/metadata", []string{"signing", "encryption"}},
		{"ECDSA key: signing only, explicit entity id", ecP, "urn:example:gateway", []string{"signing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := tc.p.Metadata(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), "validUntil") {
				t.Errorf("metadata has validUntil:\n%s", raw)
			}
			var ed crewjam.EntityDescriptor
			if err := xml.Unmarshal(raw, &ed); err != nil {
				t.Fatalf("unmarshal: %v\n%s", err, raw)
			}
			if ed.EntityID != tc.entityID || len(ed.SPSSODescriptors) != 1 {
				t.Fatalf("entity %q with %d SPSSODescriptors\n%s", ed.EntityID, len(ed.SPSSODescriptors), raw)
			}
			sp := ed.SPSSODescriptors[0]
			if sp.AuthnRequestsSigned == nil || !*sp.AuthnRequestsSigned || sp.WantAssertionsSigned == nil || !*sp.WantAssertionsSigned {
				t.Errorf("AuthnRequestsSigned %v, WantAssertionsSigned %v", sp.AuthnRequestsSigned, sp.WantAssertionsSigned)
			}
			if len(sp.AssertionConsumerServices) != 1 || sp.AssertionConsumerServices[0].Binding != crewjam.HTTPPostBinding ||
				sp.AssertionConsumerServices[0].Location != tc.p.s.ACSURL {
				t.Errorf("ACS %+v", sp.AssertionConsumerServices)
			}
			var uses []string
			for _, kd := range sp.KeyDescriptors {
				uses = append(uses, kd.Use)
				if got := kd.KeyInfo.X509Data.X509Certificates[0].Data; got != base64.StdEncoding.EncodeToString(tc.p.s.Certificate.Raw) {
					t.Errorf("%s certificate is not the SP's", kd.Use)
				}
			}
			if !slices.Equal(uses, tc.uses) {
				t.Errorf("key uses %v, want %v", uses, tc.uses)
			}
			if len(sp.NameIDFormats) == 0 || sp.NameIDFormats[0] != nameIDPersistent {
				t.Errorf("NameIDFormats %v, want persistent first", sp.NameIDFormats)
			}
			// The IdP must accept it.
			e.idp.register(t, tc.p, true)
		})
	}
}

func TestMetadataRefresh(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, "sp", e.config("sp"))
	e.idp.register(t, p, true)
	ctx := context.Background()
	first := p.MetadataStatus()
	if first.EntityID != e.idp.entityID() || first.LastError != nil {
		t.Fatalf("status after Open %+v", first)
	}

	for _, mode := range []string{"down", "garbage"} {
		t.Run("IdP metadata "+mode+": the last good copy stays", func(t *testing.T) {
			e.idp.metadataMode.Store(mode)
			defer e.idp.metadataMode.Store("")
			err := p.RefreshMetadata(ctx)
			if !errors.Is(err, providers.ErrUnavailable) {
				t.Fatalf("RefreshMetadata = %v, want ErrUnavailable", err)
			}
			st := p.MetadataStatus()
			if st.EntityID != e.idp.entityID() || st.LastError == nil || !st.Loaded.Equal(first.Loaded) {
				t.Fatalf("status %+v", st)
			}
			f := signInFlow(t, p, newBrowser(e.idp))
			if _, err := p.Complete(ctx, f.request()); err != nil {
				t.Fatalf("sign-in with the last good metadata: %v", err)
			}
		})
	}

	t.Run("IdP metadata back", func(t *testing.T) {
		e.clock.advance(time.Hour)
		defer e.clock.set(0)
		if err := p.RefreshMetadata(ctx); err != nil {
			t.Fatal(err)
		}
		if st := p.MetadataStatus(); st.LastError != nil || !st.Loaded.After(first.Loaded) {
			t.Fatalf("status %+v", st)
		}
	})
}

func TestMetadataUnavailableAtOpen(t *testing.T) {
	e := newEnv(t)
	e.idp.metadataMode.Store("down")
	p := e.open(t, "sp", e.config("sp"))
	ctx := context.Background()

	if st := p.MetadataStatus(); st.EntityID != "" || st.LastError == nil {
		t.Fatalf("status %+v", st)
	}
	_, err := p.Begin(ctx, providers.BeginRequest{})
	checkErr(t, err, providers.ErrUnavailable, nil, "503")
	st := encodeState(t, authState{Provider: p.ID(), RequestID: "id-1", Relay: "r"})
	_, err = p.Complete(ctx, providers.CompleteRequest{Form: url.Values{"SAMLResponse": {"eA=="}, "RelayState": {"r"}}, State: st})
	checkErr(t, err, providers.ErrUnavailable, nil, "")

	// The IdP recovers; within the retry interval nobody asks it again.
	e.idp.metadataMode.Store("")
	hits := e.idp.metadataHits.Load()
	_, err = p.Begin(ctx, providers.BeginRequest{})
	checkErr(t, err, providers.ErrUnavailable, nil, "")
	if got := e.idp.metadataHits.Load(); got != hits {
		t.Fatalf("metadata fetched %d times within %s of a failure", got-hits, lazyRetry)
	}

	e.clock.advance(lazyRetry)
	defer e.clock.set(0)
	e.idp.register(t, p, true)
	f := signInFlow(t, p, newBrowser(e.idp))
	if _, err := p.Complete(ctx, f.request()); err != nil {
		t.Fatalf("sign-in after the IdP recovered: %v", err)
	}

	p.Close()
	p.Close()
	select {
	case <-p.done:
	default:
		t.Fatal("the refresher still runs after Close")
	}
}

// TestHungIdP checks that an IdP that never answers holds Open only as
// long as its ctx, and Close not at all.
func TestHungIdP(t *testing.T) {
	e := newEnv(t)
	e.idp.metadataMode.Store("hang")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	p, err := Open(ctx, "sp", e.config("sp"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %s with a 50ms context", d)
	}
	_, err = p.Begin(ctx, providers.BeginRequest{})
	checkErr(t, err, providers.ErrUnavailable, context.DeadlineExceeded, "")

	start = time.Now()
	p.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %s while a fetch hung", d)
	}
	if st := p.MetadataStatus(); st.EntityID != "" || !errors.Is(st.LastError, context.Canceled) {
		t.Errorf("status after Close %+v, want the fetch cancelled", st)
	}
}

func TestStaticMetadata(t *testing.T) {
	e := newEnv(t)
	md := fetch(t, e.idp.metadataURL())
	cfg := e.config("sp")
	cfg.IDPMetadataURL, cfg.IDPMetadata = "", md
	p := e.open(t, "sp", cfg)
	e.idp.register(t, p, true)
	if err := p.RefreshMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := signInFlow(t, p, newBrowser(e.idp))
	if _, err := p.Complete(context.Background(), f.request()); err != nil {
		t.Fatal(err)
	}

	cfg.IDPMetadata = []byte("<html/>")
	if _, err := Open(context.Background(), "bad", cfg); err == nil || !strings.Contains(err.Error(), "idp_metadata_file") {
		t.Fatalf("Open with bad metadata: %v", err)
	}
}

// TestCrewjamGlobalsRestored checks that a provider's clock and skew do
// not leak into crewjam/saml's package variables.
func TestCrewjamGlobalsRestored(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("sp")
	cfg.ClockSkew = 5 * time.Minute
	p := e.open(t, "sp", cfg)
	e.clock.set(3 * time.Hour)
	defer e.clock.set(0)
	if _, err := p.Begin(context.Background(), providers.BeginRequest{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(crewjam.TimeNow()); d < -time.Second || d > time.Second {
		t.Errorf("crewjam.TimeNow is %s off", d)
	}
	if crewjam.MaxClockSkew != 180*time.Second || crewjam.MaxIssueDelay != 90*time.Second || crewjam.Clock != nil {
		t.Errorf("crewjam globals: skew %s, delay %s, clock %v", crewjam.MaxClockSkew, crewjam.MaxIssueDelay, crewjam.Clock)
	}
}
