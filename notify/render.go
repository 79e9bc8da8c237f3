package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	"text/template"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

// Each message is written once per language, in templates/<lang>/<name>.tmpl,
// as a "subject" and a "body" (plus a "button" label when it carries a
// link); templates/<lang>/layout.tmpl holds the greeting and the footer.
// The text part is the greeting, body and footer as written; the HTML part
// is the same paragraphs laid out by templates/layout.html (html/template,
// so every value is escaped), a paragraph that is the link alone becoming a
// button. Writing each message once keeps the two parts from ever saying
// different things.
//
//go:embed templates
var templateFS embed.FS

// Languages are the languages every template is written in; the first is
// the fallback for a message in any other.
var Languages = []string{"ja", "en"}

// Templates lists every template name.
var Templates = []string{
	TemplateAccountLocked, TemplatePasswordReset, TemplatePasswordResetNoPassword, TemplatePasswordChanged,
	TemplateEmailChangeConfirm, TemplateEmailChangeNotice, TemplateEmailChanged, TemplateTest,
	TemplateIdentityPIN,
}

// PhoneTemplates lists the templates of SMS and voice messages. Each is
// written once per language, in templates/<lang>/<name>.tmpl, as an "sms"
// text and a "voice" script whose paragraphs are said with a pause between.
var PhoneTemplates = []string{TemplateSecondFactorCode, TemplateIdentityPIN}

// ErrUnknownTemplate is returned by Render for a template name that is not
// one of Templates (of PhoneTemplates, for an SMS or a voice message).
var ErrUnknownTemplate = errors.New("notify: unknown template")

// templateSet is every message template, parsed.
type templateSet struct {
	text   map[string]*template.Template // "ja/password_reset" -> subject, body, button, layout
	html   *htmltemplate.Template
	phones map[string]*template.Template // "ja/second_factor_code" -> sms, voice
}

// The templates are parsed on the first message rendered, not in the
// package's init: every gateway process links this package, most never
// send a message, and parsing them all held about 350 KB of heap (600 KB
// allocated) from the start. TestTemplatesParse parses them in tests.
var (
	templatesOnce sync.Once
	templates     *templateSet
	templatesErr  error
)

// loadTemplates returns the parsed templates, parsing them on first use.
func loadTemplates() (*templateSet, error) {
	templatesOnce.Do(func() { templates, templatesErr = parseTemplates() })
	return templates, templatesErr
}

func parseTemplates() (*templateSet, error) {
	ts := &templateSet{text: map[string]*template.Template{}, phones: map[string]*template.Template{}}
	var err error
	if ts.html, err = htmltemplate.ParseFS(templateFS, "templates/layout.html"); err != nil {
		return nil, fmt.Errorf("notify: parse templates/layout.html: %w", err)
	}
	for _, lang := range Languages {
		for _, name := range Templates {
			t, err := template.New(name).Option("missingkey=error").ParseFS(templateFS,
				"templates/"+lang+"/layout.tmpl", "templates/"+lang+"/"+name+".tmpl")
			if err != nil {
				return nil, fmt.Errorf("notify: parse templates/%s/%s.tmpl: %w", lang, name, err)
			}
			for _, part := range []string{"subject", "body", "greeting", "footer", "link_note"} {
				if t.Lookup(part) == nil {
					return nil, fmt.Errorf("notify: templates/%s/%s.tmpl has no %q", lang, name, part)
				}
			}
			ts.text[lang+"/"+name] = t
		}
		for _, name := range PhoneTemplates {
			t, err := template.New(name).Option("missingkey=error").ParseFS(templateFS,
				"templates/"+lang+"/"+name+".tmpl")
			if err != nil {
				return nil, fmt.Errorf("notify: parse templates/%s/%s.tmpl: %w", lang, name, err)
			}
			for _, part := range []string{"sms", "voice"} {
				if t.Lookup(part) == nil {
					return nil, fmt.Errorf("notify: templates/%s/%s.tmpl has no %q", lang, name, part)
				}
			}
			ts.phones[lang+"/"+name] = t
		}
	}
	return ts, nil
}

// Content is a rendered message.
type Content struct {
	Subject string
	// Text is the plain-text body; HTML the same in HTML.
	Text string
	HTML string
	// Language is the language the message was rendered in ("ja", "en").
	Language string
	// Code is the one-time code an SMS or voice message carries, for an
	// API that takes it apart from the text (a secret: never logged).
	Code string
}

// Renderer renders messages with the portal's title.
type Renderer struct {
	title       config.Text
	defaultLang string
}

// NewRenderer returns a Renderer that names the portal title (per
// language) in every message. A message in a language without templates
// is rendered in defaultLang ("ja" when that has none either).
func NewRenderer(title config.Text, defaultLang string) *Renderer {
	return &Renderer{title: title, defaultLang: defaultLang}
}

// view is what the templates see: the message's data and the title.
type view struct {
	Data
	Title string
}

// Render renders m, whose template values are d: a mail's subject, text
// and HTML; an SMS's text; a voice call's script (see renderPhone).
func (r *Renderer) Render(m *store.Message, d Data) (Content, error) {
	if m.Channel == store.ChannelSMS || m.Channel == store.ChannelVoice {
		return r.renderPhone(m, d)
	}
	ts, err := loadTemplates()
	if err != nil {
		return Content{}, err
	}
	lang := r.language(m.Language)
	t := ts.text[lang+"/"+m.Template]
	if t == nil {
		return Content{}, fmt.Errorf("%w %q", ErrUnknownTemplate, m.Template)
	}
	title := r.title.In(lang)
	if title == "" {
		title = "ssogate"
	}
	v := view{Data: d, Title: title}
	exec := func(name string) (string, error) {
		var b bytes.Buffer
		if t.Lookup(name) == nil {
			return "", nil
		}
		if err := t.ExecuteTemplate(&b, name, v); err != nil {
			return "", fmt.Errorf("notify: render %s/%s %s: %w", lang, m.Template, name, err)
		}
		return strings.TrimSpace(b.String()), nil
	}
	parts := map[string]string{}
	for _, name := range []string{"subject", "body", "greeting", "footer", "button", "link_note"} {
		s, err := exec(name)
		if err != nil {
			return Content{}, err
		}
		parts[name] = s
	}
	// A subject is one line whatever the values held.
	subject := strings.Join(strings.Fields(parts["subject"]), " ")
	text := parts["greeting"] + "\n\n" + parts["body"] + "\n\n" + parts["footer"] + "\n"
	html, err := r.html(ts.html, lang, subject, title, parts, d.Link)
	if err != nil {
		return Content{}, fmt.Errorf("notify: render %s/%s html: %w", lang, m.Template, err)
	}
	return Content{Subject: subject, Text: text, HTML: html, Language: lang}, nil
}

// renderPhone renders an SMS (Text is the message) or a voice call (Text
// is the script, paragraphs separated by a blank line, the code spelled
// out digit by digit so that it is not read as one large number).
func (r *Renderer) renderPhone(m *store.Message, d Data) (Content, error) {
	ts, err := loadTemplates()
	if err != nil {
		return Content{}, err
	}
	lang := r.language(m.Language)
	t := ts.phones[lang+"/"+m.Template]
	if t == nil {
		return Content{}, fmt.Errorf("%w %q for %s", ErrUnknownTemplate, m.Template, m.Channel)
	}
	title := r.title.In(lang)
	if title == "" {
		title = "ssogate"
	}
	v := view{Data: d, Title: title}
	part := "sms"
	if m.Channel == store.ChannelVoice {
		part = "voice"
		v.Code = spellOut(d.Code, lang)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, part, v); err != nil {
		return Content{}, fmt.Errorf("notify: render %s/%s %s: %w", lang, m.Template, part, err)
	}
	return Content{Text: strings.TrimSpace(b.String()), Language: lang, Code: d.Code}, nil
}

// language is the language m is rendered in.
func (r *Renderer) language(lang string) string {
	for _, l := range []string{lang, r.defaultLang} {
		for _, have := range Languages {
			if l == have {
				return l
			}
		}
	}
	return Languages[0]
}

// paragraph is one paragraph of the HTML part: lines, or a link alone.
type paragraph struct {
	Lines []string
	Link  string
}

// html lays out the rendered parts as the HTML body.
func (r *Renderer) html(layout *htmltemplate.Template, lang, subject, title string, parts map[string]string, link string) (string, error) {
	var paras []paragraph
	for _, p := range strings.Split(parts["body"], "\n\n") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case link != "" && p == link:
			paras = append(paras, paragraph{Link: link})
		default:
			paras = append(paras, paragraph{Lines: strings.Split(p, "\n")})
		}
	}
	button := parts["button"]
	if button == "" {
		button = link
	}
	var b bytes.Buffer
	err := layout.ExecuteTemplate(&b, "layout.html", map[string]any{
		"Lang": lang, "Subject": subject, "Title": title,
		"Greeting": parts["greeting"], "Paragraphs": paras, "Button": button, "LinkNote": parts["link_note"],
		// The footer's first line is the text part's separator rule.
		"Footer": strings.Split(parts["footer"], "\n")[1:],
	})
	return b.String(), err
}
