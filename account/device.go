package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Device is a browser known to an account (OWASP's "device cookie"): it
// signed in to the account before, and keeps a failure budget of its own,
// so that wrong passwords typed elsewhere cannot lock the owner out of it.
type Device struct {
	// UserID is the account the browser signed in to.
	UserID string
	// ID is random, one per (browser, account).
	ID string
	// Expires is when the cookie stops naming the browser.
	Expires time.Time
}

// DeviceTTL is how long a device cookie names its browser after the last
// sign-in from it.
const DeviceTTL = 365 * 24 * time.Hour

// maxDevices bounds the accounts one browser's cookie remembers (a shared
// PC): the most recent sign-ins are kept.
const maxDevices = 5

// macLen is the length of a device entry's truncated HMAC-SHA256.
const macLen = 16

// Devices signs and reads device cookies. The cookie's value lists the
// browser's devices, each "user.device.expiry.mac", with the HMAC keyed
// from the gateway's master secret, so every process sharing a store
// accepts what another issued. It is safe for concurrent use.
type Devices struct {
	key []byte
	now func() time.Time
}

// NewDevices returns Devices signing with key (at least 32 bytes) and
// reading expiry from now (time.Now when nil).
func NewDevices(key []byte, now func() time.Time) *Devices {
	if now == nil {
		now = time.Now
	}
	return &Devices{key: key, now: now}
}

// New returns a fresh device of userID.
func (d *Devices) New(userID string) Device { return newDevice(userID, d.now()) }

// newDevice returns a fresh device of userID, valid DeviceTTL from now.
func newDevice(userID string, now time.Time) Device {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return Device{UserID: userID, ID: hex.EncodeToString(b[:]), Expires: now.Add(DeviceTTL)}
}

// Decode returns the devices of a cookie value that carry a valid MAC and
// have not expired; anything else in it is ignored.
func (d *Devices) Decode(value string) []Device {
	var out []Device
	now := d.now()
	for entry := range strings.SplitSeq(value, "~") {
		parts := strings.Split(entry, ".")
		if len(parts) != 4 || len(out) == maxDevices {
			continue
		}
		user, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil {
			continue
		}
		exp, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			continue
		}
		mac, err := base64.RawURLEncoding.DecodeString(parts[3])
		if err != nil || !hmac.Equal(mac, d.mac(string(user), parts[1], exp)) {
			continue
		}
		dev := Device{UserID: string(user), ID: parts[1], Expires: time.Unix(exp, 0)}
		if !now.Before(dev.Expires) {
			continue
		}
		out = append(out, dev)
	}
	return out
}

// Encode returns the cookie value for devs with dev first (renewed), the
// others of other accounts after it, at most maxDevices in all.
func (d *Devices) Encode(dev Device, devs []Device) string {
	list := []Device{dev}
	for _, o := range devs {
		if o.UserID != dev.UserID && len(list) < maxDevices {
			list = append(list, o)
		}
	}
	entries := make([]string, len(list))
	for i, o := range list {
		exp := o.Expires.Unix()
		entries[i] = base64.RawURLEncoding.EncodeToString([]byte(o.UserID)) + "." + o.ID + "." +
			strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(d.mac(o.UserID, o.ID, exp))
	}
	return strings.Join(entries, "~")
}

// mac binds an entry's fields; the separators keep fields from sliding
// into each other.
func (d *Devices) mac(user, id string, exp int64) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(strconv.FormatInt(exp, 10)))
	return m.Sum(nil)[:macLen]
}

// deviceOf returns the device of userID among devs.
func deviceOf(devs []Device, userID string) (Device, bool) {
	for _, d := range devs {
		if d.UserID == userID {
			return d, true
		}
	}
	return Device{}, false
}
