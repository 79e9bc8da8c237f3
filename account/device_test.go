package account

import (
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testclock"
)

func TestDeviceCookie(t *testing.T) {
	clock := testclock.New(start)
	key := []byte("0123456789abcdef0123456789abcdef")
	d := NewDevices(key, clock.Now)
	taro, hanako := d.New("user-taro"), d.New("user.hanako")
	value := d.Encode(taro, []Device{hanako})
	got := d.Decode(value)
	if len(got) != 2 || got[0].UserID != taro.UserID || got[0].ID != taro.ID || got[1].UserID != hanako.UserID {
		t.Fatalf("Decode = %+v", got)
	}

	// Renewing one account's device keeps the others, newest first, and
	// never lists an account twice.
	again := d.Decode(d.Encode(hanako, got))
	if len(again) != 2 || again[0].UserID != hanako.UserID || again[1].UserID != taro.UserID {
		t.Fatalf("after renewal = %+v", again)
	}

	// Another key, a changed field, or a swapped user: not a device.
	if n := len(NewDevices([]byte("another key, another gateway...."), clock.Now).Decode(value)); n != 0 {
		t.Errorf("a cookie of another key decoded to %d devices", n)
	}
	parts := strings.Split(d.Encode(taro, nil), ".")
	forged := strings.Join([]string{"dXNlci1oYW5ha28", parts[1], parts[2], parts[3]}, ".") // "user-hanako"
	if n := len(d.Decode(forged)); n != 0 {
		t.Error("a device moved to another user was accepted")
	}
	for _, bad := range []string{"", "garbage", "a.b.c.d", value + "~x.y.z"} {
		if n := len(d.Decode(bad)); bad != value+"~x.y.z" && n != 0 || bad == value+"~x.y.z" && n != 2 {
			t.Errorf("Decode(%q) = %d devices", bad, n)
		}
	}

	// A device stops counting when it expires.
	clock.Advance(DeviceTTL - time.Second)
	if n := len(d.Decode(value)); n != 2 {
		t.Fatalf("%d devices a second before expiry, want 2", n)
	}
	clock.Advance(time.Second)
	if n := len(d.Decode(value)); n != 0 {
		t.Fatalf("%d devices at expiry, want 0", n)
	}

	// A shared PC remembers the latest maxDevices accounts.
	var devs []Device
	for i := range maxDevices + 3 {
		dev := d.New("user-" + string(rune('a'+i)))
		devs = d.Decode(d.Encode(dev, devs))
	}
	if len(devs) != maxDevices || devs[0].UserID != "user-"+string(rune('a'+maxDevices+2)) {
		t.Fatalf("after %d accounts: %+v", maxDevices+3, devs)
	}
}
