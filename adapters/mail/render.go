package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/authd/authd/domain"
)

// Each kind has templates/<kind>.txt, defining "subject" and "text"
// (text/template, which may use templates/signature.txt), and
// templates/<kind>.html, defining "content" (html/template), which
// templates/layout.html wraps; a kind with a link defines "action", the
// button's label, and calls "link".
//
//go:embed templates
var templateFS embed.FS

// templateData is what a template sees.
type templateData struct {
	Product string // the product name (Config.Product)
	Link    string // the action link, verbatim; empty for notices
	Detail  string // a notice's variable part
	To      string // the recipient
	Subject string // the rendered subject, for the HTML title
}

type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates holds every kind's templates, parsed once; templatesErr says
// why not, and then every mailer constructor fails with it.
var templates, templatesErr = parseTemplates()

// textFuncs: need fails the rendering when a value the mail cannot do
// without is empty (a verification mail without its link), naming the
// value, never printing it. factor names a sign-in factor for people.
var textFuncs = texttemplate.FuncMap{
	"need": func(name, v string) (string, error) {
		if v == "" {
			return "", fmt.Errorf("the mail has no %s", name)
		}
		return v, nil
	},
	"factor": factorName,
}

// factorName turns a factor's stored name into words.
func factorName(f string) string {
	switch f {
	case "totp":
		return "authenticator app (TOTP)"
	case "passkey":
		return "passkey"
	case "password":
		return "password"
	}
	return f
}

func parseTemplates() (map[domain.MailKind]kindTemplates, error) {
	out := make(map[domain.MailKind]kindTemplates, len(domain.MailKinds))
	for _, k := range domain.MailKinds {
		text, err := texttemplate.New(string(k)).Funcs(textFuncs).ParseFS(templateFS, "templates/signature.txt", "templates/"+string(k)+".txt")
		if err != nil {
			return nil, fmt.Errorf("mail templates of %s: %w", k, err)
		}
		html, err := htmltemplate.New(string(k)).Funcs(htmltemplate.FuncMap{"factor": factorName}).ParseFS(templateFS, "templates/layout.html", "templates/"+string(k)+".html")
		if err != nil {
			return nil, fmt.Errorf("mail templates of %s: %w", k, err)
		}
		for _, name := range []string{"subject", "text"} {
			if text.Lookup(name) == nil {
				return nil, fmt.Errorf("mail templates of %s: no %q template", k, name)
			}
		}
		if html.Lookup("content") == nil {
			return nil, fmt.Errorf("mail templates of %s: no \"content\" template", k)
		}
		out[k] = kindTemplates{text: text, html: html}
	}
	return out, nil
}

// message is a rendered mail.
type message struct {
	MessageID string // without angle brackets
	From, To  string
	Subject   string
	Text      string // text/plain, lines ending in \n
	HTML      string // text/html alternative
}

// render turns m into a message. Its errors are permanent (the same mail
// would fail the same way again) and never contain the link.
func render(m domain.Mail, from, product string) (message, error) {
	if !validID(string(m.ID)) {
		return message{}, fmt.Errorf("mail %q: the ID must be letters, digits and dashes", m.ID)
	}
	if m.To == "" {
		return message{}, fmt.Errorf("mail %s: no recipient", m.ID)
	}
	t, ok := templates[m.Kind]
	if !ok {
		return message{}, fmt.Errorf("mail %s: no templates for kind %q", m.ID, m.Kind)
	}
	data := templateData{Product: product, Link: m.Link, Detail: m.Detail, To: m.To}

	var b bytes.Buffer
	if err := t.text.ExecuteTemplate(&b, "subject", data); err != nil {
		return message{}, renderError(m, "subject", err)
	}
	// One line, whatever the template or the product name hold.
	data.Subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err := t.text.ExecuteTemplate(&b, "text", data); err != nil {
		return message{}, renderError(m, "text", err)
	}
	text := strings.TrimSpace(strings.ReplaceAll(b.String(), "\r\n", "\n")) + "\n"
	b.Reset()
	if err := t.html.ExecuteTemplate(&b, "layout", data); err != nil {
		return message{}, renderError(m, "HTML", err)
	}
	return message{
		MessageID: string(m.ID) + "@authd",
		From:      from,
		To:        m.To,
		Subject:   data.Subject,
		Text:      text,
		HTML:      b.String(),
	}, nil
}

// renderError names the mail and the part. A template's error names the
// template and the failing action ("error calling need: the mail has no
// link"), never the data.
func renderError(m domain.Mail, part string, err error) error {
	return fmt.Errorf("mail %s (%s): rendering the %s: %w", m.ID, m.Kind, part, err)
}

// validID accepts what can stand in a Message-ID unquoted: a UUID and the
// like.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
