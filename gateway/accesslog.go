package gateway

import (
	"io"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// AccessLog writes the gateway's one line per request without log/slog:
// the line is formatted by hand into a pooled buffer, with no allocation,
// in the format slog's text or JSON handler would give the same record
// (msg "request", level INFO), so the log still reads as one stream.
//
// Each line is one Write to w. Give it the buffered writer the logger
// writes to (internal/logbuf), so lines from both never interleave, keep
// their order, and cost one write(2) per batch rather than per request.
type AccessLog struct {
	w    io.Writer
	json bool
}

// NewAccessLog returns an access log writing to w in format "json" or
// (anything else) slog's text format.
func NewAccessLog(w io.Writer, format string) *AccessLog {
	return &AccessLog{w: w, json: format == "json"}
}

// accessEntry is what one access-log line says.
type accessEntry struct {
	time     time.Time
	id       string
	method   string
	path     string // without the query, which may carry tickets
	status   int
	bytes    int64
	ip       netip.Addr
	duration time.Duration
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// write formats e and writes it as one line.
func (a *AccessLog) write(e *accessEntry) {
	bp := lineBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if a.json {
		b = appendJSONLine(b, e)
	} else {
		b = appendTextLine(b, e)
	}
	_, _ = a.w.Write(b)
	if cap(b) <= 4<<10 {
		*bp = b
		lineBufs.Put(bp)
	}
}

func appendTextLine(b []byte, e *accessEntry) []byte {
	b = append(b, "time="...)
	b = appendRFC3339Millis(b, e.time)
	b = append(b, " level=INFO msg=request request_id="...)
	b = appendTextString(b, e.id)
	b = append(b, " method="...)
	b = appendTextString(b, e.method)
	b = append(b, " path="...)
	b = appendTextString(b, e.path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, e.bytes, 10)
	b = append(b, " client_ip="...)
	if e.ip.IsValid() {
		b = e.ip.AppendTo(b)
	} else {
		b = append(b, `"invalid IP"`...)
	}
	b = append(b, " duration="...)
	b = appendDuration(b, e.duration)
	return append(b, '\n')
}

func appendJSONLine(b []byte, e *accessEntry) []byte {
	b = append(b, `{"time":"`...)
	b = appendRFC3339Nano(b, e.time)
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = appendJSONString(b, e.id)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, e.method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, e.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, e.bytes, 10)
	b = append(b, `,"client_ip":"`...)
	b = appendAddr(b, e.ip) // digits, dots, colons and hex only
	b = append(b, `","duration":`...)
	b = strconv.AppendInt(b, int64(e.duration), 10) // slog's JSON: nanoseconds
	return append(b, "}\n"...)
}

// appendAddr appends ip as netip.Addr.String would, "invalid IP" included.
func appendAddr(b []byte, ip netip.Addr) []byte {
	if !ip.IsValid() {
		return append(b, "invalid IP"...)
	}
	return ip.AppendTo(b)
}

// appendRFC3339Millis is slog's text handler's time format: RFC 3339 with
// exactly three digits of milliseconds.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	c := secondOf(t)
	b = append(b, c.prefix...)
	ms := t.Nanosecond() / 1e6
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, c.zone...)
}

// appendRFC3339Nano is slog's JSON handler's time format: time.RFC3339Nano,
// whose fraction has no trailing zeros (and no point when it is zero).
func appendRFC3339Nano(b []byte, t time.Time) []byte {
	c := secondOf(t)
	b = append(b, c.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i, v := 9, ns; i > 0; i, v = i-1, v/10 {
			frac[i] = byte('0' + v%10)
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, c.zone...)
}

// formattedSecond is the part of a timestamp that changes once a second:
// the date and time to the second, and the zone ("Z" or "+09:00").
type formattedSecond struct {
	unix   int64
	loc    *time.Location
	prefix []byte
	zone   []byte
}

// lastSecond caches the second of the last line: formatting a date is most
// of what a line costs, and lines come many to a second.
var lastSecond atomic.Pointer[formattedSecond]

func secondOf(t time.Time) *formattedSecond {
	if c := lastSecond.Load(); c != nil && c.unix == t.Unix() && c.loc == t.Location() {
		return c
	}
	const layout = "2006-01-02T15:04:05"
	whole := t.Truncate(time.Second)
	full := whole.AppendFormat(make([]byte, 0, 32), time.RFC3339)
	c := &formattedSecond{unix: t.Unix(), loc: t.Location(), prefix: full[:len(layout)], zone: full[len(layout):]}
	lastSecond.Store(c)
	return c
}

// appendTextString appends s bare or quoted, by the rule of slog's text
// handler: quoted when empty or when it holds a space, '=', '"', a
// control or an unprintable character, or invalid UTF-8.
func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as slog's JSON
// handler does: controls, U+2028 and U+2029 as \u escapes, invalid UTF-8
// as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < ' ':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendDuration appends d as time.Duration.String does, without the
// string it would allocate.
func appendDuration(b []byte, d time.Duration) []byte {
	var arr [32]byte
	n := formatDuration(&arr, d)
	return append(b, arr[n:]...)
}

// formatDuration is time.Duration's own formatting (Go's time package),
// writing into the end of buf and returning where the text starts.
func formatDuration(buf *[32]byte, d time.Duration) int {
	w := len(buf)
	u := uint64(d)
	neg := d < 0
	if neg {
		u = -u
	}
	if u < uint64(time.Second) {
		// Less than a second: ns, µs or ms, with a fraction.
		var prec int
		w--
		buf[w] = 's'
		w--
		switch {
		case u == 0:
			buf[w] = '0'
			return w
		case u < uint64(time.Microsecond):
			prec = 0
			buf[w] = 'n'
		case u < uint64(time.Millisecond):
			prec = 3
			// U+00B5 'µ' micro sign, as time.Duration writes it.
			w--
			copy(buf[w:], "µ")
		default:
			prec = 6
			buf[w] = 'm'
		}
		w, u = fmtFrac(buf[:w], u, prec)
		w = fmtInt(buf[:w], u)
	} else {
		w--
		buf[w] = 's'
		w, u = fmtFrac(buf[:w], u, 9)
		w = fmtInt(buf[:w], u%60)
		u /= 60
		if u > 0 {
			w--
			buf[w] = 'm'
			w = fmtInt(buf[:w], u%60)
			u /= 60
			if u > 0 {
				w--
				buf[w] = 'h'
				w = fmtInt(buf[:w], u)
			}
		}
	}
	if neg {
		w--
		buf[w] = '-'
	}
	return w
}

// fmtFrac writes the fraction of v/10**prec (e.g. ".12345") into the end
// of buf, omitting trailing zeros and the point when the fraction is 0.
func fmtFrac(buf []byte, v uint64, prec int) (nw int, nv uint64) {
	w := len(buf)
	nonzero := false
	for i := 0; i < prec; i++ {
		digit := v % 10
		nonzero = nonzero || digit != 0
		if nonzero {
			w--
			buf[w] = byte(digit) + '0'
		}
		v /= 10
	}
	if nonzero {
		w--
		buf[w] = '.'
	}
	return w, v
}

// fmtInt writes v into the end of buf and returns where it starts.
func fmtInt(buf []byte, v uint64) int {
	w := len(buf)
	if v == 0 {
		w--
		buf[w] = '0'
	} else {
		for v > 0 {
			w--
			buf[w] = byte(v%10) + '0'
			v /= 10
		}
	}
	return w
}
