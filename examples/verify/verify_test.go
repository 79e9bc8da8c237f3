package verify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// requireEnv makes a missing interpreter or compiler a failure instead of
// a skip; `make test` sets it.
const requireEnv = "SSOGATE_REQUIRE_BROWSER"

const (
	testEmail    = "yamada@example.co.jp"
	testPassword = "Sakura-Passw0rd!"
	testName     = "山田 太郎"
)

var testGroups = []string{"staff", "経理"}

// verifier is one of the example programs: argv is how to run it before
// its own arguments (JWKS_URL ISSUER AUDIENCE [TOKEN]).
type verifier struct {
	name string
	argv []string
}

// TestVerifiers runs every example verifier against assertions a real
// gateway issued: a good one passes with the right claims; a wrong
// audience or issuer, a tampered payload, an expired token, alg "none",
// HS256 keyed with the public key, and an ES256 token signed by another
// key under the gateway's kid are all refused.
func TestVerifiers(t *testing.T) {
	gw := startGateway(t)
	tokens := gw.tokens(t)

	for _, f := range finders {
		t.Run(f.name, func(t *testing.T) {
			v := verifier{name: f.name, argv: f.find(t)}
			t.Run("good token on stdin", func(t *testing.T) {
				out, err := v.run(t, gw.jwksURL, gw.issuer, "wiki", tokens.good, true)
				if err != nil {
					t.Fatalf("refused a good token: %v\n%s", err, out)
				}
				gw.checkClaims(t, out)
			})
			t.Run("good token as argument", func(t *testing.T) {
				out, err := v.run(t, gw.jwksURL, gw.issuer, "wiki", tokens.good, false)
				if err != nil {
					t.Fatalf("refused a good token: %v\n%s", err, out)
				}
				gw.checkClaims(t, out)
			})
			bad := []struct {
				name, token, issuer, audience string
			}{
				{"wrong audience", tokens.otherService, gw.issuer, "wiki"},
				{"expected another audience", tokens.good, gw.issuer, "other"},
				{"wrong issuer", tokens.good, "http://127.0.0.1:1", "wiki"},
				{"tampered payload", tokens.tampered, gw.issuer, "wiki"},
				{"expired", tokens.expired, gw.issuer, "wiki"},
				{"alg none", tokens.algNone, gw.issuer, "wiki"},
				{"HS256 keyed with the public key", tokens.hs256, gw.issuer, "wiki"},
				{"signed by another key", tokens.otherKey, gw.issuer, "wiki"},
				{"not a JWT", "not.a.jwt", gw.issuer, "wiki"},
			}
			for _, c := range bad {
				t.Run(c.name, func(t *testing.T) {
					out, err := v.run(t, gw.jwksURL, c.issuer, c.audience, c.token, true)
					var exit *exec.ExitError
					if !errors.As(err, &exit) {
						t.Fatalf("accepted (err %v); printed:\n%s", err, out)
					}
					t.Logf("refused: %s", strings.TrimSpace(out.stderr))
					if strings.Contains(out.stdout, testEmail) {
						t.Errorf("refused but printed the claims:\n%s", out.stdout)
					}
				})
			}
		})
	}
}

// output is what a verifier printed.
type output struct{ stdout, stderr string }

func (o output) String() string { return "stdout: " + o.stdout + "\nstderr: " + o.stderr }

// run runs the verifier on token, given on stdin or as the last argument.
func (v verifier) run(t *testing.T, jwksURL, issuer, audience, token string, stdin bool) (output, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(slices.Clone(v.argv[1:]), jwksURL, issuer, audience)
	if !stdin {
		args = append(args, token)
	}
	cmd := exec.CommandContext(ctx, v.argv[0], args...)
	// Python's urllib honours http_proxy: keep the JWKS fetch on loopback.
	cmd.Env = append(os.Environ(), "no_proxy=127.0.0.1,localhost", "NO_PROXY=127.0.0.1,localhost")
	if stdin {
		cmd.Stdin = strings.NewReader(token + "\n")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return output{stdout.String(), stderr.String()}, err
}

// missing fails the test when requireEnv is set, and otherwise skips it.
func missing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv(requireEnv) != "" {
		t.Fatalf("%s but %s is set; run scripts/test-deps.sh", what, requireEnv)
	}
	t.Skipf("%s; run scripts/test-deps.sh (with %s=1 this fails)", what, requireEnv)
}

// finders locate each verifier's interpreter, or build it. find fails or
// skips the test when a tool is missing (see missing).
var finders = []struct {
	name string
	find func(t *testing.T) []string
}{
	{"python", findPython},
	{"node", findNode},
	{"java", buildJava},
}

// findPython finds a python3 that has PyJWT and cryptography.
func findPython(t *testing.T) []string {
	// Debian's python3 first: python3-jwt installs for it, and another
	// python3 earlier on PATH (pyenv, a venv) may lack the module.
	cands := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	for _, py := range cands {
		if exec.Command(py, "-c", "import jwt, cryptography; jwt.PyJWKClient").Run() == nil {
			return []string{py, filepath.Join("python", "verify.py")}
		}
	}
	missing(t, "no python3 with PyJWT and cryptography (Debian: python3-jwt python3-cryptography)")
	return nil
}

// findNode finds node and the installed jose package.
func findNode(t *testing.T) []string {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found (Debian: nodejs)")
		return nil
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "jose", "package.json")); err != nil {
		missing(t, "examples/verify/node/node_modules has no jose (npm ci there)")
		return nil
	}
	return []string{node, filepath.Join("node", "verify.mjs")}
}

// buildJava compiles the Java example (warnings are errors).
func buildJava(t *testing.T) []string {
	javac, err := exec.LookPath("javac")
	if err != nil {
		missing(t, "javac not found (Debian: default-jdk-headless)")
		return nil
	}
	java, err := exec.LookPath("java")
	if err != nil {
		missing(t, "java not found (Debian: default-jdk-headless)")
		return nil
	}
	classes := t.TempDir()
	if out, err := exec.Command(javac, "-Xlint:all", "-Werror", "-d", classes, filepath.Join("java", "Verify.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	return []string{java, "-cp", classes, "Verify"}
}

// testGateway is a real gateway on 127.0.0.1 with one local user.
type testGateway struct {
	url, issuer, jwksURL string
	userID               string

	mu     sync.Mutex
	offset time.Duration // the gateway's clock is the real one plus offset
}

func (g *testGateway) now() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Add(g.offset)
}

func (g *testGateway) setOffset(d time.Duration) {
	g.mu.Lock()
	g.offset = d
	g.mu.Unlock()
}

// accounts lets the local provider read password hashes from the store.
type accounts struct{ st store.Store }

func (a accounts) LookupPassword(ctx context.Context, email string) (string, string, error) {
	u, err := a.st.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", local.ErrNoAccount
	}
	if err != nil {
		return "", "", err
	}
	h, err := a.st.PasswordHash(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", local.ErrNoAccount
	}
	return u.ID, h, err
}

// assertionTTL is the longest the configuration allows, so that the good
// token outlives a slow run of all three verifiers.
const assertionTTL = 10 * time.Minute

// startGateway serves a gateway over a real SQLite file, with two
// forward-auth services (wiki and other), whose clock starts half an hour
// in the past: its first signing key is then valid for the expired token
// and for the present alike.
func startGateway(t *testing.T) *testGateway {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gw := &testGateway{url: "http://" + ln.Addr().String(), offset: -30 * time.Minute}
	gw.issuer, gw.jwksURL = gw.url, gw.url+"/.well-known/jwks.json"

	dir := t.TempDir()
	yaml := fmt.Sprintf(`server:
  listen: %s
  public_url: %s
store:
  driver: sqlite
  dsn: %s
log:
  level: warn
session:
  idle_timeout: 2h # the clock jumps half an hour forward
assertion:
  ttl: 10m
providers:
  - id: local
    type: local
    hashing: {memory_kib: 8192, iterations: 1, parallelism: 1}
services:
  - id: wiki
    name: 社内Wiki
    url: http://wiki.example.test/
  - id: other
    name: 別のサービス
    url: http://other.example.test/
`, ln.Addr(), gw.url, filepath.Join(dir, "ssogate.db"))
	path := filepath.Join(dir, "ssogate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lp, err := local.Open("local", local.Config{Memory: 8192, Iterations: 1, Parallelism: 1}, accounts{st})
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{Email: testEmail, DisplayName: testName, Groups: testGroups, Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	gw.userID = u.ID
	hash, err := lp.Hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPasswordHash(ctx, u.ID, hash); err != nil {
		t.Fatal(err)
	}
	reg := providers.NewRegistry()
	if err := reg.Add(lp); err != nil {
		t.Fatal(err)
	}
	r, err := portal.New(portal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(ctx, gateway.Options{Config: cfg, Store: st, Providers: reg, Renderer: r,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: gw.now})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
	})
	return gw
}

// tokenSet is the good assertion and the ones every verifier must refuse.
type tokenSet struct {
	good, otherService, tampered, expired, algNone, hs256, otherKey string
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// tokens signs in through the login form and asks /auth, as a fronting
// proxy would, for the assertions; then forges the bad ones from them.
func (g *testGateway) tokens(t *testing.T) tokenSet {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(g.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf_token on the login page:\n%s", body)
	}
	form := url.Values{"email": {testEmail}, "password": {testPassword}, "csrf_token": {html.UnescapeString(string(m[1]))}}
	req, _ := http.NewRequest(http.MethodPost, g.url+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", g.url)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d, want 303", resp.StatusCode)
	}
	assertion := func(host string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, g.url+"/auth", nil)
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("X-Forwarded-Host", host)
		req.Header.Set("X-Forwarded-Uri", "/")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tok := resp.Header.Get("X-Ssogate-Assertion")
		if resp.StatusCode != http.StatusOK || tok == "" {
			t.Fatalf("/auth for %s: status %d, assertion %q", host, resp.StatusCode, tok)
		}
		return tok
	}

	var ts tokenSet
	ts.expired = assertion("wiki.example.test") // expired twenty minutes ago
	g.setOffset(0)
	ts.good = assertion("wiki.example.test")
	ts.otherService = assertion("other.example.test")
	if ts.good == ts.expired {
		t.Fatal("the gateway reused the old assertion; the expired case would test nothing")
	}

	header, payload, sig := splitJWT(t, ts.good)
	var claims map[string]any
	if err := json.Unmarshal(b64(t, payload), &claims); err != nil {
		t.Fatal(err)
	}
	claims["email"] = "boss@example.co.jp"
	forged, _ := json.Marshal(claims)
	ts.tampered = header + "." + enc(forged) + "." + sig

	var hdr map[string]any
	if err := json.Unmarshal(b64(t, header), &hdr); err != nil {
		t.Fatal(err)
	}
	kid, _ := hdr["kid"].(string)
	if hdr["alg"] != "ES256" || kid == "" {
		t.Fatalf("assertion header %v: want alg ES256 and a kid", hdr)
	}
	ts.algNone = enc([]byte(`{"alg":"none","kid":"`+kid+`","typ":"JWT"}`)) + "." + payload + "."

	// The classic confusion: HMAC keyed with the published public key.
	pubPEM := g.publicKeyPEM(t, kid)
	h := enc([]byte(`{"alg":"HS256","kid":"` + kid + `","typ":"JWT"}`))
	mac := hmac.New(sha256.New, pubPEM)
	mac.Write([]byte(h + "." + payload))
	ts.hs256 = h + "." + payload + "." + enc(mac.Sum(nil))

	// Well-formed ES256 with the right claims and kid, by a key the
	// gateway never published.
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: attacker, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	if ts.otherKey, err = jwt.Signed(signer).Claims(claims).Serialize(); err != nil {
		t.Fatal(err)
	}
	return ts
}

// publicKeyPEM is the PKIX PEM of the published key kid.
func (g *testGateway) publicKeyPEM(t *testing.T, kid string) []byte {
	t.Helper()
	resp, err := http.Get(g.jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys with kid %s", len(keys), kid)
	}
	der, err := x509.MarshalPKIXPublicKey(keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// checkClaims checks what a verifier printed for the good token.
func (g *testGateway) checkClaims(t *testing.T, out output) {
	t.Helper()
	var c struct {
		Iss      string          `json:"iss"`
		Aud      json.RawMessage `json:"aud"`
		Sub      string          `json:"sub"`
		Email    string          `json:"email"`
		Name     string          `json:"name"`
		Groups   []string        `json:"groups"`
		AMR      []string        `json:"amr"`
		AuthTime int64           `json:"auth_time"`
		Iat      int64           `json:"iat"`
		Exp      int64           `json:"exp"`
		Jti      string          `json:"jti"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &c); err != nil {
		t.Fatalf("output is not the claims as JSON: %v\n%s", err, out)
	}
	var aud []string
	if json.Unmarshal(c.Aud, &aud) != nil {
		var one string
		if err := json.Unmarshal(c.Aud, &one); err != nil {
			t.Fatalf("aud %s: %v", c.Aud, err)
		}
		aud = []string{one}
	}
	now := time.Now().Unix()
	switch {
	case c.Iss != g.issuer:
		t.Errorf("iss = %q, want %q", c.Iss, g.issuer)
	case !slices.Equal(aud, []string{"wiki"}):
		t.Errorf("aud = %v, want [wiki]", aud)
	case c.Sub != g.userID:
		t.Errorf("sub = %q, want the user id %q", c.Sub, g.userID)
	case c.Email != testEmail || c.Name != testName:
		t.Errorf("email, name = %q, %q; want %q, %q", c.Email, c.Name, testEmail, testName)
	case !slices.Equal(c.Groups, testGroups):
		t.Errorf("groups = %v, want %v", c.Groups, testGroups)
	case !slices.Equal(c.AMR, []string{"pwd"}):
		t.Errorf("amr = %v, want [pwd]", c.AMR)
	case c.Exp-c.Iat != int64(assertionTTL/time.Second) || c.Iat > now+5 || c.Exp < now:
		t.Errorf("iat %d, exp %d: want a live %v assertion at %d", c.Iat, c.Exp, assertionTTL, now)
	case c.AuthTime == 0 || c.AuthTime > c.Iat:
		t.Errorf("auth_time %d, iat %d", c.AuthTime, c.Iat)
	case c.Jti == "":
		t.Error("no jti")
	}
}

func splitJWT(t *testing.T, tok string) (string, string, string) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	return p[0], p[1], p[2]
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
