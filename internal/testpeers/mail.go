package testpeers

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// ParsedMail is a received mail as a mail client shows it.
type ParsedMail struct {
	Subject   string
	FromName  string
	FromAddr  string
	To        string
	MessageID string
	Date      time.Time
	Text      string
	HTML      string
}

// ParseMail reads raw as a mail client would: RFC 2047 words decoded in
// the subject and the sender's name, the multipart/alternative parts
// decoded from base64 or quoted-printable.
func ParseMail(t testing.TB, raw []byte) ParsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse mail: %v\n%s", err, raw)
	}
	var dec mime.WordDecoder
	var p ParsedMail
	if p.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("subject: %v", err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("From %q: %v", msg.Header.Get("From"), err)
	}
	p.FromName, p.FromAddr = from[0].Name, from[0].Address
	p.To = msg.Header.Get("To")
	p.MessageID = msg.Header.Get("Message-Id")
	if p.Date, err = msg.Header.Date(); err != nil {
		t.Fatalf("Date: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		switch enc := strings.ToLower(part.Header.Get("Content-Transfer-Encoding")); enc {
		case "base64":
			body, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
		case "quoted-printable":
			body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		case "", "7bit", "8bit":
		default:
			t.Fatalf("unexpected transfer encoding %q", enc)
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if !strings.EqualFold(cp["charset"], "utf-8") {
			t.Errorf("part %s charset %q, want UTF-8", ct, cp["charset"])
		}
		switch ct {
		case "text/plain":
			p.Text = string(body)
		case "text/html":
			p.HTML = string(body)
		}
	}
	if p.Text == "" || p.HTML == "" {
		t.Fatalf("want a text and an HTML part; got text %q html %q", p.Text, p.HTML)
	}
	return p
}
