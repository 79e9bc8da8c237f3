package portal

import (
	"reflect"
	"time"
)

// Pages of device approval.
const (
	// PageDeviceWait is /login/device: a new browser waits for an
	// administrator's approval, and takes the mailed one-time token.
	PageDeviceWait = "device_wait"
	// PageDeviceApprove is /admin/devices/approve?ticket=T: an
	// administrator approves or denies a waiting browser.
	PageDeviceApprove = "device_approve"
)

func init() {
	pageTypes[PageDeviceWait] = reflect.TypeFor[DeviceWaitPage]()
	pageTypes[PageDeviceApprove] = reflect.TypeFor[DeviceApprovePage]()
}

// States of the device pages.
const (
	// DeviceStart (waiting page): a signed-in person reaches a service
	// that approves browsers; a button posts to /login/device/start.
	DeviceStart = "start"
	// DeviceWaiting: the request waits, or was approved; the page takes
	// the mailed token (field "token").
	DeviceWaiting = "wait"
	// DeviceAsk (approval page): the request with approve / deny buttons.
	DeviceAsk = "ask"
	// DeviceApproved (approval page): approved, the person was mailed.
	DeviceApproved = "approved"
	// DeviceDenied: the request was denied.
	DeviceDenied = "denied"
	// DeviceGone: the request expired, was used, or never existed.
	DeviceGone = "gone"
)

// DeviceWaitPage is the waiting browser's page.
type DeviceWaitPage struct {
	Base
	// State is DeviceStart, DeviceWaiting, DeviceDenied or DeviceGone.
	State string
	// ReturnTo is where DeviceStart's form goes on to (validated).
	ReturnTo string
	// ErrorKey is a message key, or "".
	ErrorKey string
}

// DeviceApprovePage is an administrator's view of one waiting browser.
type DeviceApprovePage struct {
	Base
	// State is DeviceAsk, DeviceApproved, DeviceDenied or DeviceGone.
	State string
	// Ticket is the link's ticket, posted back by the buttons.
	Ticket    string
	Email     string
	Name      string
	UserAgent string
	ClientIP  string
	Time      time.Time
	Expires   time.Time
}

// DevicesSection lists a person's approved browsers (device approval)
// with a form per browser that posts its ID as "device" (and csrf_token)
// to Action to revoke it: the "device_list" template fragment renders
// it on /account/sessions.
type DevicesSection struct {
	Devices []DeviceItem
	// On shows the section even when empty: device approval applies.
	On        bool
	Action    string
	CSRFToken string
}

// DeviceItem is one approved browser.
type DeviceItem struct {
	ID string
	// Current marks the browser looking at the page.
	Current    bool
	Browser    string
	ClientIP   string
	ApprovedBy string
	CreatedAt  time.Time
	LastUsedAt time.Time
}
