package totp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/pquerna/otp"

	"github.com/ssogate/ssogate/mfa"
)

// rfcKey is the SHA-1 key of RFC 6238's test vectors (Appendix B).
var rfcKey = []byte("12345678901234567890")

// fixed returns a clock stopped at t.
func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// TestRFC6238Vectors checks codes against RFC 6238 Appendix B (SHA-1; the
// last six of its eight digits): what every authenticator app computes.
func TestRFC6238Vectors(t *testing.T) {
	vectors := []struct {
		unix int64
		code string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	}
	for _, v := range vectors {
		t.Run(fmt.Sprint(v.unix), func(t *testing.T) {
			f := New(Options{Now: fixed(time.Unix(v.unix, 0))})
			step, err := f.Verify(context.Background(), mfa.Subject{}, &mfa.Enrolment{Kind: mfa.KindTOTP, Secret: rfcKey}, nil, v.code)
			if err != nil {
				t.Fatalf("Verify(%s) at %d: %v", v.code, v.unix, err)
			}
			if want := v.unix / 30; step != want {
				t.Errorf("step = %d, want %d", step, want)
			}
		})
	}
}

// TestURI checks the otpauth:// URI: the exact form for a plain issuer,
// and that issuers with Japanese, spaces, '&', ':' and '+' come back
// intact through a parser (pquerna/otp's, as an app would read it).
func TestURI(t *testing.T) {
	key := bytes.Repeat([]byte{0xA5}, KeySize)
	got := URI("ssogate", "taro@example.jp", key)
	want := "otpauth://totp/ssogate:taro@example.jp?secret=UWS2LJNFUWS2LJNFUWS2LJNFUWS2LJNF&issuer=ssogate&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Errorf("URI =\n %s\nwant\n %s", got, want)
	}
	for _, issuer := range []string{"どこでもBOX", "Example Corp", "A&B=C", "Acme: West", "a+b"} {
		t.Run(issuer, func(t *testing.T) {
			u := URI(issuer, "花子+x@example.jp", key)
			k, err := otp.NewKeyFromURL(u)
			if err != nil {
				t.Fatalf("parse %s: %v", u, err)
			}
			if k.Type() != "totp" || k.Issuer() != issuer || k.Secret() != b32.EncodeToString(key) ||
				k.Period() != 30 || k.Digits() != otp.DigitsSix || k.Algorithm() != otp.AlgorithmSHA1 {
				t.Errorf("%s read back as type %q issuer %q secret %q period %d digits %v algorithm %v",
					u, k.Type(), k.Issuer(), k.Secret(), k.Period(), k.Digits(), k.Algorithm())
			}
			parsed, _ := url.Parse(u)
			label := strings.TrimPrefix(parsed.Path, "/")
			if strings.Count(parsed.EscapedPath(), ":") != 1 || label != issuer+":花子+x@example.jp" {
				t.Errorf("label %q (escaped %q): want one literal ':' between issuer and account", label, parsed.EscapedPath())
			}
		})
	}
}

// TestBeginEnrol checks the Prompt: the QR code decodes (with a real QR
// reader) to the URI, the image is about QRSize pixels, the grouped
// secret and the URI's secret are the state's key, and each enrolment
// gets a fresh key.
func TestBeginEnrol(t *testing.T) {
	f := New(Options{Issuer: "どこでもBOX ポータル"})
	s := mfa.Subject{UserID: "u1", Email: "taro@example.jp"}
	p, state, err := f.BeginEnrol(context.Background(), s)
	if err != nil {
		t.Fatalf("BeginEnrol: %v", err)
	}
	if len(state) != stateSize {
		t.Fatalf("state is %d bytes, want %d", len(state), stateSize)
	}
	state = state[:KeySize]
	img, err := png.Decode(bytes.NewReader(p.QRPNG))
	if err != nil {
		t.Fatalf("QRPNG is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < QRSize*8/10 || b.Dx() > QRSize*12/10 || b.Dx() != b.Dy() {
		t.Errorf("QR image is %dx%d, want about %d square", b.Dx(), b.Dy(), QRSize)
	}
	if text := decodeQR(t, img); text != p.URI {
		t.Errorf("QR code reads %q, want the URI %q", text, p.URI)
	}
	k, err := otp.NewKeyFromURL(p.URI)
	if err != nil {
		t.Fatalf("URI: %v", err)
	}
	if k.Issuer() != "どこでもBOX ポータル" || k.AccountName() != "taro@example.jp" {
		t.Errorf("URI issuer %q account %q", k.Issuer(), k.AccountName())
	}
	if k.Secret() != b32.EncodeToString(state) {
		t.Errorf("URI secret %q is not the state's key", k.Secret())
	}
	groups := strings.Split(p.Secret, " ")
	if len(groups) != 8 {
		t.Errorf("Secret %q: want 8 groups of 4", p.Secret)
	}
	for _, g := range groups {
		if len(g) != 4 {
			t.Errorf("Secret %q has group %q", p.Secret, g)
		}
	}
	if strings.Join(groups, "") != k.Secret() {
		t.Errorf("Secret %q is not the URI's secret %q", p.Secret, k.Secret())
	}
	_, state2, err := f.BeginEnrol(context.Background(), s)
	if err != nil {
		t.Fatalf("BeginEnrol again: %v", err)
	}
	if bytes.Equal(state, state2[:KeySize]) {
		t.Error("two enrolments got the same key")
	}
	if _, _, err := f.BeginEnrol(context.Background(), mfa.Subject{}); err == nil {
		t.Error("BeginEnrol without email or user id succeeded")
	}
}

// decodeQR reads the text of the QR code in img.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("bitmap: %v", err)
	}
	// The image is a generated code, not a photo: PURE_BARCODE reads its
	// modules directly. (The photo detector misses the finder patterns of
	// about 1 in 100 of these small images, which a phone camera does not.)
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("decode QR code: %v", err)
	}
	return res.GetText()
}

// TestFinishEnrol checks that the app's first code enrols (Counter = its
// step, so it cannot pass the next sign-in too), and that a wrong code or
// state does not.
func TestFinishEnrol(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 10, 0, time.UTC)
	f := New(Options{Now: fixed(now)})
	s := mfa.Subject{UserID: "u1", Email: "taro@example.jp"}
	_, state, err := f.BeginEnrol(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	key := state[:KeySize]
	code, err := Code(b32.EncodeToString(key), Step(now))
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.FinishEnrol(context.Background(), s, state, code[:3]+" "+code[3:])
	if err != nil {
		t.Fatalf("FinishEnrol: %v", err)
	}
	if e.Kind != mfa.KindTOTP || !bytes.Equal(e.Secret, key) || e.Counter != Step(now) {
		t.Errorf("enrolment kind %q counter %d secret equal %v; want totp, %d, true", e.Kind, e.Counter, bytes.Equal(e.Secret, key), Step(now))
	}
	other := mfa.Subject{UserID: "u2", Email: "hanako@example.jp"}
	if _, err := f.FinishEnrol(context.Background(), other, state, code); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("another person's state: %v, want ErrInvalid", err)
	}
	if _, err := f.Verify(context.Background(), s, e, nil, code); !errors.Is(err, mfa.ErrReplayed) {
		t.Errorf("the enrolment's code at sign-in: %v, want ErrReplayed", err)
	}
	if _, err := f.FinishEnrol(context.Background(), s, state, wrong(code)); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("wrong code: %v, want ErrInvalid", err)
	}
	if _, err := f.FinishEnrol(context.Background(), s, state[:10], code); err == nil || errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("short state: %v, want a plain error", err)
	}
}

// wrong returns code with its last digit changed.
func wrong(code string) string {
	return code[:5] + string('0'+(code[5]-'0'+1)%10)
}

// TestVerifyWindow checks which steps around now are accepted: one
// either side, not two, and the step returned is the one that matched.
func TestVerifyWindow(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 29, 0, time.UTC)
	f := New(Options{Now: fixed(now)})
	secret := b32.EncodeToString(rfcKey)
	for _, d := range []int64{-2, -1, 0, 1, 2} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			code, err := Code(secret, Step(now)+d)
			if err != nil {
				t.Fatal(err)
			}
			step, err := f.Verify(context.Background(), mfa.Subject{}, &mfa.Enrolment{Secret: rfcKey}, nil, code)
			if d < -Skew || d > Skew {
				if !errors.Is(err, mfa.ErrInvalid) {
					t.Errorf("code %d steps away: %v, want ErrInvalid", d, err)
				}
				return
			}
			if err != nil || step != Step(now)+d {
				t.Errorf("code %d steps away: step %d, %v; want %d", d, step, err, Step(now)+d)
			}
		})
	}
}

// TestVerifyInput checks what people type: spaces, a dash, full-width
// digits pass; what is not six digits is ErrMalformed; each step once.
func TestVerifyInput(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	f := New(Options{Now: fixed(now)})
	code, err := Code(b32.EncodeToString(rfcKey), Step(now))
	if err != nil {
		t.Fatal(err)
	}
	full := strings.Map(func(r rune) rune { return r + 0xFEE0 }, code)
	for _, in := range []string{code, " " + code + " ", code[:3] + " " + code[3:], code[:3] + "-" + code[3:], full, full[:9] + "　" + full[9:]} {
		e := &mfa.Enrolment{Secret: rfcKey}
		if _, err := f.Verify(context.Background(), mfa.Subject{}, e, nil, in); err != nil {
			t.Errorf("Verify(%q): %v", in, err)
		}
	}
	for _, in := range []string{"", "12345", "1234567", "12345a", "abcdef", "12.456", "٣٤٥٦٧٨"} {
		if _, err := f.Verify(context.Background(), mfa.Subject{}, &mfa.Enrolment{Secret: rfcKey}, nil, in); !errors.Is(err, mfa.ErrMalformed) {
			t.Errorf("Verify(%q): %v, want ErrMalformed", in, err)
		}
	}
	e := &mfa.Enrolment{Secret: rfcKey, Counter: Step(now)}
	if _, err := f.Verify(context.Background(), mfa.Subject{}, e, nil, code); !errors.Is(err, mfa.ErrReplayed) {
		t.Errorf("a code of the step last accepted: %v, want ErrReplayed", err)
	}
	e.Counter = Step(now) + 1
	if _, err := f.Verify(context.Background(), mfa.Subject{}, e, nil, code); !errors.Is(err, mfa.ErrReplayed) {
		t.Errorf("a code older than the step last accepted: %v, want ErrReplayed", err)
	}
	if _, err := f.Verify(context.Background(), mfa.Subject{}, &mfa.Enrolment{}, nil, code); err == nil {
		t.Error("an enrolment without a key verified")
	}
}
